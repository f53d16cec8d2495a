"""RAPTOR against a time-expanded graph (networkx Dijkstra), to the second, on real feeds."""

from __future__ import annotations

import numpy as np
import pytest
from tests.unit.transit.oracle import TimeExpandedGraph

from shancheng.data.gtfs import read_gtfs, service_ids_on
from shancheng.data.transit import compile_feed
from shancheng.errors import InputError
from shancheng.network.raptor import (
    UNREACHED,
    arrival_profiles,
    build_timetable,
    earliest_arrivals,
    stop_profiles,
)

pytestmark = pytest.mark.data


def _seconds(text):
    parts = text.str.split(":", expand=True).astype(int)
    return (parts[0] * 3600 + parts[1] * 60 + parts[2]).to_numpy()


@pytest.fixture(scope="module")
def nyc(transit_data):
    feed = read_gtfs(transit_data / "nyc_subway_gtfs.zip")
    compiled = compile_feed(feed, walk_radius_m=250.0)
    # the oracle's stop times come straight from the file, not from the compiled timetable
    services = service_ids_on(feed, compiled.day)
    trips = feed.trips[feed.trips["service_id"].isin(services)]["trip_id"]
    st = feed.stop_times[feed.stop_times["trip_id"].isin(trips)].sort_values(
        ["trip_id", "stop_sequence"]
    )
    stop = compiled.stop_index(st["stop_id"].astype(str).tolist())
    tt = compiled.timetable
    footpaths = [
        (a, int(tt.footpath_to[e]), int(tt.footpath_time_s[e]))
        for a in range(tt.n_stops)
        for e in range(tt.footpath_ptr[a], tt.footpath_ptr[a + 1])
    ]
    oracle = TimeExpandedGraph(
        tt.n_stops, st["trip_id"].to_numpy(), stop, _seconds(st["arrival_time"]),
        _seconds(st["departure_time"]), footpaths,
    )  # fmt: skip
    return compiled, oracle


def test_raptor_equals_time_expanded_dijkstra_on_nyc_subway(nyc):
    compiled, oracle = nyc
    tt = compiled.timetable
    assert tt.n_trips == 786  # the weekday trips of the 1 and 2 lines
    rng = np.random.default_rng(22)
    origins = rng.choice(tt.n_stops, size=6, replace=False)
    departures = rng.integers(5 * 3600, 26 * 3600, size=6)
    reached = 0
    for origin, t0 in zip(origins, departures, strict=True):
        got = earliest_arrivals(tt, int(origin), int(t0), max_rides=40)
        want = oracle.earliest_arrivals(int(origin), int(t0))
        want[want == np.iinfo(np.int64).max] = UNREACHED
        np.testing.assert_array_equal(got, want, err_msg=f"origin {origin} at {t0} s")
        reached += int((got < UNREACHED).sum())
    assert reached > 6 * 100  # most of the network is reached, so the check has teeth


def test_range_raptor_equals_repeated_single_runs(nyc):
    compiled, _ = nyc
    tt = compiled.timetable
    departures = np.arange(7 * 3600, 7 * 3600 + 1800, 60)
    for origin in (0, 57, 140):
        profile = arrival_profiles(tt, origin, departures, max_rides=3)
        for m, t0 in enumerate(departures):
            single = earliest_arrivals(tt, origin, int(t0), max_rides=3)
            np.testing.assert_array_equal(profile[m], single)
    many = stop_profiles(tt, departures[:5], origins=[0, 57], max_rides=3, threads=2)
    np.testing.assert_array_equal(many[1], arrival_profiles(tt, 57, departures[:5], max_rides=3))


def test_a_change_takes_the_next_trip_and_a_footpath_never_follows_another():
    # trip 0: stop 0 -> 1 (t 0 -> 100); trip 1: stop 1 -> 2 (t 100 -> 200), caught at once;
    # footpaths 2 -> 3 (30 s) and 3 -> 4 (30 s): 4 is not reached by two walks in a row
    tt = build_timetable(
        5, [0, 0, 1, 1], [0, 1, 1, 2], [0, 100, 100, 200], [0, 100, 100, 200],
        footpath_from=[2, 3], footpath_to=[3, 4], footpath_time_s=[30, 30],
    )  # fmt: skip
    assert earliest_arrivals(tt, 0, 0).tolist() == [0, 100, 200, 230, UNREACHED]
    assert earliest_arrivals(tt, 0, 0, max_rides=1).tolist()[:3] == [0, 100, UNREACHED]


def test_overtaking_trips_are_split_into_patterns():
    # the express leaves later and arrives first: one pattern would break FIFO
    tt = build_timetable(2, [0, 0, 1, 1], [0, 1, 0, 1], [0, 600, 60, 300], [0, 600, 60, 300])
    assert tt.n_patterns == 2
    assert earliest_arrivals(tt, 0, 30).tolist() == [30, 300]


def test_backwards_times_are_refused_with_the_row():
    with pytest.raises(InputError, match="row 1: time goes backwards along trip 0"):
        build_timetable(2, [0, 0], [0, 1], [100, 50], [100, 50])
