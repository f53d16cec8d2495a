"""A vectorised Mapbox Vector Tile (MVT 2.1) encoder: numpy in, protobuf bytes out.

Why not ``mapbox-vector-tile``'s encoder: it walks every vertex and attribute in Python, which
took 0.2-2 s for a zoomed-out tile of a city's streets (benchmarks/dashboard_layers.py);
here the geometry commands, zigzag deltas, varints and attribute tables are numpy array
operations, and only the short per-feature framing is a Python loop. ``mapbox-vector-tile``
still decodes our tiles in the tests, as an independent reader.

The geometry rules of the specification (github.com/mapbox/vector-tile-spec, 2.1, §4.3) are
kept: coordinates are rounded to integer tile units; the cursor starts at (0, 0) in each
feature and every parameter is a zigzag delta from the previous point; a line needs two
distinct points and a LineTo never repeats a point; a ring is written without its closing
point, followed by ClosePath, and needs three distinct points and a non-zero area; exterior
rings have positive area by the surveyor's formula in tile coordinates (y down), interior
rings negative, and each exterior ring comes before its holes.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

if TYPE_CHECKING:
    from collections.abc import Sequence

GeometryKind = Literal["point", "line", "polygon"]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

_TYPE = {"point": 1, "line": 2, "polygon": 3}
_MOVE_TO, _LINE_TO, _CLOSE = 1, 2, 7
_PART_TYPES = {"point": (0,), "line": (1, 2), "polygon": (3,)}  # shapely type ids


def encode_layer(
    name: str,
    kind: GeometryKind,
    geometries: npt.NDArray[np.object_],
    properties: pd.DataFrame,
    *,
    extent: int = 4096,
) -> bytes:
    """Encode one layer as a complete tile (one ``layers`` entry).

    Parameters
    ----------
    name
        Layer name.
    kind
        ``point``, ``line`` or ``polygon``: every geometry's kind (multi-parts allowed;
        other parts of collections are dropped).
    geometries
        Shapely geometries in tile units, y pointing down (unrounded).
    properties
        One row per geometry; missing values are left out of that feature's attributes.
    extent
        Tile units across the tile.

    Returns
    -------
    bytes
        The tile (protobuf); ``b""`` if no feature survives the rounding.

    Examples
    --------
    >>> import mapbox_vector_tile, pandas as pd, shapely
    >>> data = encode_layer("p", "point", np.array([shapely.Point(25, 17)]),
    ...                     pd.DataFrame({"n": [3]}))
    >>> mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})["p"]["features"]
    [{'geometry': {'type': 'Point', 'coordinates': [25, 17]}, 'properties': {'n': 3}, 'id': 0, 'type': 'Feature'}]
    """  # noqa: E501
    if len(geometries) == 0:
        return b""
    feature, stream = _geometry_stream(kind, geometries)
    features = np.unique(feature)
    if len(features) == 0:
        return b""
    geom_bytes, geom_ends = _varints(stream, _group_ends(feature, len(geometries)))
    keys, values, tag_bytes, tag_ends = _tags(properties)
    body = _features(features, _TYPE[kind], (geom_bytes, geom_ends), (tag_bytes, tag_ends))
    out = [b"\x78\x02", _field_bytes(1, name.encode()), body]
    out.extend(_field_bytes(3, k.encode()) for k in keys)
    out.extend((values, b"\x28" + _varint(extent)))
    return _field_bytes(3, b"".join(out))


def _features(
    features: npt.NDArray[np.intp],
    gtype: int,
    geometry: tuple[bytes, npt.NDArray[np.int64]],
    tags: tuple[bytes, npt.NDArray[np.int64]],
) -> bytes:
    """Frame every feature (``tags``, ``type``, ``geometry``) as the layer's field 2, at once.

    ``geometry`` and ``tags`` are the packed varints of all rows and each row's byte end.
    Each feature is four byte runs: its header ``[0x12, len(body), 0x12, len(tags)]``, its
    tags, ``[0x18, type, 0x22, len(geometry)]`` and its geometry; the runs are gathered from
    one buffer with a single index array.
    """
    geom_bytes, geom_ends = geometry
    tag_bytes, tag_ends = tags
    glen = np.diff(np.r_[0, geom_ends])[features]
    tlen = np.diff(np.r_[0, tag_ends])[features]
    g_start = geom_ends[features] - glen
    t_start = tag_ends[features] - tlen
    has_tags = tlen > 0
    body = np.where(has_tags, 1 + _varint_sizes(tlen) + tlen, 0) + 3 + _varint_sizes(glen) + glen
    n = len(features)
    head = np.column_stack([np.full(n, 0x12), body, np.full(n, 0x12), tlen])
    head_mask = np.column_stack([np.ones((n, 2), dtype=bool), has_tags, has_tags])
    head_bytes, head_ends = _varints(head[head_mask].astype(np.uint64),
                                     np.cumsum(head_mask.sum(axis=1)))  # fmt: skip
    mid = np.column_stack([np.full(n, 0x18), np.full(n, gtype), np.full(n, 0x22), glen])
    mid_bytes, mid_ends = _varints(mid.ravel().astype(np.uint64), np.arange(1, n + 1) * 4)
    hlen = np.diff(np.r_[0, head_ends])
    mlen = np.diff(np.r_[0, mid_ends])
    sources = [head_bytes, tag_bytes, mid_bytes, geom_bytes]
    base = np.cumsum([0] + [len(b) for b in sources])[:-1]
    starts = np.column_stack([base[0] + head_ends - hlen, base[1] + t_start,
                              base[2] + mid_ends - mlen, base[3] + g_start]).ravel()  # fmt: skip
    lengths = np.column_stack([hlen, tlen, mlen, glen]).ravel()
    buffer = np.frombuffer(b"".join(sources), dtype=np.uint8)
    index = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())
    return bytes(buffer[index].tobytes())


def _varint_sizes(values: I64 | U64) -> I64:
    """Bytes of the varint of each (non-negative) value."""
    sizes = np.ones(len(values), dtype=np.int64)
    top = int(values.max()) if len(values) else 0
    for k in range(1, 10):
        if top < 1 << (7 * k):
            break
        sizes += values >= values.dtype.type(1 << (7 * k))
    return sizes


def _geometry_stream(
    kind: GeometryKind, geometries: npt.NDArray[np.object_]
) -> tuple[npt.NDArray[np.intp], U64]:
    """Return, per uint32 of the command stream, its feature, and the stream itself."""
    parts, owner = shapely.get_parts(geometries, return_index=True)
    wanted = np.isin(shapely.get_type_id(parts), _PART_TYPES[kind])
    parts, owner = parts[wanted], owner[wanted]
    if kind == "polygon":
        rings, polygon = shapely.get_rings(parts, return_index=True)
        first = _run_starts(polygon)
        return _commands(rings, owner[polygon], ring=True, exterior=first, polygon=polygon)
    if kind == "line":
        return _commands(parts, owner, ring=False)
    return _point_commands(parts, owner)


def _run_starts(a: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
    """Flag where each run of equal values begins (empty for an empty array)."""
    out = np.ones(len(a), dtype=bool)
    out[1:] = a[1:] != a[:-1]
    return out


def _run_ends(a: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
    """Flag where each run of equal values ends (empty for an empty array)."""
    out = np.ones(len(a), dtype=bool)
    out[:-1] = a[1:] != a[:-1]
    return out


def _rounded(parts: npt.NDArray[np.object_]) -> tuple[I64, npt.NDArray[np.intp]]:
    """Integer coordinates of every part, and the part of each coordinate."""
    xy, part = shapely.get_coordinates(parts, return_index=True)
    return np.rint(xy).astype(np.int64), part


def _point_commands(
    parts: npt.NDArray[np.object_], owner: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.intp], U64]:
    """MoveTo(n) with n points per feature (a multi-point is one MoveTo)."""
    xy, part = _rounded(parts)
    feature = owner[part]
    counts = np.bincount(feature, minlength=int(owner.max()) + 1 if len(owner) else 0)
    present = np.flatnonzero(counts)
    sizes = 1 + 2 * counts[present]
    starts = np.cumsum(sizes) - sizes
    stream = np.zeros(int(sizes.sum()), dtype=np.uint64)
    stream[starts] = _MOVE_TO | (counts[present].astype(np.uint64) << 3)
    first_of_feature = _run_starts(feature)
    rank = np.arange(len(xy)) - np.repeat(np.flatnonzero(first_of_feature), counts[present])
    pos = np.repeat(starts, counts[present]) + 1 + 2 * rank
    _put_deltas(stream, pos, xy, first_of_feature)
    return np.repeat(present, sizes), stream


def _commands(
    parts: npt.NDArray[np.object_],
    owner: npt.NDArray[np.intp],
    *,
    ring: bool,
    exterior: npt.NDArray[np.bool_] | None = None,
    polygon: npt.NDArray[np.intp] | None = None,
) -> tuple[npt.NDArray[np.intp], U64]:
    """MoveTo(1) LineTo(n-1) [ClosePath] per line or ring, rings wound as MVT wants."""
    xy, part = _rounded(parts)
    if ring:  # drop the closing point: ClosePath returns to the start
        last = _run_ends(part)
        xy, part = xy[~last], part[~last]
    new = _run_starts(part)
    same = np.zeros(len(xy), dtype=bool)
    same[1:] = np.all(xy[1:] == xy[:-1], axis=1)
    same &= ~new
    xy, part = xy[~same], part[~same]  # a LineTo never repeats the point it stands on
    n = np.bincount(part, minlength=len(parts))
    keep = n >= (3 if ring else 2)
    if ring:
        assert exterior is not None  # noqa: S101 - given with ring=True
        assert polygon is not None  # noqa: S101
        area = _ring_areas(xy, part, len(parts))
        keep &= area != 0
        # a polygon whose exterior vanished loses its holes too
        outer_ok = np.zeros(int(polygon.max()) + 1 if len(polygon) else 0, dtype=bool)
        outer_ok[polygon[exterior]] = keep[exterior]
        keep &= outer_ok[polygon]
        flip = keep & np.where(exterior, area < 0, area > 0)
        xy = xy[_reverse_parts(part, n, flip)]
    on = keep[part]
    xy, part = xy[on], part[on]
    kept = np.flatnonzero(keep)
    counts = n[kept]
    sizes = 2 + 2 * counts + (1 if ring else 0)
    starts = (np.cumsum(sizes) - sizes).astype(np.int64)
    stream = np.zeros(int(sizes.sum()), dtype=np.uint64)
    stream[starts] = _MOVE_TO | (1 << 3)
    stream[starts + 3] = _LINE_TO | ((counts - 1).astype(np.uint64) << 3)
    if ring:
        stream[starts + sizes - 1] = _CLOSE | (1 << 3)
    rank = np.arange(len(xy)) - np.repeat(np.cumsum(counts) - counts, counts)
    pos = np.repeat(starts, counts) + 1 + 2 * rank + (rank >= 1)
    feature_of_part = owner[kept]
    feature = np.repeat(feature_of_part, counts)
    _put_deltas(stream, pos, xy, _run_starts(feature))
    return np.repeat(feature_of_part, sizes), stream


def _ring_areas(xy: I64, part: npt.NDArray[np.intp], n_parts: int) -> npt.NDArray[np.float64]:
    """Twice the signed area of each (open) ring by the surveyor's formula, y down."""
    if len(xy) == 0:
        return np.zeros(n_parts)
    nxt = np.arange(len(xy)) + 1
    last = _run_ends(part)
    first_index = np.flatnonzero(_run_starts(part))
    starts_per_point = np.repeat(first_index, np.diff(np.r_[first_index, len(xy)]))
    nxt[last] = starts_per_point[last]
    x, y = xy[:, 0].astype(np.float64), xy[:, 1].astype(np.float64)
    cross = x * y[nxt] - x[nxt] * y
    return np.asarray(np.bincount(part, weights=cross, minlength=n_parts), dtype=np.float64)


def _reverse_parts(
    part: npt.NDArray[np.intp], n: npt.NDArray[np.intp], flip: npt.NDArray[np.bool_]
) -> npt.NDArray[np.intp]:
    """Index that reverses the points of the flagged parts and keeps the others."""
    index = np.arange(len(part))
    starts = np.cumsum(n) - n
    rev = flip[part]
    start = starts[part[rev]]
    index[rev] = start + (n[part[rev]] - 1) - (index[rev] - start)
    return index


def _put_deltas(
    stream: U64, pos: npt.NDArray[np.int64], xy: I64, restart: npt.NDArray[np.bool_]
) -> None:
    """Write zigzag deltas of ``xy`` at ``pos`` (x) and ``pos + 1`` (y); cursor 0 at restarts."""
    prev = np.zeros_like(xy)
    prev[1:] = xy[:-1]
    prev[restart] = 0
    delta = xy - prev
    zigzag = ((delta << 1) ^ (delta >> 63)).astype(np.uint64)
    stream[pos] = zigzag[:, 0]
    stream[pos + 1] = zigzag[:, 1]


def _group_ends(group: npt.NDArray[np.intp], n_groups: int) -> npt.NDArray[np.intp]:
    """End (exclusive) in the stream of each group's run, for groups 0..n_groups-1."""
    return np.cumsum(np.bincount(group, minlength=n_groups))


def _varints(values: U64, ends: npt.NDArray[np.intp]) -> tuple[bytes, npt.NDArray[np.int64]]:
    """Varint-encode ``values``; return the bytes and the byte end of each group."""
    nbytes = np.ones(len(values), dtype=np.int64)
    top = int(values.max()) if len(values) else 0
    for k in range(1, 10):
        if top < 1 << (7 * k):
            break
        nbytes += values >= np.uint64(1 << (7 * k))
    offsets = np.r_[0, np.cumsum(nbytes)]
    out = np.zeros(int(offsets[-1]), dtype=np.uint8)
    for k in range(int(nbytes.max()) if len(values) else 0):
        has = nbytes > k
        byte = (values[has] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (nbytes[has] > k + 1).astype(np.uint64) << np.uint64(7)
        out[offsets[:-1][has] + k] = (byte | more).astype(np.uint8)
    group_ends = offsets[ends] if len(ends) else np.zeros(0, dtype=np.int64)
    return out.tobytes(), group_ends


def _tags(properties: pd.DataFrame) -> tuple[list[str], bytes, bytes, npt.NDArray[np.int64]]:
    """Keys, the framed Value messages, and per row the packed tag pairs (key, value index)."""
    n = len(properties)
    keys: list[str] = []
    values: list[bytes] = []
    n_values = 0
    columns: list[npt.NDArray[np.int64]] = []
    for column in properties.columns:
        series = properties[column]
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        if not len(uniques):
            continue
        key = len(keys)
        keys.append(str(column))
        offset = n_values
        values.append(_value_table(uniques))
        n_values += len(uniques)
        present = codes >= 0
        pair = np.full((n, 2), -1, dtype=np.int64)
        pair[present, 0] = key
        pair[present, 1] = codes[present] + offset
        columns.append(pair)
    if not columns:
        return keys, b"".join(values), b"", np.zeros(n, dtype=np.int64)
    pairs = np.stack(columns, axis=1).reshape(n, -1)  # per feature: k0 v0 k1 v1 ...
    valid = pairs >= 0
    stream = pairs[valid].astype(np.uint64)
    data, ends = _varints(stream, np.cumsum(valid.sum(axis=1)))
    return keys, b"".join(values), data, ends


def _value_table(uniques: object) -> bytes:
    """Encode one column's distinct values as the layer's ``values`` entries (field 4).

    Floats are doubles and integers sints, both built as arrays; other values (strings,
    booleans, mixed objects) one by one.
    """
    array = np.asarray(uniques)
    k = len(array)
    if array.dtype.kind == "f":
        out = np.empty((k, 11), dtype=np.uint8)
        out[:, :3] = (0x22, 9, 0x19)
        out[:, 3:] = array.astype("<f8").view(np.uint8).reshape(k, 8)
        return out.tobytes()
    if array.dtype.kind in "iu":
        v = array.astype(np.int64)
        zigzag = ((v << 1) ^ (v >> 63)).astype(np.uint64)
        size = _varint_sizes(zigzag)
        fields = np.column_stack([np.full(k, 0x22), 1 + size, np.full(k, 0x30)]).astype(np.uint64)
        stream = np.column_stack([fields, zigzag]).ravel()
        data, _ = _varints(stream, np.zeros(0, dtype=np.intp))
        return data
    return b"".join(_field_bytes(4, _value(v)) for v in _plain(array))


def _plain(uniques: object) -> Sequence[object]:
    """Python values of a factorize result (numpy scalars become int/float/bool)."""
    array = np.asarray(uniques)
    return array.tolist() if array.dtype.kind in "biuf" else list(array)


def _value(value: object) -> bytes:
    """One ``Value`` message: string, bool, sint (integers) or double."""
    if isinstance(value, bool | np.bool_):
        return b"\x38" + (b"\x01" if value else b"\x00")
    if isinstance(value, int | np.integer):
        v = int(value)
        return b"\x30" + _varint((v << 1) ^ (v >> 63))
    if isinstance(value, float | np.floating):
        return b"\x19" + struct.pack("<d", float(value))
    return _field_bytes(1, str(value).encode())


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while value >= 0x80:  # noqa: PLR2004 - the varint continuation bit
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field_bytes(field: int, payload: bytes | memoryview) -> bytes:
    """Frame ``payload`` as a length-delimited protobuf field."""
    return bytes([(field << 3) | 2]) + _varint(len(payload)) + bytes(payload)
