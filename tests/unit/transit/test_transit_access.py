"""Walk + transit accessibility on a hand-made line: times computed by hand, minute by minute."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from shancheng.circles.accessibility import compute_accessibility
from shancheng.circles.standard import parse_catalogue
from shancheng.circles.transit import compute_transit_access
from shancheng.data.transit import CompiledFeed
from shancheng.geo.crs import utm_to_lonlat
from shancheng.network.raptor import build_timetable
from shancheng.network.speed import EdgeKind, WalkSpeeds
from shancheng.network.walk import build_walk_network

X0, Y0 = 500_000.0, 3_300_000.0
CATALOGUE = parse_catalogue({
    "format_version": 1,
    "age_groups": {"all": {"label": "all", "columns": ["population"]}},
    "categories": {"hospital": {}},
    "requirements": [{"category": "hospital", "level_min": 15, "threshold_min": 15}],
})  # fmt: skip


def _points(xs, ids, key):
    frame = pd.DataFrame({key: ids, "x_utm": X0 + np.array(xs), "y_utm": Y0})
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["x_utm"], frame["y_utm"]),
                            crs=32648)  # fmt: skip


@pytest.fixture
def line_city():
    """Home at 0 m, entrance A at 60 m, entrance B at 1000 m, hospital at 1060 m (1 m/s).

    A train every 600 s (from 0 s) runs platform A -> platform B in 120 s; each platform is
    30 s from its entrance (pathways), both ways.
    """
    network = build_walk_network(
        X0 + np.array([0.0, 60.0, 1000.0, 1060.0]), np.full(4, Y0), None, [0, 1, 2], [1, 2, 3],
        [60.0, 940.0, 60.0], [EdgeKind.STREET] * 3, speeds=WalkSpeeds(flat_speed_km_h=3.6),
    )  # fmt: skip
    homes = _points([0.0], ["h"], "residence_id").assign(population=10)
    hospital = _points([1060.0], ["f"], "facility_id").assign(category="hospital")
    acc = compute_accessibility(network, homes, hospital, CATALOGUE)
    starts = np.arange(0, 3600, 600)
    trip = np.repeat(np.arange(starts.shape[0]), 2)
    times = np.column_stack([starts, starts + 120]).ravel()
    tt = build_timetable(2, trip, np.tile([0, 1], starts.shape[0]), times, times)
    lon, lat = utm_to_lonlat(X0 + np.array([60.0, 1000.0]), np.full(2, Y0))
    stops = pd.DataFrame({"stop_id": ["PA", "PB"], "stop_name": ["A", "B"], "lon": lon,
                          "lat": lat, "station_id": ["A", "B"]})  # fmt: skip
    compiled = CompiledFeed(timetable=tt, stops=stops, trips=pd.DataFrame(), day=date(2025, 1, 1))
    points = pd.DataFrame({
        "stop": [0, 1], "station_id": ["A", "B"], "point_id": ["EA", "EB"], "lon": lon,
        "lat": lat, "to_platform_s": [30.0, 30.0], "from_platform_s": [30.0, 30.0],
        "via": ["entrance", "entrance"],
    })  # fmt: skip
    return acc, compiled, points


def test_median_and_percentile_over_the_window_equal_the_hand_computation(line_city):
    acc, compiled, points = line_city
    result = compute_transit_access(acc, compiled, points, window_s=(0, 1200), percentile=90)
    # leaving home at t: on the platform at t + 90 s, counted from the next whole minute
    # (t + 120); the next train leaves at the next multiple of 600 s, arrives 120 s later,
    # then 30 s up and 60 s on foot; walking all the way takes 1060 s
    departures = np.arange(0, 1201, 60)
    trains = np.ceil((departures + 120) / 600) * 600
    door_to_door = np.minimum(trains + 120 + 30 + 60 - departures, 1060.0)
    assert door_to_door.tolist()[:3] == [810.0, 750.0, 690.0]
    assert result.walk_s[0, 0] == pytest.approx(1060.0)
    assert result.median_s[0, 0] == pytest.approx(np.median(door_to_door))
    assert result.upper_s[0, 0] == pytest.approx(np.percentile(door_to_door, 90))
    assert result.station_walk_s[0] == pytest.approx(90.0)  # 60 s walk + 30 s down
    assert result.nearest_station[0] == "A"
    frame = result.to_frame()
    assert frame["hospital_transit_median_min"].iloc[0] == pytest.approx(
        np.median(door_to_door) / 60
    )


def test_with_no_train_in_the_window_walking_wins(line_city):
    acc, compiled, points = line_city
    result = compute_transit_access(acc, compiled, points, window_s=(4000, 4600))
    assert result.median_s[0, 0] == pytest.approx(1060.0)
    assert result.upper_s[0, 0] == pytest.approx(1060.0)


def test_a_station_without_entrances_is_entered_through_osm_subway_entrances():
    from types import SimpleNamespace

    from shancheng.data.transit_stations import DEFAULT_ENTRANCE_S, access_points

    lon, lat = 106.55, 29.56
    feed = SimpleNamespace(stops=pd.DataFrame({
        "stop_id": ["S", "SP", "T", "TP", "TE"], "stop_name": ["s", "s", "t", "t", "t gate"],
        "stop_lat": [lat, lat, lat + 0.01, lat + 0.01, lat + 0.0101],
        "stop_lon": [lon, lon, lon, lon, lon], "location_type": [1, 0, 1, 0, 2],
        "parent_station": [None, "S", None, "T", "T"],
    }))  # fmt: skip
    stops = pd.DataFrame({"stop_id": ["SP", "TP"], "stop_name": ["s", "t"], "lon": [lon, lon],
                          "lat": [lat, lat + 0.01], "station_id": ["S", "T"]})  # fmt: skip
    compiled = CompiledFeed(timetable=build_timetable(2, [0, 0], [0, 1], [0, 60], [0, 60]),
                            stops=stops, trips=pd.DataFrame(), day=date(2025, 1, 1))  # fmt: skip
    # one OSM entrance 100 m east of S (serves it), one 400 m away (too far), one near T
    metres = 1 / (111_320.0 * np.cos(np.radians(lat)))
    osm = pd.DataFrame({"entrance_id": ["near", "far", "t"],
                        "lon": [lon + 100 * metres, lon + 400 * metres, lon],
                        "lat": [lat, lat, lat + 0.01]})  # fmt: skip
    points = access_points(feed, compiled, osm_entrances=osm)
    s_points = points[points["station_id"] == "S"]
    assert s_points["point_id"].tolist() == ["near"]
    assert s_points["via"].tolist() == ["osm_entrance"]
    assert s_points["to_platform_s"].tolist() == [DEFAULT_ENTRANCE_S]
    # T has an entrance of its own in the feed: the OSM one is not used
    assert points[points["station_id"] == "T"]["point_id"].tolist() == ["TE"]
