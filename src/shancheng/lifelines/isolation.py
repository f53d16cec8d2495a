"""The checked isolation plan for a break: what to close, whether it isolates, what is lost.

Isolating a break closes the valves on the border of its segment
(:mod:`shancheng.lifelines.segments`). That is not always enough, and the plan does not assume
it is: it checks on the directed flow graph (:mod:`shancheng.lifelines.supply`, where pumps,
pressure-reducing and check valves pass flow one way) that no source still reaches the break.
A source inside the segment (a reservoir or a tank without a valve of its own) keeps feeding
it: the plan then adds the pumps to stop and the control valves to close that cut the source
off, or says that no valve of the layer can, and names the source. What loses service is what
a source no longer reaches once the segment is closed and drained, again on the directed
graph: a node that could be fed only backwards through a pressure-reducing valve is lost, not
supplied. The ranking of every segment at once lives in
:mod:`shancheng.lifelines.criticality`.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from shancheng.errors import PipeNetworkError
from shancheng.lifelines.pipes import CONTROLLABLE_KINDS
from shancheng.lifelines.segments import (
    WEIGHTS,
    Segmentation,
    element_weights,
    segment_network,
)
from shancheng.lifelines.supply import FlowGraph, feeding_sources, flow_graph, supplied

if TYPE_CHECKING:
    from shancheng.lifelines.pipes import PipeNetwork
    from shancheng.types import BoolArray, FloatArray, IntArray

logger = logging.getLogger(__name__)


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
    still reaches the break on the flow graph, pumps to stop, control valves and inner valves
    to close inside the segment that cut it off are added (an irredundant set); a source that
    even all of them cannot cut off is reported in ``feeding_sources`` with a note. The check
    walks backwards from the break and visits only the segment, so it costs the segment's
    size, not the network's.

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
    inner_valves, also, feeding = _cut_inner_sources(tables, seg, graph, link, border)
    inner = np.flatnonzero(tables.is_source & (seg.node_segment == segment))
    closure = Closure(
        link_id=str(link_id),
        segment=segment,
        valves_to_close=[
            *tables.valve_ids[border].tolist(),
            *tables.valve_ids[inner_valves].tolist(),
        ],
        also_close=tables.link_ids[also].tolist(),
        feeding_sources=tables.node_ids[feeding].tolist(),
        sources_in_segment=tables.node_ids[inner].tolist(),
        notes=_notes(tables, graph, inner, also, feeding)
        + [
            f"also close valve {tables.valve_ids[v]} inside the segment: a source inside it "
            "feeds the break through there"
            for v in inner_valves
        ],
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
    tables: _Tables,
    seg: Segmentation,
    graph: FlowGraph,
    link: int,
    border: BoolArray,
) -> tuple[list[int], list[int], list[int]]:
    """Choose what else to close inside the segment so inner sources stop feeding the break.

    The candidates are the segment's pumps and control valves (stopped or closed) and its
    inner valves (both sides in the segment: closing one alone never splits the segment, but
    with a pump stopped, or on a one-way path, it can). Starting from all of them closed, each
    is dropped in turn while no source comes back: the result is irredundant, not always the
    smallest.

    Returns
    -------
    tuple
        Inner valve rows and link rows to close, and the sources that feed the break even
        with every candidate closed.
    """
    closed = {(int(a), int(b)) for a, b in tables.valve_pairs[border]}
    feeding = feeding_sources(graph, link, closed_valves=closed)
    if not feeding:
        return [], [], []
    segment = seg.link_segment[link]
    in_segment = seg.link_segment == segment
    inner = (seg.valve_link_segment == segment) & (seg.valve_node_segment == segment)
    links = [
        ("link", int(c)) for c in np.flatnonzero(tables.controllable & in_segment) if c != link
    ]
    valves = [("valve", int(v)) for v in np.flatnonzero(inner)]
    candidates = valves + links

    def feeding_with(chosen: list[tuple[str, int]]) -> list[int]:
        pairs = tables.valve_pairs
        extra = {(int(pairs[i, 0]), int(pairs[i, 1])) for kind, i in chosen if kind == "valve"}
        stopped = {i for kind, i in chosen if kind == "link"}
        return feeding_sources(graph, link, closed_valves=closed | extra, stopped_links=stopped)

    best = feeding_with(candidates)
    if best == feeding:
        return [], [], feeding
    chosen = list(candidates)
    for candidate in candidates:
        trial = [c for c in chosen if c != candidate]
        if feeding_with(trial) == best:
            chosen = trial
    return [i for k, i in chosen if k == "valve"], [i for k, i in chosen if k == "link"], best


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
