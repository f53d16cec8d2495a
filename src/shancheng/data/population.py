"""Put residents into buildings: from a population raster, counts per unit, points, or an estimate.

Every method distributes a known total over the buildings that can be homes in proportion to
their floor area (footprint times levels; a building without ``building:levels`` counts as
``default_levels``), in whole people, by the largest-remainder method, so the total of each
raster cell, unit or the whole input is preserved exactly. A building can be a home when it
is tagged as housing or plainly ``building=yes`` (most buildings in OSM), is not itself
mapped as a facility (a school, a hospital), and has a footprint of at least
``min_home_m2``; buildings mapped as non-residential (commercial, industrial...) are not
read at all. A unit with people but no such home gives them to its other buildings; people
in a cell or unit without any building are reported, never silently dropped: the returned
check lists, per unit, the total given, the total placed and the difference, and its summary
names the units that receive nobody.

Without any population input the residents are *estimated* from the buildings (floor area
times ``persons_per_m2``), which the importer says loudly (:func:`estimate_from_buildings`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd
import rasterio
import rasterio.errors
from pyproj import Transformer
from scipy.spatial import cKDTree

from shancheng.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

    import geopandas as gpd
    from affine import Affine

    from shancheng.types import FloatArray, IntArray

logger = logging.getLogger(__name__)

HOUSING_TAGS = frozenset({
    "residential", "apartments", "house", "detached", "semidetached_house", "terrace",
    "dormitory", "bungalow", "farm",
})  # fmt: skip
HOME_TAGS = HOUSING_TAGS | {"yes"}
"""``building`` values that can be a home (``yes``: use unknown, the most common tag)."""
MIN_HOME_M2 = 30.0
"""Smallest footprint that can be a home, m². An ASSUMPTION: sheds, garages, kiosks and
mapping fragments are smaller; override per city (``--min-home-m2``)."""
PERSONS_PER_M2 = 0.025
"""Residents per m² of floor area when estimating from buildings. An ASSUMPTION: 40 m² of
housing per person, about China's urban figure (38.6 m² in the 2020 census); override per
city (``--persons-per-m2``)."""
DEFAULT_LEVELS = 1.0
"""Levels of a building without ``building:levels``. An ASSUMPTION that underestimates
high-rise districts; override per city (``--default-levels``)."""


@dataclass(frozen=True)
class PopulationResult:
    """Residents per building and the per-unit check.

    Attributes
    ----------
    population
        Whole residents per building (same order as the buildings given).
    check
        One row per unit (raster cell, admin unit or point): ``unit, given, placed,
        difference``; ``difference`` is non-zero only where a unit had no building.
    """

    population: IntArray
    check: pd.DataFrame

    def summary(self) -> str:
        """One line: totals given, placed and left unplaced, naming units that get nobody."""
        given = float(self.check["given"].sum())
        placed = int(self.check["placed"].sum())
        nobody = self.check[(self.check["given"] >= 0.5) & (self.check["placed"] == 0)]  # noqa: PLR2004
        line = (f"population check: {given:,.0f} given, {placed:,} placed in buildings, "
                f"{given - placed:,.0f} unplaced; {len(nobody):,} of {len(self.check):,} "
                "units receive nobody")  # fmt: skip
        if len(nobody):
            names = ", ".join(str(u) for u in nobody["unit"].head(5))
            line += f" ({names}{', ...' if len(nobody) > 5 else ''})"  # noqa: PLR2004
        return line


def floor_area_m2(buildings: pd.DataFrame, *, default_levels: float = 1.0) -> FloatArray:
    """Footprint times levels of each building, levels defaulting where untagged."""
    levels = pd.to_numeric(buildings["levels"], errors="coerce").to_numpy(dtype=float)
    levels = np.where(np.isfinite(levels) & (levels > 0), levels, default_levels)
    return np.asarray(buildings["footprint_m2"].to_numpy(dtype=float) * levels, dtype=float)


def largest_remainder(totals: FloatArray, unit: IntArray, weight: FloatArray) -> IntArray:
    """Split each unit's total (rounded) over its members in proportion to weight, in integers.

    Examples
    --------
    >>> import numpy as np
    >>> largest_remainder(np.array([10.0, 3.0]), np.array([0, 0, 0, 1]),
    ...                   np.array([1.0, 1.0, 1.0, 5.0])).tolist()
    [4, 3, 3, 3]
    """
    n_units = totals.shape[0]
    unit_weight = np.bincount(unit, weights=weight, minlength=n_units)
    target = np.round(totals).astype(np.int64)
    has_weight = unit_weight[unit] > 0
    share = np.where(has_weight, weight / np.where(has_weight, unit_weight[unit], 1.0), 0.0)
    exact = target[unit] * share
    base = np.floor(exact).astype(np.int64)
    short = target - np.bincount(unit, weights=base, minlength=n_units).astype(np.int64)
    remainder = exact - base
    order = np.lexsort((-remainder, unit))
    rank = np.empty_like(order)
    sorted_unit = unit[order]
    starts = np.searchsorted(sorted_unit, np.arange(n_units))
    rank[order] = np.arange(order.shape[0]) - starts[sorted_unit]
    return base + (rank < short[unit]).astype(np.int64)


def can_be_home(
    buildings: pd.DataFrame,
    *,
    min_home_m2: float = MIN_HOME_M2,
    not_homes: npt.ArrayLike | None = None,
) -> npt.NDArray[np.bool_]:
    """Return which buildings can be a home: housing or ``yes``, large enough, not a facility.

    Examples
    --------
    >>> frame = pd.DataFrame({"building": ["yes", "house", "yes", "retail"],
    ...                       "footprint_m2": [120.0, 80.0, 12.0, 500.0]})
    >>> can_be_home(frame).tolist()
    [True, True, False, False]
    """
    tags = buildings["building"].to_numpy() if "building" in buildings else np.full(
        len(buildings), "residential")  # fmt: skip
    home = np.isin(tags, list(HOME_TAGS))
    home &= buildings["footprint_m2"].to_numpy(dtype=float) >= min_home_m2
    if not_homes is not None:
        home &= ~np.asarray(not_homes, dtype=bool)
    return np.asarray(home, dtype=bool)


def _eligible(unit: IntArray, home: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Homes, plus every building of a unit that has no home at all (nobody dropped)."""
    ok_unit = unit >= 0
    has_home = np.zeros(int(unit.max(initial=-1)) + 1, dtype=bool)
    has_home[unit[home & ok_unit]] = True
    fallback = ok_unit & ~has_home[np.maximum(unit, 0)]
    return (home | fallback) & ok_unit


def distribute_by_unit(
    buildings: pd.DataFrame,
    building_unit: npt.ArrayLike,
    totals: pd.Series,
    *,
    default_levels: float = DEFAULT_LEVELS,
    home: npt.ArrayLike | None = None,
) -> PopulationResult:
    """Distribute counts per unit (a census table) to the buildings in each unit.

    Parameters
    ----------
    buildings
        ``footprint_m2``, ``levels`` and optionally ``building`` (the OSM tag).
    building_unit
        Unit label of each building (e.g. a street code), aligned with ``buildings``.
    totals
        Residents per unit, indexed by unit label.
    default_levels
        Levels of a building without ``building:levels``.
    home
        Buildings that can be homes (:func:`can_be_home` by default).
    """
    labels = pd.Index(totals.index)
    unit = labels.get_indexer(pd.Index(np.asarray(building_unit)))
    unit = np.asarray(unit, dtype=np.int64)
    homes = can_be_home(buildings) if home is None else np.asarray(home, dtype=bool)
    eligible = _eligible(unit, homes)
    weight = np.where(eligible, floor_area_m2(buildings, default_levels=default_levels), 0.0)
    given = totals.to_numpy(dtype=float)
    population = np.zeros(len(buildings), dtype=np.int64)
    inside = unit >= 0
    population[inside] = largest_remainder(given, unit[inside], weight[inside])
    placed = np.bincount(unit[inside], weights=population[inside], minlength=len(labels))
    check = pd.DataFrame({"unit": labels, "given": given, "placed": placed.astype(np.int64)})
    check["difference"] = np.round(check["given"]).astype(np.int64) - check["placed"]
    return PopulationResult(population, check)


def distribute_raster(
    buildings: gpd.GeoDataFrame,
    raster: str | Path,
    *,
    default_levels: float = DEFAULT_LEVELS,
    home: npt.ArrayLike | None = None,
) -> PopulationResult:
    """Distribute a population grid (WorldPop-style GeoTIFF) to the buildings in each cell.

    Only cells holding at least one building centroid or inside the buildings' extent count;
    cells with people but no building appear in the check with their difference.

    Raises
    ------
    InputError
        The raster is unreadable or declares no CRS.
    """
    source = str(raster)
    try:
        dataset = rasterio.open(source)
    except (rasterio.errors.RasterioIOError, OSError) as exc:
        msg = f"{source}: not a readable population raster ({exc})"
        raise InputError(msg) from exc
    with dataset:
        if dataset.crs is None:
            msg = f"{source}: the population raster declares no CRS"
            raise InputError(msg)
        values = np.ma.filled(dataset.read(1, masked=True).astype(np.float64), 0.0)
        transform: Affine = dataset.transform
        crs = dataset.crs
    values = np.where(np.isfinite(values) & (values > 0), values, 0.0)
    centre = (
        buildings.geometry.centroid
        if buildings.crs and buildings.crs.is_projected
        else (
            buildings.geometry.to_crs(buildings.estimate_utm_crs()).centroid.to_crs(buildings.crs)
        )
    )
    to_raster = Transformer.from_crs(buildings.crs, crs, always_xy=True)
    x, y = to_raster.transform(centre.x.to_numpy(), centre.y.to_numpy())
    col, row = (~transform) @ (np.asarray(x), np.asarray(y))
    col = np.floor(np.asarray(col)).astype(np.int64)
    row = np.floor(np.asarray(row)).astype(np.int64)
    n_rows, n_cols = values.shape
    inside = (col >= 0) & (col < n_cols) & (row >= 0) & (row < n_rows)
    cell = np.where(inside, row * n_cols + col, -1)
    populated = np.flatnonzero(values.ravel() > 0)
    labels = pd.Index(np.union1d(populated, cell[inside]))
    totals = pd.Series(values.ravel()[labels.to_numpy()], index=labels)
    result = distribute_by_unit(buildings, cell, totals, default_levels=default_levels,
                                home=home)  # fmt: skip
    logger.info("%s: %s", source, result.summary())
    return result


def distribute_points(
    buildings: pd.DataFrame,
    x_utm: npt.ArrayLike,
    y_utm: npt.ArrayLike,
    people: npt.ArrayLike,
    *,
    max_distance_m: float = 200.0,
) -> PopulationResult:
    """Give the residents of each point (a household or address list) to the nearest building.

    Points farther than ``max_distance_m`` from every building stay unplaced and appear in the
    check with their difference. Fractional counts are rounded together (largest remainder),
    so the placed total is the rounded total of the points placed, never less.

    Examples
    --------
    >>> b = pd.DataFrame({"x_utm": [0.0, 100.0], "y_utm": [0.0, 0.0]})
    >>> r = distribute_points(b, [1.0, 99.0, 5.0], [0.0, 0.0, 0.0], [2.5, 0.5, 1.0])
    >>> r.population.tolist(), int(r.check["placed"].sum())  # rounded one by one: 2 + 0 + 1
    ([4, 0], 4)
    """
    xb = buildings["x_utm"].to_numpy(dtype=float)
    yb = buildings["y_utm"].to_numpy(dtype=float)
    count = np.asarray(people, dtype=float)
    distance, nearest = cKDTree(np.column_stack([xb, yb])).query(
        np.column_stack([np.asarray(x_utm, float), np.asarray(y_utm, float)]))  # fmt: skip
    near = np.asarray(distance <= max_distance_m, dtype=bool)
    nearest = np.asarray(nearest, dtype=np.int64)
    whole = np.zeros(count.shape[0], dtype=np.int64)
    one_unit = np.zeros(int(near.sum()), dtype=np.int64)
    whole[near] = largest_remainder(np.array([count[near].sum()]), one_unit, count[near])
    population = np.bincount(nearest[near], weights=whole[near],
                             minlength=len(buildings)).astype(np.int64)  # fmt: skip
    placed = whole
    check = pd.DataFrame({"unit": np.arange(count.shape[0]), "given": count, "placed": placed})
    check["difference"] = np.round(check["given"]).astype(np.int64) - check["placed"]
    return PopulationResult(population, check)


def estimate_from_buildings(
    buildings: pd.DataFrame,
    *,
    persons_per_m2: float = PERSONS_PER_M2,
    default_levels: float = DEFAULT_LEVELS,
    home: npt.ArrayLike | None = None,
) -> PopulationResult:
    """Estimate residents from the buildings that can be homes: floor area x persons per m².

    The total (rounded) is spread in whole people by the largest remainder, so the
    buildings add up to it exactly. The check has one unit, ``"estimate"``.

    Examples
    --------
    >>> b = pd.DataFrame({"building": ["yes", "house", "yes"], "footprint_m2": [400.0, 100.0,
    ...                   10.0], "levels": [5.0, None, None]})
    >>> estimate_from_buildings(b, persons_per_m2=0.025).population.tolist()  # 2,100 m² x 0.025
    [50, 2, 0]
    """
    if not persons_per_m2 > 0:
        msg = f"persons per m² must be positive, got {persons_per_m2}"
        raise InputError(msg)
    homes = can_be_home(buildings) if home is None else np.asarray(home, dtype=bool)
    area = np.where(homes, floor_area_m2(buildings, default_levels=default_levels), 0.0)
    total = float(area.sum()) * persons_per_m2
    population = largest_remainder(np.array([total]), np.zeros(len(buildings), np.int64), area)
    check = pd.DataFrame({"unit": ["estimate"], "given": [total],
                          "placed": [int(population.sum())]})  # fmt: skip
    check["difference"] = np.round(check["given"]).astype(np.int64) - check["placed"]
    return PopulationResult(population, check)
