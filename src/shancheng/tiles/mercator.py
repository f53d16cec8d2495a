"""Web Mercator tile math: the XYZ pyramid MapLibre asks for, in EPSG:3857 metres.

A tile ``z/x/y`` covers ``1 / 2**z`` of the world's width and height; ``x`` grows eastwards
from 180° W and ``y`` southwards from the top (≈ 85.0511° N), as in every slippy map (OSM,
Mapbox, MapLibre). Inside a tile, coordinates are integers from 0 to ``extent`` (4096 by
default) with ``y`` pointing down, the Mapbox Vector Tile convention.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from shancheng.errors import TileRequestError

if TYPE_CHECKING:
    from shancheng.types import FloatArray

EARTH_RADIUS_M = 6_378_137.0
"""Radius of the sphere Web Mercator projects (EPSG:3857), metres."""
HALF_WORLD_M = math.pi * EARTH_RADIUS_M
"""Half the width of the projected world, metres: x and y run from -HALF to +HALF."""
MAX_LAT_DEG = 85.0511287798066
"""Latitude of the pyramid's top and bottom edges (where y = ±HALF_WORLD_M)."""
MAX_ZOOM = 24
"""Deepest zoom level served: below a centimetre per tile unit nothing changes."""
EXTENT = 4096
"""Tile units across one tile (the MVT default)."""


class TileBounds(NamedTuple):
    """Edges of one tile in EPSG:3857 metres (west, south, east, north)."""

    west: float
    south: float
    east: float
    north: float


def check_tile(z: int, x: int, y: int) -> None:
    """Refuse a tile address outside the pyramid.

    Raises
    ------
    TileRequestError
        If ``z`` is not in 0..MAX_ZOOM or ``x``/``y`` not in 0..2**z - 1.
    """
    if not 0 <= z <= MAX_ZOOM:
        msg = f"tile zoom `z` must be in 0..{MAX_ZOOM}, got {z}"
        raise TileRequestError(msg)
    n = 1 << z
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value < n:
            msg = f"tile `{name}` at zoom {z} must be in 0..{n - 1}, got {value}"
            raise TileRequestError(msg)


def tile_bounds(z: int, x: int, y: int) -> TileBounds:
    """Return the EPSG:3857 edges of tile ``z/x/y``.

    Examples
    --------
    >>> tile_bounds(0, 0, 0) == (-HALF_WORLD_M, -HALF_WORLD_M, HALF_WORLD_M, HALF_WORLD_M)
    True
    >>> w, s, e, n = tile_bounds(1, 1, 0)  # north-east quarter
    >>> (w, s, round(e), round(n))
    (0.0, 0.0, 20037508, 20037508)
    """
    check_tile(z, x, y)
    size = 2 * HALF_WORLD_M / (1 << z)
    west = -HALF_WORLD_M + x * size
    north = HALF_WORLD_M - y * size
    return TileBounds(west, north - size, west + size, north)


def lonlat_to_mercator(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Project WGS84 degrees to EPSG:3857 metres (latitudes clamped to the pyramid).

    Examples
    --------
    >>> x, y = lonlat_to_mercator([180.0, 0.0], [0.0, MAX_LAT_DEG])
    >>> round(float(x[0])), round(float(y[1]))
    (20037508, 20037508)
    """
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.clip(np.asarray(lat, dtype=np.float64), -MAX_LAT_DEG, MAX_LAT_DEG)
    x = np.radians(lon_a) * EARTH_RADIUS_M
    y = np.log(np.tan(np.pi / 4 + np.radians(lat_a) / 2)) * EARTH_RADIUS_M
    return x, y


def mercator_to_lonlat(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Inverse of :func:`lonlat_to_mercator`: EPSG:3857 metres to WGS84 degrees."""
    lon = np.degrees(np.asarray(x, dtype=np.float64) / EARTH_RADIUS_M)
    lat = np.degrees(2 * np.arctan(np.exp(np.asarray(y, dtype=np.float64) / EARTH_RADIUS_M)))
    return lon, lat - 90.0


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """Return ``(x, y)`` of the zoom-``z`` tile holding the point ``lon, lat``.

    Examples
    --------
    >>> tile_of(106.55, 29.56, 12)  # Jiefangbei, central Chongqing
    (3260, 1695)
    """
    check_tile(z, 0, 0)
    mx, my = lonlat_to_mercator([lon], [lat])
    n = 1 << z
    size = 2 * HALF_WORLD_M / n
    x = min(n - 1, max(0, math.floor((float(mx[0]) + HALF_WORLD_M) / size)))
    y = min(n - 1, max(0, math.floor((HALF_WORLD_M - float(my[0])) / size)))
    return x, y


def to_tile_units(
    x: npt.ArrayLike, y: npt.ArrayLike, bounds: TileBounds, *, extent: int = EXTENT
) -> tuple[FloatArray, FloatArray]:
    """Map EPSG:3857 metres to (unrounded) tile units of the tile with ``bounds``, y down."""
    scale = extent / (bounds.east - bounds.west)
    px = (np.asarray(x, dtype=np.float64) - bounds.west) * scale
    py = (bounds.north - np.asarray(y, dtype=np.float64)) * scale
    return px, py


def from_tile_units(
    px: npt.ArrayLike, py: npt.ArrayLike, bounds: TileBounds, *, extent: int = EXTENT
) -> tuple[FloatArray, FloatArray]:
    """Inverse of :func:`to_tile_units`: tile units (y down) to EPSG:3857 metres."""
    scale = (bounds.east - bounds.west) / extent
    x = bounds.west + np.asarray(px, dtype=np.float64) * scale
    y = bounds.north - np.asarray(py, dtype=np.float64) * scale
    return x, y


def metres_per_unit(z: int, *, extent: int = EXTENT) -> float:
    """Size of one tile unit at zoom ``z`` in EPSG:3857 metres (true size times cos(lat))."""
    return 2 * HALF_WORLD_M / (1 << z) / extent
