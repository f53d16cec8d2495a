"""Turn the walkable ways of an OSM extract into walk-network nodes and short segments.

Ways are clipped to the study area (vertices outside are dropped; a way leaving and
re-entering the area becomes separate runs), split at every node shared by two ways (and at
lifts), and each resulting street segment is cut into pieces of at most ``max_piece_m``
metres so that the DEM is sampled along it at regular spacing: a path over a hill then climbs
and descends in the network instead of looking flat between its ends. Lengths are haversine
along the original polyline. A lift node (``highway=elevator``) becomes a hub joined to each
way that reaches it by an ``ELEVATOR`` segment of half the ride time, so passing through it
costs one ride; with a DEM, each landing takes the height of the walkway it opens onto
(:func:`level_lift_landings`), so the lift carries the climb.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import shapely

from shancheng.errors import InputError
from shancheng.geo.crs import haversine_m
from shancheng.network.speed import FIXED_TIME_KINDS, EdgeKind

if TYPE_CHECKING:
    from shancheng.data.osm import OsmExtract
    from shancheng.types import BoolArray, FloatArray, IntArray


ELEVATOR_RIDE_S = 60.0
"""Time to pass through a lift node (waiting plus ride), split over its two half-segments."""
_RUN_GAP_M = 1.0e3


@dataclass(frozen=True, eq=False)
class WalkPieces:
    """Nodes and short segments of the walk network, before heights are added.

    Node ``k`` is at ``node_lon[k], node_lat[k]``; ``node_osm_id`` is the OSM node id for
    junctions and way ends, -1 for points inserted along a segment. Segment arrays have one
    entry per piece; ``elevated`` marks bridge and tunnel pieces.
    """

    node_lon: FloatArray
    node_lat: FloatArray
    node_osm_id: IntArray
    tail: IntArray
    head: IntArray
    length_m: FloatArray
    kind: npt.NDArray[np.uint8]
    oneway: BoolArray
    fixed_time_s: FloatArray
    elevated: BoolArray
    way_index: IntArray
    """Index into the extract's ways (-1 for lift half-segments)."""
    geometry: npt.NDArray[np.object_]
    tail_along_m: FloatArray | None = None
    """Position of the tail along its way run, metres (NaN for lifts); with ``head_along_m``
    and ``run_index`` it gives each way's elevation profile (:mod:`shancheng.data.profile`)."""
    head_along_m: FloatArray | None = None
    """Position of the head along its way run, metres (NaN for lifts)."""
    run_index: IntArray | None = None
    """Way run of the piece: one per part of a way inside the area (-1 for lifts)."""

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_lon.shape[0])

    def elevated_nodes(self) -> BoolArray:
        """Nodes every one of whose segments is a bridge or tunnel piece."""
        total = np.bincount(np.concatenate([self.tail, self.head]), minlength=self.n_nodes)
        up = np.concatenate([self.elevated, self.elevated])
        high = np.bincount(np.concatenate([self.tail, self.head])[up], minlength=self.n_nodes)
        return np.asarray((total > 0) & (high == total), dtype=bool)


def build_pieces(  # noqa: PLR0915 - one pipeline of array steps, clearer unsplit
    extract: OsmExtract,
    area: shapely.Geometry | None,
    *,
    max_piece_m: float = 30.0,
) -> WalkPieces:
    """Clip, split at junctions and cut into pieces the walkable ways of an extract.

    Parameters
    ----------
    extract
        The ways read by :func:`~shancheng.data.osm.read_osm`.
    area
        Polygon (WGS84) to clip to, or ``None`` for everything.
    max_piece_m
        Longest piece in metres; the DEM is sampled at every piece end.

    Raises
    ------
    InputError
        No walkable way lies inside the area.
    """
    if extract.n_ways == 0:
        msg = f"{extract.source}: no walkable ways found in the file"
        raise InputError(msg)
    lengths = np.fromiter((r.shape[0] for r in extract.way_refs), np.int64, extract.n_ways)
    way = np.repeat(np.arange(extract.n_ways), lengths)
    refs = np.concatenate(extract.way_refs)
    lonlat = np.concatenate(extract.way_lonlat)
    keep = (
        np.ones(refs.shape[0], dtype=bool)
        if area is None
        else shapely.contains_xy(area, lonlat[:, 0], lonlat[:, 1])
    )
    run_start = np.ones(refs.shape[0], dtype=bool)
    run_start[1:] = (way[1:] != way[:-1]) | ~keep[:-1]
    run = np.cumsum(run_start)[keep]
    way, refs, lonlat = way[keep], refs[keep], lonlat[keep]
    size = np.bincount(run)
    good = size[run] >= 2  # noqa: PLR2004
    way, refs, lonlat, run = way[good], refs[good], lonlat[good], run[good]
    if refs.shape[0] == 0:
        msg = f"{extract.source}: no walkable way lies inside the study area"
        raise InputError(msg)

    first = np.ones(run.shape[0], dtype=bool)
    first[1:] = run[1:] != run[:-1]
    last = np.ones(run.shape[0], dtype=bool)
    last[:-1] = run[1:] != run[:-1]
    _, inverse, counts = np.unique(refs, return_inverse=True, return_counts=True)
    lifts = np.isin(refs, np.fromiter(extract.elevator_nodes, np.int64))
    junction = first | last | (counts[inverse] > 1) | lifts

    step = np.zeros(run.shape[0])
    step[1:] = np.where(first[1:], _RUN_GAP_M, haversine_m(
        lonlat[:-1, 0], lonlat[:-1, 1], lonlat[1:, 0], lonlat[1:, 1]))  # fmt: skip
    distance = np.cumsum(step)

    junction_ids, node_of_junction = np.unique(refs[junction], return_inverse=True)
    node_of_vertex = np.full(refs.shape[0], -1, dtype=np.int64)
    node_of_vertex[junction] = node_of_junction
    j_pos = np.flatnonzero(junction)
    seg_from = j_pos[:-1][~last[j_pos[:-1]]]
    seg_to = j_pos[1:][~last[j_pos[:-1]]]
    seg_way = way[seg_from]
    seg_length = distance[seg_to] - distance[seg_from]

    junction_lonlat = np.zeros((junction_ids.shape[0], 2))
    junction_lonlat[node_of_junction] = lonlat[junction]
    classes = extract.way_class
    seg_kind = np.fromiter((classes[w].kind for w in seg_way), np.uint8, seg_way.shape[0])
    fixed_kind = np.isin(seg_kind, np.array(FIXED_TIME_KINDS, dtype=np.uint8))
    n_piece = np.where(fixed_kind, 1, np.maximum(1, np.ceil(seg_length / max_piece_m)))
    n_piece = n_piece.astype(np.int64)
    pieces = _cut(
        distance, lonlat, seg_from, seg_to, n_piece, node_of_vertex, junction_ids.shape[0]
    )
    node_lon = np.concatenate([junction_lonlat[:, 0], pieces.new_lon])
    node_lat = np.concatenate([junction_lonlat[:, 1], pieces.new_lat])
    node_osm = np.concatenate([junction_ids, np.full(pieces.new_lon.shape[0], -1, np.int64)])

    piece_way = seg_way[pieces.segment]
    direction = np.fromiter((classes[w].direction for w in piece_way), np.int64,
                            piece_way.shape[0])  # fmt: skip
    tail = np.where(direction < 0, pieces.head, pieces.tail)
    head = np.where(direction < 0, pieces.tail, pieces.head)
    elevated = np.fromiter((classes[w].bridge or classes[w].tunnel for w in piece_way), bool,
                           piece_way.shape[0])  # fmt: skip
    kind = seg_kind[pieces.segment]
    geometry = pieces.geometry
    geometry = np.where(direction < 0, shapely.reverse(geometry), geometry)
    fixed = np.full(kind.shape[0], np.nan)
    start_d, end_d = pieces.start_d, pieces.start_d + pieces.length_m
    result = WalkPieces(
        node_lon=node_lon, node_lat=node_lat, node_osm_id=node_osm, tail=tail, head=head,
        length_m=pieces.length_m, kind=kind, oneway=direction != 0, fixed_time_s=fixed,
        elevated=elevated, way_index=piece_way, geometry=geometry,
        tail_along_m=np.where(direction < 0, end_d, start_d),
        head_along_m=np.where(direction < 0, start_d, end_d),
        run_index=run[seg_from][pieces.segment].astype(np.int64),
    )  # fmt: skip
    return _add_lifts(result, extract.elevator_nodes)


@dataclass(frozen=True, eq=False)
class _Cut:
    segment: IntArray
    tail: IntArray
    head: IntArray
    length_m: FloatArray
    new_lon: FloatArray
    new_lat: FloatArray
    geometry: npt.NDArray[np.object_]
    start_d: FloatArray


def _cut(
    distance: FloatArray,
    lonlat: FloatArray,
    seg_from: IntArray,
    seg_to: IntArray,
    n_piece: IntArray,
    node_of_vertex: IntArray,
    n_junctions: int,
) -> _Cut:
    """Cut every segment into ``n_piece`` equal-length pieces along its polyline."""
    n_seg = seg_from.shape[0]
    total_pieces = int(n_piece.sum())
    piece_seg = np.repeat(np.arange(n_seg), n_piece)
    piece_first = np.cumsum(n_piece) - n_piece
    k = np.arange(total_pieces) - piece_first[piece_seg]
    d0 = distance[seg_from][piece_seg]
    span = (distance[seg_to] - distance[seg_from])[piece_seg]
    start_d = d0 + span * k / n_piece[piece_seg]
    end_d = d0 + span * (k + 1) / n_piece[piece_seg]
    start_lon = np.interp(start_d, distance, lonlat[:, 0])
    start_lat = np.interp(start_d, distance, lonlat[:, 1])
    end_lon = np.interp(end_d, distance, lonlat[:, 0])
    end_lat = np.interp(end_d, distance, lonlat[:, 1])
    # Nodes: the segment's junction ends, plus a new node at each interior break.
    interior = k > 0
    new_count = int(interior.sum())
    new_id = np.full(total_pieces, -1, dtype=np.int64)
    new_id[interior] = n_junctions + np.arange(new_count)
    tail = np.where(interior, new_id, node_of_vertex[seg_from][piece_seg])
    is_last = k == n_piece[piece_seg] - 1
    head = np.empty(total_pieces, dtype=np.int64)
    head[~is_last] = new_id[1:][~is_last[:-1]]
    head[is_last] = node_of_vertex[seg_to][piece_seg[is_last]]
    # Geometry: start break, original vertices strictly inside, end break.
    vertex_piece = np.searchsorted(start_d, distance, side="right") - 1
    valid = vertex_piece >= 0
    inside = np.zeros(distance.shape[0], dtype=bool)
    inside[valid] = (distance[valid] > start_d[vertex_piece[valid]]) & (
        distance[valid] < end_d[vertex_piece[valid]]
    )
    ids = np.concatenate([np.arange(total_pieces), vertex_piece[inside], np.arange(total_pieces)])
    order_d = np.concatenate([start_d, distance[inside], end_d])
    rank = np.concatenate([np.zeros(total_pieces), np.ones(int(inside.sum())),
                           np.full(total_pieces, 2.0)])  # fmt: skip
    xs = np.concatenate([start_lon, lonlat[inside, 0], end_lon])
    ys = np.concatenate([start_lat, lonlat[inside, 1], end_lat])
    order = np.lexsort((rank, order_d, ids))
    geometry = shapely.linestrings(np.column_stack([xs[order], ys[order]]), indices=ids[order])
    return _Cut(
        segment=piece_seg, tail=tail, head=head, length_m=end_d - start_d,
        new_lon=start_lon[interior], new_lat=start_lat[interior],
        geometry=np.asarray(geometry, dtype=object), start_d=start_d,
    )  # fmt: skip


def _add_lifts(pieces: WalkPieces, elevator_nodes: set[int]) -> WalkPieces:
    """Give each way reaching a lift node its own landing, joined to the lift by a ride."""
    if not elevator_nodes:
        return pieces
    lift_nodes = np.flatnonzero(np.isin(pieces.node_osm_id, np.fromiter(elevator_nodes, np.int64)))
    if lift_nodes.shape[0] == 0:
        return pieces
    tail, head = pieces.tail.copy(), pieces.head.copy()
    ends = np.concatenate([tail, head])
    hits = np.flatnonzero(np.isin(ends, lift_nodes))
    n_new = hits.shape[0]
    landing = pieces.n_nodes + np.arange(n_new)
    hub = ends[hits]
    n_pieces = tail.shape[0]
    at_tail = hits < n_pieces
    tail[hits[at_tail]] = landing[at_tail]
    head[hits[~at_tail] - n_pieces] = landing[~at_tail]
    lon = pieces.node_lon[hub]
    lat = pieces.node_lat[hub]
    ride = shapely.linestrings(np.stack([np.column_stack([lon, lat])] * 2, axis=1))
    return WalkPieces(
        node_lon=np.concatenate([pieces.node_lon, lon]),
        node_lat=np.concatenate([pieces.node_lat, lat]),
        node_osm_id=np.concatenate([pieces.node_osm_id, np.full(n_new, -1, np.int64)]),
        tail=np.concatenate([tail, landing]),
        head=np.concatenate([head, hub]),
        length_m=np.concatenate([pieces.length_m, np.zeros(n_new)]),
        kind=np.concatenate([pieces.kind, np.full(n_new, EdgeKind.ELEVATOR, np.uint8)]),
        oneway=np.concatenate([pieces.oneway, np.zeros(n_new, bool)]),
        fixed_time_s=np.concatenate([pieces.fixed_time_s, np.full(n_new, ELEVATOR_RIDE_S / 2)]),
        elevated=np.concatenate([pieces.elevated, np.zeros(n_new, bool)]),
        way_index=np.concatenate([pieces.way_index, np.full(n_new, -1, np.int64)]),
        geometry=np.concatenate([pieces.geometry, np.asarray(ride, dtype=object)]),
        tail_along_m=_extend(pieces.tail_along_m, n_new, np.nan),
        head_along_m=_extend(pieces.head_along_m, n_new, np.nan),
        run_index=_extend(pieces.run_index, n_new, -1),
    )


def _extend(values: npt.NDArray[Any] | None, n: int, fill: float) -> Any:  # noqa: ANN401
    """Append ``n`` copies of ``fill`` to an optional per-piece array."""
    if values is None:
        return None
    return np.concatenate([values, np.full(n, fill, dtype=values.dtype)])


def level_lift_landings(z_m: FloatArray, pieces: WalkPieces) -> FloatArray:
    """Put each lift landing at the height of the walkway it opens onto.

    A lift's landings share one spot on the map, so the DEM gives them all the same height;
    the climb the lift saves would then reappear on the walkways next to it. Each landing
    takes the height of the far end of its one walking piece instead, so that piece is level
    and the height difference sits on the lift, whose ride time is fixed.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> line = shapely.LineString([(0, 0), (0, 1)])
    >>> p = WalkPieces(np.zeros(5), np.zeros(5), np.array([1, 2, 3, -1, -1]),
    ...     tail=np.array([0, 2, 3, 4]), head=np.array([3, 4, 1, 1]),
    ...     length_m=np.array([20.0, 20.0, 0.0, 0.0]), kind=np.array([1, 1, 7, 7], np.uint8),
    ...     oneway=np.zeros(4, bool), fixed_time_s=np.array([np.nan, np.nan, 30.0, 30.0]),
    ...     elevated=np.zeros(4, bool), way_index=np.array([0, 1, -1, -1]),
    ...     geometry=np.array([line] * 4))
    >>> level_lift_landings(np.array([0.0, 20.0, 40.0, 20.0, 20.0]), p).tolist()
    [0.0, 20.0, 40.0, 0.0, 40.0]
    """
    z = np.asarray(z_m, dtype=np.float64).copy()
    lift = pieces.way_index < 0
    if not lift.any():
        return z
    landings = pieces.tail[lift]
    walking = ~lift
    other = np.full(pieces.n_nodes, -1, dtype=np.int64)
    other[pieces.tail[walking]] = pieces.head[walking]
    other[pieces.head[walking]] = pieces.tail[walking]
    far = other[landings]
    ok = far >= 0
    z[landings[ok]] = z[far[ok]]
    return z
