"""Splice residences and facilities into the walk network as nodes of their own.

A home or a facility lies beside a street, not on a crossing. Each point is projected on its
nearest edge (:func:`shancheng.network.snap_points`); the edge is cut at every projection, in
both directions, each piece taking its share of that direction's walking time, and the point
hangs from its projection by an access leg walked at flat speed. On this *attached* network a
home-to-facility time is exact in every case: entering the street at either end of the home's
edge, walking along the same edge to a facility beside it, uphill or downhill as it is. Every
search then runs node to node with no offsets, and counts within a threshold are counts of
facility nodes, which per-node offsets could not give.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shancheng.network.snap import SnappedPoints, report_far, snap_points
from shancheng.network.speed import EdgeKind
from shancheng.network.walk import build_walk_network

if TYPE_CHECKING:
    from shancheng.network.walk import WalkNetwork
    from shancheng.types import FloatArray, IntArray

logger = logging.getLogger(__name__)

NOT_ATTACHED = -1
"""Node id of a point lying too far from every edge to be attached."""


@dataclass(frozen=True, eq=False)
class AttachedNetwork:
    """The walk network with points spliced in.

    Attributes
    ----------
    network
        The attached network: the base nodes keep their ids, projections and points follow.
    point_node
        Node id of every point, or :data:`NOT_ATTACHED` (-1) when it lies too far away.
    distance_m
        Straight distance from each point to the network, metres (``inf`` when not attached).
    n_base_nodes
        Number of nodes of the base network.
    """

    network: WalkNetwork
    point_node: IntArray
    distance_m: FloatArray
    n_base_nodes: int


def attach_points(
    network: WalkNetwork,
    x_utm: npt.ArrayLike,
    y_utm: npt.ArrayLike,
    *,
    max_distance_m: float = 200.0,
    source: str = "points",
) -> AttachedNetwork:
    """Return the network with every point within ``max_distance_m`` spliced in as a node.

    Parameters
    ----------
    network
        The walk network (not reversed).
    x_utm, y_utm
        Point coordinates in the network's CRS, metres.
    max_distance_m
        Points farther than this from every edge are not attached (and reported).
    source
        Name of the points, for messages.

    Returns
    -------
    AttachedNetwork

    Examples
    --------
    >>> from shancheng.network.walk import build_walk_network
    >>> from shancheng.network.speed import WalkSpeeds
    >>> net = build_walk_network([0.0, 100.0], [0.0, 0.0], None, [0], [1], [100.0], [0],
    ...                          speeds=WalkSpeeds(flat_speed_km_h=3.6))
    >>> attached = attach_points(net, [20.0, 70.0], [5.0, -10.0])
    >>> attached.point_node.tolist()  # nodes 2 and 3 are the projections
    [4, 5]
    >>> from shancheng.network.search import nearest_times
    >>> t = nearest_times(attached.network, [5], cutoff_s=1e3).time_s[0]
    >>> float(t[4])  # 5 m to the street, 50 m along it, 10 m to the door, at 1 m/s
    65.0
    """
    snap = _snap_near_first(network, x_utm, y_utm, max_distance_m=max_distance_m, source=source)
    n_points = snap.edge.shape[0]
    n_base = network.n_nodes
    points = np.flatnonzero(snap.snapped)
    arc = snap.edge[points]
    order = np.lexsort((snap.fraction[points], arc))
    points, arc = points[order], arc[order]
    t = snap.fraction[points]
    k = points.shape[0]
    proj = n_base + np.arange(k, dtype=np.int64)
    hang = n_base + k + np.arange(k, dtype=np.int64)

    tail, head = network.edge_tail[arc], network.edge_head[arc]
    twin = network.edge_twin[arc]
    new_first = np.r_[True, arc[1:] != arc[:-1]] if k else np.zeros(0, bool)
    new_last = np.r_[arc[1:] != arc[:-1], True] if k else np.zeros(0, bool)
    same_next = ~new_last  # point i and i+1 lie on the same arc
    pieces = _Pieces()
    for forward in (True, False):
        direction_arc = arc if forward else np.maximum(twin, 0)
        has = np.ones(k, bool) if forward else twin >= 0
        time = network.edge_time_s[direction_arc]
        length = network.edge_length_m[direction_arc]
        kind = network.edge_kind[direction_arc]
        # from the arc's tail (forward) or head (backward) to the first projection
        a, b = (tail, proj) if forward else (proj, tail)
        pieces.add(a, b, t * time, t * length, kind, has & new_first)
        a, b = (proj, head) if forward else (head, proj)
        pieces.add(a, b, (1.0 - t) * time, (1.0 - t) * length, kind, has & new_last)
        if k > 1:
            dt = t[1:] - t[:-1]
            a, b = (proj[:-1], proj[1:]) if forward else (proj[1:], proj[:-1])
            pieces.add(a, b, dt * time[:-1], dt * length[:-1], kind[:-1], (has & same_next)[:-1])
    access_s = snap.access_time_s[points]
    access_m = snap.distance_m[points]
    footway = np.full(k, EdgeKind.FOOTWAY, np.uint8)
    pieces.add(proj, hang, access_s, access_m, footway, np.ones(k, bool))
    pieces.add(hang, proj, access_s, access_m, footway, np.ones(k, bool))

    cut = np.zeros(network.n_edges, bool)
    cut[arc] = True
    cut[twin[twin >= 0]] = True
    keep = np.flatnonzero(~cut)
    pieces.add(
        network.edge_tail[keep],
        network.edge_head[keep],
        network.edge_time_s[keep],
        network.edge_length_m[keep],
        network.edge_kind[keep],
        np.ones(keep.shape[0], bool),
    )
    px = network.node_x_utm[tail] + t * (network.node_x_utm[head] - network.node_x_utm[tail])
    py = network.node_y_utm[tail] + t * (network.node_y_utm[head] - network.node_y_utm[tail])
    pz = network.node_z_m[tail] + t * (network.node_z_m[head] - network.node_z_m[tail])
    x_all = np.asarray(x_utm, dtype=np.float64).ravel()
    y_all = np.asarray(y_utm, dtype=np.float64).ravel()
    a_tail, a_head, a_time, a_length, a_kind = pieces.arrays()
    attached = build_walk_network(
        np.concatenate([network.node_x_utm, px, x_all[points]]),
        np.concatenate([network.node_y_utm, py, y_all[points]]),
        np.concatenate([network.node_z_m, pz, pz]),
        a_tail,
        a_head,
        a_length,
        a_kind,
        oneway=np.ones(a_tail.shape[0], bool),
        fixed_time_s=a_time,
        speeds=network.speeds,
        crs_epsg=network.crs_epsg,
        source=f"{source} attached to the walk network",
    )
    point_node = np.full(n_points, NOT_ATTACHED, dtype=np.int64)
    point_node[points] = hang
    return AttachedNetwork(
        network=attached, point_node=point_node, distance_m=snap.distance_m, n_base_nodes=n_base
    )


_NEAR_M = 40.0
"""First snapping radius: most homes and facilities lie this close to a street."""


def _snap_near_first(
    network: WalkNetwork,
    x_utm: npt.ArrayLike,
    y_utm: npt.ArrayLike,
    *,
    max_distance_m: float,
    source: str,
) -> SnappedPoints:
    """Snap within a short radius first, then the rest within ``max_distance_m``.

    The result is the same as one pass with ``max_distance_m`` (an edge within the short
    radius is the nearest edge, and every edge tied with it is found too), but the KD-tree
    ball queries list far fewer candidate pieces.
    """
    x = np.asarray(x_utm, dtype=np.float64).ravel()
    y = np.asarray(y_utm, dtype=np.float64).ravel()
    if max_distance_m <= _NEAR_M or x.shape[0] == 0:
        return snap_points(network, x, y, max_distance_m=max_distance_m, source=source)
    quiet = _DropRecords()
    snap_logger = logging.getLogger("shancheng.network.snap")
    snap_logger.addFilter(quiet)  # each pass sees a part; the whole is reported below
    try:
        near = snap_points(network, x, y, max_distance_m=_NEAR_M, source=source)
        rest = near.far
        if rest.shape[0] == 0:
            return near
        far = snap_points(network, x[rest], y[rest], max_distance_m=max_distance_m,
                          source=source)  # fmt: skip
    finally:
        snap_logger.removeFilter(quiet)
    edge, fraction = near.edge.copy(), near.fraction.copy()
    distance, access = near.distance_m.copy(), near.access_time_s.copy()
    edge[rest], fraction[rest] = far.edge, far.fraction
    distance[rest], access[rest] = far.distance_m, far.access_time_s
    combined = SnappedPoints(edge=edge, fraction=fraction, distance_m=distance,
                             access_time_s=access, snapped=edge >= 0)  # fmt: skip
    report_far(combined, source, max_distance_m)
    return combined


class _DropRecords(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:  # noqa: ARG002 - drops everything
        return False


class _Pieces:
    """Arcs collected as parallel arrays, each batch filtered by a mask."""

    def __init__(self) -> None:
        self._parts: list[tuple[IntArray, IntArray, FloatArray, FloatArray, IntArray]] = []

    def add(
        self,
        tail: IntArray,
        head: IntArray,
        time_s: FloatArray,
        length_m: FloatArray,
        kind: npt.NDArray[np.uint8],
        mask: npt.NDArray[np.bool_],
    ) -> None:
        self._parts.append(
            (tail[mask], head[mask], time_s[mask], length_m[mask], kind[mask].astype(np.int64))
        )

    def arrays(self) -> tuple[IntArray, IntArray, FloatArray, FloatArray, IntArray]:
        columns = list(zip(*self._parts, strict=True))
        tail, head, time_s, length_m, kind = (np.concatenate(c) for c in columns)
        return tail, head, time_s, length_m, kind
