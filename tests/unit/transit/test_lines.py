"""Line lengths from shapes, checked against geodesic lengths computed here with pyproj.Geod."""

from __future__ import annotations

import pandas as pd
import pytest
from pyproj import Geod

from shancheng.data.gtfs import read_gtfs
from shancheng.data.transit_lines import network_length_km, route_lines

pytestmark = pytest.mark.data


def _geodesic_route_lengths_m(feed):
    """Longest shape of each route, measured on the WGS84 ellipsoid (independent of the code)."""
    geod = Geod(ellps="WGS84")
    shapes = feed.shapes.sort_values(["shape_id", "shape_pt_sequence"])
    per_shape = {
        shape_id: geod.line_length(g["shape_pt_lon"].to_numpy(), g["shape_pt_lat"].to_numpy())
        for shape_id, g in shapes.groupby("shape_id")
    }
    trips = feed.trips.assign(length=feed.trips["shape_id"].map(per_shape))
    return trips.groupby("route_id")["length"].max()


def test_nyc_subway_line_lengths_match_geodesic_lengths(transit_data):
    feed = read_gtfs(transit_data / "nyc_subway_gtfs.zip")
    lines = route_lines(feed).set_index("route_id")
    want = _geodesic_route_lengths_m(feed)
    assert sorted(lines.index) == ["1", "2"]
    assert set(lines["measured_on"]) == {"shapes"}
    for route_id, metres in want.items():
        assert lines.loc[route_id, "length_m"] == pytest.approx(metres, rel=1e-3)
    # the 1 runs 242 St - South Ferry (about 23.5 km), the 2 Wakefield - Flatbush Av (about 43 km)
    assert 22_000 < lines.loc["1", "length_m"] < 25_000
    assert 40_000 < lines.loc["2", "length_m"] < 45_000
    totals = network_length_km(lines.reset_index())
    assert list(totals) == ["metro"]
    assert totals["metro"] == pytest.approx(want.sum() / 1000.0, rel=1e-3)


def test_a_feed_without_shapes_is_measured_along_its_stops(transit_data):
    feed = read_gtfs(transit_data / "nyc_subway_gtfs.zip")
    feed.shapes = None
    feed.trips = feed.trips.drop(columns=["shape_id"])
    lines = route_lines(feed).set_index("route_id")
    assert set(lines["measured_on"]) == {"stops"}
    geod = Geod(ellps="WGS84")
    stops = feed.stops.set_index("stop_id")
    for route_id in ("1", "2"):
        trip_ids = feed.trips.loc[feed.trips["route_id"] == route_id, "trip_id"]
        st = feed.stop_times[feed.stop_times["trip_id"].isin(trip_ids)]
        longest = max(
            geod.line_length(stops.loc[g.sort_values("stop_sequence")["stop_id"], "stop_lon"],
                             stops.loc[g.sort_values("stop_sequence")["stop_id"], "stop_lat"])
            for _, g in st.groupby("trip_id")
        )  # fmt: skip
        assert lines.loc[route_id, "length_m"] == pytest.approx(longest, rel=1e-3)
    # straight lines between stops cut the curves: shorter than along the shapes
    with_shapes = route_lines(read_gtfs(transit_data / "nyc_subway_gtfs.zip"))
    assert (lines["length_m"] < with_shapes.set_index("route_id")["length_m"]).all()
    assert isinstance(lines, pd.DataFrame)
