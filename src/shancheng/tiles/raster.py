"""Shaded relief as raster tiles: the City's height grid, lit once, resampled per tile.

:func:`hillshade_layer` shades the whole :class:`~shancheng.geo.relief.HeightGrid` once
(Horn, sun from the north-west at 45°; one pass over the grid, so tiles join seamlessly);
:func:`render_png` resamples that shade into one web-mercator tile (pixel centres projected to
the grid's CRS, bilinear) and encodes it as a 256 x 256 grey-and-alpha PNG meant to lie over
the base map: shadows are black and highlights white, each as opaque as the slope is far from
flat (``alpha = min(1, GAIN x |shade - flat|)``), so flat ground, water and the world beyond
the grid are transparent and the data layers above stay readable.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from shancheng.geo.crs import lonlat_to_utm, utm_to_lonlat
from shancheng.geo.relief import HeightGrid, hillshade
from shancheng.tiles.mercator import lonlat_to_mercator, mercator_to_lonlat, tile_bounds

if TYPE_CHECKING:
    from shancheng.types import FloatArray

TILE_PX = 256
"""Pixels across a raster tile."""
GAIN = 2.0
"""Opacity per unit of shade away from flat ground (a 20 % slope is about 30 % opaque)."""


@dataclass(frozen=True, eq=False)
class RasterLayer:
    """A grid of shade values (0 to 1) ready to be cut into PNG tiles.

    Attributes
    ----------
    name
        Layer name, in the URL.
    grid
        The grid geometry (and heights) the shade was computed on.
    shade
        Illumination per cell, shaped like ``grid.heights_m``; NaN where unknown.
    flat
        Illumination of flat ground (transparent in the tiles).
    minzoom, maxzoom
        Zoom range announced in the TileJSON (tiles beyond ``maxzoom`` are still served).
    """

    name: str
    grid: HeightGrid
    shade: FloatArray
    flat: float
    minzoom: int = 9
    maxzoom: int = 16
    bounds_m: tuple[float, float, float, float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Find the grid's extent in EPSG:3857 (a box around its projected outline)."""
        west, south, east, north = self.grid.bounds_m
        t = np.linspace(0.0, 1.0, 17)
        xs = np.concatenate([west + t * (east - west), np.full(17, east),
                             east - t * (east - west), np.full(17, west)])  # fmt: skip
        ys = np.concatenate([np.full(17, south), south + t * (north - south),
                             np.full(17, north), north - t * (north - south)])  # fmt: skip
        lon, lat = utm_to_lonlat(xs, ys, epsg=self.grid.crs_epsg)
        mx, my = lonlat_to_mercator(lon, lat)
        box = (float(mx.min()), float(my.min()), float(mx.max()), float(my.max()))
        object.__setattr__(self, "bounds_m", box)

    @property
    def bounds_lonlat(self) -> tuple[float, float, float, float]:
        """West, south, east, north of the grid in WGS84 degrees (for TileJSON)."""
        (w, e), (s, n) = mercator_to_lonlat(self.bounds_m[0::2], self.bounds_m[1::2])
        return (float(w), float(s), float(e), float(n))


def hillshade_layer(
    grid: HeightGrid,
    *,
    name: str = "hillshade",
    azimuth_deg: float = 315.0,
    altitude_deg: float = 45.0,
    minzoom: int = 9,
    maxzoom: int = 16,
) -> RasterLayer:
    """Shade ``grid`` once (see :func:`~shancheng.geo.relief.hillshade`) for tiling."""
    shade = hillshade(grid, azimuth_deg=azimuth_deg, altitude_deg=altitude_deg)
    flat = float(np.sin(np.radians(altitude_deg)))
    return RasterLayer(name, grid, shade, flat, minzoom=minzoom, maxzoom=maxzoom)


def render_png(layer: RasterLayer, z: int, x: int, y: int, *, size: int = TILE_PX) -> bytes:
    """Return tile ``z/x/y`` of ``layer`` as a grey-and-alpha PNG; ``b""`` where it shows nothing.

    Raises
    ------
    TileRequestError
        If ``z/x/y`` lies outside the pyramid.
    """
    bounds = tile_bounds(z, x, y)
    west, south, east, north = layer.bounds_m
    if bounds.east <= west or bounds.west >= east or bounds.north <= south or bounds.south >= north:
        return b""
    step = (bounds.east - bounds.west) / size
    centres = (np.arange(size) + 0.5) * step
    mx, my = np.meshgrid(bounds.west + centres, bounds.north - centres)
    lon, lat = mercator_to_lonlat(mx.ravel(), my.ravel())
    gx, gy = lonlat_to_utm(lon, lat, epsg=layer.grid.crs_epsg)
    shade = layer.grid.sample(layer.shade, gx, gy).reshape(size, size)
    known = np.isfinite(shade)
    away = np.where(known, shade - layer.flat, 0.0)
    alpha = np.round(np.clip(GAIN * np.abs(away), 0.0, 1.0) * 255).astype(np.uint8)
    if not alpha.any():
        return b""
    grey = np.where(away > 0, 255, 0).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(np.dstack([grey, alpha]), mode="LA").save(out, format="PNG", optimize=False)
    return out.getvalue()


@cache
def empty_png(size: int = TILE_PX) -> bytes:
    """Return a fully transparent ``size`` x ``size`` PNG (a raster tile that shows nothing)."""
    out = io.BytesIO()
    Image.new("LA", (size, size), (0, 0)).save(out, format="PNG", optimize=True)
    return out.getvalue()
