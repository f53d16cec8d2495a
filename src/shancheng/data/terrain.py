"""Ground heights from a DEM (GeoTIFF or SRTM ``.hgt``), sampled along the walk network.

A path over a hill must not look flat, so the importer samples the DEM at every node of a
network whose segments are cut into short pieces (a few tens of metres), not only at street
ends. Heights are bilinear between pixel centres (the convention of ``slopes::slope_raster``
and GDAL). SRTM voids are filled by GDAL's inverse-distance interpolation
(:func:`rasterio.fill.fillnodata`) before sampling. Bridges and tunnels do not follow the
ground: their interior nodes take heights interpolated between the nodes where they meet the
ground (:func:`interpolate_elevated`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import rasterio
import rasterio.errors
import rasterio.fill
import rasterio.windows
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg
import shapely
from affine import Affine
from pyproj import CRS, Transformer

from shancheng.data.profile import smooth_profile
from shancheng.errors import DemCoverageError, DemError
from shancheng.geo.crs import haversine_m

if TYPE_CHECKING:
    from pathlib import Path

    from shancheng.types import FloatArray, IntArray

logger = logging.getLogger(__name__)


FILL_SEARCH_PIXELS = 100
"""How far (in pixels) void filling looks for valid cells; voids wider than this stay."""


@dataclass(frozen=True, eq=False)
class Dem:
    """A window of a DEM held in memory, ready for bilinear sampling in lon/lat.

    Attributes
    ----------
    heights_m
        Ground heights (rows north to south), voids already filled; NaN where no fill reached.
    transform
        Affine transform of the window (pixel corner → DEM CRS).
    crs
        The DEM's CRS.
    source
        File the window was read from (for messages).
    voids_filled
        Number of void cells in the window that filling replaced.
    voids_left
        Number of void cells filling could not reach (far from any valid cell).
    """

    heights_m: FloatArray
    transform: Affine
    crs: CRS
    source: str
    voids_filled: int = 0
    voids_left: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns of the window."""
        return (int(self.heights_m.shape[0]), int(self.heights_m.shape[1]))

    def sample(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> FloatArray:
        """Bilinear heights at WGS84 points; NaN outside the window or on an unfilled void."""
        x, y = _lonlat_to(self.crs).transform(
            np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        )
        return bilinear(self.heights_m, self.transform, np.asarray(x), np.asarray(y))


def bilinear(heights: FloatArray, transform: Affine, x: FloatArray, y: FloatArray) -> FloatArray:
    """Interpolate a raster bilinearly between pixel centres at points in its CRS.

    Points within half a pixel of the outer edge take the edge cells' values (no
    extrapolation); points outside the raster give NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> grid = np.array([[0.0, 10.0], [20.0, 30.0]])  # row 0 is the north row
    >>> t = Affine(1.0, 0.0, 0.0, 0.0, -1.0, 2.0)      # 1-unit pixels, top-left at (0, 2)
    >>> bilinear(grid, t, np.array([1.0, 0.5, 5.0]), np.array([1.0, 1.5, 1.0])).tolist()
    [15.0, 0.0, nan]
    """
    inverse = ~transform
    col, row = inverse @ (np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    col = np.asarray(col) - 0.5
    row = np.asarray(row) - 0.5
    n_rows, n_cols = heights.shape
    half = 0.5
    inside = (col >= -half) & (col <= n_cols - half) & (row >= -half) & (row <= n_rows - half)
    col = np.clip(np.where(inside, col, 0.0), 0.0, n_cols - 1.0)
    row = np.clip(np.where(inside, row, 0.0), 0.0, n_rows - 1.0)
    c0 = np.minimum(np.floor(col).astype(np.int64), max(n_cols - 2, 0))
    r0 = np.minimum(np.floor(row).astype(np.int64), max(n_rows - 2, 0))
    c1 = np.minimum(c0 + 1, n_cols - 1)
    r1 = np.minimum(r0 + 1, n_rows - 1)
    fc = col - c0
    fr = row - r0
    top = heights[r0, c0] * (1.0 - fc) + heights[r0, c1] * fc
    bottom = heights[r1, c0] * (1.0 - fc) + heights[r1, c1] * fc
    value = top * (1.0 - fr) + bottom * fr
    return np.where(inside, value, np.nan)


def read_dem(
    path: str | Path,
    *,
    bounds_lonlat: tuple[float, float, float, float] | None = None,
    crs: str | int | None = None,
    margin_pixels: int = 4,
) -> Dem:
    """Read the part of a DEM that covers an area, filling voids, for sampling.

    Parameters
    ----------
    path
        GeoTIFF or SRTM ``.hgt`` (anything GDAL reads as a single-band raster).
    bounds_lonlat
        ``(west, south, east, north)`` in WGS84 of the area to cover; ``None`` reads all.
    crs
        CRS of the DEM when the file declares none (e.g. ``"EPSG:3763"``); refused when the
        file declares a different one.
    margin_pixels
        Extra pixels read around the area so bilinear sampling at its edge has neighbours.

    Raises
    ------
    DemError
        The file cannot be read, has no CRS and none was given, or contradicts ``crs``.
    DemCoverageError
        The DEM does not overlap ``bounds_lonlat`` at all.
    """
    source = str(path)
    try:
        dataset = rasterio.open(source)
    except (rasterio.errors.RasterioIOError, OSError) as exc:
        msg = f"{source}: not a readable DEM raster ({exc})"
        raise DemError(msg) from exc
    with dataset:
        dem_crs = _dem_crs(dataset.crs, crs, source)
        window = _window(dataset, dem_crs, bounds_lonlat, margin_pixels, source)
        band = dataset.read(1, window=window, masked=True)
        transform = dataset.transform @ Affine.translation(window.col_off, window.row_off)
    heights = np.ma.filled(band.astype(np.float64), np.nan)
    void = ~np.isfinite(heights)
    n_void = int(void.sum())
    if n_void and n_void < heights.size:
        filled = rasterio.fill.fillnodata(
            np.where(void, 0.0, heights).astype(np.float32),
            mask=(~void).astype(np.uint8),
            max_search_distance=FILL_SEARCH_PIXELS,
            smoothing_iterations=0,
        )
        still = void.copy()
        # fillnodata leaves unreachable cells at their input value; mark them void again.
        reached = _reached_by_fill(void, FILL_SEARCH_PIXELS)
        still &= ~reached
        heights = np.where(still, np.nan, np.asarray(filled, dtype=np.float64))
        n_left = int(still.sum())
    else:
        n_left = n_void
    logger.info(
        "DEM %s: window %d x %d, %d void cells filled, %d left",
        source,
        heights.shape[0],
        heights.shape[1],
        n_void - n_left,
        n_left,
    )
    return Dem(heights, transform, dem_crs, source, voids_filled=n_void - n_left,
               voids_left=n_left)  # fmt: skip


def _reached_by_fill(void: npt.NDArray[np.bool_], distance: int) -> npt.NDArray[np.bool_]:
    """Void cells within ``distance`` pixels (Chebyshev) of a valid cell."""
    from scipy.ndimage import distance_transform_cdt  # noqa: PLC0415 - only when voids exist

    return void & (distance_transform_cdt(void, metric="chessboard") <= distance)


def _dem_crs(declared: CRS | None, given: str | int | None, source: str) -> CRS:
    if declared is None and given is None:
        msg = (
            f"{source}: the DEM declares no coordinate reference system; pass its CRS "
            "(e.g. --dem-crs EPSG:3763) so its pixels can be placed"
        )
        raise DemError(msg)
    if given is None:
        return CRS.from_user_input(declared)
    wanted = CRS.from_user_input(given)
    if declared is not None and CRS.from_user_input(declared) != wanted:
        msg = f"{source}: the DEM declares {declared}, but {wanted.to_string()} was given"
        raise DemError(msg)
    return wanted


def _window(
    dataset: rasterio.DatasetReader,
    dem_crs: CRS,
    bounds_lonlat: tuple[float, float, float, float] | None,
    margin: int,
    source: str,
) -> rasterio.windows.Window:
    full = rasterio.windows.Window(0, 0, dataset.width, dataset.height)
    if bounds_lonlat is None:
        return full
    west, south, east, north = bounds_lonlat
    xs = np.array([west, east, east, west, (west + east) / 2, (west + east) / 2])
    ys = np.array([south, south, north, north, south, north])
    x, y = _lonlat_to(dem_crs).transform(xs, ys)
    # affine's `*` warns (PendingDeprecationWarning) from affine 3; rasterio's window helpers
    # still use it, so the window is computed here with `@`.
    cols, rows = (~dataset.transform) @ (np.asarray(x), np.asarray(y))
    col0 = int(np.floor(np.min(cols))) - margin
    row0 = int(np.floor(np.min(rows))) - margin
    col1 = int(np.ceil(np.max(cols))) + margin
    row1 = int(np.ceil(np.max(rows))) + margin
    col0, row0 = max(col0, 0), max(row0, 0)
    col1, row1 = min(col1, dataset.width), min(row1, dataset.height)
    if col1 <= col0 or row1 <= row0:
        b = dataset.bounds
        msg = (
            f"{source}: the DEM (bounds {b.left:.4f}, {b.bottom:.4f}, {b.right:.4f}, "
            f"{b.top:.4f} in {dem_crs.to_string()}) does not overlap the area "
            f"{west:.4f}, {south:.4f}, {east:.4f}, {north:.4f} (lon/lat); use a DEM that covers it"
        )
        raise DemCoverageError(msg)
    return rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0)


def _lonlat_to(crs: CRS) -> Transformer:
    return Transformer.from_crs(4326, crs, always_xy=True)


def sample_heights(
    dem: Dem, lon: npt.ArrayLike, lat: npt.ArrayLike, *, what: str = "walk nodes"
) -> FloatArray:
    """Heights at points, refusing points the DEM does not cover.

    Raises
    ------
    DemCoverageError
        Some points fall outside the DEM or on voids that filling could not reach; the
        message gives how many, the share, one example and the DEM's extent.
    """
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    z = dem.sample(lon_a, lat_a)
    missing = np.flatnonzero(~np.isfinite(z))
    if missing.shape[0]:
        first = int(missing[0])
        msg = (
            f"{dem.source}: {missing.shape[0]:,} of {z.shape[0]:,} {what} "
            f"({missing.shape[0] / z.shape[0]:.1%}) lie outside the DEM or on unfilled voids, "
            f"e.g. lon {lon_a[first]:.5f}, lat {lat_a[first]:.5f}; clip the area to the DEM "
            "(--bbox or --boundary) or use a DEM that covers it"
        )
        raise DemCoverageError(msg)
    return z


def line_slopes(
    lines_lonlat: npt.ArrayLike,
    dem: Dem,
    *,
    step_m: float | None = None,
    window_m: float = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """Mean absolute grade of lines: ``Σ|Δz| / length`` over their vertices.

    Heights are bilinear at every vertex (pixel-centre convention) and lengths haversine,
    which is the definition of ``slopes::slope_raster`` (R package ``slopes``). With
    ``step_m`` each line is first sampled every ``step_m`` metres or less along its
    vertices (as the importer cuts ways into pieces); with ``window_m`` the profile is then
    smoothed as the importer does (:func:`~shancheng.data.profile.smooth_profile`, ends
    kept), so the slope is the one walkers get.

    Parameters
    ----------
    lines_lonlat
        Shapely LineStrings in WGS84 lon/lat.
    dem
        The DEM to sample.
    step_m
        Longest distance between samples along a line (``None``: the vertices only).
    window_m
        Moving-average window of the profile, metres (0: the raw DEM).

    Returns
    -------
    tuple of numpy.ndarray
        ``(slope, length_m)`` per line; slope is a fraction (0.05 = 5 %), NaN for lines of
        zero length or with a vertex off the DEM.
    """
    geoms = np.asarray(lines_lonlat, dtype=object)
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    if step_m is not None:
        coords, index = _densified(coords, index, step_m)
    z = dem.sample(coords[:, 0], coords[:, 1])
    same = index[1:] == index[:-1]
    step = haversine_m(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])
    if window_m > 0:
        along = np.concatenate([[0.0], np.cumsum(np.where(same, step, 0.0))])
        start = np.concatenate([[True], ~same])
        along = along - np.maximum.accumulate(np.where(start, along, 0.0))
        z = smooth_profile(along, z, index, window_m=window_m)
    n = geoms.shape[0]
    length_m = np.bincount(index[1:][same], weights=step[same], minlength=n)
    climb_m = np.bincount(index[1:][same], weights=np.abs(np.diff(z))[same], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(length_m > 0, climb_m / length_m, np.nan)
    return np.asarray(slope, dtype=np.float64), np.asarray(length_m, dtype=np.float64)


def _densified(coords: FloatArray, index: IntArray, step_m: float) -> tuple[FloatArray, IntArray]:
    """Insert points along each line so that no two samples are more than ``step_m`` apart."""
    if step_m <= 0:
        msg = f"step_m must be positive, got {step_m}"
        raise ValueError(msg)
    same = index[1:] == index[:-1]
    d = haversine_m(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])
    parts = np.where(same, np.maximum(1, np.ceil(d / step_m)), 1).astype(np.int64)
    parts[~same] = 1  # between two lines: only the vertex itself
    seg = np.repeat(np.arange(parts.shape[0]), parts)
    offset = np.arange(seg.shape[0]) - np.repeat(np.cumsum(parts) - parts, parts)
    t = np.where(same[seg], offset / parts[seg], 0.0)
    xy = coords[seg] + (coords[seg + 1] - coords[seg]) * t[:, None]
    return np.vstack([xy, coords[-1:]]), np.concatenate([index[seg], index[-1:]])


def interpolate_elevated(
    z_ground_m: FloatArray,
    elevated: npt.NDArray[np.bool_],
    tail: IntArray,
    head: IntArray,
    length_m: FloatArray,
) -> FloatArray:
    """Heights of bridge and tunnel nodes, interpolated between where they meet the ground.

    Each elevated node takes the length-weighted mean of its neighbours' heights (a discrete
    Laplace equation with the ground nodes fixed), which along a single bridge is exactly
    linear interpolation by distance between its two ends. Elevated pieces with no ground
    node at all keep their DEM heights.

    Parameters
    ----------
    z_ground_m
        DEM height of every node.
    elevated
        True for nodes that touch only bridge or tunnel segments.
    tail, head, length_m
        The segments (node ids and lengths); only segments touching elevated nodes matter.

    Returns
    -------
    numpy.ndarray
        Heights: the DEM's for ground nodes, interpolated for elevated ones.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([10.0, 0.0, 0.0, 40.0])       # a bridge 0-1-2-3 over a valley
    >>> out = interpolate_elevated(z, np.array([False, True, True, False]), np.array([0, 1, 2]),
    ...                            np.array([1, 2, 3]), np.array([10.0, 10.0, 10.0]))
    >>> np.round(out, 6).tolist()
    [10.0, 20.0, 30.0, 40.0]
    """
    z = np.asarray(z_ground_m, dtype=np.float64).copy()
    up = np.flatnonzero(elevated)
    if up.shape[0] == 0:
        return z
    n = z.shape[0]
    weight = 1.0 / np.maximum(np.asarray(length_m, dtype=np.float64), 0.01)
    rows = np.concatenate([tail, head])
    cols = np.concatenate([head, tail])
    w = np.concatenate([weight, weight])
    adjacency = scipy.sparse.csr_matrix((w, (rows, cols)), shape=(n, n))
    # Keep only elevated components that touch the ground somewhere.
    sub = adjacency[up][:, up]
    n_comp, label = scipy.sparse.csgraph.connected_components(sub, directed=False)
    ground_weight = np.asarray(adjacency[up][:, ~elevated].sum(axis=1)).ravel()
    anchored = np.bincount(label, weights=ground_weight, minlength=n_comp) > 0
    solve = up[anchored[label]]
    if solve.shape[0] == 0:
        return z
    fixed = np.ones(n, dtype=bool)
    fixed[solve] = False
    a = adjacency[solve][:, solve]
    degree = np.asarray(adjacency[solve].sum(axis=1)).ravel()
    rhs = adjacency[solve][:, fixed] @ z[fixed]
    system = scipy.sparse.diags(degree) - a
    z[solve] = scipy.sparse.linalg.spsolve(system.tocsc(), rhs)
    return z
