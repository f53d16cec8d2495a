"""RAPTOR on small random timetables equals a time-expanded graph search (hypothesis).

Random trips (stops in any order, zero-minute hops and dwells, trips that overtake, several
trips at the same instant) and random footpaths; for every origin and a random departure,
the earliest arrivals equal those of the networkx oracle, and range RAPTOR over a window
equals one RAPTOR per departure.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.transit.oracle import TimeExpandedGraph

from shancheng.network.raptor import (
    UNREACHED,
    arrival_profiles,
    build_timetable,
    earliest_arrivals,
)


@st.composite
def timetables(draw):
    n_stops = draw(st.integers(2, 7))
    rows = []
    for trip in range(draw(st.integers(1, 9))):
        stops = draw(st.lists(st.integers(0, n_stops - 1), min_size=2, max_size=5,
                              unique=True))  # fmt: skip
        t = draw(st.integers(0, 600))
        for stop in stops:
            arr = t
            dep = arr + draw(st.sampled_from([0, 0, 30, 60]))
            rows.append((trip, stop, arr, dep))
            t = dep + draw(st.sampled_from([0, 60, 120, 300]))
    footpaths = draw(st.lists(
        st.tuples(st.integers(0, n_stops - 1), st.integers(0, n_stops - 1),
                  st.sampled_from([0, 30, 90, 200])),
        max_size=8,
    ))  # fmt: skip
    return n_stops, rows, footpaths


@settings(max_examples=150, deadline=None)
@given(timetables(), st.integers(0, 900))
def test_raptor_equals_time_expanded_dijkstra(case, t0):
    n_stops, rows, footpaths = case
    trip, stop, arr, dep = (np.array(c) for c in zip(*rows, strict=True))
    # one footpath per ordered pair (the shortest), as the timetable keeps
    shortest = {}
    for a, b, w in footpaths:
        shortest[(a, b)] = min(w, shortest.get((a, b), w))
    walks = [(a, b, w) for (a, b), w in shortest.items()]
    tt = build_timetable(
        n_stops, trip, stop, arr, dep,
        footpath_from=[w[0] for w in walks], footpath_to=[w[1] for w in walks],
        footpath_time_s=[w[2] for w in walks],
    )  # fmt: skip
    oracle = TimeExpandedGraph(n_stops, trip, stop, arr, dep, walks)
    for origin in range(n_stops):
        want = oracle.earliest_arrivals(origin, t0)
        want[want == np.iinfo(np.int64).max] = UNREACHED
        got = earliest_arrivals(tt, origin, t0, max_rides=20)
        np.testing.assert_array_equal(got, want)
        window = np.arange(t0, t0 + 600, 45)
        profile = arrival_profiles(tt, origin, window, max_rides=2)
        for m, t in enumerate(window):
            np.testing.assert_array_equal(
                profile[m], earliest_arrivals(tt, origin, int(t), max_rides=2)
            )
