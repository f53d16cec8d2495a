"""The drive network: the carriageways of the walk network's streets, with one-ways and speeds.

Cars and pupils use the same streets, so the drive network shares its nodes with the walk
network (a junction *is* a walk node) and keeps, for every directed arc, the walk segment it
runs along. It is built from the ``walk_segments`` of a City: the pieces whose ``road_class``
is a carriageway class (:data:`CARRIAGEWAY_CLASSES`) and whose kind is a street, bridge or
tunnel. Optional columns refine it: ``car_oneway`` on ``walk_segments`` (``1`` cars only
along tail → head, ``-1`` only against it, ``0`` both ways), ``maxspeed_kmh`` (NaN where the
class default of :data:`DEFAULT_SPEED_KMH` stands, an assumption stated here), and on
``walk_nodes`` the junction controls ``traffic_signals`` (bool) and ``crossing`` (``''``,
``'marked'`` a zebra, ``'unmarked'``, ``'signals'`` a signal-controlled crossing). Turn
restrictions (OSM ``type=restriction`` relations) are rows ``from_segment, via_node,
to_segment, restriction``; :func:`drive_route` honours them, the centralities do not (they
run on the junction graph, as cityseer's do).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from shancheng.errors import InputError, MissingColumnError
from shancheng.network.speed import EdgeKind

if TYPE_CHECKING:
    from shancheng.types import BoolArray, FloatArray, IntArray

CARRIAGEWAY_CLASSES = ("primary", "secondary", "tertiary", "residential", "service")
"""Road classes cars drive on, main roads first (the index is the class rank)."""
MAIN_ROAD_CLASSES = ("primary", "secondary")
"""Classes planners call main roads (主干路, 次干路)."""
DEFAULT_SPEED_KMH = {"primary": 60.0, "secondary": 50.0, "tertiary": 40.0,
                     "residential": 30.0, "service": 20.0}  # fmt: skip
"""Assumed free speed of each class where ``maxspeed`` is not tagged: China's urban design
speeds (CJJ 37-2012) for arterials, secondary and branch roads, 30 km/h in residential
streets, 20 km/h on service roads."""
_DRIVE_KINDS = (EdgeKind.STREET, EdgeKind.BRIDGE, EdgeKind.TUNNEL)
CROSSING_CONTROLS = ("", "unmarked", "marked", "signals")
"""Values of ``walk_nodes.crossing``: none, an unmarked crossing, a zebra, a signal crossing."""
RESTRICTION_PREFIXES = ("no_", "only_")


@dataclass(frozen=True, eq=False)
class DriveNetwork:
    """A directed graph of carriageways in CSR form, on a subset of the walk nodes.

    Attributes
    ----------
    node_walk_id
        The walk node of each drive node (drive node ``k`` is walk node ``node_walk_id[k]``).
    node_x_utm, node_y_utm
        Coordinates in metres.
    indptr, edge_tail, edge_head
        Arcs sorted by tail; the arcs leaving ``u`` are ``indptr[u]:indptr[u + 1]``.
    edge_length_m, edge_speed_kmh, edge_time_s
        Length, assumed or tagged speed, and free-flow driving time.
    edge_rank
        Index of the arc's road class in :data:`CARRIAGEWAY_CLASSES` (0 = primary).
    edge_segment, edge_forward
        The walk segment of each arc and whether the arc runs tail → head along it.
    banned_turns
        ``(k, 2)`` pairs ``(arc in, arc out)`` that turn restrictions forbid.
    """

    node_walk_id: IntArray
    node_x_utm: FloatArray
    node_y_utm: FloatArray
    indptr: IntArray
    edge_tail: IntArray
    edge_head: IntArray
    edge_length_m: FloatArray
    edge_speed_kmh: FloatArray
    edge_time_s: FloatArray
    edge_rank: IntArray
    edge_segment: IntArray
    edge_forward: BoolArray
    banned_turns: IntArray

    @property
    def n_nodes(self) -> int:
        """Number of drive nodes."""
        return int(self.node_walk_id.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of directed arcs."""
        return int(self.edge_tail.shape[0])

    def drive_id_of_walk(self, n_walk_nodes: int) -> IntArray:
        """Drive node of every walk node (-1 where no carriageway reaches it)."""
        out = np.full(n_walk_nodes, -1, dtype=np.int64)
        out[self.node_walk_id] = np.arange(self.n_nodes)
        return out


def carriageway_mask(segments: pd.DataFrame, *, source: str = "walk_segments") -> BoolArray:
    """Return which walk segments are carriageways (class and kind), checking the columns."""
    for column in ("road_class", "kind", "tail", "head", "length_m"):
        if column not in segments.columns:
            msg = (
                f"{source}: column `{column}` is missing; the drive network needs the road "
                "classes of a format-2 City (re-import or regenerate the City)"
            )
            raise MissingColumnError(msg)
    cls = segments["road_class"].astype(str).to_numpy()
    kind = segments["kind"].to_numpy()
    return np.asarray(
        np.isin(cls, CARRIAGEWAY_CLASSES) & np.isin(kind, [int(k) for k in _DRIVE_KINDS]),
        dtype=bool,
    )


def build_drive_network(
    walk_nodes: pd.DataFrame,
    walk_segments: pd.DataFrame,
    *,
    turn_restrictions: pd.DataFrame | None = None,
    source: str = "walk_segments",
) -> DriveNetwork:
    """Build the drive network from a City's ``walk_nodes`` and ``walk_segments``.

    Parameters
    ----------
    walk_nodes, walk_segments
        The City layers (``x_utm``, ``y_utm``; ``tail, head, length_m, kind, road_class`` and
        the optional ``car_oneway``, ``maxspeed_kmh``).
    turn_restrictions
        Optional rows ``from_segment, via_node, to_segment, restriction``.
    source
        Named in error messages.

    Returns
    -------
    DriveNetwork
        Arcs for each direction cars may use; speeds from ``maxspeed_kmh`` or the class.

    Examples
    --------
    >>> nodes = pd.DataFrame({"x_utm": [0.0, 100.0, 200.0], "y_utm": [0.0, 0.0, 0.0]})
    >>> segs = pd.DataFrame({"tail": [0, 1], "head": [1, 2], "length_m": [100.0, 100.0],
    ...                      "kind": [0, 0], "road_class": ["primary", "residential"],
    ...                      "car_oneway": [1, 0]})
    >>> net = build_drive_network(nodes, segs)
    >>> net.n_nodes, net.n_edges, net.edge_time_s.round(1).tolist()
    (3, 3, [6.0, 12.0, 12.0])
    """
    keep = np.flatnonzero(carriageway_mask(walk_segments, source=source))
    seg = walk_segments.iloc[keep]
    tail = seg["tail"].to_numpy(np.int64)
    head = seg["head"].to_numpy(np.int64)
    length = seg["length_m"].to_numpy(np.float64)
    cls = seg["road_class"].astype(str).to_numpy()
    oneway = _oneway(seg, source)
    speed = _speeds(seg, cls, source)
    rank = np.array([CARRIAGEWAY_CLASSES.index(c) for c in cls], dtype=np.int64)
    forward = oneway >= 0
    backward = oneway <= 0
    a_tail = np.concatenate([tail[forward], head[backward]])
    a_head = np.concatenate([head[forward], tail[backward]])
    pick = np.concatenate([np.flatnonzero(forward), np.flatnonzero(backward)])
    a_forward = np.concatenate([np.ones(forward.sum(), bool), np.zeros(backward.sum(), bool)])
    walk_ids = np.unique(np.concatenate([tail, head]))
    local = np.full(len(walk_nodes), -1, dtype=np.int64)
    local[walk_ids] = np.arange(walk_ids.shape[0])
    t, h = local[a_tail], local[a_head]
    order = np.lexsort((h, t))
    t, h, pick, a_forward = t[order], h[order], pick[order], a_forward[order]
    indptr = np.zeros(walk_ids.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(t, minlength=walk_ids.shape[0]), out=indptr[1:])
    x = walk_nodes["x_utm"].to_numpy(np.float64)[walk_ids]
    y = walk_nodes["y_utm"].to_numpy(np.float64)[walk_ids]
    segment_ids = keep[pick]
    net = DriveNetwork(
        node_walk_id=walk_ids, node_x_utm=x, node_y_utm=y, indptr=indptr,
        edge_tail=t, edge_head=h, edge_length_m=length[pick], edge_speed_kmh=speed[pick],
        edge_time_s=length[pick] / (speed[pick] / 3.6), edge_rank=rank[pick],
        edge_segment=segment_ids.astype(np.int64), edge_forward=a_forward,
        banned_turns=np.zeros((0, 2), dtype=np.int64),
    )  # fmt: skip
    if turn_restrictions is not None and len(turn_restrictions):
        banned = _banned_turns(net, turn_restrictions, len(walk_nodes), source)
        net = DriveNetwork(**{**net.__dict__, "banned_turns": banned})
    return net


def _oneway(seg: pd.DataFrame, source: str) -> IntArray:
    if "car_oneway" not in seg.columns:
        return np.zeros(len(seg), dtype=np.int64)
    values = pd.to_numeric(seg["car_oneway"], errors="coerce").fillna(0).to_numpy()
    bad = ~np.isin(values, (-1, 0, 1))
    if bad.any():
        row = int(seg.index[np.flatnonzero(bad)[0]])
        msg = f"{source}: row {row}: `car_oneway` must be -1, 0 or 1, got {values[bad][0]!r}"
        raise InputError(msg)
    return values.astype(np.int64)


def _speeds(seg: pd.DataFrame, cls: npt.NDArray[np.object_], source: str) -> FloatArray:
    default = np.array([DEFAULT_SPEED_KMH[c] for c in cls], dtype=np.float64)
    if "maxspeed_kmh" not in seg.columns:
        return default
    tagged = pd.to_numeric(seg["maxspeed_kmh"], errors="coerce").to_numpy(np.float64)
    bad = np.isfinite(tagged) & (tagged <= 0)
    if bad.any():
        row = int(seg.index[np.flatnonzero(bad)[0]])
        msg = f"{source}: row {row}: `maxspeed_kmh` must be positive, got {tagged[bad][0]!r}"
        raise InputError(msg)
    return np.where(np.isfinite(tagged), tagged, default)


def _banned_turns(net: DriveNetwork, rows: pd.DataFrame, n_walk: int, source: str) -> IntArray:
    """Arc pairs the restrictions forbid: the pair itself (``no_*``) or all others (``only_*``)."""
    local = net.drive_id_of_walk(n_walk)
    banned: list[tuple[int, int]] = []
    for row, (frm, via, to, kind) in enumerate(
        rows[["from_segment", "via_node", "to_segment", "restriction"]].itertuples(index=False)
    ):
        if not str(kind).startswith(RESTRICTION_PREFIXES):
            msg = f"{source}: turn restriction row {row}: `restriction` must start with no_ or only_, got {kind!r}"  # noqa: E501
            raise InputError(msg)
        v = local[int(via)] if 0 <= int(via) < n_walk else -1
        if v < 0:
            continue  # the via node is not on a carriageway (a foot-only junction)
        arcs_in = np.flatnonzero((net.edge_segment == int(frm)) & (net.edge_head == v))
        outs = np.arange(net.indptr[v], net.indptr[v + 1])
        for a in arcs_in:
            if str(kind).startswith("no_"):
                banned += [(int(a), int(b)) for b in outs if net.edge_segment[b] == int(to)]
            else:
                banned += [(int(a), int(b)) for b in outs if net.edge_segment[b] != int(to)]
    return np.array(sorted(set(banned)), dtype=np.int64).reshape(-1, 2)


def drive_route(
    net: DriveNetwork, origin: int, destination: int, *, weight: str = "time"
) -> list[int]:
    """Return the arcs of a quickest (or shortest) drive from ``origin`` to ``destination``.

    The search runs on arcs (an edge-based Dijkstra), so a banned turn is never taken and a
    driver goes round the block instead. Nodes are drive node ids; ``[]`` when unreachable.

    Examples
    --------
    >>> nodes = pd.DataFrame({"x_utm": [0.0, 1.0, 2.0], "y_utm": [0.0, 0.0, 0.0]})
    >>> segs = pd.DataFrame({"tail": [0, 1], "head": [1, 2], "length_m": [1.0, 1.0],
    ...                      "kind": [0, 0], "road_class": ["primary", "primary"]})
    >>> net = build_drive_network(nodes, segs)
    >>> [int(net.edge_head[a]) for a in drive_route(net, 0, 2)]
    [1, 2]
    """
    cost = net.edge_time_s if weight == "time" else net.edge_length_m
    banned = {(int(a), int(b)) for a, b in net.banned_turns}
    best = np.full(net.n_edges, np.inf)
    previous = np.full(net.n_edges, -1, dtype=np.int64)
    heap: list[tuple[float, int]] = []
    for a in range(net.indptr[origin], net.indptr[origin + 1]):
        best[a] = cost[a]
        heapq.heappush(heap, (float(cost[a]), int(a)))
    while heap:
        d, a = heapq.heappop(heap)
        if d > best[a]:
            continue
        v = int(net.edge_head[a])
        if v == destination:
            path = [a]
            while previous[path[-1]] >= 0:
                path.append(int(previous[path[-1]]))
            return path[::-1]
        for b in range(net.indptr[v], net.indptr[v + 1]):
            if (a, b) in banned:
                continue
            nd = d + float(cost[b])
            if nd < best[b]:
                best[b], previous[b] = nd, a
                heapq.heappush(heap, (nd, b))
    return []
