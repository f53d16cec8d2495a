"""Stair climbs from ``step_count``/``incline`` where the DEM is flat or coarse."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from shancheng.data.city import read_city, write_city
from shancheng.data.importer import ImportOptions, build_city
from shancheng.data.stairs import RISER_M, parse_incline, parse_step_count
from shancheng.errors import FlatTerrainWarning
from shancheng.geo.crs import haversine_m

TINY = Path(__file__).resolve().parents[2] / "data" / "tiny_stairs.osm"
STAIRS_LENGTH_M = 2 * 11.1195  # 0.0002° of latitude, haversine on the 6371.0088 km sphere


def _way_arcs(city, way_id):
    """Arcs of one OSM way walked along it (forward) and against it (backward)."""
    net = city.network
    way_of = city.walk_segments["osm_way_id"].to_numpy()[net.edge_segment]
    mine = way_of == way_id
    return mine & net.edge_forward, mine & ~net.edge_forward


@pytest.fixture(scope="module")
def flat_tiny():
    with pytest.warns(FlatTerrainWarning):
        return build_city(ImportOptions(osm=TINY, name="tiny stairs"))


def test_tagged_staircase_on_flat_ground_climbs_step_count_times_riser(flat_tiny):
    city, report = flat_tiny
    net = city.network
    up, down = _way_arcs(city, 20)
    assert net.edge_rise_m[up].sum() == pytest.approx(100 * RISER_M, abs=1e-6)  # incline=up
    assert net.edge_rise_m[down].sum() == pytest.approx(-100 * RISER_M, abs=1e-6)
    # hand computed: 16 m at 0.2 m/s up = 80 s; at 0.3 m/s down = 53.3 s; the horizontal
    # bound (22.2 m at half of 5 km/h = 32 s) is shorter than both
    assert net.edge_time_s[up].sum() == pytest.approx(16.0 / 0.2, rel=1e-6)
    assert net.edge_time_s[down].sum() == pytest.approx(16.0 / 0.3, rel=1e-6)
    assert np.all(city.walk_nodes["z_m"] == 0.0)  # the nodes keep the (flat) ground
    # the undirected staircase (flat, no incline) stays flat and is counted
    fwd, back = _way_arcs(city, 24)
    assert net.edge_rise_m[fwd].sum() == 0.0
    assert net.edge_time_s[fwd].sum() == pytest.approx(net.edge_time_s[back].sum())
    # incline=-30% on 0.0001° (11.1195 m): down along the way by 3.336 m
    fwd, _ = _way_arcs(city, 25)
    assert net.edge_rise_m[fwd].sum() == pytest.approx(-0.3 * STAIRS_LENGTH_M / 2, abs=1e-3)
    assert report.figures["steps_ways_raised"] == 2
    assert report.figures["steps_ways_undirected"] == 1
    assert haversine_m(0.0, 0.0, 0.0, 0.0001) == pytest.approx(STAIRS_LENGTH_M / 2, abs=1e-3)


def test_riser_height_is_configurable():
    with pytest.warns(FlatTerrainWarning):
        city, _ = build_city(ImportOptions(osm=TINY, riser_m=0.18))
    up, _ = _way_arcs(city, 20)
    assert city.network.edge_rise_m[up].sum() == pytest.approx(18.0, abs=1e-6)


def test_the_rise_survives_writing_and_reading_the_city(flat_tiny, tmp_path):
    city, _ = flat_tiny
    write_city(city, tmp_path / "tiny")
    again = read_city(tmp_path / "tiny")
    np.testing.assert_allclose(again.network.edge_time_s, city.network.edge_time_s)


def _plane_dem(path: Path, metres_per_degree_north: float) -> Path:
    """A GeoTIFF whose height is linear in latitude (bilinear sampling is then exact)."""
    size, cell = 200, 0.0001
    lat_centre = 0.01 - cell * (np.arange(size) + 0.5)
    heights = np.repeat((metres_per_degree_north * lat_centre)[:, None], size, axis=1)
    with warnings.catch_warnings():  # rasterio's writer still uses affine's deprecated `*`
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1,
                           dtype="float64", crs="EPSG:4326",
                           transform=from_origin(-0.01, 0.01, cell, cell)) as dst:  # fmt: skip
            dst.write(heights, 1)
    return path


@pytest.mark.parametrize(
    ("per_degree", "expected_rise_m"),
    [
        (150_000.0, 30.0),  # DEM climbs 30 m over the stairs: more than 16 m, kept
        (-150_000.0, -30.0),  # DEM says 30 m DOWN against incline=up: the DEM is larger, kept
        (25_000.0, 16.0),  # DEM climbs only 5 m: raised to the tagged 16 m
        (-25_000.0, 16.0),  # DEM descends 5 m against incline=up: the tag gives direction
    ],
)
def test_the_dem_is_kept_when_it_climbs_more(tmp_path, per_degree, expected_rise_m):
    dem = _plane_dem(tmp_path / "plane.tif", per_degree)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        city, _ = build_city(ImportOptions(osm=TINY, dem=dem))
    up, _ = _way_arcs(city, 20)
    assert city.network.edge_rise_m[up].sum() == pytest.approx(expected_rise_m, abs=1e-2)


def test_step_count_without_incline_follows_the_dem_sign(tmp_path):
    dem = _plane_dem(tmp_path / "plane.tif", -10_000.0)  # 1.1 m down along way 24 (southward)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        city, _ = build_city(ImportOptions(osm=TINY, dem=dem))
    fwd, _ = _way_arcs(city, 24)
    # way 24 runs south and the ground rises southward (negative per degree north), so the
    # DEM gives a small climb along the way, and its sign directs the tagged 30 steps
    assert city.network.edge_rise_m[fwd].sum() == pytest.approx(30 * RISER_M, abs=1e-6)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("up", (1, math.nan)), ("down", (-1, math.nan)), ("30%", (1, 0.3)), ("-5%", (-1, -0.05)),
     ("10°", (1, math.tan(math.radians(10)))), ("", (0, math.nan)), ("steep", (0, math.nan)),
     ("12", (0, math.nan)), ("95°", (0, math.nan))],
)  # fmt: skip
def test_parse_incline(text, expected):
    sign, grade = parse_incline(text)
    assert sign == expected[0]
    assert grade == pytest.approx(expected[1], nan_ok=True)


def test_parse_step_count():
    assert [parse_step_count(t) for t in ("100", " 7 ", "12;14", "", None, "-3", "x")] == [
        100, 7, 0, 0, 0, 0, 0]  # fmt: skip
