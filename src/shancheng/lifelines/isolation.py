"""Valve segments and the checked isolation plan for a break.

A *segment* is the smallest part of a network that closing valves can isolate. With valves in
WNTR's convention (a valve on link ``l`` at node ``n`` separates ``l`` from ``n``), segments are
the connected components of the bipartite element graph whose vertices are all nodes and all
links and whose edges join each link to each of its end nodes unless a valve sits there. One
call to ``scipy.sparse.csgraph.connected_components`` labels them: the same partition as
``wntr.metrics.topographic.valve_segments``, which walks the graph in Python.

Isolating a break closes the valves on the border of its segment. That is not always enough,
and the plan does not assume it is: it checks on the directed flow graph
(:mod:`shancheng.lifelines.supply`, where pumps, pressure-reducing and check valves pass flow
one way) that no source still reaches the break. A source inside the segment (a reservoir or a
tank without a valve of its own) keeps feeding it: the plan then adds the pumps to stop and the
control valves to close that cut the source off, or says that no valve of the layer can, and
names the source. What loses service is what a source no longer reaches once the segment is
closed and drained, again on the directed graph: a node that could be fed only backwards
through a pressure-reducing valve is lost, not supplied. The ranking of every segment at once
lives in :mod:`shancheng.lifelines.criticality`.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from shancheng.errors import PipeNetworkError
from shancheng.lifelines.pipes import CONTROLLABLE_KINDS
from shancheng.lifelines.supply import FlowGraph, feeding_sources, flow_graph, supplied

if TYPE_CHECKING:
    from shancheng.lifelines.pipes import PipeNetwork

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

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


def customer_weights(net: PipeNetwork) -> FloatArray:
    """Count the customers at each node: ``customer`` connections, or demand for an ``.inp``.

    A network with ``customer`` nodes (the City's layers) counts each as one connection. An
    EPANET model has none: there each junction with a base demand stands for the customers it
    aggregates and counts as one, so a break on L-Town never reports 0 customers affected.
    """
    kind = net.nodes["kind"].to_numpy()
    is_customer: npt.NDArray[np.bool_] = kind == "customer"
    if not is_customer.any():
        demand = net.nodes["demand"].to_numpy(dtype=np.float64)
        is_customer = (demand > 0) & (kind == "junction")
    weights: FloatArray = is_customer.astype(np.float64)
    return weights


def element_weights(
    net: PipeNetwork, facilities: pd.DataFrame | None = None
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Per node and per link: what each counts toward :data:`WEIGHTS`.

    Returns
    -------
    tuple of dict
        ``(on_nodes, on_links)``: each name of :data:`WEIGHTS` is in exactly one of them.
    """
    nodes, links = net.nodes, net.links
    is_pipe = links["kind"].isin(_PIPE_KINDS).to_numpy()
    length = np.nan_to_num(links["length_m"].to_numpy(dtype=np.float64))
    served = np.zeros(net.n_nodes, dtype=np.float64)
    if facilities is not None and len(facilities):
        attached = facilities["node_index"].to_numpy(dtype=np.int64)
        served = np.bincount(attached[attached >= 0], minlength=net.n_nodes).astype(np.float64)
    on_nodes = {
        "nodes": np.ones(net.n_nodes),
        "customers": customer_weights(net),
        "demand_nodes": (nodes["demand"].to_numpy(dtype=np.float64) > 0).astype(np.float64),
        "residents": nodes["population"].to_numpy(dtype=np.float64),
        "critical_facilities": served,
    }
    on_links = {"links": np.ones(net.n_links), "pipe_length_m": length * is_pipe}
    return on_nodes, on_links


def segment_weights(
    net: PipeNetwork, seg: Segmentation, facilities: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per segment: the counts in :data:`WEIGHTS` (one row per segment, index = segment)."""
    on_nodes, on_links = element_weights(net, facilities)
    k = seg.n_segments
    weights = {
        name: np.bincount(seg.node_segment, weights=on_nodes[name], minlength=k)
        if name in on_nodes
        else np.bincount(seg.link_segment, weights=on_links[name], minlength=k)
        for name in WEIGHTS
    }
    return pd.DataFrame(weights).astype(
        {name: np.int64 for name in WEIGHTS if name != "pipe_length_m"}
    )


@dataclass(frozen=True, eq=False)
class IsolationPlan:
    """What to do, and what is lost, when one link breaks; checked on the flow graph.

    Attributes
    ----------
    link_id
        The broken link.
    segment
        Its segment (lost: it must be emptied to repair the break).
    valves_to_close
        Ids of the valves on the segment's border.
    also_close
        Ids of the pumps (or compressors) to stop and control valves to close because a source
        inside the segment would otherwise keep feeding the break.
    feeding_sources
        Ids of the sources that still reach the break once everything above is closed; empty
        when the break is isolated.
    sources_in_segment
        Ids of the sources inside the break's segment (out of use while it is closed).
    cut_off_segments
        Other segments holding a node or link that no source reaches once the segment is closed.
    impact
        Totals of :data:`WEIGHTS` over the lost nodes and links, and ``segments``.
    lost_node_ids
        Ids of every node out of service (sources excluded: they are listed above).
    facilities
        The critical facilities losing service (``facility_id, category, name``).
    notes
        What an engineer must know beyond the valve list, one sentence each.
    """

    link_id: str
    segment: int
    valves_to_close: list[str]
    also_close: list[str]
    feeding_sources: list[str]
    sources_in_segment: list[str]
    cut_off_segments: list[int]
    impact: dict[str, float]
    lost_node_ids: list[str]
    facilities: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def isolated(self) -> bool:
        """Whether closing what the plan lists leaves no source reaching the break."""
        return not self.feeding_sources

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-serialisable summary (attached to the case an alarm opens)."""
        return {
            "link_id": self.link_id,
            "segment": self.segment,
            "isolated": self.isolated,
            "valves_to_close": self.valves_to_close,
            "also_close": self.also_close,
            "feeding_sources": self.feeding_sources,
            "sources_in_segment": self.sources_in_segment,
            "cut_off_segments": self.cut_off_segments,
            "impact": self.impact,
            "critical_facilities": self.facilities.to_dict(orient="records"),
            "notes": self.notes,
        }


@dataclass(frozen=True, eq=False)
class Closure:
    """What to close so a break no longer receives water, checked on the flow graph.

    Attributes
    ----------
    link_id, segment, valves_to_close, also_close, feeding_sources, sources_in_segment, notes
        As in :class:`IsolationPlan`.
    """

    link_id: str
    segment: int
    valves_to_close: list[str]
    also_close: list[str]
    feeding_sources: list[str]
    sources_in_segment: list[str]
    notes: list[str]

    @property
    def isolated(self) -> bool:
        """Whether closing what is listed leaves no source reaching the break."""
        return not self.feeding_sources


def close_off(
    net: PipeNetwork,
    link_id: str,
    *,
    seg: Segmentation | None = None,
    graph: FlowGraph | None = None,
) -> Closure:
    """Choose what to close for a break on ``link_id`` and check that no source feeds it.

    The valves on the border of the break's segment close; if a source inside the segment
    still reaches the break on the flow graph, the fewest pumps to stop and control valves to
    close inside the segment that cut it off are added; a source that even they cannot cut off
    is reported in ``feeding_sources`` with a note. The check walks backwards from the break
    and visits only the segment, so it costs the segment's size, not the network's.

    Raises
    ------
    PipeNetworkError
        ``link_id`` is not a link of ``net``.
    """
    seg = seg or segment_network(net)
    graph = graph or flow_graph(net)
    tables = _tables(net)
    link = tables.link_index.get(str(link_id), -1)
    if link < 0:
        msg = f"{net.source}: no link {link_id!r} to isolate"
        raise PipeNetworkError(msg)
    segment = int(seg.link_segment[link])
    border = (seg.valve_link_segment == segment) != (seg.valve_node_segment == segment)
    closed = {(int(a), int(b)) for a, b in tables.valve_pairs[border]}
    also, feeding = _cut_inner_sources(tables, seg, graph, link, closed)
    inner = np.flatnonzero(tables.is_source & (seg.node_segment == segment))
    closure = Closure(
        link_id=str(link_id),
        segment=segment,
        valves_to_close=tables.valve_ids[border].tolist(),
        also_close=tables.link_ids[also].tolist(),
        feeding_sources=tables.node_ids[feeding].tolist(),
        sources_in_segment=tables.node_ids[inner].tolist(),
        notes=_notes(tables, graph, inner, also, feeding),
    )
    if not closure.isolated:
        logger.warning("%s: break on %s cannot be isolated: %s", net.source, link_id, closure.notes)
    return closure


def isolate_break(
    net: PipeNetwork,
    link_id: str,
    *,
    seg: Segmentation | None = None,
    graph: FlowGraph | None = None,
    facilities: pd.DataFrame | None = None,
) -> IsolationPlan:
    """Plan the isolation of a break on ``link_id``: :func:`close_off`, and what is lost.

    What is lost is the drained segment and every node and link that a source reached before
    and no longer reaches once the segment is out, on the directed flow graph (one search of
    the whole network per plan).

    Parameters
    ----------
    net
        The network.
    link_id
        Id of the broken link.
    seg, graph
        Its segmentation and flow graph (computed when absent; pass them when planning many
        breaks of one network).
    facilities
        Output of :func:`attach_facilities`, to name the critical facilities affected.

    Raises
    ------
    PipeNetworkError
        ``link_id`` is not a link of ``net``.
    """
    seg = seg or segment_network(net)
    graph = graph or flow_graph(net)
    tables = _tables(net)
    closure = close_off(net, link_id, seg=seg, graph=graph)
    segment = closure.segment
    drained = np.concatenate([seg.node_segment == segment, seg.link_segment == segment])
    lost = drained | (graph.at_rest & ~supplied(graph, removed=drained))
    lost_nodes, lost_links = lost[: net.n_nodes] & ~tables.is_source, lost[net.n_nodes :]
    on_nodes = dict(tables.on_nodes)
    if facilities is not None and len(facilities):
        at = facilities["node_index"].to_numpy(dtype=np.int64)
        served = np.bincount(at[at >= 0], minlength=net.n_nodes)
        on_nodes["critical_facilities"] = served.astype(np.float64)
    impact = {name: _plain(on_nodes[name][lost_nodes].sum()) for name in on_nodes}
    impact |= {name: _plain(tables.on_links[name][lost_links].sum()) for name in tables.on_links}
    impact = {name: impact[name] for name in WEIGHTS}
    lost_segments = np.union1d(seg.node_segment[lost_nodes], seg.link_segment[lost_links])
    cut_off = [int(s) for s in lost_segments if s != segment]
    impact["segments"] = 1 + len(cut_off)
    hit = pd.DataFrame(columns=["facility_id", "category", "name"])
    if facilities is not None and len(facilities):
        mask = (at >= 0) & lost_nodes[np.maximum(at, 0)]
        hit = facilities.loc[mask, ["facility_id", "category", "name"]].reset_index(drop=True)
    return IsolationPlan(
        link_id=closure.link_id,
        segment=segment,
        valves_to_close=closure.valves_to_close,
        also_close=closure.also_close,
        feeding_sources=closure.feeding_sources,
        sources_in_segment=closure.sources_in_segment,
        cut_off_segments=cut_off,
        impact=impact,
        lost_node_ids=tables.node_ids[lost_nodes].tolist(),
        facilities=hit,
        notes=closure.notes,
    )


@dataclass(frozen=True, eq=False)
class _Tables:
    """What every plan of one network reads, as arrays (built once per network)."""

    node_ids: npt.NDArray[np.str_]
    link_ids: npt.NDArray[np.str_]
    link_index: dict[str, int]
    link_kinds: npt.NDArray[np.str_]
    valve_ids: npt.NDArray[np.str_]
    valve_pairs: IntArray
    is_source: BoolArray
    controllable: BoolArray
    on_nodes: dict[str, FloatArray]
    on_links: dict[str, FloatArray]


_TABLES: weakref.WeakKeyDictionary[PipeNetwork, _Tables] = weakref.WeakKeyDictionary()


def _tables(net: PipeNetwork) -> _Tables:
    if net not in _TABLES:
        on_nodes, on_links = element_weights(net)
        link_ids = net.links["link_id"].to_numpy().astype(str)
        _TABLES[net] = _Tables(
            node_ids=net.nodes["node_id"].to_numpy().astype(str),
            link_ids=link_ids,
            link_index={link_id: i for i, link_id in enumerate(link_ids.tolist())},
            link_kinds=net.links["kind"].to_numpy().astype(str),
            valve_ids=net.valves["valve_id"].to_numpy().astype(str),
            valve_pairs=net.valves[["link_index", "node_index"]].to_numpy(dtype=np.int64),
            is_source=net.is_source(),
            controllable=net.links["kind"].isin(CONTROLLABLE_KINDS).to_numpy(),
            on_nodes=on_nodes,
            on_links=on_links,
        )
    return _TABLES[net]


def _cut_inner_sources(
    tables: _Tables, seg: Segmentation, graph: FlowGraph, link: int, closed: set[tuple[int, int]]
) -> tuple[list[int], list[int]]:
    """Choose controllable links of the segment to close so inner sources stop feeding the break.

    Returns the links to close (a minimal set: none can be dropped without a source feeding
    the break again) and the sources that feed the break even then.
    """
    feeding = feeding_sources(graph, link, closed_valves=closed)
    if not feeding:
        return [], []
    in_segment = seg.link_segment == seg.link_segment[link]
    candidates = [int(c) for c in np.flatnonzero(tables.controllable & in_segment) if c != link]
    best = feeding_sources(graph, link, closed_valves=closed, stopped_links=set(candidates))
    if best == feeding:
        return [], feeding
    chosen = list(candidates)
    for candidate in candidates:
        trial = {c for c in chosen if c != candidate}
        if feeding_sources(graph, link, closed_valves=closed, stopped_links=trial) == best:
            chosen.remove(candidate)
    return chosen, best


def _notes(
    tables: _Tables, graph: FlowGraph, inner: IntArray, also: list[int], feeding: list[int]
) -> list[str]:
    node_ids, link_ids, link_kinds = tables.node_ids, tables.link_ids, tables.link_kinds
    notes = []
    for link in also:
        kind = link_kinds[link]
        verb = "stop" if kind in {"pump", "compressor"} else "close"
        notes.append(f"also {verb} {kind.replace('_', ' ')} {link_ids[link]}: a source inside "
                     "the segment feeds the break through it")  # fmt: skip
    for source in feeding:
        outlets = sorted({link_ids[a] for a in graph.arc_link[graph.arc_node == source]})
        notes.append(
            f"isolation impossible with this valve layer: source {node_ids[source]} lies inside "
            f"the break's segment and reaches the break with no valve between them; close the "
            f"source's own outlet (link {', '.join(outlets)}) or add a valve there"
        )
    notes += [
        f"source {node_ids[source]} lies inside the segment: out of use while it is closed"
        for source in sorted(set(inner.tolist()) - set(feeding))
    ]
    return notes


def _plain(value: float) -> float:
    return round(float(value), 3)
