"""Attach points (residences, facilities) to the walk network, with the access leg's time.

A point is projected on the nearest edge (found with a KD-tree over short pieces of every
edge, then measured exactly), and enters the network at the edge's two ends with the time it
takes to walk there along the edge, plus the straight access leg at flat speed. Points farther
than ``max_distance_m`` from every edge are not snapped: they are reported, because a school
2 km from any mapped path is a data problem a planner must see, not a rounding to hide.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from shancheng.errors import InputError, SnapDistanceError

if TYPE_CHECKING:
    from shancheng.network.speed import WalkSpeeds
    from shancheng.network.walk import WalkNetwork
    from shancheng.types import FloatArray, IntArray

logger = logging.getLogger(__name__)

_PIECE_M = 25.0
_NO_EDGE = -1


@dataclass(frozen=True, eq=False)
class SnappedPoints:
    """Where each point meets the network.

    Attributes
    ----------
    edge
        Arc index the point is projected on (an arc running along its segment), or -1.
    fraction
        Position along that arc, 0 at its tail and 1 at its head.
    distance_m
        Straight distance from the point to the network, metres (``inf`` when not snapped).
    access_time_s
        Time of the straight access leg at flat speed, seconds.
    snapped
        True where the point lies within ``max_distance_m`` of an edge.
    """

    edge: IntArray
    fraction: FloatArray
    distance_m: FloatArray
    access_time_s: FloatArray
    snapped: npt.NDArray[np.bool_]

    @property
    def far(self) -> IntArray:
        """Positions of the points too far from the network to be snapped."""
        return np.flatnonzero(~self.snapped)


@dataclass(frozen=True, eq=False)
class SnapIndex:
    """A KD-tree over short pieces of every street of a network, reusable across calls.

    Attributes
    ----------
    arcs
        One arc per segment (the forward arcs).
    ax, ay, dx, dy, chord
        Tail coordinates, direction and straight length of each of those arcs.
    piece_arc, tree, half_piece
        Arc of each piece, the KD-tree of the piece midpoints, half the longest piece.
    """

    arcs: IntArray
    ax: FloatArray
    ay: FloatArray
    dx: FloatArray
    dy: FloatArray
    chord: FloatArray
    piece_arc: IntArray
    tree: cKDTree
    half_piece: float

    @classmethod
    def build(cls, network: WalkNetwork) -> SnapIndex:
        """Cut every street into pieces of at most 25 m and index their midpoints."""
        arcs = np.flatnonzero(network.edge_forward)  # one arc per segment
        ax = network.node_x_utm[network.edge_tail[arcs]]
        ay = network.node_y_utm[network.edge_tail[arcs]]
        dx = network.node_x_utm[network.edge_head[arcs]] - ax
        dy = network.node_y_utm[network.edge_head[arcs]] - ay
        chord = np.hypot(dx, dy)
        pieces = np.maximum(1, np.ceil(chord / _PIECE_M)).astype(np.int64)
        piece_arc = np.repeat(np.arange(arcs.shape[0]), pieces)
        starts = np.cumsum(pieces) - pieces
        piece_t = (np.arange(piece_arc.shape[0]) - starts[piece_arc] + 0.5) / pieces[piece_arc]
        tree = cKDTree(
            np.column_stack(
                [ax[piece_arc] + piece_t * dx[piece_arc], ay[piece_arc] + piece_t * dy[piece_arc]]
            )
        )
        half_piece = 0.5 * float(np.max(chord / pieces)) if arcs.shape[0] else 0.0
        return cls(arcs, ax, ay, dx, dy, chord, piece_arc, tree, half_piece)


def snap_points(
    network: WalkNetwork,
    x_utm: npt.ArrayLike,
    y_utm: npt.ArrayLike,
    *,
    max_distance_m: float = 200.0,
    speeds: WalkSpeeds | None = None,
    on_far: str = "report",
    source: str = "points",
    index: SnapIndex | None = None,
) -> SnappedPoints:
    """Project points on their nearest edge, reporting those farther than ``max_distance_m``.

    Parameters
    ----------
    network
        The walk network (not reversed).
    x_utm, y_utm
        Point coordinates in the network's CRS, metres.
    max_distance_m
        Farthest a point may lie from an edge and still be snapped.
    speeds
        Walking profile for the access leg (flat speed); default the network's own.
    on_far
        ``"report"`` (log a warning, mark ``snapped`` False) or ``"raise"``.
    source
        Name of the input, for messages.
    index
        A :class:`SnapIndex` of ``network`` built earlier (a server snapping one clicked point
        per request); default: built for this call.

    Returns
    -------
    SnappedPoints

    Examples
    --------
    >>> from shancheng.network.walk import build_walk_network
    >>> net = build_walk_network([0.0, 100.0], [0.0, 0.0], None, [0], [1], [100.0], [0])
    >>> snap = snap_points(net, [25.0, 50.0], [10.0, 900.0], max_distance_m=50.0)
    >>> snap.snapped.tolist(), float(snap.fraction[0]), float(snap.distance_m[0])
    ([True, False], 0.25, 10.0)
    """
    if on_far not in ("report", "raise"):
        msg = f"`on_far` must be one of {{'report', 'raise'}}, got {on_far!r}"
        raise InputError(msg)
    px = np.atleast_1d(np.asarray(x_utm, dtype=np.float64))
    py = np.atleast_1d(np.asarray(y_utm, dtype=np.float64))
    if px.shape != py.shape:
        msg = f"{source}: x_utm and y_utm differ in length ({px.shape[0]} vs {py.shape[0]})"
        raise InputError(msg)
    bad = np.flatnonzero(~(np.isfinite(px) & np.isfinite(py)))
    if bad.shape[0]:
        row = int(bad[0])
        msg = f"{source}: row {row}: coordinates must be finite, got ({px[row]}, {py[row]})"
        raise InputError(msg)
    if not (np.isfinite(max_distance_m) and max_distance_m >= 0):
        msg = f"`max_distance_m` must be a finite distance >= 0, got {max_distance_m!r}"
        raise InputError(msg)
    speeds = speeds or network.speeds

    idx = index or SnapIndex.build(network)
    arcs, ax, ay, dx, dy, chord = idx.arcs, idx.ax, idx.ay, idx.dx, idx.dy, idx.chord
    piece_arc, tree, half_piece = idx.piece_arc, idx.tree, idx.half_piece

    best_edge = np.full(px.shape[0], _NO_EDGE, dtype=np.int64)
    best_t = np.zeros(px.shape[0])
    best_d = np.full(px.shape[0], np.inf)
    candidates = tree.query_ball_point(np.column_stack([px, py]), r=max_distance_m + half_piece)
    for i, near in enumerate(candidates):
        if not near:
            continue
        cand = np.unique(piece_arc[np.asarray(near, dtype=np.int64)])
        length2 = chord[cand] ** 2
        t = np.where(
            length2 > 0,
            ((px[i] - ax[cand]) * dx[cand] + (py[i] - ay[cand]) * dy[cand])
            / np.where(length2 > 0, length2, 1.0),
            0.0,
        )
        t = np.clip(t, 0.0, 1.0)
        dist = np.hypot(ax[cand] + t * dx[cand] - px[i], ay[cand] + t * dy[cand] - py[i])
        k = int(np.argmin(dist))
        if dist[k] <= max_distance_m:
            best_edge[i], best_t[i], best_d[i] = arcs[cand[k]], t[k], dist[k]
    snapped = best_edge != _NO_EDGE
    result = SnappedPoints(
        edge=best_edge,
        fraction=best_t,
        distance_m=best_d,
        access_time_s=np.where(snapped, best_d / speeds.flat_speed_m_s, np.inf),
        snapped=snapped,
    )
    report_far(result, source, max_distance_m, on_far=on_far)
    return result


def report_far(
    snap: SnappedPoints, source: str, max_distance_m: float, *, on_far: str = "report"
) -> None:
    """Warn about (or, with ``on_far="raise"``, refuse) the points left unsnapped.

    The message counts them against every point of ``snap`` and lists their rows in it, so
    a caller that snaps in several passes reports once, on the combined result.

    Raises
    ------
    SnapDistanceError
        Some points are too far and ``on_far`` is ``"raise"``.
    """
    far = snap.far
    if not far.shape[0]:
        return
    listed = ", ".join(str(int(i)) for i in far[:10]) + (" …" if far.shape[0] > 10 else "")  # noqa: PLR2004
    msg = (
        f"{source}: {far.shape[0]} of {snap.edge.shape[0]} points lie more than "
        f"{max_distance_m:g} m from every edge of the walk network (rows {listed}); "
        "check their coordinates and CRS, or raise max_distance_m"
    )
    if on_far == "raise":
        raise SnapDistanceError(msg)
    logger.warning(msg)


def entry_seeds(
    network: WalkNetwork, snap: SnappedPoints, *, direction: str = "to_points"
) -> tuple[IntArray, FloatArray, IntArray]:
    """Nodes at which snapped points enter a search, with the time already spent.

    Each snapped point gives up to two seeds, one per end of its edge. With
    ``direction="to_points"`` the offset is the time to walk from that end to the point (the
    point is a destination: a facility); with ``"from_points"`` the time to walk from the point
    to that end (the point is an origin: a home).

    Returns
    -------
    tuple of arrays
        ``(node, offset_s, point)``: seed node ids, offsets in seconds, and the position of
        the point each seed stands for. Points not snapped give no seed.
    """
    if direction not in ("to_points", "from_points"):
        msg = f"`direction` must be one of {{'to_points', 'from_points'}}, got {direction!r}"
        raise InputError(msg)
    points = np.flatnonzero(snap.snapped)
    arc = snap.edge[points]
    t = snap.fraction[points]
    twin = network.edge_twin[arc]
    tail, head = network.edge_tail[arc], network.edge_head[arc]
    forward_time = network.edge_time_s[arc]
    back_time = np.where(twin >= 0, network.edge_time_s[np.maximum(twin, 0)], np.inf)
    access = snap.access_time_s[points]
    if direction == "to_points":  # walk tail → point along the arc, or head → point on its twin
        at_tail = access + t * forward_time
        at_head = access + (1.0 - t) * back_time
    else:  # walk point → tail on the twin, or point → head along the arc
        at_tail = access + t * back_time
        at_head = access + (1.0 - t) * forward_time
    node = np.concatenate([tail, head])
    offset = np.concatenate([at_tail, at_head])
    point = np.concatenate([points, points])
    keep = np.isfinite(offset)
    return node[keep], offset[keep], point[keep]
