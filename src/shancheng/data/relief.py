"""The City's terrain on disk: a small GeoTIFF height grid in the City's metric CRS.

The base map's hillshade and contours (:mod:`shancheng.geo.relief`) need the ground as a
grid, not only the heights at walk nodes. A City keeps it as ``terrain.tif``: one float32
band, metres, north-up square cells (about 25 m) in the City's compute CRS (its UTM zone),
deflate-compressed, NaN where unknown; QGIS opens it as it is. The demo samples its terrain
functions onto it; the importer resamples the DEM window it read (:func:`grid_from_dem`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import rasterio
import rasterio.errors
from affine import Affine

from shancheng.errors import CityFormatError
from shancheng.geo.crs import lonlat_to_utm, utm_to_lonlat
from shancheng.geo.relief import HeightGrid

if TYPE_CHECKING:
    from pathlib import Path

    from shancheng.data.terrain import Dem

logger = logging.getLogger(__name__)

TERRAIN_CELL_M = 25.0
"""Cell size of the terrain grid a City keeps (finer than the base map needs below zoom 15)."""


def write_height_grid(grid: HeightGrid, path: Path) -> None:
    """Write ``grid`` as a single-band float32 GeoTIFF (deflate) in its own CRS."""
    rows, cols = grid.shape
    transform = Affine(grid.cell_m, 0.0, grid.west_m, 0.0, -grid.cell_m, grid.north_m)
    profile = {
        "driver": "GTiff", "width": cols, "height": rows, "count": 1, "dtype": "float32",
        "crs": f"EPSG:{grid.crs_epsg}", "transform": transform, "nodata": np.nan,
        "compress": "deflate", "predictor": 3,
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as out:
        out.write(np.asarray(grid.heights_m, dtype=np.float32), 1)


def read_height_grid(path: Path) -> HeightGrid:
    """Read a terrain GeoTIFF written by :func:`write_height_grid`.

    Raises
    ------
    CityFormatError
        The file is unreadable, not north-up with square cells, or has no EPSG CRS.
    """
    try:
        with rasterio.open(path) as source:
            heights = source.read(1, masked=True).astype(np.float64).filled(np.nan)
            t = source.transform
            epsg = source.crs.to_epsg() if source.crs is not None else None
    except (rasterio.errors.RasterioIOError, OSError) as exc:
        msg = f"{path}: not a readable terrain GeoTIFF ({exc})"
        raise CityFormatError(msg) from exc
    if t.b != 0 or t.d != 0 or t.a <= 0 or not np.isclose(t.a, -t.e) or epsg is None:
        msg = (
            f"{path}: the terrain grid must be north-up with square cells in an EPSG CRS, got "
            f"transform {tuple(t)[:6]} and CRS EPSG:{epsg}"
        )
        raise CityFormatError(msg)
    return HeightGrid(heights, float(t.c), float(t.f), float(t.a), int(epsg))


def grid_from_dem(
    dem: Dem,
    bounds_lonlat: tuple[float, float, float, float],
    *,
    epsg: int,
    cell_m: float = TERRAIN_CELL_M,
) -> HeightGrid:
    """Resample the DEM over an area onto a north-up grid in ``epsg`` (bilinear heights).

    Parameters
    ----------
    dem
        The DEM window the importer read.
    bounds_lonlat
        ``(west, south, east, north)`` of the area in WGS84.
    epsg
        The City's projected CRS.
    cell_m
        Cell size in metres (finer than the DEM's pixels gives a smooth grid, not a sharper
        one).
    """
    west, south, east, north = bounds_lonlat
    corners_x, corners_y = lonlat_to_utm([west, east, east, west], [south, south, north, north],
                                         epsg=epsg)  # fmt: skip
    x0 = float(np.floor(corners_x.min() / cell_m) * cell_m)
    y1 = float(np.ceil(corners_y.max() / cell_m) * cell_m)
    cols = max(2, int(np.ceil((corners_x.max() - x0) / cell_m)))
    rows = max(2, int(np.ceil((y1 - corners_y.min()) / cell_m)))
    shell = HeightGrid(np.zeros((rows, cols)), x0, y1, cell_m, epsg)
    xx, yy = shell.cell_centres()
    lon, lat = utm_to_lonlat(xx.ravel(), yy.ravel(), epsg=epsg)
    heights = dem.sample(lon, lat).reshape(rows, cols)
    logger.info("terrain grid %d x %d at %g m from %s", rows, cols, cell_m, dem.source)
    return HeightGrid(heights, x0, y1, cell_m, epsg)
