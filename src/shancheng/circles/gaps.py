"""Gap areas: where the residents whose circle is incomplete live, in contiguous pieces.

For each circle level, a unit-grid cell is a *gap cell* when some of its residents lack a
required category of that level. Gap cells that share a side or a corner form one *gap area*
(queen contiguity on the grid). Each area lists the people affected, which categories are missing
and for how many people, and how far (in walking minutes) those people are from the nearest
existing facility of each missing category — where a planner would start looking for a site.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy import ndimage

if TYPE_CHECKING:
    from shancheng.circles.accessibility import Accessibility
    from shancheng.circles.coverage import ResidenceCoverage
    from shancheng.circles.standard import Catalogue, Requirement
    from shancheng.geo.grid import UnitGrid
    from shancheng.types import FloatArray, IntArray

logger = logging.getLogger(__name__)

_QUEEN = np.ones((3, 3), dtype=bool)


def find_gaps(
    accessibility: Accessibility,
    coverage: ResidenceCoverage,
    catalogue: Catalogue,
    grid: UnitGrid,
    *,
    crs_epsg: int,
) -> gpd.GeoDataFrame:
    """Group uncovered residents into contiguous gap areas, per level and per requirement.

    For each level's complete circle (``measure`` ``complete_5min``...) and for each single
    requirement (``kindergarten_5min``...), the cells where someone lacks it are grouped.

    Parameters
    ----------
    accessibility
        Nearest times (for the time to the nearest existing facility).
    coverage
        Per-residence flags from :func:`shancheng.circles.coverage.residence_coverage`.
    catalogue
        The requirements.
    grid
        The unit grid; residences are placed in cells by their ``cell_id`` column.
    crs_epsg
        CRS of the grid's coordinates (the geometry is returned in WGS84).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per gap area, largest first within each measure: ``gap_id, measure,
        level_min, n_cells, residents, population_affected, missing_categories``
        (``category (people)``, most people first), and per category of the measure
        ``<category>_uncovered`` (people)
        and ``<category>_nearest_min`` (people-weighted mean walk to the nearest existing
        facility, among the uncovered; ``inf`` when beyond the search).
    """
    residences = accessibility.residences
    cells = residences["cell_id"].to_numpy(dtype=np.int64)
    in_grid = (cells >= 0) & (cells < grid.n_cells)
    if not in_grid.all():
        logger.warning("gaps: %d residences have no unit-grid cell", int((~in_grid).sum()))
    people = coverage.weights[:, coverage.age_groups.index("all")]
    frames = []
    for measure, requirements in _gap_measures(coverage, catalogue):
        lacking = ~coverage.column(measure) & (people > 0) & in_grid
        frame = _areas(accessibility, coverage, grid, requirements, lacking, people, cells)
        frames.append(frame.assign(measure=measure))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if table.empty:
        return gpd.GeoDataFrame(table, geometry=[], crs="EPSG:4326")
    table = table.sort_values(["measure", "population_affected"], ascending=[True, False])
    rank = table.groupby("measure").cumcount() + 1
    table.insert(0, "gap_id", table["measure"] + "-" + rank.map("{:04d}".format))
    frame = gpd.GeoDataFrame(table, geometry="geometry", crs=f"EPSG:{crs_epsg}")
    return frame.to_crs(4326).reset_index(drop=True)


def _gap_measures(
    coverage: ResidenceCoverage, catalogue: Catalogue
) -> list[tuple[str, list[Requirement]]]:
    """Each level's complete circle (its required categories), then each requirement alone."""
    measures = []
    for level in catalogue.levels:
        name = f"complete_{level}min"
        if name in coverage.measures:
            measures.append((name, [r for r in catalogue.requirements_at(level) if r.required]))
    measures.extend((r.key, [r]) for r in catalogue.requirements)
    return measures


def _areas(
    acc: Accessibility,
    coverage: ResidenceCoverage,
    grid: UnitGrid,
    requirements: list[Requirement],
    lacking: npt.NDArray[np.bool_],
    people: FloatArray,
    cells: IntArray,
) -> pd.DataFrame:
    raster = np.zeros((grid.n_rows, grid.n_cols), dtype=bool)
    rows, cols = grid.row_col(cells[lacking])
    raster[rows, cols] = True
    labels, n_areas = ndimage.label(raster, structure=_QUEEN)
    if n_areas == 0:
        return pd.DataFrame()
    flat = labels.ravel()  # raveled (row, col) index == cell_id
    in_grid = (cells >= 0) & (cells < grid.n_cells)
    area_all = np.where(in_grid, flat[np.where(in_grid, cells, 0)] - 1, -1)
    living = np.flatnonzero(area_all >= 0)
    who = np.flatnonzero(lacking)
    area = area_all  # every lacking residence lies in a labelled cell
    gap_cells = np.flatnonzero(flat > 0)
    polygons = grid.cell_polygons(gap_cells)
    cell_area = flat[gap_cells] - 1
    table: dict[str, object] = {
        "level_min": np.full(n_areas, requirements[0].level_min),
        "n_cells": np.bincount(cell_area, minlength=n_areas),
        "residents": np.bincount(area[living], weights=people[living], minlength=n_areas),
        "population_affected": np.bincount(area[who], weights=people[who], minlength=n_areas),
    }
    order = np.argsort(cell_area, kind="stable")
    bounds = np.cumsum(np.asarray(table["n_cells"]))[:-1]
    geometry = [shapely.coverage_union_all(part) for part in np.split(polygons[order], bounds)]
    missing: list[list[tuple[float, str]]] = [[] for _ in range(n_areas)]
    for r in requirements:
        without = who[~coverage.column(r.key)[who]]
        uncovered = np.bincount(area[without], weights=people[without], minlength=n_areas)
        time_min = acc.time_s[without, acc.categories.index(r.category)] / 60.0
        finite = np.isfinite(time_min)
        weighted = np.bincount(
            area[without[finite]],
            weights=people[without[finite]] * time_min[finite],
            minlength=n_areas,
        )
        beyond = np.bincount(area[without[~finite]], minlength=n_areas) > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = weighted / uncovered
        table[f"{r.category}_uncovered"] = uncovered
        table[f"{r.category}_nearest_min"] = np.where(beyond, np.inf, mean)
        for a in np.flatnonzero(uncovered > 0):
            missing[a].append((float(uncovered[a]), r.category))
    table["missing_categories"] = [
        "; ".join(f"{c} ({p:,.0f})" for p, c in sorted(m, reverse=True)) for m in missing
    ]
    table["geometry"] = geometry
    return pd.DataFrame(table)
