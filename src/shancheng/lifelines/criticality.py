"""Criticality of every valve segment: what isolating it takes out of service, ranked.

Segments and valves form the *segment graph* (a valve joins the segment of its link to the
segment of its node). Isolating a segment closes the valves on its border; segments that no
longer reach a source are cut off as a side effect. For all segments at once this is the
articulation-point structure of the segment graph seen from a virtual root joined to every
source segment: one depth-first search gives, for every segment, the weight of what its
isolation cuts off (customers, residents, pipe length, critical facilities) in linear time.

The ranking reads the segment graph as undirected: it ignores that pumps, pressure-reducing
valves and check valves pass flow one way. It is a screening of every segment at once; the plan
for one break (:func:`shancheng.lifelines.isolation.isolate_break`) is the checked answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_array, csr_array

from shancheng.lifelines.segments import WEIGHTS, Segmentation, segment_network, segment_weights

if TYPE_CHECKING:
    import pandas as pd

    from shancheng.lifelines.pipes import PipeNetwork
    from shancheng.types import IntArray


def _segment_graph(net: PipeNetwork, seg: Segmentation) -> tuple[csr_array, int]:
    """Segments joined by valves, plus a root vertex (the last) joined to source segments."""
    k = seg.n_segments
    root = k
    sources = np.unique(seg.node_segment[net.is_source()])
    a = np.concatenate([seg.valve_link_segment, np.full(sources.shape[0], root)])
    b = np.concatenate([seg.valve_node_segment, sources])
    differ = a != b
    a, b = a[differ], b[differ]
    data = np.ones(2 * a.shape[0], dtype=np.int8)
    graph = coo_array(
        (data, (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(k + 1, k + 1)
    ).tocsr()
    graph.sum_duplicates()
    return graph, root


def rank_segments(
    net: PipeNetwork, seg: Segmentation | None = None, facilities: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Criticality of every segment: what isolating it takes out of service, ranked.

    Linear time: one depth-first search of the segment graph from a root joined to every
    source segment. Isolating segment ``s`` cuts off exactly the DFS subtrees of the children
    ``c`` of ``s`` with ``low[c] >= disc[s]`` (``s`` separates them from the root), so the loss
    is the weight of ``s`` plus those subtree sums. Segments that reach no source even before
    any valve closes are flagged ``supplied = False`` and counted for nothing.

    Returns
    -------
    pandas.DataFrame
        One row per segment: ``segment, supplied, cut_off_segments, valves``, each name of
        :data:`WEIGHTS` (what the segment holds) and ``lost_<name>`` (what isolating it takes
        out of service, itself included), and ``rank`` (1 = most critical: most residents,
        then customers and demand nodes, then pipe length lost).
    """
    seg = seg or segment_network(net)
    weights = segment_weights(net, seg, facilities)
    graph, root = _segment_graph(net, seg)
    k = seg.n_segments
    w = np.zeros((k + 1, len(WEIGHTS) + 1), dtype=np.float64)
    w[:k, :-1] = weights.to_numpy(dtype=np.float64)
    w[:k, -1] = 1.0
    order, parent, separated_child = _dfs_articulation(graph.indptr, graph.indices, root)
    subtree = w.copy()
    for v in order[::-1]:
        if parent[v] >= 0:
            subtree[parent[v]] += subtree[v]
    supplied = np.zeros(k + 1, dtype=bool)
    supplied[order] = True
    lost = np.where(supplied[:, None], w, 0.0)
    sep = np.flatnonzero(separated_child)
    np.add.at(lost, parent[sep], subtree[sep])
    border = np.bincount(
        np.concatenate([seg.valve_link_segment, seg.valve_node_segment])[
            np.tile(seg.valve_link_segment != seg.valve_node_segment, 2)
        ],
        minlength=k,
    )
    table = weights.copy()
    table.insert(0, "segment", np.arange(k, dtype=np.int64))
    table.insert(1, "supplied", supplied[:k])
    table.insert(2, "valves", border[:k].astype(np.int64))
    table.insert(3, "cut_off_segments", (lost[:k, -1] - supplied[:k]).astype(np.int64))
    for j, name in enumerate(WEIGHTS):
        column = lost[:k, j]
        table[f"lost_{name}"] = column if name == "pipe_length_m" else column.astype(np.int64)
    keys = ["lost_residents", "lost_customers", "lost_demand_nodes", "lost_pipe_length_m"]
    order_rank = table.sort_values(keys, ascending=False, kind="stable").index
    table.loc[order_rank, "rank"] = np.arange(1, k + 1)
    return table.astype({"rank": np.int64})


def _dfs_articulation(
    indptr: npt.NDArray[np.int32], indices: npt.NDArray[np.int32], root: int
) -> tuple[IntArray, IntArray, npt.NDArray[np.bool_]]:
    """Run an iterative DFS from ``root``: visit order, parent, ``low[v] >= disc[parent[v]]``.

    The last flag marks the children whose subtree their parent separates from the root
    (Hopcroft-Tarjan); the root's own children are never cut off since the root is virtual.
    """
    n = indptr.shape[0] - 1
    disc = np.full(n, -1, dtype=np.int64)
    low = np.zeros(n, dtype=np.int64)
    parent = np.full(n, -1, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    ptr = indptr[:-1].astype(np.int64).copy()
    end = indptr[1:].astype(np.int64)
    nbr = indices.astype(np.int64)
    count = 0
    disc[root] = low[root] = 0
    order[0] = root
    count = 1
    stack = [root]
    while stack:
        v = stack[-1]
        if ptr[v] < end[v]:
            u = int(nbr[ptr[v]])
            ptr[v] += 1
            if disc[u] < 0:
                parent[u] = v
                disc[u] = low[u] = count
                order[count] = u
                count += 1
                stack.append(u)
            elif u != parent[v]:
                low[v] = min(low[v], disc[u])
        else:
            stack.pop()
            p = parent[v]
            if p >= 0:
                low[p] = min(low[p], low[v])
    visited = order[:count]
    separated = np.zeros(n, dtype=bool)
    has_parent = visited[parent[visited] >= 0]
    par = parent[has_parent]
    separated[has_parent] = (low[has_parent] >= disc[par]) & (par != root)
    return visited, parent, separated
