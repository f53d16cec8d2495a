"""Where water (or gas) can flow: the directed element graph of a pipe network.

The isolation plan must be *checked*, and valves alone do not say where flow can go: pumps,
compressors, pressure-reducing valves and pipes with a check valve pass flow one way only. The
*flow graph* has one vertex per node (``0..n_nodes-1``) and one per link
(``n_nodes..n_nodes+n_links-1``); a link ``l`` from ``a`` to ``b`` gives the arcs ``a -> l`` and
``l -> b``, and also ``l -> a`` and ``b -> l`` unless it is ``one_way``. Each arc is tagged with
its ``(link, node)`` pair, so closing the isolation valve on link ``l`` at node ``n`` removes
exactly the arcs tagged ``(l, n)``, and stopping a pump or closing a control valve removes every
arc of its link.

A vertex is *supplied* when a directed path leads to it from a source (reservoir, tank, gate
station...). The break on a link is *fed* by a source when a path leads from the source to
an end of the broken link whose valve (if any) is open: water leaves through the hole whichever
way it comes, even against a check valve or a pump that sits on the broken link itself.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import breadth_first_order

if TYPE_CHECKING:
    from shancheng.lifelines.pipes import PipeNetwork
    from shancheng.types import BoolArray, IntArray


@dataclass(frozen=True, eq=False)
class FlowGraph:
    """Directed element graph of a network (see the module docstring).

    Attributes
    ----------
    n_nodes, n_links
        Sizes of the network; vertex ``v < n_nodes`` is a node, else link ``v - n_nodes``.
    arc_tail, arc_head
        The arcs, as vertex numbers.
    arc_link, arc_node
        The link and node (row positions) each arc joins: the valve that would cut it.
    sources
        Row positions of the source nodes.
    at_rest
        Vertices supplied with every valve open (:func:`supplied` of the whole graph).
    """

    n_nodes: int
    n_links: int
    arc_tail: IntArray
    arc_head: IntArray
    arc_link: IntArray
    arc_node: IntArray
    sources: IntArray
    at_rest: BoolArray = field(repr=False)
    _into: list[list[tuple[int, int, int]]] = field(repr=False)

    @property
    def n_vertices(self) -> int:
        """Number of vertices (nodes and links)."""
        return self.n_nodes + self.n_links

    def arcs_into(self, vertex: int) -> list[tuple[int, int, int]]:
        """Arcs that end at ``vertex``, as ``(tail vertex, link, node)``."""
        return self._into[vertex]


def flow_graph(net: PipeNetwork) -> FlowGraph:
    """Build the directed element graph of ``net`` (arcs sorted by tail, as CSR rows).

    Examples
    --------
    >>> import pandas as pd
    >>> from shancheng.lifelines.pipes import build_network
    >>> nodes = pd.DataFrame({"node_id": ["R", "a"], "kind": ["source", "junction"]})
    >>> links = pd.DataFrame({"link_id": ["pump"], "kind": ["pump"], "from_node": ["R"],
    ...                       "to_node": ["a"]})
    >>> graph = flow_graph(build_network("water", nodes, links, source="doc"))
    >>> list(zip(graph.arc_tail.tolist(), graph.arc_head.tolist()))
    [(0, 2), (2, 1)]
    """
    n, m = net.n_nodes, net.n_links
    link = np.arange(m, dtype=np.int64)
    vertex = n + link
    tail, head = net.tail, net.head
    two_way = ~net.links["one_way"].to_numpy(dtype=bool)
    arc_tail = np.concatenate([tail, vertex, vertex[two_way], head[two_way]])
    order = np.argsort(arc_tail, kind="stable")
    arc_head = np.concatenate([vertex, head, tail[two_way], vertex[two_way]])[order]
    arc_link = np.concatenate([link, link, link[two_way], link[two_way]])[order]
    arc_node = np.concatenate([tail, head, tail[two_way], head[two_way]])[order]
    arc_tail = arc_tail[order]
    into: list[list[tuple[int, int, int]]] = [[] for _ in range(n + m)]
    arcs = zip(arc_tail.tolist(), arc_head.tolist(), arc_link.tolist(), arc_node.tolist(),
               strict=True)  # fmt: skip
    for t, h, a_link, a_node in arcs:
        into[h].append((t, a_link, a_node))
    sources = np.flatnonzero(net.is_source()).astype(np.int64)
    at_rest = _reached(n + m, arc_tail, arc_head, sources)
    return FlowGraph(n, m, arc_tail, arc_head, arc_link, arc_node, sources, at_rest, into)


def supplied(graph: FlowGraph, *, removed: BoolArray) -> BoolArray:
    """Vertices a source reaches once the ``removed`` vertices (a drained segment) are out.

    No flow leaves or starts at a removed vertex, and none is reported supplied. The arcs are
    kept sorted by tail, so dropping some leaves them in CSR order: no sort per call.

    Returns
    -------
    numpy.ndarray
        Boolean mask over the ``n_vertices`` vertices.
    """
    keep = ~removed[graph.arc_tail]
    sources = graph.sources[~removed[graph.sources]]
    return (
        _reached(graph.n_vertices, graph.arc_tail[keep], graph.arc_head[keep], sources) & ~removed
    )


def _reached(size: int, tail: IntArray, head: IntArray, sources: IntArray) -> BoolArray:
    """Breadth-first search from a virtual root (vertex ``size``) joined to ``sources``."""
    counts = np.bincount(tail, minlength=size)
    indptr = np.concatenate([[0], np.cumsum(counts), [tail.shape[0] + sources.shape[0]]])
    indices = np.concatenate([head, sources])
    adjacency = csr_array((np.ones(indices.shape[0]), indices, indptr), shape=(size + 1, size + 1))
    order = breadth_first_order(adjacency, size, directed=True, return_predecessors=False)
    mask = np.zeros(size + 1, dtype=bool)
    mask[order] = True
    reached: BoolArray = mask[:size]
    return reached


def feeding_sources(
    graph: FlowGraph,
    link: int,
    *,
    closed_valves: set[tuple[int, int]],
    stopped_links: set[int] | frozenset[int] = frozenset(),
) -> list[int]:
    """Source nodes (row positions) that still reach a break on ``link``.

    Parameters
    ----------
    graph
        The flow graph.
    link
        Row position of the broken link.
    closed_valves
        ``(link, node)`` row positions of the closed isolation valves.
    stopped_links
        Row positions of the stopped pumps and closed control valves (no flow either way).

    Notes
    -----
    A backward search from the broken link: it visits only what can still flow into the break
    (after the border valves of its segment close, that is the segment itself), so checking a
    plan costs the size of its segment, not of the network.
    """

    def is_open(a_link: int, a_node: int) -> bool:
        return (a_link, a_node) not in closed_valves and a_link not in stopped_links

    broken = graph.n_nodes + link
    ends = {a_node for _, a_link, a_node in graph.arcs_into(broken) if a_link == link}
    ends |= {int(h) for h in graph.arc_head[graph.arc_tail == broken]}
    start = [broken, *(end for end in ends if (link, end) not in closed_valves)]
    seen = set(start)
    queue = deque(start)
    while queue:
        for tail, a_link, a_node in graph.arcs_into(queue.popleft()):
            if tail not in seen and is_open(a_link, a_node):
                seen.add(tail)
                queue.append(tail)
    return sorted(int(s) for s in graph.sources if int(s) in seen)
