"""Valve segments, the isolation plan for a break, and the criticality of every segment.

A *segment* is the smallest part of a network that closing valves can isolate. With valves in
WNTR's convention (a valve on link ``l`` at node ``n`` separates ``l`` from ``n``), segments are
the connected components of the bipartite element graph whose vertices are all nodes and all
links and whose edges join each link to each of its end nodes unless a valve sits there. One
call to ``scipy.sparse.csgraph.connected_components`` labels them: the same partition as
``wntr.metrics.topographic.valve_segments``, which walks the graph in Python.

Segments and valves form the *segment graph* (a valve joins the segment of its link to the
segment of its node). Isolating a segment closes the valves on its border; segments that no
longer reach a source are cut off as a side effect. For all segments at once this is the
articulation-point structure of the segment graph seen from a virtual root joined to every
source segment: one depth-first search gives, for every segment, the weight of what its
isolation cuts off (customers, residents, pipe length, critical facilities) in linear time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import coo_array, csr_array
from scipy.sparse.csgraph import breadth_first_order, connected_components
from scipy.spatial import cKDTree

from shancheng.errors import PipeNetworkError

if TYPE_CHECKING:
    from shancheng.lifelines.pipes import PipeNetwork

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

CRITICAL_CATEGORIES = (
    "hospital", "primary_school", "middle_school", "kindergarten", "nursing_home",
    "elderly_day_care",
)  # fmt: skip
"""Facility categories whose loss of service the isolation plan names (hospitals, schools,
kindergartens, elderly care), as the City's ``facilities`` layer spells them."""
WEIGHTS = ("nodes", "links", "pipe_length_m", "customers", "demand_nodes", "residents",
           "critical_facilities")  # fmt: skip
"""What the impact of an isolation counts, per segment."""
_PIPE_KINDS = ("pipe", "service")


@dataclass(frozen=True, eq=False)
class Segmentation:
    """Valve segments of a network.

    Attributes
    ----------
    node_segment, link_segment
        Segment (0..n_segments-1) of each node and link, by row position.
    n_segments
        Number of segments.
    valve_link_segment, valve_node_segment
        For each valve, the segment on its link side and on its node side.
    """

    node_segment: IntArray
    link_segment: IntArray
    n_segments: int
    valve_link_segment: IntArray
    valve_node_segment: IntArray


def segment_network(net: PipeNetwork) -> Segmentation:
    """Label the valve segments of ``net`` (see the module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> from shancheng.lifelines.pipes import build_network
    >>> kinds = ["source", "junction", "junction"]
    >>> nodes = pd.DataFrame({"node_id": ["R", "a", "b"], "kind": kinds})
    >>> links = pd.DataFrame({"link_id": ["1", "2"], "kind": ["pipe", "pipe"],
    ...                       "from_node": ["R", "a"], "to_node": ["a", "b"]})
    >>> valves = pd.DataFrame({"valve_id": ["v"], "link_id": ["2"], "node_id": ["a"]})
    >>> seg = segment_network(build_network("water", nodes, links, valves, source="doc"))
    >>> seg.n_segments, seg.node_segment.tolist(), seg.link_segment.tolist()
    (2, [0, 0, 1], [0, 1])
    """
    n_nodes, n_links = net.n_nodes, net.n_links
    link_ids = np.arange(n_links, dtype=np.int64)
    valve_link = net.valves["link_index"].to_numpy(dtype=np.int64)
    valve_node = net.valves["node_index"].to_numpy(dtype=np.int64)
    valved = np.zeros((n_links, 2), dtype=bool)
    tail, head = net.tail, net.head
    valved[valve_link[valve_node == tail[valve_link]], 0] = True
    valved[valve_link[valve_node == head[valve_link]], 1] = True
    keep_tail, keep_head = ~valved[:, 0], ~valved[:, 1]
    rows = np.concatenate([n_nodes + link_ids[keep_tail], n_nodes + link_ids[keep_head]])
    cols = np.concatenate([tail[keep_tail], head[keep_head]])
    size = n_nodes + n_links
    graph = coo_array((np.ones(rows.shape[0], dtype=np.int8), (rows, cols)), shape=(size, size))
    n_segments, labels = connected_components(graph.tocsr(), directed=False)
    node_segment: IntArray = np.asarray(labels[:n_nodes], dtype=np.int64)
    link_segment: IntArray = np.asarray(labels[n_nodes:], dtype=np.int64)
    return Segmentation(
        node_segment, link_segment, int(n_segments), link_segment[valve_link],
        node_segment[valve_node],
    )  # fmt: skip


def attach_facilities(
    net: PipeNetwork,
    facilities: pd.DataFrame,
    *,
    categories: tuple[str, ...] = CRITICAL_CATEGORIES,
    max_distance_m: float = 150.0,
) -> pd.DataFrame:
    """Connect each critical facility to the network node that serves it.

    A facility is served by the nearest customer connection (the nearest node when the
    network has none) within ``max_distance_m``; farther ones are left unserved (``node_index``
    -1) and reported, never silently attached. ``facilities`` needs ``facility_id, category,
    x_utm, y_utm`` in the network's coordinates (the City's ``facilities`` layer).

    Returns
    -------
    pandas.DataFrame
        ``facility_id, category, name, node_index, distance_m`` for the chosen categories.
    """
    chosen = facilities[facilities["category"].isin(categories)]
    kind = net.nodes["kind"].to_numpy()
    candidates = np.flatnonzero(kind == "customer")
    if candidates.shape[0] == 0:
        candidates = np.arange(net.n_nodes)
    xy = net.nodes[["x", "y"]].to_numpy(dtype=np.float64)[candidates]
    points = chosen[["x_utm", "y_utm"]].to_numpy(dtype=np.float64)
    distance = np.full(points.shape[0], np.inf)
    nearest = np.zeros(points.shape[0], dtype=np.int64)
    if candidates.shape[0] and points.shape[0]:
        found_distance, found = cKDTree(xy).query(points)
        distance, nearest = np.asarray(found_distance), np.asarray(found, dtype=np.int64)
    node_index = np.where(distance <= max_distance_m, candidates[nearest], -1)
    names = chosen["name"] if "name" in chosen.columns else chosen["facility_id"].astype(str)
    return pd.DataFrame(
        {
            "facility_id": chosen["facility_id"].to_numpy(),
            "category": chosen["category"].to_numpy(),
            "name": names.to_numpy(),
            "node_index": node_index.astype(np.int64),
            "distance_m": np.round(distance, 1),
        }
    )


def segment_weights(
    net: PipeNetwork, seg: Segmentation, facilities: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per segment: the counts in :data:`WEIGHTS` (one row per segment, index = segment)."""
    nodes, links = net.nodes, net.links
    k = seg.n_segments
    node_seg, link_seg = seg.node_segment, seg.link_segment
    is_pipe = links["kind"].isin(_PIPE_KINDS).to_numpy()
    length = np.nan_to_num(links["length_m"].to_numpy(dtype=np.float64))
    served = np.zeros(net.n_nodes, dtype=np.float64)
    if facilities is not None and len(facilities):
        attached = facilities["node_index"].to_numpy(dtype=np.int64)
        served = np.bincount(attached[attached >= 0], minlength=net.n_nodes).astype(np.float64)
    weights = {
        "nodes": np.bincount(node_seg, minlength=k),
        "links": np.bincount(link_seg, minlength=k),
        "pipe_length_m": np.bincount(link_seg, weights=length * is_pipe, minlength=k),
        "customers": np.bincount(
            node_seg, weights=(nodes["kind"] == "customer").to_numpy(), minlength=k
        ),
        "demand_nodes": np.bincount(
            node_seg, weights=(nodes["demand"].to_numpy(dtype=np.float64) > 0), minlength=k
        ),
        "residents": np.bincount(
            node_seg, weights=nodes["population"].to_numpy(dtype=np.float64), minlength=k
        ),
        "critical_facilities": np.bincount(node_seg, weights=served, minlength=k),
    }
    return pd.DataFrame(weights).astype(
        {name: np.int64 for name in WEIGHTS if name != "pipe_length_m"}
    )


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


@dataclass(frozen=True, eq=False)
class IsolationPlan:
    """What to do, and what is lost, when one link breaks.

    Attributes
    ----------
    link_id
        The broken link.
    segment
        Its segment (lost: it must be emptied to repair the break).
    valves_to_close
        Ids of the valves on the segment's border.
    cut_off_segments
        Segments that no longer reach any source once those valves are closed.
    impact
        Totals of :data:`WEIGHTS` over the lost and the cut-off segments.
    lost_node_ids
        Ids of every node out of service (lost segment and cut-off segments).
    facilities
        The critical facilities losing service (``facility_id, category, name``).
    """

    link_id: str
    segment: int
    valves_to_close: list[str]
    cut_off_segments: list[int]
    impact: dict[str, float]
    lost_node_ids: list[str]
    facilities: pd.DataFrame

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-serialisable summary (attached to the case an alarm opens)."""
        return {
            "link_id": self.link_id,
            "segment": self.segment,
            "valves_to_close": self.valves_to_close,
            "cut_off_segments": self.cut_off_segments,
            "impact": self.impact,
            "critical_facilities": self.facilities.to_dict(orient="records"),
        }


def isolate_break(
    net: PipeNetwork,
    link_id: str,
    *,
    seg: Segmentation | None = None,
    facilities: pd.DataFrame | None = None,
) -> IsolationPlan:
    """Plan the isolation of a break on ``link_id``.

    Parameters
    ----------
    net
        The network.
    link_id
        Id of the broken link.
    seg
        Its segmentation (computed when absent).
    facilities
        Output of :func:`attach_facilities`, to name the critical facilities affected.

    Raises
    ------
    PipeNetworkError
        ``link_id`` is not a link of ``net``.
    """
    seg = seg or segment_network(net)
    matches = np.flatnonzero(net.links["link_id"].to_numpy() == str(link_id))
    if matches.shape[0] == 0:
        msg = f"{net.source}: no link {link_id!r} to isolate"
        raise PipeNetworkError(msg)
    segment = int(seg.link_segment[matches[0]])
    graph, root = _segment_graph(net, seg)
    supplied_before = _reachable(graph, root)
    graph_without = _drop_vertex(graph, segment)
    supplied_after = _reachable(graph_without, root)
    cut_off = np.flatnonzero(supplied_before & ~supplied_after)
    cut_off = cut_off[(cut_off != segment) & (cut_off != root)]
    border = (seg.valve_link_segment == segment) != (seg.valve_node_segment == segment)
    lost = np.zeros(seg.n_segments, dtype=bool)
    lost[segment] = True
    lost[cut_off] = True
    weights = segment_weights(net, seg, facilities)
    impact = {name: _plain(weights.loc[lost, name].sum()) for name in WEIGHTS}
    impact["segments"] = int(lost.sum())
    lost_nodes = lost[seg.node_segment]
    hit = pd.DataFrame(columns=["facility_id", "category", "name"])
    if facilities is not None and len(facilities):
        at = facilities["node_index"].to_numpy(dtype=np.int64)
        mask = (at >= 0) & lost_nodes[np.maximum(at, 0)]
        hit = facilities.loc[mask, ["facility_id", "category", "name"]].reset_index(drop=True)
    return IsolationPlan(
        link_id=str(link_id),
        segment=segment,
        valves_to_close=net.valves["valve_id"].to_numpy()[border].astype(str).tolist(),
        cut_off_segments=cut_off.tolist(),
        impact=impact,
        lost_node_ids=net.nodes["node_id"].to_numpy()[lost_nodes].astype(str).tolist(),
        facilities=hit,
    )


def _plain(value: float) -> float:
    return round(float(value), 3)


def _reachable(graph: csr_array, root: int) -> npt.NDArray[np.bool_]:
    order = breadth_first_order(graph, root, directed=False, return_predecessors=False)
    mask = np.zeros(graph.shape[0], dtype=bool)
    mask[order] = True
    return mask


def _drop_vertex(graph: csr_array, vertex: int) -> csr_array:
    keep = np.ones(graph.shape[0], dtype=np.int8)
    keep[vertex] = 0
    coo = graph.tocoo()
    mask = (keep[coo.row] == 1) & (keep[coo.col] == 1)
    return coo_array((coo.data[mask], (coo.row[mask], coo.col[mask])), shape=graph.shape).tocsr()


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
