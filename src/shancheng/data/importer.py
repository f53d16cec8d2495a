"""Assemble a real City from an OSM extract, a DEM, boundaries, population and facility lists.

Every input is read and checked first; only then is the City written, into a temporary
directory renamed into place (:func:`~shancheng.data.city.write_city`), so a failed import
leaves the previous City untouched. The result has the same layers and columns as the demo
city, so every analysis runs on both.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from shancheng.data.assign import (
    AdminSource,
    PopulationSource,
    admin_units,
    assign_all,
    no_codes_left_blank,
    place_residents,
    places_frame,
)
from shancheng.data.city import City, network_from_layers, write_city
from shancheng.data.facilities import read_facility_list
from shancheng.data.import_layers import (
    base_area_layer,
    buildings_layer,
    empty_layer,
    facilities_frame,
    grid_for,
    grid_layer,
    osm_facilities_layer,
    turn_restrictions_layer,
    walk_layers,
)
from shancheng.data.levels import STOREY_M, lift_rises
from shancheng.data.osm import read_osm
from shancheng.data.osm_admin import read_osm_admin_units
from shancheng.data.osm_network import WalkPieces, build_pieces, level_lift_landings
from shancheng.data.population import can_be_home
from shancheng.data.profile import (
    MAX_WALK_GRADE,
    SMOOTHING_WINDOW_M,
    cap_grades,
    smooth_along_ways,
)
from shancheng.data.relief import grid_from_dem
from shancheng.data.stairs import RISER_M, stair_rises
from shancheng.data.terrain import interpolate_elevated, read_dem, sample_heights
from shancheng.errors import FlatTerrainWarning
from shancheng.geo.crs import WGS84_EPSG, utm_epsg_for
from shancheng.network.components import largest_component_share
from shancheng.network.speed import FIXED_TIME_KINDS, EdgeKind

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    import shapely

    from shancheng.data.osm import OsmExtract
    from shancheng.data.osm_tags import FacilityTagMapping
    from shancheng.geo.relief import HeightGrid
    from shancheng.types import FloatArray

logger = logging.getLogger(__name__)

Step = Callable[[str], None]
_M_PER_DEG = 111_195.0
"""Metres per degree of latitude (local plane for the junction fits; ample within a city)."""


@dataclass(frozen=True)
class ImportOptions:
    """What to import and how.

    Parameters
    ----------
    osm
        The ``.osm.pbf``/``.osm`` extract.
    name
        Name of the City.
    area
        Study-area polygon in WGS84 to clip to (a bbox via :func:`shapely.box`), or ``None``.
    dem
        DEM file (GeoTIFF or ``.hgt``); ``None`` gives a flat network and a loud warning.
    dem_crs
        CRS of a DEM that declares none.
    max_piece_m
        Longest network piece: the spacing at which the DEM is sampled along streets.
    facility_tags
        OSM tag → category mapping; the packaged default when ``None``.
    """

    osm: Path
    name: str = "city"
    area: shapely.Geometry | None = None
    dem: Path | None = None
    dem_crs: str | None = None
    max_piece_m: float = 30.0
    smoothing_window_m: float = SMOOTHING_WINDOW_M
    """Moving-average window of the DEM profile along each way (0: no smoothing)."""
    max_grade: float = MAX_WALK_GRADE
    """Steepest grade of a walking piece; steeper DEM grades are capped and counted."""
    storey_m: float = STOREY_M
    """Height of one ``level``: lifts and stairs climb their levels times this (see
    :mod:`shancheng.data.levels`)."""
    riser_m: float = RISER_M
    """Height of one step: a ``step_count``-tagged staircase climbs at least
    ``step_count x riser_m`` (see :mod:`shancheng.data.stairs`)."""
    facility_tags: FacilityTagMapping | None = None
    facility_lists: tuple[tuple[Path, Path], ...] = ()
    """Agencies' lists as ``(file, column-mapping TOML)`` pairs."""
    admin: AdminSource | None = None
    """Official codes and polygons per level; ``None`` leaves the unit codes blank."""
    admin_osm_levels: Mapping[str, int] | None = None
    """Without ``admin``: shancheng level → OSM ``admin_level`` of the extract's own
    ``boundary=administrative`` areas to use as units (:mod:`shancheng.data.osm_admin`)."""
    population: PopulationSource | None = None
    """Residents (raster, counts per unit or points); ``None`` estimates them from the
    buildings with the default settings, and says so in the warnings and the manifest."""


@dataclass
class ImportReport:
    """What the import did, for the manifest and the command's summary."""

    figures: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    """Row-level reports (rejected facility rows) to print."""


def build_city(
    options: ImportOptions,
    *,
    step: Step | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[City, ImportReport]:
    """Read and check every input and assemble the City in memory (nothing is written).

    Returns
    -------
    tuple
        The :class:`City` and an :class:`ImportReport` with counts, the largest strongly
        connected component's share of nodes, DEM voids filled and the height range.
    """
    report_step = step or (lambda _name: None)
    started = time.perf_counter()
    report = ImportReport()
    units = empty_layer("admin_units")
    if options.admin is not None:  # cheap, checked before the long OSM read
        report_step("administrative units")
        units = admin_units(options.admin, report.lines)
    elif options.admin_osm_levels is not None:
        report_step("administrative units")
        units = read_osm_admin_units(options.osm, options.admin_osm_levels, area=options.area)
    report_step("reading OpenStreetMap")
    extract = read_osm(options.osm, facility_tags=options.facility_tags, progress=progress)
    report_step("building the walk network")
    pieces = build_pieces(extract, options.area, max_piece_m=options.max_piece_m)
    report_step("terrain")
    centre_lon = float(np.median(pieces.node_lon))
    centre_lat = float(np.median(pieces.node_lat))
    epsg = utm_epsg_for(centre_lon, centre_lat)
    z, terrain = _heights(pieces, options, report, epsg)
    report_step("layers")
    stairs = stair_rises(pieces, z, extract.way_tags, extract.way_lonlat,
                         riser_m=options.riser_m, storey_m=options.storey_m)  # fmt: skip
    lifts = lift_rises(pieces, z, extract.way_tags, storey_m=options.storey_m)
    report.figures.update({"steps_ways_raised": stairs.raised_ways,
                           "steps_ways_dem_kept": stairs.kept_dem_ways,
                           "steps_ways_undirected": stairs.undirected_ways,
                           "lifts_climb_from_levels": lifts.lifts_from_levels,
                           "lifts_climb_dem_kept": lifts.lifts_dem_kept})  # fmt: skip
    tagged = np.where(np.isnan(stairs.rise_m), lifts.rise_m, stairs.rise_m)
    rise_m = _capped_rises(pieces, z, tagged, options, report)
    walk_nodes, walk_segments = walk_layers(pieces, z, extract, epsg, rise_m)
    network = network_from_layers(walk_nodes, walk_segments, source=str(options.osm),
                                  crs_epsg=epsg)  # fmt: skip
    buildings = buildings_layer(extract, options.area, epsg)
    facilities = osm_facilities_layer(extract, options.area, epsg)
    if options.facility_lists:
        report_step("facility lists")
        facilities = _add_facility_lists(facilities, options, pieces, epsg, report)
    grid = grid_for(walk_nodes, epsg)
    for frame in (buildings, facilities):
        frame["cell_id"] = grid.cell_of(frame["x_utm"].to_numpy(), frame["y_utm"].to_numpy())
    grid_cells = grid_layer(grid, walk_nodes, buildings, facilities, epsg)
    if len(units):
        assigned = assign_all(
            {"buildings": buildings, "facilities": facilities, "grid_cells": grid_cells},
            units,
            places_frame(extract.places),
        )
        buildings, facilities = assigned["buildings"], assigned["facilities"]
        grid_cells = assigned["grid_cells"]
        report.figures["admin_units"] = len(units)
        report.figures["buildings_with_district_share"] = round(no_codes_left_blank(buildings), 4)
    report_step("residents")
    buildings, notes = _residents(buildings, extract, options, epsg, report)
    share = largest_component_share(network)
    restrictions = turn_restrictions_layer(extract, walk_nodes, walk_segments)
    for skipped in extract.skipped_restrictions:
        logger.info("%s: turn restriction left out: %s", options.osm, skipped)
    report.figures.update({
        "turn_restrictions": len(restrictions),
        "turn_restrictions_left_out": len(extract.skipped_restrictions),
        "signal_nodes": int(walk_nodes["traffic_signals"].sum()),
        "crossing_nodes": int((walk_nodes["crossing"] != "").sum()),
        "oneway_car_segments": int((walk_segments["car_oneway"] != 0).sum()),
        "walk_nodes": network.n_nodes,
        "walk_segments": len(walk_segments),
        "osm_ways": extract.n_ways,
        "largest_scc_share": round(share, 4),
        "z_min_m": round(float(z.min()), 1),
        "z_max_m": round(float(z.max()), 1),
        "facilities": len(facilities),
        "buildings": len(buildings),
        "residents": int(pd.to_numeric(buildings["population"]).sum()) if len(buildings) else 0,
        "import_s": round(time.perf_counter() - started, 2),
    })  # fmt: skip
    city = City(
        name=options.name,
        admin_units=units,
        grid_cells=grid_cells,
        walk_nodes=walk_nodes,
        walk_segments=walk_segments,
        buildings=buildings,
        facilities=facilities,
        water_nodes=empty_layer("water_nodes"),
        water_links=empty_layer("water_links"),
        gas_nodes=empty_layer("gas_nodes"),
        gas_links=empty_layer("gas_links"),
        sensors=empty_layer("sensors"),
        network=network,
        water=base_area_layer(extract, "water", options.area),
        green=base_area_layer(extract, "green", options.area),
        turn_restrictions=restrictions,
        terrain=terrain,
        metadata={
            "source": "import",
            "inputs": {"osm": str(options.osm), "dem": str(options.dem) if options.dem else None},
            "grid": {"origin_x_utm": grid.origin_x_utm, "origin_y_utm": grid.origin_y_utm,
                     "cell_size_m": grid.cell_size_m, "n_cols": grid.n_cols,
                     "n_rows": grid.n_rows},
            "import": report.figures,
            "import_warnings": report.warnings,
            "data_notes": notes,
        },
    )  # fmt: skip
    logger.info("assembled City %r: %s", options.name, report.figures)
    return city, report


def _residents(
    buildings: gpd.GeoDataFrame,
    extract: OsmExtract,
    options: ImportOptions,
    epsg: int,
    report: ImportReport,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Place (or estimate) the residents; return the buildings and the City's data notes."""
    population = options.population or PopulationSource()
    facility_refs = {str(f["osm_ref"]) for f in extract.facilities}
    not_homes = np.zeros(len(buildings), dtype=bool)
    if len(buildings):
        refs = buildings["osm_type"].astype(str) + "/" + buildings["osm_id"].astype(str)
        not_homes = refs.isin(facility_refs).to_numpy(dtype=bool)
        buildings = place_residents(buildings, population, report.lines, epsg=epsg,
                                    not_homes=not_homes)  # fmt: skip
    return buildings, _population_notes(population, buildings, not_homes, options, report)


def _population_notes(
    source: PopulationSource,
    buildings: gpd.GeoDataFrame,
    not_homes: npt.NDArray[np.bool_],
    options: ImportOptions,
    report: ImportReport,
) -> list[str]:
    """Record where the residents come from; an estimate is a loud warning and a data note."""
    homes = (
        can_be_home(buildings, min_home_m2=source.min_home_m2, not_homes=not_homes)
        if len(buildings)
        else np.zeros(0, dtype=bool)
    )
    residents = int(pd.to_numeric(buildings["population"]).sum()) if len(buildings) else 0
    report.figures.update({
        "population_source": source.kind,
        "buildings_that_can_be_homes": int(homes.sum()),
        "buildings_with_residents": int((pd.to_numeric(buildings["population"]) > 0).sum())
        if len(buildings) else 0,
    })  # fmt: skip
    age_note = (
        "no age data: every resident is counted as aged 15-59, so the age groups of the "
        "report (children, the elderly) show nobody rather than their real share"
    )
    ages = [age_note] if residents else []
    if source.kind != "estimate":
        return ages
    note = (
        f"population estimated from buildings: {residents:,} residents = floor area of the "
        f"{int(homes.sum()):,} buildings that can be homes (footprint x levels, "
        f"{source.default_levels:g} level where untagged; housing or building=yes, at least "
        f"{source.min_home_m2:g} m², not a facility) x {source.persons_per_m2:g} persons/m² "
        f"({1 / source.persons_per_m2:.0f} m² per person) — assumptions, not counts"
    )
    text = (
        f"{options.osm}: no population given (--population-raster, --population-counts or "
        f"--population-points): {note}"
    )
    logger.warning(text)
    report.warnings.append(text)
    return [note, *ages]


def import_city(
    options: ImportOptions,
    directory: str | Path,
    *,
    step: Step | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[City, ImportReport]:
    """Build the City from ``options`` and write it atomically into ``directory``.

    Everything is read and validated before the first byte is written; the write goes to a
    temporary sibling directory renamed into place, so any failure leaves the previous City
    in ``directory`` as it was.
    """
    city, report = build_city(options, step=step, progress=progress)
    if step is not None:
        step("writing files")
    write_city(city, directory)
    return city, report


def _add_facility_lists(
    facilities: gpd.GeoDataFrame,
    options: ImportOptions,
    pieces: WalkPieces,
    epsg: int,
    report: ImportReport,
) -> gpd.GeoDataFrame:
    """Read each agency list (all rows checked) and append its good rows to the OSM ones."""
    reference = np.column_stack([pieces.node_lon, pieces.node_lat])
    frames = [facilities]
    rejected = 0
    for k, (path, mapping) in enumerate(options.facility_lists, start=1):
        result = read_facility_list(path, mapping, area=options.area, reference_lonlat=reference)
        rows = result.facilities
        frames.append(facilities_frame(
            category=rows["category"], name=rows["name"], lon=rows["lon"], lat=rows["lat"],
            epsg=epsg, source=rows["source"].to_numpy(), source_date=rows["source_date"],
            prefix=f"L{k}-", capacity=rows["capacity"],
        ))  # fmt: skip
        rejected += len(result.problems)
        report.lines.extend(f"rejected: {problem}" for problem in result.problems)
        report.lines.append(f"{path}: {len(rows)} facilities imported, "
                            f"{len(result.problems)} rows rejected ({result.datum})")  # fmt: skip
    report.figures["facility_rows_rejected"] = rejected
    combined = pd.concat([f for f in frames if len(f)], ignore_index=True)
    return gpd.GeoDataFrame(combined, geometry="geometry", crs=WGS84_EPSG)


def _heights(
    pieces: WalkPieces, options: ImportOptions, report: ImportReport, epsg: int
) -> tuple[FloatArray, HeightGrid | None]:
    """Heights of the network's nodes, and the DEM over the network as the City's terrain grid."""
    if options.dem is None:
        text = (
            f"{options.osm}: no DEM given: the walk network is FLAT, so climbs and stairs are "
            "not slower uphill (except stairs with a tagged step_count or incline); pass --dem to "
            "model the terrain"
        )
        warnings.warn(text, FlatTerrainWarning, stacklevel=3)
        logger.warning(text)
        report.warnings.append(text)
        report.figures.update({"dem": None, "dem_voids_filled": 0})
        return np.zeros(pieces.n_nodes), None
    bounds = (float(pieces.node_lon.min()), float(pieces.node_lat.min()),
              float(pieces.node_lon.max()), float(pieces.node_lat.max()))  # fmt: skip
    dem = read_dem(options.dem, bounds_lonlat=bounds, crs=options.dem_crs)
    ground = sample_heights(dem, pieces.node_lon, pieces.node_lat)
    follows_ground = _follows_ground(pieces)
    smoothed = _smoothed(ground, pieces, follows_ground, options.smoothing_window_m)
    z = interpolate_elevated(smoothed, pieces.elevated_nodes(), pieces.tail, pieces.head,
                             pieces.length_m)  # fmt: skip
    z = level_lift_landings(z, pieces)
    climb_raw = float(np.abs(ground[pieces.head] - ground[pieces.tail])[follows_ground].sum())
    climb = float(np.abs(smoothed[pieces.head] - smoothed[pieces.tail])[follows_ground].sum())
    report.figures.update({
        "dem": str(options.dem), "dem_voids_filled": dem.voids_filled,
        "dem_smoothing_window_m": options.smoothing_window_m,
        "ground_climb_raw_m": round(climb_raw, 1), "ground_climb_smoothed_m": round(climb, 1),
    })  # fmt: skip
    return np.round(z, 2), grid_from_dem(dem, bounds, epsg=epsg)


def _follows_ground(pieces: WalkPieces) -> npt.NDArray[np.bool_]:
    """Pieces whose heights are the ground's: not bridges, tunnels, lifts or ferries."""
    return np.asarray(
        ~pieces.elevated & (pieces.way_index >= 0) & ~np.isin(pieces.kind, FIXED_TIME_KINDS),
        dtype=bool,
    )


def _smoothed(
    ground: FloatArray, pieces: WalkPieces, include: npt.NDArray[np.bool_], window_m: float
) -> FloatArray:
    """Return the DEM heights smoothed along each way (see :mod:`shancheng.data.profile`)."""
    if window_m <= 0 or pieces.tail_along_m is None or pieces.head_along_m is None:
        return ground
    if pieces.run_index is None:  # pragma: no cover - set together with the positions
        return ground
    lat0 = float(np.median(pieces.node_lat))
    x_m = (
        (pieces.node_lon - float(np.median(pieces.node_lon)))
        * _M_PER_DEG
        * np.cos(np.radians(lat0))
    )
    y_m = (pieces.node_lat - lat0) * _M_PER_DEG
    return smooth_along_ways(
        ground,
        (pieces.tail, pieces.head),
        (pieces.tail_along_m, pieces.head_along_m),
        pieces.run_index,
        include,
        window_m=window_m,
        node_xy_m=(x_m, y_m),
    )


def _capped_rises(
    pieces: WalkPieces,
    z: FloatArray,
    stair_rise_m: FloatArray,
    options: ImportOptions,
    report: ImportReport,
) -> FloatArray:
    """Per-piece rise overrides: the stairs' tagged climbs, and capped walking grades."""
    walking = (
        _follows_ground(pieces)
        | (pieces.kind == EdgeKind.BRIDGE)
        | (pieces.kind == EdgeKind.TUNNEL)
    )
    eligible = walking & (pieces.kind != EdgeKind.STEPS) & np.isnan(stair_rise_m)
    if options.dem is None:
        eligible = np.zeros_like(eligible)
    rise = np.where(np.isnan(stair_rise_m), z[pieces.head] - z[pieces.tail], stair_rise_m)
    capped = cap_grades(rise, pieces.length_m, eligible, max_grade=options.max_grade)
    report.figures.update({
        "max_grade": options.max_grade,
        "pieces_grade_capped": capped.capped,
        "pieces_grade_capped_share": round(capped.share, 5),
        "length_grade_capped_share": round(capped.capped_length_share, 5),
    })  # fmt: skip
    if capped.capped:
        text = (
            f"{options.dem}: {capped.capped:,} of {capped.eligible:,} walking pieces "
            f"({capped.share:.2%}, {capped.capped_length_share:.2%} of their length) were "
            f"steeper than {options.max_grade:.0%} after smoothing "
            f"the DEM over {options.smoothing_window_m:g} m; their grade was capped at "
            f"{options.max_grade:.0%} (taken as DEM noise; --max-grade to change)"
        )
        logger.warning(text)
        report.warnings.append(text)
    return np.where(capped.rise_m != rise, capped.rise_m, stair_rise_m)
