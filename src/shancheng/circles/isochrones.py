"""Isochrones: the area reachable on foot within 5, 10 and 15 minutes, from or to a point.

Not a circle and not a buffer around the point: the streets, stairs and paths walked within
the time, cut where the time runs out part-way along an edge, widened by a narrow corridor
(``width_m``, the houses along the street) and merged. "From" follows the arcs outward (where
can I get to?); "to" follows them inward (who can get here?), which on a hillside differ,
because climbing is slower than descending. Lifts, escalators, ferries and cable cars carry the
walker but are not drawn (the river crossed by a ferry is not reachable land).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import shapely

from shancheng.circles.attach import NOT_ATTACHED, attach_points
from shancheng.errors import InputError, SnapDistanceError
from shancheng.network.search import nearest_times
from shancheng.network.speed import FIXED_TIME_KINDS

if TYPE_CHECKING:
    from shancheng.network.walk import WalkNetwork
    from shancheng.types import FloatArray

Direction = Literal["from", "to"]


def isochrones(
    network: WalkNetwork,
    x_utm: float,
    y_utm: float,
    *,
    thresholds_min: tuple[float, ...] = (5.0, 10.0, 15.0),
    direction: Direction = "from",
    width_m: float = 25.0,
    max_snap_m: float = 200.0,
) -> gpd.GeoDataFrame:
    """Polygons of the area walked within each threshold, from or to one point.

    Parameters
    ----------
    network
        The walk network (not reversed).
    x_utm, y_utm
        The point, in the network's CRS (metres).
    thresholds_min
        Walking times, minutes.
    direction
        ``"from"`` the point (where can one walk to) or ``"to"`` it (from where can one
        walk here).
    width_m
        Half-width of the corridor drawn around each reachable piece of street, metres.
    max_snap_m
        The point must lie within this distance of an edge.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per threshold, in the network's CRS: ``threshold_min, direction,
        street_length_m`` (length of network reached) and the polygon.

    Raises
    ------
    SnapDistanceError
        The point lies farther than ``max_snap_m`` from every edge.
    InputError
        A bad direction, threshold or width.

    Examples
    --------
    >>> from shancheng.network.walk import build_walk_network
    >>> from shancheng.network.speed import WalkSpeeds
    >>> line = build_walk_network([0.0, 600.0], [0.0, 0.0], None, [0], [1], [600.0], [0],
    ...                           speeds=WalkSpeeds(flat_speed_km_h=3.6))  # 1 m/s
    >>> iso = isochrones(line, 0.0, 0.0, thresholds_min=(5.0,), width_m=10.0)
    >>> float(iso.street_length_m[0])  # 300 s at 1 m/s along the street
    300.0
    >>> iso.geometry[0].contains(shapely.Point(290, 0)), iso.geometry[0].contains(
    ...     shapely.Point(150, 100))
    (True, False)
    """
    if direction not in ("from", "to"):
        msg = f"`direction` must be one of {{'from', 'to'}}, got {direction!r}"
        raise InputError(msg)
    limits = np.asarray(thresholds_min, dtype=np.float64) * 60.0
    if limits.shape[0] == 0 or not np.all(np.isfinite(limits) & (limits > 0)):
        msg = f"`thresholds_min` must be positive minutes, got {thresholds_min!r}"
        raise InputError(msg)
    if not (np.isfinite(width_m) and width_m > 0):
        msg = f"`width_m` must be a positive number of metres, got {width_m!r}"
        raise InputError(msg)
    attached = attach_points(network, [x_utm], [y_utm], max_distance_m=max_snap_m,
                             source="isochrone origin")  # fmt: skip
    node = int(attached.point_node[0])
    if node == NOT_ATTACHED:
        msg = (
            f"isochrone origin ({x_utm:.1f}, {y_utm:.1f}) lies more than {max_snap_m:g} m from "
            "every edge of the walk network; check the coordinates and their CRS"
        )
        raise SnapDistanceError(msg)
    graph = attached.network
    time_s = nearest_times(
        graph,
        [node],
        cutoff_s=float(limits.max()),
        direction="from_sources" if direction == "from" else "to_sources",
    ).time_s[0]
    rows = []
    for limit in np.sort(limits):
        start, end, length = _reached_pieces(graph, time_s, float(limit), direction)
        area = None
        if start.shape[0]:
            lines = np.asarray(shapely.linestrings(np.stack([start, end], axis=1)), dtype=object)
            area = shapely.union_all(shapely.buffer(lines, width_m))
        rows.append(
            {
                "threshold_min": float(limit) / 60.0,
                "direction": direction,
                "street_length_m": round(float(length.sum()), 6),
                "geometry": area if area is not None else shapely.Polygon(),
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=f"EPSG:{network.crs_epsg}")


def _reached_pieces(
    graph: WalkNetwork, time_s: FloatArray, limit_s: float, direction: Direction
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Start and end coordinates, and length, of the reached part of every drawable arc."""
    tail, head = graph.edge_tail, graph.edge_head
    arc_time = graph.edge_time_s
    # walking "from": the arc is entered at its tail; "to": left at its head
    anchor, other = (tail, head) if direction == "from" else (head, tail)
    left = limit_s - time_s[anchor]
    drawable = ~np.isin(graph.edge_kind, np.asarray(FIXED_TIME_KINDS, dtype=np.uint8))
    keep = np.flatnonzero((left >= 0) & np.isfinite(left) & drawable)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(arc_time[keep] > 0, left[keep] / arc_time[keep], 1.0)
    share = np.clip(share, 0.0, 1.0)
    ax, ay = graph.node_x_utm[anchor[keep]], graph.node_y_utm[anchor[keep]]
    bx, by = graph.node_x_utm[other[keep]], graph.node_y_utm[other[keep]]
    start = np.column_stack([ax, ay])
    end = np.column_stack([ax + share * (bx - ax), ay + share * (by - ay)])
    positive = share * graph.edge_length_m[keep] > 0
    # a street reached from both ends counts once: shares of its two arcs add, up to 1
    low = np.minimum(tail[keep], head[keep])
    high = np.maximum(tail[keep], head[keep])
    _, street = np.unique(low * graph.n_nodes + high, return_inverse=True)
    covered = np.minimum(np.bincount(street, weights=share), 1.0)
    street_length = np.bincount(street, weights=graph.edge_length_m[keep]) / np.bincount(street)
    length = covered * street_length
    return start[positive], end[positive], length
