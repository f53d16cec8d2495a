"""Heights from ``level`` tags for lifts and stairs the DEM cannot see."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import shapely

from shancheng.data.importer import ImportOptions, build_city
from shancheng.data.levels import level_span, lift_rises, parse_levels
from shancheng.data.osm_network import WalkPieces
from shancheng.data.stairs import stair_rises
from shancheng.network.speed import EdgeKind

LINE = shapely.LineString([(0, 0), (0, 0.0001)])


def _lift(levels, z):
    """Walkways 0-1 (way 0) and 2-3 (way 1) open onto landings 1 and 3 of lift hub 4."""
    pieces = WalkPieces(
        np.zeros(5),
        np.zeros(5),
        np.array([10, -1, 11, -1, 12]),
        tail=np.array([0, 2, 1, 3]),
        head=np.array([1, 3, 4, 4]),
        length_m=np.array([20.0, 20.0, 0.0, 0.0]),
        kind=np.array(
            [EdgeKind.FOOTWAY, EdgeKind.FOOTWAY, EdgeKind.ELEVATOR, EdgeKind.ELEVATOR], np.uint8
        ),
        oneway=np.zeros(4, bool),
        fixed_time_s=np.array([np.nan, np.nan, 30.0, 30.0]),
        elevated=np.zeros(4, bool),
        way_index=np.array([0, 1, -1, -1]),
        geometry=np.array([LINE] * 4),
    )
    tags = [{"highway": "footway", "level": levels[0]}, {"highway": "footway", "level": levels[1]}]
    return lift_rises(pieces, np.asarray(z, float), tags, storey_m=3.0)


def test_levels_are_read_as_osm_writes_them():
    assert parse_levels("-1;5") == (-1.0, 5.0)
    assert parse_levels("1-3") == (1.0, 2.0, 3.0)
    assert parse_levels("0.5") == (0.5,)
    assert parse_levels("") == parse_levels("G") == parse_levels("1;x") == ()
    assert parse_levels("9999") == ()
    assert level_span("-2;-3") == 1.0 and level_span("4") == 0.0 and level_span(None) == 0.0


def test_a_lift_between_level_5_and_level_minus_1_climbs_six_storeys():
    rises = _lift(("5", "-1"), [0.0, 0.2, 0.0, 0.6, 0.4])  # the DEM sees 0.4 m
    # landing 1 (level 5) → hub: down 18 m; landing 3 (level -1) → hub: 0
    np.testing.assert_allclose(rises.rise_m, [np.nan, np.nan, -18.0, 0.0])
    assert (rises.lifts_from_levels, rises.lifts_dem_kept) == (1, 0)
    ride_up = -rises.rise_m[3] + rises.rise_m[2]  # from level 5 down to -1 and back
    assert ride_up == pytest.approx(-18.0)


def test_the_dem_stands_when_it_sees_the_climb_and_one_level_says_nothing():
    kept = _lift(("5", "-1"), [0.0, 10.0, 0.0, 0.0, 0.0])  # 10 m >= half of 18 m
    assert np.isnan(kept.rise_m).all() and kept.lifts_dem_kept == 1
    for levels in (("0", "0"), ("5", None), ("0;1", "3")):
        assert np.isnan(_lift(levels, np.zeros(5)).rise_m).all()


def test_a_flight_tagged_across_a_level_climbs_a_storey():
    pieces = WalkPieces(
        np.zeros(2),
        np.array([0.0, 0.0001]),
        np.array([1, 2]),
        tail=np.array([0]),
        head=np.array([1]),
        length_m=np.array([11.12]),
        kind=np.array([EdgeKind.STEPS], np.uint8),
        oneway=np.zeros(1, bool),
        fixed_time_s=np.array([np.nan]),
        elevated=np.zeros(1, bool),
        way_index=np.array([0]),
        geometry=np.array([LINE]),
    )
    lonlat = [np.array([[0.0, 0.0], [0.0, 0.0001]])]
    up = stair_rises(
        pieces,
        np.zeros(2),
        [{"highway": "steps", "level": "-2;-3", "incline": "up"}],
        lonlat,
        storey_m=3.0,
    )
    assert up.rise_m.tolist() == [3.0] and up.raised_ways == 1
    unknown = stair_rises(pieces, np.zeros(2), [{"highway": "steps", "level": "-2;-3"}], lonlat)
    assert np.isnan(unknown.rise_m).all() and unknown.undirected_ways == 1


@pytest.mark.data
def test_monaco_lifts_with_levels_climb_their_storeys(shared_data):
    """Monaco 2026: lifts whose walkways carry levels climb Δlevel x 3 m, on a flat DEM too."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        city, report = build_city(
            ImportOptions(
                osm=shared_data / "networks/osm/monaco_2026-07-10_geofabrik.osm.pbf",
                area=shapely.box(7.405, 43.724, 7.440, 43.752),
            )
        )  # no DEM: all flat
    seg = city.walk_segments
    rides = seg[(seg["osm_way_id"] == -1) & seg["rise_m"].notna()]
    assert report.figures["lifts_climb_from_levels"] >= 3
    assert rides["head"].nunique() == report.figures["lifts_climb_from_levels"]
    # every climb is a whole number of 3 m storeys, and each lift climbs at least one
    np.testing.assert_allclose(rides["rise_m"] % 3.0, 0.0, atol=1e-9)
    assert (rides.groupby("head")["rise_m"].min() <= -3.0).all()
