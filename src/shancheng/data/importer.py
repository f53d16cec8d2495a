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
import shapely

from shancheng.data.assign import (
    AdminSource,
    PopulationSource,
    admin_units,
    assign_all,
    no_codes_left_blank,
    place_residents,
    places_frame,
)
from shancheng.data.city import AGE_GROUPS, LAYERS, City, network_from_layers, write_city
from shancheng.data.facilities import read_facility_list
from shancheng.data.osm import FacilityTagMapping, OsmExtract, read_osm
from shancheng.data.osm_network import WalkPieces, build_pieces
from shancheng.data.terrain import interpolate_elevated, read_dem, sample_heights
from shancheng.errors import FlatTerrainWarning
from shancheng.geo.crs import WGS84_EPSG, lonlat_to_utm, utm_epsg_for
from shancheng.geo.grid import UnitGrid
from shancheng.network.components import largest_component_share

if TYPE_CHECKING:
    from pathlib import Path

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
Step = Callable[[str], None]
GRID_CELL_M = 100.0
"""Side of a unit-grid cell (万米单元网格: 100 m by 100 m = 10,000 m²)."""


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
    facility_tags: FacilityTagMapping | None = None
    facility_lists: tuple[tuple[Path, Path], ...] = ()
    """Agencies' lists as ``(file, column-mapping TOML)`` pairs."""
    admin: AdminSource | None = None
    """Official codes and polygons per level; ``None`` leaves the unit codes blank."""
    population: PopulationSource | None = None
    """Residents (raster or counts per unit); ``None`` leaves buildings empty."""


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
    report_step("reading OpenStreetMap")
    extract = read_osm(options.osm, facility_tags=options.facility_tags, progress=progress)
    report_step("building the walk network")
    pieces = build_pieces(extract, options.area, max_piece_m=options.max_piece_m)
    report_step("terrain")
    z = _heights(pieces, options, report)
    centre_lon = float(np.median(pieces.node_lon))
    centre_lat = float(np.median(pieces.node_lat))
    epsg = utm_epsg_for(centre_lon, centre_lat)
    report_step("layers")
    walk_nodes, walk_segments = _walk_layers(pieces, z, extract, epsg)
    network = network_from_layers(walk_nodes, walk_segments, source=str(options.osm),
                                  crs_epsg=epsg)  # fmt: skip
    buildings = _buildings_layer(extract, options.area, epsg)
    facilities = _osm_facilities_layer(extract, options.area, epsg)
    if options.facility_lists:
        report_step("facility lists")
        facilities = _add_facility_lists(facilities, options, pieces, epsg, report)
    grid = _grid_for(walk_nodes, epsg)
    for frame in (buildings, facilities):
        frame["cell_id"] = grid.cell_of(frame["x_utm"].to_numpy(), frame["y_utm"].to_numpy())
    grid_cells = _grid_layer(grid, walk_nodes, buildings, facilities, epsg)
    if options.admin is not None:
        assigned = assign_all(
            {"buildings": buildings, "facilities": facilities, "grid_cells": grid_cells},
            units,
            places_frame(extract.places),
        )
        buildings, facilities = assigned["buildings"], assigned["facilities"]
        grid_cells = assigned["grid_cells"]
        report.figures["admin_units"] = len(units)
        report.figures["buildings_with_district_share"] = round(no_codes_left_blank(buildings), 4)
    if options.population is not None:
        report_step("residents")
        buildings = place_residents(buildings, options.population, report.lines)
    share = largest_component_share(network)
    report.figures.update({
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
        metadata={
            "source": "import",
            "inputs": {"osm": str(options.osm), "dem": str(options.dem) if options.dem else None},
            "grid": {"origin_x_utm": grid.origin_x_utm, "origin_y_utm": grid.origin_y_utm,
                     "cell_size_m": grid.cell_size_m, "n_cols": grid.n_cols,
                     "n_rows": grid.n_rows},
            "import": report.figures,
            "import_warnings": report.warnings,
        },
    )  # fmt: skip
    logger.info("assembled City %r: %s", options.name, report.figures)
    return city, report


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


def _heights(pieces: WalkPieces, options: ImportOptions, report: ImportReport) -> FloatArray:
    if options.dem is None:
        text = (
            f"{options.osm}: no DEM given: the walk network is FLAT, so climbs and stairs are "
            "not slower uphill; pass --dem to model the terrain"
        )
        warnings.warn(text, FlatTerrainWarning, stacklevel=3)
        logger.warning(text)
        report.warnings.append(text)
        report.figures.update({"dem": None, "dem_voids_filled": 0})
        return np.zeros(pieces.n_nodes)
    bounds = (float(pieces.node_lon.min()), float(pieces.node_lat.min()),
              float(pieces.node_lon.max()), float(pieces.node_lat.max()))  # fmt: skip
    dem = read_dem(options.dem, bounds_lonlat=bounds, crs=options.dem_crs)
    ground = sample_heights(dem, pieces.node_lon, pieces.node_lat)
    z = interpolate_elevated(ground, pieces.elevated_nodes(), pieces.tail, pieces.head,
                             pieces.length_m)  # fmt: skip
    report.figures.update({"dem": str(options.dem), "dem_voids_filled": dem.voids_filled})
    return np.round(z, 2)


def _walk_layers(
    pieces: WalkPieces, z: FloatArray, extract: OsmExtract, epsg: int
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    x, y = lonlat_to_utm(pieces.node_lon, pieces.node_lat, epsg=epsg)
    nodes = gpd.GeoDataFrame(
        {
            "node_id": np.arange(pieces.n_nodes, dtype=np.int64),
            "x_utm": np.round(x, 2),
            "y_utm": np.round(y, 2),
            "z_m": z,
            "osm_id": pieces.node_osm_id,
        },
        geometry=gpd.points_from_xy(pieces.node_lon, pieces.node_lat),
        crs=WGS84_EPSG,
    )
    way = pieces.way_index
    has_way = way >= 0
    way_ids = np.asarray(extract.way_id, dtype=np.int64)
    tags = [extract.way_tags[w] if w >= 0 else {"highway": "elevator"} for w in way]
    segments = gpd.GeoDataFrame(
        {
            "segment_id": np.arange(way.shape[0], dtype=np.int64),
            "tail": pieces.tail,
            "head": pieces.head,
            "length_m": np.round(pieces.length_m, 3),
            "kind": pieces.kind.astype(np.int64),
            "oneway": pieces.oneway,
            "fixed_time_s": pieces.fixed_time_s,
            "osm_way_id": np.where(has_way, way_ids[np.maximum(way, 0)], -1),
            "highway": [t.get("highway", "") for t in tags],
            "name": [t.get("name", "") for t in tags],
            "step_count": pd.to_numeric(pd.Series([t.get("step_count") for t in tags]),
                                        errors="coerce").to_numpy(),
            "incline": [t.get("incline", "") for t in tags],
            "elevated": pieces.elevated,
        },
        geometry=pieces.geometry,
        crs=WGS84_EPSG,
    )  # fmt: skip
    return nodes, segments


def _inside(area: shapely.Geometry | None, lon: FloatArray, lat: FloatArray) -> npt.NDArray[Any]:
    if area is None:
        return np.ones(lon.shape[0], dtype=bool)
    return np.asarray(shapely.contains_xy(area, lon, lat))


def _buildings_layer(
    extract: OsmExtract, area: shapely.Geometry | None, epsg: int
) -> gpd.GeoDataFrame:
    if not extract.buildings:
        return empty_layer("buildings")
    frame = gpd.GeoDataFrame(pd.DataFrame(extract.buildings), geometry="geometry",
                             crs=WGS84_EPSG)  # fmt: skip
    centre = shapely.centroid(frame.geometry.to_numpy())
    lon, lat = shapely.get_x(centre), shapely.get_y(centre)
    keep = _inside(area, lon, lat)
    frame, lon, lat = frame[keep].reset_index(drop=True), lon[keep], lat[keep]
    x, y = lonlat_to_utm(lon, lat, epsg=epsg)
    footprint = frame.to_crs(epsg).area.to_numpy()
    n = len(frame)
    out = pd.DataFrame({
        "building_id": np.arange(n, dtype=np.int64),
        "x_utm": np.round(x, 2),
        "y_utm": np.round(y, 2),
        "z_m": np.zeros(n),
        "footprint_m2": np.round(footprint, 1),
        "levels": frame["levels"].to_numpy(dtype=np.float64),
        "population": np.zeros(n, dtype=np.int64),
        **{age: np.zeros(n, dtype=np.int64) for age in AGE_GROUPS},
        "cell_id": np.full(n, -1, dtype=np.int64),
        "community_code": "",
        "street_code": "",
        "district_code": "",
        "osm_id": frame["osm_id"].to_numpy(dtype=np.int64),
        "building": frame["building"].to_numpy(),
    })  # fmt: skip
    return gpd.GeoDataFrame(out, geometry=frame.geometry.to_numpy(), crs=WGS84_EPSG)


def _osm_facilities_layer(
    extract: OsmExtract, area: shapely.Geometry | None, epsg: int
) -> gpd.GeoDataFrame:
    if not extract.facilities:
        return empty_layer("facilities")
    raw = pd.DataFrame(extract.facilities)
    lon, lat = raw["lon"].to_numpy(), raw["lat"].to_numpy()
    keep = _inside(area, lon, lat)
    raw = raw[keep].reset_index(drop=True)
    return facilities_frame(
        category=raw["category"].to_numpy(),
        name=raw["name"].to_numpy(),
        lon=raw["lon"].to_numpy(),
        lat=raw["lat"].to_numpy(),
        epsg=epsg,
        source=raw["osm_ref"].map(lambda ref: f"OpenStreetMap {ref}").to_numpy(),
        source_date=extract.timestamp,
        prefix="OSM",
    )


def facilities_frame(
    *,
    category: npt.ArrayLike,
    name: npt.ArrayLike,
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    epsg: int,
    source: npt.ArrayLike | str,
    source_date: npt.ArrayLike | str,
    prefix: str,
    capacity: npt.ArrayLike | None = None,
    capacity_unit: npt.ArrayLike | str = "",
) -> gpd.GeoDataFrame:
    """Build a ``facilities`` layer (City columns plus ``source``/``source_date`` provenance)."""
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    n = lon_a.shape[0]
    x, y = lonlat_to_utm(lon_a, lat_a, epsg=epsg)
    frame = pd.DataFrame({
        "facility_id": [f"{prefix}{i:05d}" for i in range(n)],
        "category": np.asarray(category, dtype=object),
        "name": np.asarray(name, dtype=object),
        "capacity": np.full(n, np.nan) if capacity is None else np.asarray(capacity, float),
        "capacity_unit": capacity_unit,
        "x_utm": np.round(x, 2),
        "y_utm": np.round(y, 2),
        "cell_id": np.full(n, -1, dtype=np.int64),
        "community_code": "",
        "street_code": "",
        "district_code": "",
        "source": source,
        "source_date": source_date,
    })  # fmt: skip
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon_a, lat_a), crs=WGS84_EPSG)


def _grid_for(walk_nodes: pd.DataFrame, epsg: int) -> UnitGrid:
    del epsg  # the grid lives in the same projected CRS as x_utm/y_utm
    x, y = walk_nodes["x_utm"].to_numpy(), walk_nodes["y_utm"].to_numpy()
    x0 = float(np.floor(x.min() / GRID_CELL_M) * GRID_CELL_M) - GRID_CELL_M
    y0 = float(np.floor(y.min() / GRID_CELL_M) * GRID_CELL_M) - GRID_CELL_M
    n_cols = int(np.ceil((x.max() - x0) / GRID_CELL_M)) + 2
    n_rows = int(np.ceil((y.max() - y0) / GRID_CELL_M)) + 2
    return UnitGrid(x0, y0, GRID_CELL_M, n_cols=n_cols, n_rows=n_rows)


def _grid_layer(
    grid: UnitGrid,
    walk_nodes: pd.DataFrame,
    buildings: pd.DataFrame,
    facilities: pd.DataFrame,
    epsg: int,
) -> gpd.GeoDataFrame:
    """Cells of the unit grid that hold a walk node, a building or a facility."""
    from shancheng.geo.crs import geometries_to_lonlat  # noqa: PLC0415

    cells = [grid.cell_of(f["x_utm"].to_numpy(), f["y_utm"].to_numpy())
             for f in (walk_nodes, buildings, facilities)]  # fmt: skip
    cell_id = np.unique(np.concatenate(cells))
    cell_id = cell_id[cell_id >= 0]
    rows, cols = grid.row_col(cell_id)
    cx = grid.origin_x_utm + (cols + 0.5) * grid.cell_size_m
    cy = grid.origin_y_utm + (rows + 0.5) * grid.cell_size_m
    node_cell = grid.cell_of(walk_nodes["x_utm"].to_numpy(), walk_nodes["y_utm"].to_numpy())
    z_sum = np.bincount(node_cell, weights=walk_nodes["z_m"].to_numpy(), minlength=grid.n_cells)
    z_count = np.bincount(node_cell, minlength=grid.n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(z_count[cell_id] > 0, z_sum[cell_id] / z_count[cell_id], np.nan)
    frame = pd.DataFrame({
        "cell_id": cell_id.astype(np.int64), "row": rows, "col": cols, "x_utm": cx, "y_utm": cy,
        "z_m": np.round(z, 2), "community_code": "", "street_code": "", "district_code": "",
    })  # fmt: skip
    polygons = geometries_to_lonlat(grid.cell_polygons(cell_id), epsg=epsg)
    return gpd.GeoDataFrame(frame, geometry=polygons, crs=WGS84_EPSG)


def empty_layer(name: str) -> gpd.GeoDataFrame:
    """Return an empty layer with the City's required columns (what an import lacks)."""
    columns = {column: pd.Series(dtype=object) for column in LAYERS[name]}
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries([], crs=WGS84_EPSG), crs=WGS84_EPSG)
