"""Assemble the demo city from its parts into the shared :class:`~shancheng.data.city.City`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from shancheng.data.city import AGE_GROUPS, City, network_from_layers, write_city
from shancheng.data.demo.admin import AdminLayout, generate_admin
from shancheng.data.demo.basemap import green_layer, road_classes, terrain_grid, water_layer
from shancheng.data.demo.config import DemoConfig
from shancheng.data.demo.facilities import Gaps, choose_gaps, generate_facilities
from shancheng.data.demo.metro import write_metro_feed
from shancheng.data.demo.pipes import GAS, WATER, PipeNetwork, generate_pipes
from shancheng.data.demo.population import Buildings, generate_buildings
from shancheng.data.demo.streets import Streets, generate_streets
from shancheng.data.demo.terrain import Terrain
from shancheng.data.demo.traffic import ZONE_RADIUS_M, Traffic, traffic_tags
from shancheng.geo.crs import WGS84_EPSG, geometries_to_lonlat, utm_to_lonlat

if TYPE_CHECKING:
    from shancheng.geo.relief import HeightGrid
    from shancheng.types import FloatArray, IntArray

logger = logging.getLogger(__name__)

StageReport = Callable[[str], None]
"""Told the name of each stage as the demo city is built (a log line, not a counter)."""

_STEPS = ("streets", "admin", "buildings", "facilities", "water", "gas")


def generate_demo_city(
    config: DemoConfig | None = None, *, progress: StageReport | None = None
) -> City:
    """Generate the demo mountain city in memory; the same config gives the same city.

    Parameters
    ----------
    config
        Seed and sizes; :class:`DemoConfig()` (the full-size city) when ``None``.
    progress
        Called with the name of each step as it starts (for a progress display).

    Returns
    -------
    City
        All layers in WGS84 with UTM columns, the walk network and the metadata.
    """
    config = config or DemoConfig()
    report = progress or (lambda _step: None)
    started = time.perf_counter()
    streams = np.random.SeedSequence(config.seed).spawn(len(_STEPS))
    rngs = {step: np.random.default_rng(s) for step, s in zip(_STEPS, streams, strict=True)}
    report("terrain")
    terrain = Terrain.from_config(config)
    report("streets, stairs and bridges")
    streets = generate_streets(config, terrain, rngs["streets"])
    report("districts, streets, communities and unit grid")
    layout = generate_admin(config, terrain, rngs["admin"])
    report("buildings and residents")
    buildings = generate_buildings(config, terrain, layout, rngs["buildings"])
    report("facilities")
    gaps = choose_gaps(terrain, layout)
    facilities = generate_facilities(
        terrain, layout, buildings, streets, gaps=gaps, rng=rngs["facilities"]
    )
    road_class, road_zh, road_en = road_classes(streets, terrain, config)
    traffic = traffic_tags(streets, road_class, buildings, config, terrain)
    first_added = len(facilities)
    facilities = pd.concat([facilities, traffic.schools.drop(columns="role")], ignore_index=True)
    report("water network")
    water = generate_pipes(WATER, terrain, streets, buildings, rngs["water"])
    report("gas network")
    gas = generate_pipes(GAS, terrain, streets, buildings, rngs["gas"])
    report("walk network")
    locate = _CellLocator(layout)
    walk_nodes, walk_segments = _walk_layers(streets)
    walk_nodes = walk_nodes.assign(
        traffic_signals=traffic.traffic_signals, crossing=traffic.crossing
    )
    walk_segments = walk_segments.assign(
        road_class=road_class,
        name=road_zh,
        name_en=road_en,
        car_oneway=traffic.car_oneway,
        maxspeed_kmh=traffic.maxspeed_kmh,
    )
    report("base map: water, green, terrain grid")
    grid = terrain_grid(terrain)
    admin_units = _admin_layer(layout)
    facilities_layer = _facilities_layer(facilities, layout, locate)
    metadata = _metadata(config, layout, gaps)
    metadata["school_zones"] = _school_zones_record(traffic, first_added)
    water_nodes, water_links, water_sensors = _pipe_layers(water)
    gas_nodes, gas_links, gas_sensors = _pipe_layers(gas)
    city = City(
        name=config.name,
        admin_units=admin_units,
        grid_cells=_grid_layer(terrain, layout),
        walk_nodes=walk_nodes,
        walk_segments=walk_segments,
        buildings=_buildings_layer(terrain, buildings, locate),
        facilities=facilities_layer,
        water_nodes=water_nodes,
        water_links=water_links,
        gas_nodes=gas_nodes,
        gas_links=gas_links,
        sensors=pd.concat([water_sensors, gas_sensors], ignore_index=True),
        network=network_from_layers(walk_nodes, walk_segments, source="demo streets"),
        metadata=metadata,
        water=water_layer(terrain),
        green=_green(grid, facilities_layer, admin_units),
        terrain=grid,
    )
    logger.info("generated demo city %r in %.1f s", config.name, time.perf_counter() - started)
    return city


def _green(
    grid: HeightGrid, facilities: gpd.GeoDataFrame, admin_units: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Woods and parks; a park's English name is its community's with "Park"."""
    parks = facilities[facilities["category"] == "park"]
    english = dict(zip(admin_units["code"], admin_units["name_en"], strict=True))
    names_en = [
        english.get(code, "").removesuffix(" Community") + " Park"
        for code in parks["community_code"]
    ]
    return green_layer(grid, parks, (parks["name"].tolist(), names_en))


def _metadata(config: DemoConfig, layout: AdminLayout, gaps: Gaps) -> dict[str, object]:
    """Manifest entries of the demo: origin, config, unit grid and the deliberate gaps."""
    grid = layout.grid
    return {
        "source": "demo",
        "seed": config.seed,
        "config": config.to_dict(),
        "grid": {"origin_x_utm": grid.origin_x_utm, "origin_y_utm": grid.origin_y_utm,
                 "cell_size_m": grid.cell_size_m, "n_cols": grid.n_cols, "n_rows": grid.n_rows},
        "gaps": {
            "no_nursery_district": layout.district_codes[gaps.no_nursery_district],
            "few_elderly_care_district": layout.district_codes[gaps.no_nursery_district],
            "no_clinic_street": layout.street_codes[gaps.no_clinic_street],
        },
    }  # fmt: skip


def _school_zones_record(traffic: Traffic, first_added: int) -> dict[str, object]:
    """Return the deliberate school zones by facility id (:mod:`shancheng.data.demo.traffic`)."""
    ids = [f"F{first_added + k:05d}" for k in range(len(traffic.schools))]
    roles = traffic.schools["role"].tolist()
    return {
        "steep_unprotected_main_crossings": [i for i, r in zip(ids, roles, strict=True)
                                             if r == "hazard"],
        "signalised_main_crossings": [i for i, r in zip(ids, roles, strict=True)
                                      if r == "protected"],
        "zone_radius_m": ZONE_RADIUS_M,
    }  # fmt: skip


def write_demo_city(
    directory: str | Path, config: DemoConfig | None = None, *, progress: StageReport | None = None
) -> City:
    """Generate the demo city and write it as a City directory (GeoParquet plus manifest).

    The demo metro is written beside it as a GTFS feed, ``transit/metro_gtfs.zip``
    (:mod:`shancheng.data.demo.metro`).
    """
    config = config or DemoConfig()
    city = generate_demo_city(config, progress=progress)
    if progress is not None:
        progress("writing files")
    write_city(city, directory)
    if progress is not None:
        progress("metro (GTFS)")
    write_metro_feed(city, Terrain.from_config(config), Path(directory))
    return city


class _CellLocator:
    """Find the land cell (and its units) holding points; nearest land cell when off land."""

    def __init__(self, layout: AdminLayout) -> None:
        self.layout = layout
        self.index_of_cell = np.full(layout.grid.n_cells, -1, dtype=np.int64)
        self.index_of_cell[layout.cell_id] = np.arange(layout.cell_id.shape[0])
        self.tree = cKDTree(np.column_stack([layout.cell_x_utm, layout.cell_y_utm]))

    def cell_index(self, x: FloatArray, y: FloatArray) -> IntArray:
        cells = self.layout.grid.cell_of(x, y)
        index = np.where(cells >= 0, self.index_of_cell[np.maximum(cells, 0)], -1)
        off = index < 0
        if off.any():
            _, nearest = self.tree.query(np.column_stack([x[off], y[off]]))
            index[off] = nearest
        return index

    def codes(self, cell_index: IntArray) -> dict[str, object]:
        layout = self.layout
        community = layout.cell_community[cell_index]
        street = layout.community_street[community]
        return {
            "cell_id": layout.cell_id[cell_index],
            "community_code": np.asarray(layout.community_codes)[community],
            "street_code": np.asarray(layout.street_codes)[street],
            "district_code": np.asarray(layout.district_codes)[layout.street_district[street]],
        }


def _points(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """Attach WGS84 point geometry from ``x_utm``/``y_utm`` columns."""
    lon, lat = utm_to_lonlat(frame["x_utm"].to_numpy(), frame["y_utm"].to_numpy())
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=WGS84_EPSG)


def _admin_layer(layout: AdminLayout) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(layout.unit_rows)
    geometry = geometries_to_lonlat(frame.pop("geometry").to_numpy())
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=WGS84_EPSG)


def _grid_layer(terrain: Terrain, layout: AdminLayout) -> gpd.GeoDataFrame:
    rows, cols = layout.grid.row_col(layout.cell_id)
    locator_codes = _CellLocator(layout).codes(np.arange(layout.cell_id.shape[0]))
    frame = pd.DataFrame(
        {
            "row": rows,
            "col": cols,
            "x_utm": layout.cell_x_utm,
            "y_utm": layout.cell_y_utm,
            "z_m": np.round(terrain.height_at(layout.cell_x_utm, layout.cell_y_utm), 2),
            **locator_codes,
        }
    )
    frame = frame[["cell_id", *[c for c in frame.columns if c != "cell_id"]]]
    geometry = geometries_to_lonlat(layout.grid.cell_polygons(layout.cell_id))
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=WGS84_EPSG)


def _walk_layers(streets: Streets) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    n = streets.node_x_utm.shape[0]
    nodes = _points(
        pd.DataFrame(
            {
                "node_id": np.arange(n, dtype=np.int64),
                "x_utm": streets.node_x_utm,
                "y_utm": streets.node_y_utm,
                "z_m": streets.node_z_m,
            }
        )
    )
    lon, lat = nodes.geometry.x.to_numpy(), nodes.geometry.y.to_numpy()
    tail, head = streets.segment_tail, streets.segment_head
    segments = pd.DataFrame(
        {
            "segment_id": np.arange(tail.shape[0], dtype=np.int64),
            "tail": tail,
            "head": head,
            "length_m": streets.segment_length_m,
            "kind": streets.segment_kind,
            "oneway": streets.segment_oneway,
            "fixed_time_s": streets.segment_fixed_time_s,
        }
    )
    return nodes, gpd.GeoDataFrame(segments, geometry=_lines(lon, lat, tail, head), crs=WGS84_EPSG)


def _lines(
    lon: FloatArray, lat: FloatArray, tail: IntArray, head: IntArray
) -> npt.NDArray[np.object_]:
    coords = np.stack([np.column_stack([lon[tail], lat[tail]]),
                       np.column_stack([lon[head], lat[head]])], axis=1)  # fmt: skip
    return np.asarray(shapely.linestrings(coords), dtype=object)


def _buildings_layer(terrain: Terrain, b: Buildings, locate: _CellLocator) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(
        {
            "building_id": np.arange(b.x_utm.shape[0], dtype=np.int64),
            "x_utm": np.round(b.x_utm, 2),
            "y_utm": np.round(b.y_utm, 2),
            "z_m": np.round(terrain.height_at(b.x_utm, b.y_utm), 2),
            "footprint_m2": b.footprint_m2,
            "levels": b.levels,
            "population": b.population,
            **{name: b.ages[:, k] for k, name in enumerate(AGE_GROUPS)},
            **locate.codes(b.cell_index),
        }
    )
    return gpd.GeoDataFrame(frame, geometry=geometries_to_lonlat(b.footprint), crs=WGS84_EPSG)


def _facilities_layer(
    facilities: pd.DataFrame, layout: AdminLayout, locate: _CellLocator
) -> gpd.GeoDataFrame:
    x, y = facilities["x_utm"].to_numpy(), facilities["y_utm"].to_numpy()
    index = locate.cell_index(x, y)
    codes = locate.codes(index)
    community_names = {row["code"]: row["name"] for row in layout.unit_rows}
    base = [
        f"{community_names[code]}{kind}"
        for code, kind in zip(codes["community_code"], facilities["category_zh"], strict=True)  # type: ignore[call-overload]
    ]
    serial = pd.Series(base).groupby(base).cumcount().to_numpy()
    names = [name if k == 0 else f"{name}({k + 1})" for name, k in zip(base, serial, strict=True)]
    frame = pd.DataFrame(
        {
            "facility_id": [f"F{i:05d}" for i in range(len(facilities))],
            "category": facilities["category"].to_numpy(),
            "name": names,
            "capacity": facilities["capacity"].to_numpy(),
            "capacity_unit": facilities["capacity_unit"].to_numpy(),
            "x_utm": x,
            "y_utm": y,
            **codes,
        }
    )
    return _points(frame)


def _pipe_layers(
    network: PipeNetwork,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    nodes = _points(network.nodes)
    links = network.links
    lon0, lat0 = utm_to_lonlat(links.pop("x0_utm").to_numpy(), links.pop("y0_utm").to_numpy())
    lon1, lat1 = utm_to_lonlat(links.pop("x1_utm").to_numpy(), links.pop("y1_utm").to_numpy())
    n = len(links)
    lines = _lines(np.concatenate([lon0, lon1]), np.concatenate([lat0, lat1]),
                   np.arange(n), np.arange(n) + n)  # fmt: skip
    return nodes, gpd.GeoDataFrame(links, geometry=lines, crs=WGS84_EPSG), _points(network.sensors)
