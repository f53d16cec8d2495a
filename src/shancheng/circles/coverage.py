"""Who is covered by what: population-weighted coverage per category, level, age and unit.

A resident is *covered* by a requirement when a facility of its category lies within its
walking-time threshold; their circle at a level is *complete* when every required category of
that level covers them. With capacity (2SFCA, :mod:`shancheng.circles.capacity`), a resident is
covered *with capacity* when, in addition, the supply within reach meets the category's norm.

Shares are weighted by head counts: of all residents, and of each age group of the catalogue.
They are given for the city, every district, street and community, and every unit-grid cell;
each unit's population and covered population are sums over its residences, so children add up
exactly to their parent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

if TYPE_CHECKING:
    from collections.abc import Collection

    from shancheng.circles.accessibility import Accessibility
    from shancheng.circles.standard import Catalogue
    from shancheng.types import BoolArray, FloatArray

UNIT_LEVELS = ("city", "district", "street", "community", "cell")
"""Aggregation levels, from the whole city to the unit-grid cell."""
_LEVEL_COLUMN = {"district": "district_code", "street": "street_code",
                 "community": "community_code", "cell": "cell_id"}  # fmt: skip
_UNASSIGNED = "unassigned"


@dataclass(frozen=True, eq=False)
class ResidenceCoverage:
    """Per residence, which coverage measures hold, and its head count per age group.

    Attributes
    ----------
    measures
        Measure names: one per requirement (``kindergarten_5min``), one per level
        (``complete_5min``), and ``<requirement>_capacity`` where the category has a norm.
    covered
        ``(n_residences, n_measures)`` booleans.
    age_groups
        Age-group ids (columns of ``weights``).
    weights
        ``(n_residences, n_age_groups)`` head counts.
    measure_category, measure_level
        Category id ("" for a complete circle) and level in minutes of each measure.
    """

    measures: tuple[str, ...]
    covered: BoolArray
    age_groups: tuple[str, ...]
    weights: FloatArray
    measure_category: tuple[str, ...]
    measure_level: tuple[int, ...]

    def column(self, measure: str) -> BoolArray:
        """Return the covered flags of one measure."""
        return self.covered[:, self.measures.index(measure)]


def residence_coverage(
    accessibility: Accessibility,
    catalogue: Catalogue,
    *,
    adequate: BoolArray | None = None,
    capacity_known: Collection[str] | None = None,
) -> ResidenceCoverage:
    """Evaluate every requirement and every level's complete circle for each residence.

    Parameters
    ----------
    accessibility
        Nearest walking times per residence and category.
    catalogue
        The requirements and age groups.
    adequate
        Optional ``(n_residences, n_categories)`` flags: the supply within reach meets the
        category's capacity norm (from :func:`shancheng.circles.capacity.capacity_access`);
        adds a ``<requirement>_capacity`` measure for each category with a norm.
    capacity_known
        Categories with at least one facility of known capacity; for the others the
        capacity measure is left out ("no data"), not computed as 0 % (default: all).

    Returns
    -------
    ResidenceCoverage
    """
    index = {c: i for i, c in enumerate(accessibility.categories)}
    names: list[str] = []
    cats: list[str] = []
    levels: list[int] = []
    columns: list[BoolArray] = []
    for r in catalogue.requirements:
        names.append(r.key)
        cats.append(r.category)
        levels.append(r.level_min)
        columns.append(accessibility.time_s[:, index[r.category]] <= r.threshold_s)
    for level in catalogue.levels:
        required = [names.index(r.key) for r in catalogue.requirements_at(level) if r.required]
        if required:
            names.append(f"complete_{level}min")
            cats.append("")
            levels.append(level)
            columns.append(np.logical_and.reduce([columns[i] for i in required]))
    if adequate is not None:
        for r in catalogue.requirements:
            known = capacity_known is None or r.category in capacity_known
            if catalogue.categories[r.category].capacity_per_1000 is not None and known:
                names.append(f"{r.key}_capacity")
                cats.append(r.category)
                levels.append(r.level_min)
                columns.append(columns[names.index(r.key)] & adequate[:, index[r.category]])
    residences = accessibility.residences
    weights = np.column_stack(
        [
            np.nan_to_num(residences[list(g.columns)].to_numpy(dtype=np.float64)).sum(axis=1)
            for g in catalogue.age_groups.values()
        ]
    )
    return ResidenceCoverage(
        measures=tuple(names),
        covered=np.column_stack(columns),
        age_groups=tuple(catalogue.age_groups),
        weights=weights,
        measure_category=tuple(cats),
        measure_level=tuple(levels),
    )


def unit_codes(residences: pd.DataFrame, level: str, city_code: str) -> npt.NDArray[np.str_]:
    """Return the code of the unit of ``level`` holding each residence ("unassigned" if none)."""
    if level == "city":
        return np.full(len(residences), city_code)
    column = _LEVEL_COLUMN[level]
    if column not in residences.columns:
        return np.full(len(residences), _UNASSIGNED)
    values = residences[column]
    return np.where(values.isna().to_numpy(), _UNASSIGNED, values.astype(str).to_numpy())


def aggregate_coverage(
    coverage: ResidenceCoverage,
    residences: pd.DataFrame,
    *,
    city_code: str = "city",
    levels: tuple[str, ...] = UNIT_LEVELS,
) -> pd.DataFrame:
    """Sum population and covered population per unit, age group and measure.

    Parameters
    ----------
    coverage
        Per-residence flags and head counts.
    residences
        The residences, with the unit columns ``district_code, street_code,
        community_code, cell_id``.
    city_code
        Code of the city unit.
    levels
        Unit levels to aggregate to.

    Returns
    -------
    pandas.DataFrame
        Columns ``unit_level, unit_code, age_group, measure, category, level_min,
        population, covered_population, share`` (share is NaN where nobody lives).
    """
    frames = []
    covered = coverage.covered.astype(np.float64)
    n_meas = len(coverage.measures)
    for level in levels:
        codes = unit_codes(residences, level, city_code)
        unique, inverse = np.unique(codes, return_inverse=True)
        rows = np.arange(codes.shape[0])
        for a, age in enumerate(coverage.age_groups):
            w = coverage.weights[:, a]
            grouping = sp.csr_array((w, (inverse, rows)), shape=(unique.shape[0], rows.shape[0]))
            population: FloatArray = np.asarray(grouping.sum(axis=1), dtype=np.float64)
            covered_pop = np.asarray(grouping @ covered, dtype=np.float64)
            frames.append(
                pd.DataFrame(
                    {
                        "unit_level": level,
                        "unit_code": np.repeat(unique, n_meas),
                        "age_group": age,
                        "measure": np.tile(coverage.measures, unique.shape[0]),
                        "category": np.tile(coverage.measure_category, unique.shape[0]),
                        "level_min": np.tile(coverage.measure_level, unique.shape[0]),
                        "population": np.repeat(population, n_meas),
                        "covered_population": covered_pop.ravel(),
                    }
                )
            )
    table = pd.concat(frames, ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["share"] = table["covered_population"] / table["population"].where(
            table["population"] > 0
        )
    return table


def coverage_map(
    table: pd.DataFrame,
    units: gpd.GeoDataFrame,
    *,
    unit_level: str,
    code_column: str,
    serves: dict[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Wide table of one unit level for maps: one row per unit, one share column per measure.

    Columns: ``population`` and ``<measure>_share`` (all residents); with ``serves``
    (category → age group) also ``<measure>_share_served``, the share among the age group the
    category is for (e.g. kindergarten coverage of children aged 3-5).
    """
    part = table[table["unit_level"] == unit_level]
    everyone = part[part["age_group"] == "all"]
    wide = everyone.pivot_table(index="unit_code", columns="measure", values="share", dropna=False)
    wide.columns = [f"{m}_share" for m in wide.columns]
    wide.insert(0, "population", everyone.groupby("unit_code")["population"].first())
    if serves:
        served = part[part["category"].map(serves).eq(part["age_group"])]
        extra = served.pivot_table(
            index="unit_code", columns="measure", values="share", dropna=False
        )
        extra.columns = [f"{m}_share_served" for m in extra.columns]
        wide = wide.join(extra)
    keys = units[code_column].astype(str)
    merged = units.assign(**{code_column: keys}).merge(
        wide, left_on=code_column, right_index=True, how="inner"
    )
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=units.crs)
