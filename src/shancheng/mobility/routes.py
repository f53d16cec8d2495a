"""Pupils' walking routes: each home's quickest slope-aware walk to its nearest school.

One multi-source Dijkstra per school level on the *reversed* walk network (pupils walk to the
school, and uphill differs from downhill) gives every node its walking time to the nearest
school, which school that is (its catchment) and the next node on the way there. The routes
form a tree towards each school, so the pupils passing every arc are the sums over its
subtree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

if TYPE_CHECKING:
    from shancheng.network.walk import WalkNetwork
    from shancheng.types import FloatArray, IntArray

_MIN_TIME_S = 1e-6  # scipy drops explicit zeros: a zero-time arc keeps a tiny weight


@dataclass(frozen=True, eq=False)
class RouteTree:
    """Routes of every node to its nearest school (``-1``/``inf`` where none is reachable).

    Attributes
    ----------
    time_s
        Walking time from the node to its school.
    next_node, next_segment
        The next node on the way and the walk segment walked to it.
    school
        Index (into the school nodes given) of the node's school.
    """

    time_s: FloatArray
    next_node: IntArray
    next_segment: IntArray
    school: IntArray

    def route(self, node: int) -> list[int]:
        """Nodes from ``node`` to its school, both included (``[]`` when unreachable)."""
        if not np.isfinite(self.time_s[node]):
            return []
        path = [node]
        while self.next_node[path[-1]] >= 0:
            path.append(int(self.next_node[path[-1]]))
        return path

    def flows(self, pupils_at_node: FloatArray) -> FloatArray:
        """Pupils leaving each node towards its school (own pupils plus those passing)."""
        flow = np.where(np.isfinite(self.time_s), pupils_at_node, 0.0).astype(np.float64)
        reached = np.flatnonzero(np.isfinite(self.time_s))
        for u in reached[np.argsort(-self.time_s[reached], kind="stable")]:
            v = self.next_node[u]
            if v >= 0:
                flow[v] += flow[u]
        return flow


def routes_to_schools(network: WalkNetwork, school_nodes: IntArray) -> RouteTree:
    """Quickest routes from every node to the nearest of ``school_nodes`` (walk times).

    Parameters
    ----------
    network
        The walk network (not reversed).
    school_nodes
        Node of each school; a node given twice serves as the first school given there.

    Returns
    -------
    RouteTree
        Time, next node and segment, and school of every node.
    """
    n = network.n_nodes
    tail, head, time = network.edge_tail, network.edge_head, network.edge_time_s
    order = np.lexsort((time, tail, head))  # cheapest arc first for each (head, tail)
    key = head[order] * n + tail[order]
    first = np.concatenate([[True], key[1:] != key[:-1]])
    best = order[first]
    graph = csr_array(
        (np.maximum(time[best], _MIN_TIME_S), (head[best], tail[best])), shape=(n, n)
    )  # reversed: from the school back along the arcs people walk
    nodes, first_school = np.unique(np.asarray(school_nodes, dtype=np.int64), return_index=True)
    if nodes.shape[0] == 0:
        return RouteTree(np.full(n, np.inf), np.full(n, -1), np.full(n, -1), np.full(n, -1))
    dist, pred, source = dijkstra(graph, directed=True, indices=nodes, min_only=True,
                                  return_predecessors=True)  # fmt: skip
    next_node = np.where(pred >= 0, pred, -1).astype(np.int64)
    arc_of = dict(zip((tail[best] * n + head[best]).tolist(), best.tolist(), strict=True))
    has_next = np.flatnonzero(next_node >= 0)
    next_segment = np.full(n, -1, dtype=np.int64)
    arcs = np.array([arc_of[int(u) * n + int(next_node[u])] for u in has_next], dtype=np.int64)
    if arcs.shape[0]:
        next_segment[has_next] = network.edge_segment[arcs]
    school_of_node = np.full(n, -1, dtype=np.int64)
    school_of_node[nodes] = first_school
    school = np.where(source >= 0, school_of_node[np.maximum(source, 0)], -1)
    return RouteTree(np.asarray(dist, dtype=np.float64), next_node, next_segment,
                     school.astype(np.int64))  # fmt: skip
