"""Evaluate a whole city's living circles, and write the results for QGIS and people.

:func:`evaluate_city` runs accessibility, capacity (2SFCA), coverage at every unit level and
the gap areas, and returns GeoDataFrames (WGS84) ready for a notebook. :func:`write_evaluation`
writes them as one GeoPackage (a layer each) and GeoParquet files, into a temporary sibling
folder renamed into place at the end, so an interrupted run never leaves half a result.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from shancheng.circles.accessibility import (
    DEFAULT_NEAREST_CUTOFF_S,
    Accessibility,
    compute_accessibility,
)
from shancheng.circles.capacity import CapacityAccess, capacity_access
from shancheng.circles.coverage import (
    ResidenceCoverage,
    aggregate_coverage,
    coverage_map,
    residence_coverage,
)
from shancheng.circles.gaps import find_gaps
from shancheng.circles.residences import residences_from_buildings, residences_from_cells
from shancheng.circles.standard import Catalogue, load_catalogue
from shancheng.circles.transit import DEFAULT_WINDOW_S
from shancheng.circles.transit_figures import TransitResults, evaluate_transit
from shancheng.data.staged import staged_directory
from shancheng.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from shancheng.data.city import City

logger = logging.getLogger(__name__)

ResidenceKind = Literal["buildings", "cells"]
Format = Literal["gpkg", "parquet"]
GPKG_NAME = "circles.gpkg"
LAYERS = ("residences", "units", "cells", "gaps", "facilities")
"""Layers of the GeoPackage and names of the GeoParquet files."""
EVALUATE_STEPS = 6


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Everything :func:`evaluate_city` found, as tables.

    Attributes
    ----------
    city_name
        Name of the city evaluated.
    catalogue
        The catalogue used.
    accessibility, capacity, coverage
        The per-residence results (arrays).
    table
        Long coverage table: ``unit_level, unit_code, age_group, measure, category,
        level_min, population, covered_population, share``.
    residences
        One row per residence with walking times, counts, capacity and coverage flags.
    units
        Admin units (city, districts, streets, communities) with population and
        ``<measure>_share`` columns.
    cells
        Unit-grid cells with people, with the same share columns.
    gaps
        Gap areas (see :func:`shancheng.circles.gaps.find_gaps`).
    facilities
        Facilities used, with their 2SFCA catchment demand where the category has a norm.
    """

    city_name: str
    catalogue: Catalogue
    accessibility: Accessibility
    capacity: CapacityAccess
    coverage: ResidenceCoverage
    table: pd.DataFrame
    residences: gpd.GeoDataFrame
    units: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame
    gaps: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    transit: TransitResults | None = None
    """Walk + transit accessibility and the metro figures, when a GTFS feed was given."""
    data_notes: tuple[str, ...] = ()
    """What the City's data are made of where it changes how to read the figures (the
    manifest's ``data_notes``, e.g. "population estimated from buildings"); the report
    prints them first."""

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """One of :data:`LAYERS`."""
        if name not in LAYERS:
            msg = f"unknown layer {name!r}; layers are {', '.join(LAYERS)}"
            raise InputError(msg)
        frame: gpd.GeoDataFrame = getattr(self, name)
        return frame


def _require_residents(city: City, homes: pd.DataFrame, catalogue: Catalogue) -> None:
    """Refuse a city without residents: every coverage share would be 0 / 0."""
    columns = [c for c in catalogue.population_columns if c in homes.columns]
    total = float(homes[columns].to_numpy(np.float64).sum()) if columns and len(homes) else 0.0
    if total <= 0:
        msg = (
            f"City {city.name!r} has no residents ({len(homes)} residences, 0 people): living "
            "circles are measured for people; import a population with `shancheng city import "
            "--population-raster | --population-counts | --population-points`"
        )
        raise InputError(msg)


def evaluate_city(
    city: City,
    catalogue: Catalogue | None = None,
    *,
    residences: ResidenceKind = "buildings",
    cutoff_s: float = DEFAULT_NEAREST_CUTOFF_S,
    time_step_s: float | None = None,
    gtfs: str | Path | None = None,
    transit_window_s: tuple[int, int] = DEFAULT_WINDOW_S,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Evaluation:
    """Evaluate the living circles of a City.

    Parameters
    ----------
    city
        A City (demo or imported).
    catalogue
        The catalogue; default the packaged GB 50180 / TD/T 1062 one.
    residences
        ``"buildings"`` (each residential building) or ``"cells"`` (population per unit-grid
        cell, at the cell centre).
    cutoff_s
        How far the nearest-facility search looks.
    time_step_s
        Whole-step times for the bucket-queue kernels; ``None`` keeps float times.
    gtfs
        A GTFS feed: add walk + transit accessibility and the metro figures
        (:mod:`shancheng.circles.transit_figures`).
    transit_window_s
        Departure window of the transit accessibility, seconds since midnight.
    threads
        Threads of the search kernels (default: every core); a Dask task passes its
        worker's, so that two workers on two cores do not run four searches.
    progress
        Called with the name of each step as it starts.

    Returns
    -------
    Evaluation
    """
    step = progress or (lambda _name: None)
    catalogue = catalogue or load_catalogue()
    step("residences")
    homes = city_residences(city, catalogue, residences)
    step("accessibility")
    acc = compute_accessibility(
        city.network, homes, city.facilities, catalogue, cutoff_s=cutoff_s,
        time_step_s=time_step_s, threads=threads,
    )  # fmt: skip
    step("capacity (2SFCA)")
    capacity = capacity_access(acc, catalogue, threads=threads)
    return tabulate_evaluation(city, catalogue, acc, capacity, gtfs=gtfs,
                               transit_window_s=transit_window_s, progress=step)  # fmt: skip


def city_residences(
    city: City, catalogue: Catalogue, residences: ResidenceKind = "buildings"
) -> gpd.GeoDataFrame:
    """Return the City's residences (buildings or cells); refuse a city where nobody lives."""
    if residences not in ("buildings", "cells"):
        msg = f"`residences` must be one of {{'buildings', 'cells'}}, got {residences!r}"
        raise InputError(msg)
    homes = (
        residences_from_buildings(city)
        if residences == "buildings"
        else residences_from_cells(city)
    )
    _require_residents(city, homes, catalogue)
    return homes


def tabulate_evaluation(
    city: City,
    catalogue: Catalogue,
    acc: Accessibility,
    capacity: CapacityAccess,
    *,
    gtfs: str | Path | None = None,
    transit_window_s: tuple[int, int] = DEFAULT_WINDOW_S,
    progress: Callable[[str], None] | None = None,
) -> Evaluation:
    """Turn per-residence accessibility and 2SFCA into the Evaluation's tables.

    Everything from here on is a function of the per-residence arrays and the City's units,
    so a city evaluated district by district (:mod:`shancheng.circles.split`) and stitched
    back passes through the very same code as a city evaluated whole.
    """
    step = progress or (lambda _name: None)
    step("coverage")
    coverage = residence_coverage(acc, catalogue, adequate=capacity.adequate,
                                  capacity_known=capacity_known(city))  # fmt: skip
    homes = acc.residences
    city_units = city.admin_units[city.admin_units["level"] == "city"]
    city_code = str(city_units["code"].iloc[0]) if len(city_units) else "city"
    table = aggregate_coverage(coverage, homes, city_code=city_code)
    serves = {c: catalogue.categories[c].serves for c in acc.categories}
    units = pd.concat(
        [
            coverage_map(table, city.admin_units, unit_level=level, code_column="code",
                         serves=serves)
            for level in ("city", "district", "street", "community")
        ],
        ignore_index=True,
    )  # fmt: skip
    units = unit_supply(units, table, acc, catalogue)
    cells = coverage_map(table, city.grid_cells, unit_level="cell", code_column="cell_id",
                         serves=serves)  # fmt: skip
    step("gaps")
    gaps = find_gaps(acc, coverage, catalogue, city.grid, crs_epsg=city.network.crs_epsg)
    transit = None
    if gtfs is not None:
        step("walk + transit")
        transit = evaluate_transit(gtfs, acc, city.grid_cells, city_code=city_code,
                                   window_s=transit_window_s,
                                   osm_entrances=_osm_entrances(city))  # fmt: skip
    step("tables")
    return Evaluation(
        city_name=city.name,
        catalogue=catalogue,
        accessibility=acc,
        capacity=capacity,
        coverage=coverage,
        table=table,
        residences=_residence_frame(acc, capacity, coverage, transit),
        units=gpd.GeoDataFrame(units, geometry="geometry", crs=city.admin_units.crs),
        cells=cells,
        gaps=gaps,
        facilities=_facility_frame(acc, capacity),
        transit=transit,
        data_notes=tuple(str(note) for note in city.metadata.get("data_notes", ())),
    )


OSM_ENTRANCE_CATEGORY = "subway_entrance"
"""Facilities of this category (OSM ``railway=subway_entrance``) lead into GTFS stations."""


def _osm_entrances(city: City) -> pd.DataFrame:
    """Return the City's OpenStreetMap subway entrances: ``entrance_id, lon, lat``."""
    chosen = city.facilities[city.facilities["category"] == OSM_ENTRANCE_CATEGORY]
    return pd.DataFrame({
        "entrance_id": chosen["facility_id"].astype(str).to_numpy(),
        "lon": chosen.geometry.x.to_numpy(), "lat": chosen.geometry.y.to_numpy(),
    })  # fmt: skip


def unit_supply(
    units: pd.DataFrame, table: pd.DataFrame, acc: Accessibility, catalogue: Catalogue
) -> pd.DataFrame:
    """Add, per admin unit and category with a norm, the capacity located in the unit.

    Columns ``<category>_supply_per_1000`` (capacity of the facilities inside the unit per
    1,000 people of the norm's demand group living in it) and ``<category>_supply_met``
    (that ratio reaches the catalogue's norm) — the planners' "4.5 places per 1,000 residents
    per street", beside the walking-distance view of 2SFCA.
    """
    facilities = acc.facilities
    capacity = (
        facilities["capacity"].astype(float)
        if "capacity" in facilities.columns
        else pd.Series(1.0, index=facilities.index)
    )
    people = table.drop_duplicates(["unit_level", "unit_code", "age_group"]).set_index(
        ["unit_level", "unit_code", "age_group"]
    )["population"]
    out = units.copy()
    levels = out["level"].astype(str).to_numpy()
    codes = out["code"].astype(str).to_numpy()
    for category, spec in catalogue.categories.items():
        if spec.capacity_per_1000 is None or category not in acc.categories:
            continue
        mine = facilities["category"] == category
        supply = np.zeros(len(out))
        for level in ("city", "district", "street", "community"):
            rows = levels == level
            if level == "city":
                supply[rows] = float(capacity[mine].sum())
                continue
            column = f"{level}_code"
            if column not in facilities.columns:
                supply[rows] = np.nan
                continue
            sums = capacity[mine].groupby(facilities.loc[mine, column].astype(str)).sum()
            supply[rows] = sums.reindex(codes[rows]).fillna(0.0).to_numpy()
        keys = list(zip(levels, codes, [spec.capacity_demand] * len(out), strict=True))
        demand = people.reindex(keys).to_numpy(dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(demand > 0, 1000.0 * supply / demand, np.nan)
        out[f"{category}_supply_per_1000"] = ratio
        out[f"{category}_supply_met"] = ratio >= spec.capacity_per_1000
    return out


def capacity_known(city: City) -> set[str] | None:
    """Categories with a facility of known capacity (``None``: no capacity column, all count)."""
    facilities = city.facilities
    if "capacity" not in facilities.columns:
        return None
    capacity = pd.to_numeric(facilities["capacity"], errors="coerce")
    return set(facilities.loc[capacity.notna(), "category"].astype(str))


def _residence_frame(
    acc: Accessibility,
    capacity: CapacityAccess,
    coverage: ResidenceCoverage,
    transit: TransitResults | None = None,
) -> gpd.GeoDataFrame:
    frame = acc.to_geodataframe()
    if transit is not None:
        extra = transit.access.to_frame().set_axis(frame.index)
        frame = gpd.GeoDataFrame(pd.concat([frame, extra], axis=1), geometry="geometry",
                                 crs=frame.crs)  # fmt: skip
    for k, category in enumerate(capacity.categories):
        frame[f"{category}_per_1000"] = capacity.per_1000[:, k]
    for m, measure in enumerate(coverage.measures):
        frame[f"covered_{measure}"] = coverage.covered[:, m]
    return frame


def _facility_frame(acc: Accessibility, capacity: CapacityAccess) -> gpd.GeoDataFrame:
    frame = acc.facilities.copy()
    frame["attached"] = acc.facility_node >= 0
    if not capacity.facilities.empty:
        extra = capacity.facilities.drop(columns=["category", "capacity"])
        frame = frame.merge(extra, on="facility_id", how="left")
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=acc.facilities.crs)


def write_evaluation(
    evaluation: Evaluation,
    directory: str | Path,
    *,
    formats: tuple[Format, ...] = ("gpkg", "parquet"),
    extra: Callable[[Path], object] | None = None,
) -> Path:
    """Write the layers (GeoPackage and/or GeoParquet) and the long coverage table.

    Parameters
    ----------
    evaluation
        What :func:`evaluate_city` returned.
    directory
        Output folder; replaced as a whole at the end (never left half-written).
    formats
        ``"gpkg"`` (one ``circles.gpkg`` with a layer each) and/or ``"parquet"``.
    extra
        Called with the staging folder before it is renamed into place (e.g. to add the
        HTML report).

    Returns
    -------
    pathlib.Path
        The output folder.
    """
    target = Path(directory)
    with staged_directory(target, marker="summary.json", what="circles results") as staging:
        for name in LAYERS:
            frame = evaluation.layer(name)
            if "gpkg" in formats:
                frame.to_file(staging / GPKG_NAME, layer=name, driver="GPKG")
            if "parquet" in formats:
                frame.to_parquet(staging / f"{name}.parquet", index=False)
        evaluation.table.to_parquet(staging / "coverage.parquet", index=False)
        if evaluation.transit is not None:
            _write_transit(evaluation.transit, staging, formats)
        summary = summarize(evaluation)
        (staging / "summary.json").write_text(
            json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        if extra:
            extra(staging)
    logger.info("circles results written to %s", target)
    return target


TRANSIT_LAYERS = ("stations", "catchments", "lines")
"""Layers a GTFS feed adds to the results (GeoPackage layers and GeoParquet files)."""


def _write_transit(transit: TransitResults, staging: Path, formats: tuple[Format, ...]) -> None:
    for name in TRANSIT_LAYERS:
        frame: gpd.GeoDataFrame = getattr(transit, name)
        if "gpkg" in formats:
            frame.to_file(staging / GPKG_NAME, layer=name, driver="GPKG")
        if "parquet" in formats:
            frame.to_parquet(staging / f"{name}.parquet", index=False)
    transit.station_shares.to_parquet(staging / "station_shares.parquet", index=False)
    transit.coverage.to_parquet(staging / "transit_coverage.parquet", index=False)


def transit_summary(transit: TransitResults) -> dict[str, object]:
    """City-wide transit figures: line-km, residents near a station, reach by walk + transit."""
    shares = transit.station_shares
    city = shares[shares["unit_level"] == "city"].iloc[0]
    cover = transit.coverage
    cover = cover[cover["unit_level"] == "city"]
    return {
        "service_day": transit.service_day,
        "network_km": transit.network_km,
        "lines": len(transit.lines),
        "stations": len(transit.stations),
        "station_within_10min_share": round(float(city["share_10min"]), 6),
        "station_within_15min_share": round(float(city["share_15min"]), 6),
        "transit_shares": {
            f"{category}_{minutes:g}min": round(float(share), 6)
            for category, minutes, share in zip(
                cover["category"], cover["threshold_min"], cover["share"], strict=True
            )
        },
    }


def summarize(evaluation: Evaluation) -> dict[str, object]:
    """City-wide headline shares: complete circles per level and coverage per requirement."""
    table = evaluation.table
    city = table[(table["unit_level"] == "city") & (table["age_group"] == "all")]
    shares = {
        str(m): round(float(v), 6)
        for m, v in zip(city["measure"], city["share"].to_numpy(np.float64), strict=True)
    }
    acc = evaluation.accessibility
    no_data = [  # capacity norms whose facilities all have an unknown capacity
        f"{r.key}_capacity"
        for r in evaluation.catalogue.requirements
        if evaluation.catalogue.categories[r.category].capacity_per_1000 is not None
        and f"{r.key}_capacity" not in shares
    ]
    return {
        "city": evaluation.city_name,
        "catalogue": evaluation.catalogue.name,
        "residences": len(acc.residences),
        "residences_attached": int(acc.attached.sum()),
        "population": float(city["population"].sum() / max(len(city), 1)),
        "facilities": len(acc.facilities),
        "gap_areas": len(evaluation.gaps),
        "shares": shares,
        "no_data": no_data,
        **({"transit": transit_summary(evaluation.transit)} if evaluation.transit else {}),
    }
