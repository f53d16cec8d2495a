"""The walk network: a directed graph in CSR arrays, with node heights and edge times.

Every street, footway or flight of steps given as one *segment* becomes two directed arcs
(one for a one-way segment such as an escalator), each with its own time, because climbing a
hill is slower than coming down it. Arcs are sorted by tail node so that the outgoing arcs of
node ``u`` are ``indptr[u]:indptr[u + 1]``: the layout the search kernels read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shancheng.errors import NetworkInputError
from shancheng.network._checks import is_whole, refuse_bad_rows
from shancheng.network.speed import EdgeKind, WalkSpeeds, edge_times_s

if TYPE_CHECKING:
    from shancheng.types import FloatArray, IntArray

logger = logging.getLogger(__name__)

MAX_KIND = max(EdgeKind)

UTM_48N_EPSG = 32648
"""UTM zone 48N, the metric CRS in which Chongqing is computed."""


@dataclass(frozen=True, eq=False)
class WalkNetwork:
    """A directed walk graph in CSR form; build it with :func:`build_walk_network`.

    Attributes
    ----------
    node_x_utm, node_y_utm, node_z_m
        Node coordinates in metres in ``crs_epsg`` and ground height in metres.
    indptr
        ``n_nodes + 1`` offsets: the arcs leaving node ``u`` are ``indptr[u]:indptr[u+1]``.
    edge_tail, edge_head
        Node ids of each arc, sorted by tail.
    edge_length_m, edge_rise_m, edge_time_s
        Horizontal length, signed height gain along the arc, and walking time.
    edge_kind
        :class:`~shancheng.network.speed.EdgeKind` codes.
    edge_segment, edge_forward
        The input segment each arc comes from, and whether it runs along it (tail → head).
    edge_twin
        Index of the arc running the other way along the same segment, or -1 (one-way).
    speeds
        The walking profile the times were computed with (snapping reuses it).
    """

    node_x_utm: FloatArray
    node_y_utm: FloatArray
    node_z_m: FloatArray
    indptr: IntArray
    edge_tail: IntArray
    edge_head: IntArray
    edge_length_m: FloatArray
    edge_rise_m: FloatArray
    edge_time_s: FloatArray
    edge_kind: npt.NDArray[np.uint8]
    edge_segment: IntArray
    edge_forward: npt.NDArray[np.bool_]
    edge_twin: IntArray
    speeds: WalkSpeeds = field(default_factory=WalkSpeeds)
    crs_epsg: int = UTM_48N_EPSG
    is_reversed: bool = False

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_x_utm.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of directed arcs."""
        return int(self.edge_head.shape[0])

    def reversed(self) -> WalkNetwork:
        """Return the network with every arc turned around, keeping each arc's time.

        A search from facilities on the reversed network gives, for every node, the time
        to walk *to* the nearest facility, which is what residents experience. The view is
        built once and kept with the network.
        """
        cached: WalkNetwork | None = self.__dict__.get("_reversed")
        if cached is None:
            cached = self._turn_around()
            object.__setattr__(self, "_reversed", cached)
        return cached

    def _turn_around(self) -> WalkNetwork:
        order = np.lexsort((self.edge_tail, self.edge_head))
        new_position = np.empty_like(order)
        new_position[order] = np.arange(order.shape[0])
        twin = self.edge_twin[order]
        twin = np.where(twin >= 0, new_position[np.maximum(twin, 0)], -1)
        return WalkNetwork(
            node_x_utm=self.node_x_utm,
            node_y_utm=self.node_y_utm,
            node_z_m=self.node_z_m,
            indptr=_indptr(self.edge_head[order], self.n_nodes),
            edge_tail=self.edge_head[order],
            edge_head=self.edge_tail[order],
            edge_length_m=self.edge_length_m[order],
            edge_rise_m=-self.edge_rise_m[order],
            edge_time_s=self.edge_time_s[order],
            edge_kind=self.edge_kind[order],
            edge_segment=self.edge_segment[order],
            edge_forward=~self.edge_forward[order],
            edge_twin=twin,
            speeds=self.speeds,
            crs_epsg=self.crs_epsg,
            is_reversed=not self.is_reversed,
        )


def build_walk_network(
    node_x_utm: npt.ArrayLike,
    node_y_utm: npt.ArrayLike,
    node_z_m: npt.ArrayLike | None,
    segment_tail: npt.ArrayLike,
    segment_head: npt.ArrayLike,
    segment_length_m: npt.ArrayLike,
    segment_kind: npt.ArrayLike,
    *,
    oneway: npt.ArrayLike | None = None,
    fixed_time_s: npt.ArrayLike | None = None,
    segment_rise_m: npt.ArrayLike | None = None,
    speeds: WalkSpeeds | None = None,
    crs_epsg: int = UTM_48N_EPSG,
    source: str = "walk network",
) -> WalkNetwork:
    """Build the directed walk network from nodes and undirected segments.

    Parameters
    ----------
    node_x_utm, node_y_utm
        Node coordinates in metres in ``crs_epsg`` (a projected CRS).
    node_z_m
        Ground height of each node in metres; ``None`` means flat (all zero).
    segment_tail, segment_head
        Node ids (0-based) at the two ends of each segment.
    segment_length_m
        Horizontal length of each segment in metres, >= 0.
    segment_kind
        :class:`~shancheng.network.speed.EdgeKind` code of each segment.
    oneway
        Per segment, True when it may be walked only tail → head (escalators).
    fixed_time_s
        Per segment, a time in seconds that overrides the speed model where finite.
    segment_rise_m
        Per segment, the rise tail → head in metres where finite (stairs whose climb is known
        from their ``step_count``); NaN means "from the node heights".
    speeds
        The walking profile; the default is :class:`WalkSpeeds()` (5 km/h on the flat).
    crs_epsg
        EPSG code of the projected CRS the coordinates are in.
    source
        Name of the file or table the arrays came from, used in error messages.

    Returns
    -------
    WalkNetwork
        Arcs sorted by tail; each two-way segment gives two arcs with their own times.

    Raises
    ------
    NetworkInputError
        NaN or infinite coordinates, negative or non-finite lengths, node ids out of range,
        unknown kinds, or arrays of different lengths; the message names row and field.

    Examples
    --------
    >>> net = build_walk_network([0.0, 100.0], [0.0, 0.0], [0.0, 10.0], [0], [1], [100.0], [0])
    >>> net.n_edges, bool(net.edge_time_s[0] > net.edge_time_s[1])  # 0→1 climbs 10 m
    (2, True)
    """
    speeds = speeds or WalkSpeeds()
    x = _float_column(node_x_utm, "node_x_utm", source)
    y = _float_column(node_y_utm, "node_y_utm", source)
    n_nodes = x.shape[0]
    z = np.zeros(n_nodes) if node_z_m is None else _float_column(node_z_m, "node_z_m", source)
    _same_length(source, node_x_utm=x, node_y_utm=y, node_z_m=z)
    for name, column in (("node_x_utm", x), ("node_y_utm", y), ("node_z_m", z)):
        _require(np.isfinite(column), source, "node", name, column, "must be a finite number")

    tail = _int_column(segment_tail, "segment_tail", source)
    head = _int_column(segment_head, "segment_head", source)
    length = _float_column(segment_length_m, "segment_length_m", source)
    kind = _int_column(segment_kind, "segment_kind", source)
    n_segments = tail.shape[0]
    is_oneway = np.zeros(n_segments, bool) if oneway is None else np.asarray(oneway, bool)
    fixed = (
        np.full(n_segments, np.nan)
        if fixed_time_s is None
        else _float_column(fixed_time_s, "fixed_time_s", source)
    )
    _same_length(
        source,
        segment_tail=tail,
        segment_head=head,
        segment_length_m=length,
        segment_kind=kind,
        oneway=is_oneway,
        fixed_time_s=fixed,
    )
    for name, ids in (("segment_tail", tail), ("segment_head", head)):
        _require(
            (ids >= 0) & (ids < n_nodes),
            source,
            "segment",
            name,
            ids,
            f"must be a node id in [0, {n_nodes})",
        )
    _require(
        np.isfinite(length) & (length >= 0),
        source,
        "segment",
        "segment_length_m",
        length,
        "must be a finite length >= 0 metres",
    )
    _require(
        (kind >= 0) & (kind <= MAX_KIND),
        source,
        "segment",
        "segment_kind",
        kind,
        f"must be an EdgeKind code in [0, {int(MAX_KIND)}]",
    )
    _require(
        np.isnan(fixed) | (fixed >= 0),
        source,
        "segment",
        "fixed_time_s",
        fixed,
        "must be NaN (compute) or a time >= 0 seconds",
    )

    two_way = np.flatnonzero(~is_oneway)
    arc_segment = np.concatenate([np.arange(n_segments), two_way])
    arc_forward = np.concatenate([np.ones(n_segments, bool), np.zeros(two_way.shape[0], bool)])
    arc_tail = np.where(arc_forward, tail[arc_segment], head[arc_segment])
    arc_head = np.where(arc_forward, head[arc_segment], tail[arc_segment])
    arc_kind = kind[arc_segment].astype(np.uint8)
    arc_length = length[arc_segment]
    arc_rise = z[arc_head] - z[arc_tail]
    if segment_rise_m is not None:
        given = _float_column(segment_rise_m, "segment_rise_m", source)
        _same_length(source, segment_tail=tail, segment_rise_m=given)
        arc_given = np.where(arc_forward, given[arc_segment], -given[arc_segment])
        arc_rise = np.where(np.isfinite(arc_given), arc_given, arc_rise)
    arc_time = edge_times_s(
        arc_length, arc_rise, arc_kind, speeds=speeds, fixed_time_s=fixed[arc_segment]
    )
    twin_unsorted = np.full(arc_segment.shape[0], -1, dtype=np.int64)
    twin_unsorted[two_way] = n_segments + np.arange(two_way.shape[0])
    twin_unsorted[n_segments:] = two_way

    order = np.lexsort((arc_head, arc_tail))
    new_position = np.empty_like(order)
    new_position[order] = np.arange(order.shape[0])
    twin = twin_unsorted[order]
    twin = np.where(twin >= 0, new_position[np.maximum(twin, 0)], -1)
    network = WalkNetwork(
        node_x_utm=x,
        node_y_utm=y,
        node_z_m=z,
        indptr=_indptr(arc_tail[order], n_nodes),
        edge_tail=arc_tail[order],
        edge_head=arc_head[order],
        edge_length_m=arc_length[order],
        edge_rise_m=arc_rise[order],
        edge_time_s=arc_time[order],
        edge_kind=arc_kind[order],
        edge_segment=arc_segment[order],
        edge_forward=arc_forward[order],
        edge_twin=twin,
        speeds=speeds,
        crs_epsg=crs_epsg,
    )
    logger.info(
        "walk network from %s: %d nodes, %d segments, %d arcs",
        source,
        n_nodes,
        n_segments,
        network.n_edges,
    )
    return network


def _indptr(sorted_tail: IntArray, n_nodes: int) -> IntArray:
    """CSR offsets from arc tails already sorted ascending."""
    counts = np.bincount(sorted_tail, minlength=n_nodes)
    indptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr


def _float_column(values: npt.ArrayLike, name: str, source: str) -> FloatArray:
    try:
        column = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"{source}: field `{name}` must be numeric ({exc})"
        raise NetworkInputError(msg) from exc
    if column.ndim != 1:
        msg = f"{source}: field `{name}` must be one-dimensional, got shape {column.shape}"
        raise NetworkInputError(msg)
    return column


def _int_column(values: npt.ArrayLike, name: str, source: str) -> IntArray:
    column = _float_column(values, name, source)
    _require(is_whole(column), source, "segment", name, column, "must be a whole number")
    return column.astype(np.int64)


def _same_length(source: str, **columns: npt.NDArray[np.generic]) -> None:
    lengths = {name: column.shape[0] for name, column in columns.items()}
    if len(set(lengths.values())) > 1:
        msg = f"{source}: columns have different lengths: {lengths}"
        raise NetworkInputError(msg)


def _require(
    ok: npt.NDArray[np.bool_],
    source: str,
    row_kind: str,
    name: str,
    values: npt.NDArray[np.generic],
    rule: str,
) -> None:
    """Raise naming the first bad row, its field and value, and how many rows are bad."""

    def describe(first: int, value: object, n_bad: int) -> str:
        more = f" ({n_bad} bad rows in all)" if n_bad > 1 else ""
        return f"{source}: {row_kind} row {first}: field `{name}` {rule}, got {value!r}{more}"

    refuse_bad_rows(ok, values, describe, NetworkInputError)
