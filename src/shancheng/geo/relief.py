"""The ground as a height grid: bilinear heights, Horn hillshade and contour lines.

A mountain city is read by its relief, so the base map draws shaded relief and contours from
a :class:`HeightGrid`: a north-up raster of ground heights in a metric CRS (the City's UTM
zone), square cells of a few tens of metres. :func:`hillshade` is Horn's (1981) 3 x 3
gradient, the one GDAL's ``gdaldem hillshade`` uses, lit from ``azimuth_deg`` (clockwise from
north) and ``altitude_deg`` above the horizon; :func:`contour_lines` traces iso-height lines
with contourpy (matplotlib's contouring engine). Pure numpy in, numpy and shapely out.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import contourpy
import numpy as np
import numpy.typing as npt
import shapely
from scipy.ndimage import map_coordinates

from shancheng.errors import InputError

if TYPE_CHECKING:
    from shancheng.types import FloatArray

NICE_INTERVALS_M = (1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0, 200.0, 250.0, 500.0)
"""Contour intervals :func:`contour_interval_m` chooses from."""


@dataclass(frozen=True, eq=False)
class HeightGrid:
    """Ground heights on a north-up grid of square cells in a projected (metric) CRS.

    Attributes
    ----------
    heights_m
        Heights in metres, shape ``(rows, cols)``; row 0 is the northern row. NaN where unknown.
    west_m, north_m
        Coordinates of the grid's north-west corner (the outer edge of the first cell), metres.
    cell_m
        Side of a cell in metres.
    crs_epsg
        EPSG code of the projected CRS (e.g. 32648, UTM 48N).
    """

    heights_m: FloatArray
    west_m: float
    north_m: float
    cell_m: float
    crs_epsg: int

    def __post_init__(self) -> None:
        """Refuse a grid that cannot be shaded or contoured."""
        shape = np.shape(self.heights_m)
        if len(shape) != 2 or min(shape) < 2:  # noqa: PLR2004 - a 2-D grid
            msg = f"HeightGrid.heights_m must be a 2-D array of at least 2 x 2 cells, got {shape}"
            raise InputError(msg)
        if not (math.isfinite(self.cell_m) and self.cell_m > 0):
            msg = f"HeightGrid.cell_m must be a positive number of metres, got {self.cell_m!r}"
            raise InputError(msg)

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns."""
        rows, cols = np.shape(self.heights_m)
        return int(rows), int(cols)

    @property
    def bounds_m(self) -> tuple[float, float, float, float]:
        """West, south, east, north edges of the grid in its CRS."""
        rows, cols = self.shape
        return (self.west_m, self.north_m - rows * self.cell_m,
                self.west_m + cols * self.cell_m, self.north_m)  # fmt: skip

    def cell_centres(self) -> tuple[FloatArray, FloatArray]:
        """Coordinates ``(x, y)`` of every cell centre, each of shape ``(rows, cols)``."""
        rows, cols = self.shape
        x = self.west_m + (np.arange(cols) + 0.5) * self.cell_m
        y = self.north_m - (np.arange(rows) + 0.5) * self.cell_m
        xx, yy = np.meshgrid(x, y)
        return xx, yy

    def sample(
        self, values: FloatArray, x: npt.ArrayLike, y: npt.ArrayLike, *, fill: float = np.nan
    ) -> FloatArray:
        """Interpolate ``values`` (shaped like the grid) bilinearly at points of its CRS.

        Points beyond the outer cell centres take ``fill``.

        Examples
        --------
        >>> grid = HeightGrid(np.array([[0.0, 10.0], [20.0, 30.0]]), 0.0, 2.0, 1.0, 32648)
        >>> grid.sample(grid.heights_m, [1.0, 0.5, 5.0], [1.0, 1.5, 1.0]).tolist()
        [15.0, 0.0, nan]
        """
        col = (np.asarray(x, dtype=np.float64) - self.west_m) / self.cell_m - 0.5
        row = (self.north_m - np.asarray(y, dtype=np.float64)) / self.cell_m - 0.5
        out = map_coordinates(
            np.asarray(values, dtype=np.float64), [row.ravel(), col.ravel()], order=1,
            mode="constant", cval=fill, prefilter=False,
        )  # fmt: skip
        return np.asarray(out, dtype=np.float64).reshape(np.shape(col))


def hillshade(
    grid: HeightGrid, *, azimuth_deg: float = 315.0, altitude_deg: float = 45.0
) -> FloatArray:
    """Shade the ground as lit by a distant sun: Horn's gradient, Lambert's cosine law.

    Parameters
    ----------
    grid
        The heights.
    azimuth_deg
        Direction the light comes from, degrees clockwise from north (315: the north-west,
        the cartographic convention).
    altitude_deg
        Sun height above the horizon, degrees.

    Returns
    -------
    numpy.ndarray
        Illumination from 0 (facing away) to 1 (facing the sun), shaped like the grid; flat
        ground gets ``sin(altitude)``. The grid is extended linearly past its edges (exact on a
        plane); NaN heights give NaN.

    Examples
    --------
    >>> flat = HeightGrid(np.full((3, 3), 100.0), 0.0, 30.0, 10.0, 32648)
    >>> round(float(hillshade(flat)[1, 1]), 4)  # sin 45°
    0.7071
    """
    z = np.pad(np.asarray(grid.heights_m, dtype=np.float64), 1, mode="reflect", reflect_type="odd")
    # Horn: weighted differences over the 3 x 3 window (rows go south, so dz/dy flips sign)
    a, b, c = z[:-2, :-2], z[:-2, 1:-1], z[:-2, 2:]
    d, f = z[1:-1, :-2], z[1:-1, 2:]
    g, h, i = z[2:, :-2], z[2:, 1:-1], z[2:, 2:]
    dz_dx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * grid.cell_m)
    dz_dy = ((a + 2 * b + c) - (g + 2 * h + i)) / (8 * grid.cell_m)
    azimuth = math.radians(azimuth_deg)
    altitude = math.radians(altitude_deg)
    light = (math.sin(azimuth) * math.cos(altitude), math.cos(azimuth) * math.cos(altitude),
             math.sin(altitude))  # fmt: skip
    shade = (-dz_dx * light[0] - dz_dy * light[1] + light[2]) / np.sqrt(1 + dz_dx**2 + dz_dy**2)
    return np.asarray(np.clip(shade, 0.0, 1.0), dtype=np.float64)


def contour_interval_m(relief_m: float, *, max_levels: int = 30) -> float:
    """Choose the smallest round interval that draws at most ``max_levels`` contour levels.

    Examples
    --------
    >>> contour_interval_m(275.0)  # the demo city: 175 m to 450 m
    10.0
    >>> contour_interval_m(2000.0)
    100.0
    """
    for interval in NICE_INTERVALS_M:
        if relief_m / interval <= max_levels:
            return interval
    return NICE_INTERVALS_M[-1]


def contour_lines(
    grid: HeightGrid, *, interval_m: float | None = None, index_every: int = 5
) -> tuple[npt.NDArray[np.object_], FloatArray, npt.NDArray[np.bool_]]:
    """Trace the contour lines of ``grid`` at every multiple of ``interval_m``.

    Parameters
    ----------
    grid
        The heights (NaN cells are left out).
    interval_m
        Height between lines; :func:`contour_interval_m` of the relief when ``None``.
    index_every
        Every this-many-th level (heights that are multiples of ``index_every * interval_m``)
        is an index contour, drawn bolder and labelled.

    Returns
    -------
    tuple
        ``(lines, elevation_m, index)``: shapely LineStrings in the grid's CRS, the height of
        each and whether it is an index contour.
    """
    z = np.asarray(grid.heights_m, dtype=np.float64)
    finite = z[np.isfinite(z)]
    empty = (np.empty(0, dtype=object), np.empty(0), np.empty(0, dtype=bool))
    if finite.size == 0 or float(finite.max()) == float(finite.min()):
        return empty
    low, high = float(finite.min()), float(finite.max())
    step = interval_m or contour_interval_m(high - low)
    xx, yy = grid.cell_centres()
    generator = contourpy.contour_generator(
        xx, yy, np.ma.masked_invalid(z), line_type=contourpy.LineType.Separate
    )
    lines: list[shapely.LineString] = []
    levels: list[float] = []
    for level in np.arange(math.ceil(low / step), math.floor(high / step) + 1) * step:
        for points in generator.lines(float(level)):  # LineType.Separate: one array per line
            xy = np.asarray(points, dtype=np.float64)
            if len(xy) >= 2:  # noqa: PLR2004 - a line needs two points
                lines.append(shapely.LineString(xy))
                levels.append(float(level))
    elevation = np.asarray(levels, dtype=np.float64)
    index = np.isclose(np.mod(elevation, index_every * step), 0.0) | np.isclose(
        np.mod(elevation, index_every * step), index_every * step
    )
    return np.asarray(lines, dtype=object), elevation, index


def areas_above(grid: HeightGrid, level_m: float) -> npt.NDArray[np.object_]:
    """Return the polygons (holes included) where the ground is higher than ``level_m``.

    Examples
    --------
    >>> grid = HeightGrid(np.array([[0.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 0.0]]),
    ...                   0.0, 3.0, 1.0, 32648)
    >>> (peak,) = areas_above(grid, 5.0)
    >>> round(peak.area, 3)  # a diamond around the centre cell, half-way to its neighbours
    0.5
    """
    xx, yy = grid.cell_centres()
    generator = contourpy.contour_generator(
        xx, yy, np.ma.masked_invalid(np.asarray(grid.heights_m, dtype=np.float64)),
        fill_type=contourpy.FillType.OuterOffset,
    )  # fmt: skip
    polygons: list[shapely.Polygon] = []
    filled = generator.filled(float(level_m), np.inf)  # FillType.OuterOffset: points, offsets
    for points, offsets in zip(filled[0], filled[1], strict=True):
        xy = np.asarray(points, dtype=np.float64)
        bounds = np.asarray(offsets, dtype=np.intp)
        rings = [xy[a:b] for a, b in itertools.pairwise(bounds)]
        polygons.append(shapely.Polygon(rings[0], rings[1:]))
    return np.asarray(polygons, dtype=object)
