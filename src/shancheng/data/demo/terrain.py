"""The demo city's ground: two rivers meeting at the tip of a peninsula, and hills around.

Modelled on Chongqing's centre: the Jialing comes from the north-west and joins the Yangtze,
which flows from the south-west and leaves to the north-east, at the tip of a narrow ridge-backed
peninsula. Water lies at about 175 m; the banks climb quickly, hills reach 300-400 m and a
mountain ridge in the south-east about 450 m. Everything is a smooth function of position.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shancheng.data.demo.config import DemoConfig
from shancheng.geo.crs import lonlat_to_utm

if TYPE_CHECKING:
    from shancheng.types import FloatArray

RIVER_SURFACE_M = 175.0
"""Height of the water surface of both rivers, in metres."""
MAX_HEIGHT_M = 450.0
"""Highest ground of the demo terrain, in metres."""

# River centre lines in fractions (u east, v north) of the extent; x-monotonic by design.
_YANGTZE_UV = ((0.0, 0.15), (0.2, 0.27), (0.35, 0.40), (0.5, 0.45), (0.64, 0.52),
               (0.78, 0.62), (0.9, 0.60), (1.0, 0.72))  # fmt: skip
_JIALING_UV = ((0.0, 0.84), (0.18, 0.80), (0.33, 0.67), (0.5, 0.63), (0.64, 0.52))
_CONFLUENCE_U = 0.64
_RIDGE_NORTH_END = 0.55


class Region(IntEnum):
    """Land between the rivers: the peninsula, the north bank and the south bank."""

    PENINSULA = 0
    NORTH = 1
    SOUTH = 2


@dataclass(frozen=True, eq=False)
class Terrain:
    """Rivers and hills of one demo city, in UTM metres; build it with :meth:`from_config`."""

    origin_x_utm: float
    origin_y_utm: float
    width_m: float
    height_m: float
    yangtze_xy: FloatArray
    jialing_xy: FloatArray
    yangtze_half_width_m: float
    jialing_half_width_m: float
    hill_xy: FloatArray
    hill_amplitude_m: FloatArray
    hill_sigma_m: FloatArray

    @classmethod
    def from_config(cls, config: DemoConfig) -> Terrain:
        """Lay out rivers and hills for ``config``; the hills come from its seed."""
        cx, cy = lonlat_to_utm([config.center_lon], [config.center_lat])
        cell = config.cell_size_m
        x0 = float(np.floor((cx[0] - config.width_m / 2) / cell) * cell)
        y0 = float(np.floor((cy[0] - config.height_m / 2) / cell) * cell)
        scale = np.array([config.width_m, config.height_m])
        origin = np.array([x0, y0])
        yangtze = origin + _smooth(np.array(_YANGTZE_UV)) * scale
        jialing = origin + _smooth(np.array(_JIALING_UV)) * scale
        confluence_x = x0 + _CONFLUENCE_U * config.width_m
        jialing[-1] = (confluence_x, np.interp(confluence_x, yangtze[:, 0], yangtze[:, 1]))
        short_m = min(config.width_m, config.height_m)
        rng = np.random.default_rng([config.seed, 1])
        n_hills = max(6, round(config.width_m * config.height_m / 1.0e6))
        hills = origin + rng.random((n_hills, 2)) * scale
        return cls(
            origin_x_utm=x0,
            origin_y_utm=y0,
            width_m=config.width_m,
            height_m=config.height_m,
            yangtze_xy=yangtze,
            jialing_xy=jialing,
            yangtze_half_width_m=0.0175 * short_m + 20.0,
            jialing_half_width_m=0.0125 * short_m + 15.0,
            hill_xy=hills,
            hill_amplitude_m=rng.uniform(15.0, 70.0, n_hills),
            hill_sigma_m=rng.uniform(0.01, 0.04, n_hills) * short_m + 80.0,
        )

    @property
    def confluence_xy(self) -> tuple[float, float]:
        """Point where the Jialing meets the Yangtze (the tip of the peninsula)."""
        return float(self.jialing_xy[-1, 0]), float(self.jialing_xy[-1, 1])

    def river_clearance_m(self, x_utm: npt.ArrayLike, y_utm: npt.ArrayLike) -> FloatArray:
        """Distance from each point to the nearest river bank; negative on the water."""
        x = np.asarray(x_utm, dtype=np.float64)
        y = np.asarray(y_utm, dtype=np.float64)
        yangtze = _polyline_distance_m(x, y, self.yangtze_xy) - self.yangtze_half_width_m
        jialing = _polyline_distance_m(x, y, self.jialing_xy) - self.jialing_half_width_m
        return np.minimum(yangtze, jialing)

    def is_water(self, x_utm: npt.ArrayLike, y_utm: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Tell, for each point, whether it lies on one of the rivers."""
        return self.river_clearance_m(x_utm, y_utm) < 0

    def region(self, x_utm: npt.ArrayLike, y_utm: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Return the :class:`Region` code of each point (water points get the nearest side)."""
        x = np.asarray(x_utm, dtype=np.float64)
        y = np.asarray(y_utm, dtype=np.float64)
        yangtze_y = np.interp(x, self.yangtze_xy[:, 0], self.yangtze_xy[:, 1])
        jialing_y = np.interp(x, self.jialing_xy[:, 0], self.jialing_xy[:, 1])
        south = y < yangtze_y
        peninsula = ~south & (x < self.confluence_xy[0]) & (y < jialing_y)
        return np.where(south, Region.SOUTH, np.where(peninsula, Region.PENINSULA, Region.NORTH))

    def height_at(self, x_utm: npt.ArrayLike, y_utm: npt.ArrayLike) -> FloatArray:
        """Ground height in metres: the water surface on the rivers, 176-450 m on land."""
        x = np.asarray(x_utm, dtype=np.float64)
        y = np.asarray(y_utm, dtype=np.float64)
        clearance = self.river_clearance_m(x, y)
        land = 178.0 + 50.0 * (1.0 - np.exp(-np.maximum(clearance, 0.0) / 350.0))
        hills = np.zeros_like(x)
        for (hx, hy), amplitude, sigma in zip(
            self.hill_xy, self.hill_amplitude_m, self.hill_sigma_m, strict=True
        ):
            hills += amplitude * np.exp(-((x - hx) ** 2 + (y - hy) ** 2) / (2.0 * sigma**2))
        bank_ramp = np.clip(clearance / 150.0, 0.0, 1.0)
        height = land + bank_ramp * (hills + self._ridges_m(x, y))
        height = np.clip(height, RIVER_SURFACE_M + 1.0, MAX_HEIGHT_M)
        return np.where(clearance < 0, RIVER_SURFACE_M, height)

    def _ridges_m(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Return the height of the peninsula's spine and of the south-eastern ridge."""
        u = (x - self.origin_x_utm) / self.width_m
        v = (y - self.origin_y_utm) / self.height_m
        yangtze_y = np.interp(x, self.yangtze_xy[:, 0], self.yangtze_xy[:, 1])
        jialing_y = np.interp(x, self.jialing_xy[:, 0], self.jialing_xy[:, 1])
        half_gap = np.maximum(jialing_y - yangtze_y, 1.0) / 2.0
        taper = np.clip((_CONFLUENCE_U - u) / 0.2, 0.0, 1.0)
        spine = 110.0 * taper * np.exp(-(((y - yangtze_y - half_gap) / (0.45 * half_gap)) ** 2))
        spine = np.where(self.region(x, y) == Region.PENINSULA, spine, 0.0)
        ridge_u = 0.86 + 0.12 * v  # a ridge trending north-north-east
        mountain = 230.0 * np.exp(-(((u - ridge_u) / 0.05) ** 2)) * (v < _RIDGE_NORTH_END)
        return spine + mountain


def terrain_height_m(
    x_utm: npt.ArrayLike, y_utm: npt.ArrayLike, *, config: DemoConfig | None = None
) -> FloatArray:
    """Sample the demo terrain's ground height in metres at UTM 48N points.

    Parameters
    ----------
    x_utm, y_utm
        Points in metres (EPSG:32648).
    config
        The demo config whose terrain to sample; the default city when ``None``.

    Returns
    -------
    numpy.ndarray
        Height in metres above sea level; 175 m on the rivers.

    Examples
    --------
    >>> terrain = Terrain.from_config(DemoConfig())
    >>> x, y = terrain.confluence_xy
    >>> float(terrain_height_m([x], [y])[0])
    175.0
    """
    return Terrain.from_config(config or DemoConfig()).height_at(x_utm, y_utm)


def _smooth(points: FloatArray, iterations: int = 3) -> FloatArray:
    """Chaikin corner cutting that keeps both end points (and x-monotonicity)."""
    for _ in range(iterations):
        a, b = points[:-1], points[1:]
        cut = np.empty((2 * a.shape[0], 2))
        cut[0::2] = 0.75 * a + 0.25 * b
        cut[1::2] = 0.25 * a + 0.75 * b
        points = np.vstack([points[:1], cut[1:-1], points[-1:]])
    return points


def _polyline_distance_m(x: FloatArray, y: FloatArray, line: FloatArray) -> FloatArray:
    """Shortest distance from each point to a polyline given by its vertices."""
    best = np.full(x.shape, np.inf)
    for (ax, ay), (bx, by) in itertools.pairwise(line):
        dx, dy = bx - ax, by - ay
        t = np.clip(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        best = np.minimum(best, np.hypot(x - ax - t * dx, y - ay - t * dy))
    return best
