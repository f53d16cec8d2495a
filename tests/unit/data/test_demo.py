"""The demo city: thresholds, hierarchy, gaps, terrain features, pipes, determinism, config."""

import hashlib
import json
import math

import geopandas as gpd
import numpy as np
import pytest
from scipy.sparse import coo_array
from scipy.sparse.csgraph import breadth_first_order, connected_components

from shancheng.data import read_city
from shancheng.data.city import AGE_GROUPS, LAYERS, OPTIONAL_LAYERS
from shancheng.data.demo import (
    CATEGORY_IDS,
    DemoConfig,
    Terrain,
    generate_demo_city,
    terrain_height_m,
    write_demo_city,
)
from shancheng.errors import ConfigError
from shancheng.geo.admin import AdminLevel, is_child_code
from shancheng.geo.crs import utm_to_lonlat
from shancheng.network.speed import EdgeKind


def _digests(directory):
    return {
        path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """The full default demo city, written once for this module."""
    directory = tmp_path_factory.mktemp("full") / "city"
    steps = []
    city = write_demo_city(directory, DemoConfig(), progress=steps.append)
    return city, directory, steps


@pytest.fixture(scope="module")
def small():
    return generate_demo_city(DemoConfig.small())


# --- thresholds of the issue, on the default config ------------------------------------------


@pytest.mark.slow
def test_full_city_meets_the_issue_thresholds(full):
    city, _, _ = full
    levels = city.admin_units["level"].value_counts()
    assert levels["city"] == 1
    assert levels["district"] >= 4
    assert levels["street"] >= 12
    assert levels["community"] >= 40
    assert city.buildings["population"].sum() >= 300_000
    assert 15_000 <= city.network.n_nodes <= 40_000


@pytest.mark.slow
def test_progress_reports_every_step(full):
    _, _, steps = full
    assert steps[0] == "terrain"
    assert "water network" in steps
    assert steps[-2:] == ["writing files", "metro (GTFS)"]  # the feed is written beside the City


@pytest.mark.slow
def test_manifest_lists_every_layer_with_its_hash(full):
    _, directory, _ = full
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    # every layer but the turn bans: the demo's drive network has one-ways and signals only
    assert set(manifest["layers"]) == set(LAYERS) | set(OPTIONAL_LAYERS) - {"turn_restrictions"}
    for layer in manifest["layers"].values():
        data = (directory / layer["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == layer["sha256"]
    assert manifest["seed"] == DemoConfig().seed
    assert manifest["summary"]["residents"] == DemoConfig().target_population


# --- hierarchy and unit grid -----------------------------------------------------------------


def _check_hierarchy(city):
    units = city.admin_units.set_index("code")
    assert units.index.is_unique
    for code, unit in units.iterrows():
        level = AdminLevel(unit["level"])
        assert len(code) == level.code_length
        if level is AdminLevel.CITY:
            continue
        parent = units.loc[unit["parent_code"]]
        assert AdminLevel(parent["level"]) is level.parent
        assert is_child_code(code, unit["parent_code"], level)
    cells = city.grid_cells
    assert cells["cell_id"].is_unique
    communities = units[units["level"] == "community"]
    assert set(cells["community_code"]) == set(communities.index)  # no empty community
    assert (cells["community_code"].str[:9] == cells["street_code"]).all()
    assert (cells["street_code"].str[:6] == cells["district_code"]).all()
    assert (communities.loc[cells["community_code"], "parent_code"].to_numpy()
            == cells["street_code"].to_numpy()).all()  # fmt: skip


def test_small_city_hierarchy_chains(small):
    _check_hierarchy(small)


@pytest.mark.slow
def test_full_city_hierarchy_chains(full):
    _check_hierarchy(full[0])


@pytest.mark.slow
def test_every_cell_centre_lies_in_exactly_its_own_community(full):
    city = full[0]
    communities = city.admin_units[city.admin_units["level"] == "community"]
    centres = gpd.GeoDataFrame(
        city.grid_cells[["cell_id", "community_code"]],
        geometry=gpd.points_from_xy(
            *utm_to_lonlat(city.grid_cells["x_utm"], city.grid_cells["y_utm"])
        ),
        crs=city.grid_cells.crs,
    )
    hits = gpd.sjoin(centres, communities[["code", "geometry"]], predicate="within")
    assert hits["cell_id"].is_unique
    assert len(hits) == len(centres)
    assert (hits["code"] == hits["community_code"]).all()


def test_unit_grid_cells_are_100_m(small):
    assert small.grid.cell_size_m == 100.0
    cells = small.grid_cells
    x, y = small.grid.cell_center(cells["cell_id"].to_numpy())
    assert np.allclose(x, cells["x_utm"])
    assert np.allclose(y, cells["y_utm"])


# --- people ---------------------------------------------------------------------------------


def test_population_is_exact_and_age_groups_sum(small):
    buildings = small.buildings
    assert buildings["population"].sum() == DemoConfig.small().target_population
    assert (buildings[list(AGE_GROUPS)].sum(axis=1) == buildings["population"]).all()
    assert (buildings[list(AGE_GROUPS)] >= 0).all().all()
    share_60 = buildings["age_60_plus"].sum() / buildings["population"].sum()
    assert 0.15 < share_60 < 0.3


@pytest.mark.slow
def test_peninsula_is_denser_than_the_south_bank(full):
    city = full[0]
    cells = city.grid_cells.groupby("district_code").size()
    people = city.buildings.groupby("district_code")["population"].sum()
    density = people / cells
    # district 01 is the peninsula; the south bank's districts come last
    assert density.iloc[0] > density.iloc[-1]


# --- facilities and deliberate gaps ---------------------------------------------------------


def test_every_living_circle_category_is_present_with_capacity(small):
    facilities = small.facilities
    assert set(facilities["category"]) == set(CATEGORY_IDS)
    assert (facilities["capacity"] > 0).all()
    assert facilities["facility_id"].is_unique
    assert facilities["community_code"].isin(small.grid_cells["community_code"]).all()


@pytest.mark.slow
def test_some_community_has_no_nursery_within_one_kilometre(full):
    city = full[0]
    gaps = city.metadata["gaps"]
    nurseries = city.facilities[city.facilities["category"] == "nursery"]
    assert not (nurseries["district_code"] == gaps["no_nursery_district"]).any()
    centres = city.grid_cells.groupby("community_code")[["x_utm", "y_utm"]].mean()
    dx = centres["x_utm"].to_numpy()[:, None] - nurseries["x_utm"].to_numpy()[None, :]
    dy = centres["y_utm"].to_numpy()[:, None] - nurseries["y_utm"].to_numpy()[None, :]
    nearest_m = np.hypot(dx, dy).min(axis=1)
    assert (nearest_m > 1_000.0).any()
    assert (nearest_m < 1_000.0).any()  # the gap is local, not everywhere


@pytest.mark.slow
def test_highest_street_has_no_clinic_and_gap_district_few_elderly_services(full):
    city = full[0]
    gaps = city.metadata["gaps"]
    clinics = city.facilities["category"].isin(
        ["health_station", "community_health_center", "hospital"]
    )
    assert not (city.facilities.loc[clinics, "street_code"] == gaps["no_clinic_street"]).any()
    elderly = city.facilities[
        city.facilities["category"].isin(["elderly_day_care", "nursing_home"])
    ]
    per_district = elderly.groupby("district_code").size()
    assert per_district.get(gaps["few_elderly_care_district"], 0) < per_district.median()


# --- terrain, stairs, bridges, network ------------------------------------------------------


def _grades(city):
    segments = city.walk_segments
    z = city.walk_nodes["z_m"].to_numpy()
    rise = np.abs(z[segments["head"]] - z[segments["tail"]])
    return rise / np.maximum(segments["length_m"].to_numpy(), 1.0)


@pytest.mark.parametrize("name", ["small", pytest.param("full", marks=pytest.mark.slow)])
def test_stairs_exist_and_are_steeper_than_streets(name, request):
    city = request.getfixturevalue(name)
    city = city[0] if isinstance(city, tuple) else city
    kind = city.walk_segments["kind"].to_numpy()
    grade = _grades(city)
    steps, streets = kind == EdgeKind.STEPS, kind == EdgeKind.STREET
    assert steps.sum() > 0.02 * kind.shape[0]
    assert grade[steps].mean() > 2 * grade[streets].mean()
    assert grade[streets].max() <= DemoConfig().stairs_grade + 1e-9


def test_bridges_cross_the_rivers_between_banks(small):
    terrain = Terrain.from_config(DemoConfig.small())
    segments = small.walk_segments
    nodes = small.walk_nodes
    bridges = segments[segments["kind"] == EdgeKind.BRIDGE]
    assert len(bridges) >= 3
    tx, ty = nodes["x_utm"].to_numpy()[bridges["tail"]], nodes["y_utm"].to_numpy()[bridges["tail"]]
    hx, hy = nodes["x_utm"].to_numpy()[bridges["head"]], nodes["y_utm"].to_numpy()[bridges["head"]]
    assert terrain.is_water((tx + hx) / 2, (ty + hy) / 2).all()
    assert not terrain.is_water(tx, ty).any()
    assert (terrain.region(tx, ty) != terrain.region(hx, hy)).all()
    other = segments[segments["kind"] != EdgeKind.BRIDGE]
    ox = (nodes["x_utm"].to_numpy()[other["tail"]] + nodes["x_utm"].to_numpy()[other["head"]]) / 2
    oy = (nodes["y_utm"].to_numpy()[other["tail"]] + nodes["y_utm"].to_numpy()[other["head"]]) / 2
    crossing = terrain.is_water(ox, oy)
    assert set(other["kind"][crossing]) <= {EdgeKind.CABLE_CAR}


def test_walk_network_is_one_piece_with_lifts_and_a_oneway_escalator(small):
    segments = small.walk_segments
    n = len(small.walk_nodes)
    graph = coo_array((np.ones(len(segments)), (segments["tail"], segments["head"])), shape=(n, n))
    assert connected_components(graph, directed=False)[0] == 1
    kinds = set(segments["kind"])
    assert {EdgeKind.ELEVATOR, EdgeKind.ESCALATOR, EdgeKind.CABLE_CAR} <= kinds
    assert (segments["oneway"] == (segments["kind"] == EdgeKind.ESCALATOR)).all()
    escalator = segments[segments["kind"] == EdgeKind.ESCALATOR].iloc[0]
    z = small.walk_nodes["z_m"].to_numpy()
    assert z[escalator["head"]] > z[escalator["tail"]]  # it goes up
    assert small.network.n_edges == 2 * len(segments) - int(segments["oneway"].sum())


def test_terrain_is_a_mountain_city_with_rivers_at_175_m(small):
    z = small.walk_nodes["z_m"].to_numpy()
    assert z.min() > 175.0
    assert z.max() - z.min() > 100.0
    terrain = Terrain.from_config(DemoConfig())
    x, y = terrain.confluence_xy
    assert terrain_height_m([x], [y])[0] == 175.0
    assert terrain_height_m([x], [y], config=DemoConfig.small())[0] >= 175.0


# --- pipe networks ---------------------------------------------------------------------------


@pytest.mark.parametrize(("network", "source_kind"), [("water", "source"), ("gas", "gate_station")])
def test_pipe_network_reaches_every_node_from_its_source(small, network, source_kind):
    nodes = getattr(small, f"{network}_nodes")
    links = getattr(small, f"{network}_links")
    assert nodes["node_id"].tolist() == list(range(len(nodes)))
    n = len(nodes)
    graph = coo_array(
        (np.ones(len(links)), (links["from_node"], links["to_node"])), shape=(n, n)
    ).tocsr()
    source = int(nodes.index[nodes["kind"] == source_kind][0])
    reached = breadth_first_order(graph, source, directed=False, return_predecessors=False)
    assert len(reached) == n
    assert {"pipe", "valve", "service"} <= set(links["kind"])
    pipes = links[links["kind"] == "pipe"]
    assert (pipes["diameter_mm"] > 0).all()
    assert (pipes["length_m"] > 0).all()
    assert pipes["install_year"].between(1950, 2025).all()
    customers = nodes[nodes["kind"] == "customer"]
    assert customers["building_id"].isin(small.buildings["building_id"]).all()
    assert customers["building_id"].is_unique


def test_water_has_pumps_and_tanks_and_sensors_point_at_real_elements(small):
    assert "pump" in set(small.water_links["kind"])
    assert "tank" in set(small.water_nodes["kind"])
    assert "regulator_station" in set(small.gas_nodes["kind"])
    sensors = small.sensors
    assert sensors["sensor_id"].is_unique
    assert {"pressure", "flow", "level", "methane"} <= set(sensors["kind"])
    assert (sensors["range_max"] > sensors["range_min"]).all()
    for network in ("water", "gas"):
        mine = sensors[sensors["network"] == network]
        on_nodes = mine[mine["element_kind"] == "node"]["element_id"]
        on_links = mine[mine["element_kind"] == "link"]["element_id"]
        assert on_nodes.isin(getattr(small, f"{network}_nodes")["node_id"]).all()
        assert on_links.isin(getattr(small, f"{network}_links")["link_id"]).all()


# --- determinism ------------------------------------------------------------------------------


@pytest.mark.slow
def test_same_seed_gives_identical_files(full, tmp_path):
    _, first, _ = full
    write_demo_city(tmp_path / "again", DemoConfig())
    assert _digests(tmp_path / "again") == _digests(first)


def test_another_seed_gives_another_city(tmp_path):
    write_demo_city(tmp_path / "a", DemoConfig.small(seed=1))
    write_demo_city(tmp_path / "b", DemoConfig.small(seed=2))
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert a["buildings.parquet"] != b["buildings.parquet"]


def test_written_city_reads_back_equal(tmp_path, small):
    write_demo_city(tmp_path / "city", DemoConfig.small())
    city = read_city(tmp_path / "city")
    assert city.network.n_nodes == small.network.n_nodes
    np.testing.assert_array_equal(city.network.edge_time_s, small.network.edge_time_s)
    assert city.buildings["population"].tolist() == small.buildings["population"].tolist()
    assert city.metadata["gaps"] == small.metadata["gaps"]


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (
            "target_population",
            0,
            r"target_population must be an integer in \[1000, 5e\+06\], got 0",
        ),
        ("target_population", -5, "got -5"),
        ("target_population", 1.5e5, "must be an integer"),
        ("n_districts", 3, r"n_districts must be an integer in \[4, 9\], got 3"),
        ("street_spacing_m", 900.0, r"street_spacing_m must be a number in \[40, 250\], got 900"),
        ("width_m", math.nan, "width_m"),
        ("seed", -1, "seed"),
        ("seed", True, "seed"),
        ("center_lon", 116.4, r"center_lon must be a number in \[102, 108\], got 116.4"),
        ("cell_size_m", 0.0, "cell_size_m"),
    ],
)
def test_impossible_config_names_field_value_and_range(field, value, expected):
    with pytest.raises(ConfigError, match=expected):
        DemoConfig(**{field: value})


def test_spacing_larger_than_the_extent_allows_is_refused():
    with pytest.raises(ConfigError, match=r"street_spacing_m must be at most .*200 m.*got 240"):
        DemoConfig(width_m=2_000.0, height_m=3_000.0, street_spacing_m=240.0)


def test_unknown_config_key_is_refused():
    with pytest.raises(ConfigError, match="no field 'population'"):
        DemoConfig.from_mapping({"population": 10})
    assert DemoConfig.from_mapping({"seed": 7}).seed == 7


def test_config_error_is_raised_before_any_file_is_written(tmp_path):
    with pytest.raises(ConfigError):
        write_demo_city(tmp_path / "city", DemoConfig.from_mapping({"n_districts": 2}))
    assert not (tmp_path / "city").exists()


def test_more_communities_than_the_city_can_hold_is_refused():
    with pytest.raises(ConfigError, match=r"communities_per_street gives 960 communities.*got 20"):
        DemoConfig(width_m=3_000.0, height_m=3_000.0, streets_per_district=12,
                   communities_per_street=20, n_districts=4)  # fmt: skip
