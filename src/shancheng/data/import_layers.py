"""The City layers an import builds: walk segments, buildings, facilities, grid, base map.

Each function turns what was read (OSM pieces, buildings, facilities) into a GeoDataFrame with
the columns of :data:`~shancheng.data.city.LAYERS` (WGS84 geometry plus projected ``x_utm``/
``y_utm`` in the city's own UTM zone), and extra columns that keep the provenance (OSM ids,
tags, sources and dates).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from shancheng.data.city import AGE_GROUPS, LAYERS
from shancheng.data.osm_basemap import road_class
from shancheng.data.osm_traffic import car_oneway, maxspeed_kmh
from shancheng.geo.crs import WGS84_EPSG, geometries_to_lonlat, lonlat_to_utm
from shancheng.geo.grid import UnitGrid

if TYPE_CHECKING:
    from shancheng.data.osm import OsmExtract
    from shancheng.data.osm_network import WalkPieces
    from shancheng.types import FloatArray

GRID_CELL_M = 100.0
"""Side of a unit-grid cell (万米单元网格: 100 m by 100 m = 10,000 m²)."""


def walk_layers(
    pieces: WalkPieces,
    z: FloatArray,
    extract: OsmExtract,
    epsg: int,
    rise_m: FloatArray | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Build ``walk_nodes`` and ``walk_segments`` (with OSM way id, highway, steps tags).

    ``rise_m`` is the optional per-segment rise override (stairs climbs from their tags,
    :mod:`shancheng.data.stairs`); NaN where the node heights stand.
    """
    x, y = lonlat_to_utm(pieces.node_lon, pieces.node_lat, epsg=epsg)
    nodes = gpd.GeoDataFrame(
        {
            "node_id": np.arange(pieces.n_nodes, dtype=np.int64),
            "x_utm": np.round(x, 2),
            "y_utm": np.round(y, 2),
            "z_m": z,
            "osm_id": pieces.node_osm_id,
            "traffic_signals": np.isin(pieces.node_osm_id, list(extract.signal_nodes)),
            "crossing": [extract.crossing_nodes.get(int(i), "") for i in pieces.node_osm_id],
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
            "name_en": [t.get("name:en", "") for t in tags],
            "road_class": [road_class(t) for t in tags],
            "step_count": pd.to_numeric(pd.Series([t.get("step_count") for t in tags]),
                                        errors="coerce").to_numpy(),
            "incline": [t.get("incline", "") for t in tags],
            "elevated": pieces.elevated,
            "rise_m": np.full(way.shape[0], np.nan) if rise_m is None else np.round(rise_m, 3),
            # cars' direction in the piece's own direction (a piece reversed for walking
            # against its way, an escalator going down, flips it)
            "car_oneway": np.array([car_oneway(t) for t in tags], dtype=np.int64)
            * np.where(_reversed(pieces), -1, 1),
            "maxspeed_kmh": np.array([maxspeed_kmh(t) for t in tags], dtype=np.float64),
        },
        geometry=pieces.geometry,
        crs=WGS84_EPSG,
    )  # fmt: skip
    return nodes, segments


def _reversed(pieces: WalkPieces) -> npt.NDArray[np.bool_]:
    """Pieces that run against their way (walked the other way, an escalator going down)."""
    if pieces.tail_along_m is None or pieces.head_along_m is None:
        return np.zeros(pieces.tail.shape[0], dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.asarray(pieces.tail_along_m > pieces.head_along_m)


def turn_restrictions_layer(
    extract: OsmExtract, nodes: gpd.GeoDataFrame, segments: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Build ``turn_restrictions`` (from segment, via node, to segment) from the relations.

    The from and to segments are the pieces of the from and to ways that touch the via node.
    A relation whose via node is not a junction of the network, or whose ways do not end at
    it, is left out and logged.
    """
    walk_of_osm = {int(o): int(n) for n, o in zip(nodes["node_id"], nodes["osm_id"], strict=True)
                   if o >= 0}  # fmt: skip
    # (way, node) -> pieces ending there; (way, node, 0) arriving, (way, node, 1) leaving
    ends: dict[tuple[int, int, int], list[int]] = {}
    for seg, way, tail, head in zip(segments["segment_id"], segments["osm_way_id"],
                                    segments["tail"], segments["head"], strict=True):  # fmt: skip
        ends.setdefault((int(way), int(head), 0), []).append(int(seg))
        ends.setdefault((int(way), int(tail), 1), []).append(int(seg))
    rows = []
    for found in extract.restrictions:
        via = walk_of_osm.get(int(str(found["via_node"])))
        # a from (to) way should end at the via node; one running through it (a mapping
        # error OSM validators flag) is read as its piece arriving at (leaving) the node
        pick = [
            _piece_at(ends, int(str(found[key])), via, arriving=arriving) if via is not None else []
            for key, arriving in (("from_way", True), ("to_way", False))
        ]
        if via is None or any(len(p) != 1 for p in pick):
            extract.skipped_restrictions.append(
                f"relation/{found['osm_id']}: its ways do not meet the network at the via node"
            )
            continue
        rows.append({"from_segment": pick[0][0], "via_node": via, "to_segment": pick[1][0],
                     "restriction": found["restriction"], "osm_id": found["osm_id"]})  # fmt: skip
    frame = pd.DataFrame(rows, columns=["from_segment", "via_node", "to_segment", "restriction",
                                        "osm_id"])  # fmt: skip
    via_index = frame["via_node"].to_numpy(dtype=np.int64)
    return gpd.GeoDataFrame(frame, geometry=nodes.geometry.to_numpy()[via_index], crs=WGS84_EPSG)


def _piece_at(
    ends: dict[tuple[int, int, int], list[int]], way: int, node: int, *, arriving: bool
) -> list[int]:
    """Return the way's pieces at ``node``, the arriving (or leaving) one if several."""
    both = sorted(set(ends.get((way, node, 0), []) + ends.get((way, node, 1), [])))
    if len(both) <= 1:
        return both
    return ends.get((way, node, 0 if arriving else 1), [])


def base_area_layer(
    extract: OsmExtract, layer: str, area: shapely.Geometry | None
) -> gpd.GeoDataFrame:
    """Return the extract's ``water`` or ``green`` polygons (kind, names), clipped to ``area``."""
    rows = [a for a in extract.base_areas if a["layer"] == layer]
    frame = gpd.GeoDataFrame(
        {c: [r[c] for r in rows] for c in ("kind", "name", "name_en")},
        geometry=[r["geometry"] for r in rows], crs=WGS84_EPSG,
    )  # fmt: skip
    if not len(frame):
        return frame
    shapes = shapely.make_valid(frame.geometry.to_numpy())  # OSM rings may cross themselves
    if area is not None:
        shapes = shapely.intersection(shapes, area)
    parts, owner = shapely.get_parts(shapes, return_index=True)
    polygon = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    shapes = shapely.multipolygons(parts[polygon], indices=owner[polygon])  # drop slivers' lines
    single = shapely.get_num_geometries(shapes) == 1
    shapes[single] = shapely.get_geometry(shapes[single], 0)
    frame = frame.iloc[: len(shapes)].set_geometry(shapes, crs=WGS84_EPSG)
    return frame[~frame.geometry.is_empty].reset_index(drop=True)


def _inside(area: shapely.Geometry | None, lon: FloatArray, lat: FloatArray) -> npt.NDArray[Any]:
    if area is None:
        return np.ones(lon.shape[0], dtype=bool)
    return np.asarray(shapely.contains_xy(area, lon, lat))


def buildings_layer(
    extract: OsmExtract, area: shapely.Geometry | None, epsg: int
) -> gpd.GeoDataFrame:
    """Build ``buildings`` from the OSM footprints in the area (no residents yet)."""
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
        "osm_type": frame["osm_type"].to_numpy(),
        "building": frame["building"].to_numpy(),
    })  # fmt: skip
    return gpd.GeoDataFrame(out, geometry=frame.geometry.to_numpy(), crs=WGS84_EPSG)


def osm_facilities_layer(
    extract: OsmExtract, area: shapely.Geometry | None, epsg: int
) -> gpd.GeoDataFrame:
    """Build ``facilities`` from the OSM features the tag mapping matched, in the area."""
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


def grid_for(walk_nodes: pd.DataFrame, epsg: int) -> UnitGrid:
    """Return a 100 m unit grid covering the walk network (plus a margin of one cell)."""
    del epsg  # the grid lives in the same projected CRS as x_utm/y_utm
    x, y = walk_nodes["x_utm"].to_numpy(), walk_nodes["y_utm"].to_numpy()
    x0 = float(np.floor(x.min() / GRID_CELL_M) * GRID_CELL_M) - GRID_CELL_M
    y0 = float(np.floor(y.min() / GRID_CELL_M) * GRID_CELL_M) - GRID_CELL_M
    n_cols = int(np.ceil((x.max() - x0) / GRID_CELL_M)) + 2
    n_rows = int(np.ceil((y.max() - y0) / GRID_CELL_M)) + 2
    return UnitGrid(x0, y0, GRID_CELL_M, n_cols=n_cols, n_rows=n_rows)


def grid_layer(
    grid: UnitGrid,
    walk_nodes: pd.DataFrame,
    buildings: pd.DataFrame,
    facilities: pd.DataFrame,
    epsg: int,
) -> gpd.GeoDataFrame:
    """Cells of the unit grid that hold a walk node, a building or a facility."""
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
