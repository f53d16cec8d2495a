"""The demo city's metro: a clean GTFS feed, lifts where platforms are deep, transit only helps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shancheng.circles.evaluate import evaluate_city, summarize, write_evaluation
from shancheng.data.demo import DemoConfig, write_demo_city
from shancheng.data.demo.metro import FEED_FOLDER, FEED_NAME, LIFT_ABOVE_M, _climb_s
from shancheng.data.gtfs import read_gtfs
from shancheng.data.transit_stations import read_pathways


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "city"
    city = write_demo_city(folder, DemoConfig.small())
    return folder, city


def test_the_demo_feed_is_clean_and_climbs_by_lift_or_escalator(demo_dir):
    folder, _ = demo_dir
    feed_path = folder / FEED_FOLDER / FEED_NAME
    feed = read_gtfs(feed_path)  # raises on any problem
    kinds = feed.stops["location_type"].astype(int).value_counts()
    assert kinds[1] == kinds[0] > 0  # one platform per station
    assert kinds[2] >= kinds[1]  # every station has an entrance
    pathways = read_pathways(feed_path)
    assert set(pathways["pathway_mode"].astype(int)) <= {4, 5}
    # the rule: a climb above LIFT_ABOVE_M takes a lift (40 s wait, 2 m/s), else an escalator
    assert _climb_s(LIFT_ABOVE_M + 10.0) == (5, (20 + 40 + 15))
    assert _climb_s(-8.0) == (4, round(20 + 8 / 0.25))
    routes = feed.routes
    assert (routes["route_type"].astype(int) == 1).all()


def test_transit_never_makes_a_trip_longer_and_figures_are_shares(demo_dir, tmp_path):
    folder, city = demo_dir
    evaluation = evaluate_city(city, gtfs=folder / FEED_FOLDER / FEED_NAME)
    transit = evaluation.transit
    assert transit is not None
    access = transit.access
    assert np.all(access.median_s <= access.walk_s + 1e-9)
    assert np.all(access.upper_s >= access.median_s - 1e-9)
    shares = transit.station_shares
    values = shares[["share_10min", "share_15min"]].dropna().to_numpy()
    assert ((values >= 0) & (values <= 1)).all()
    assert (shares["within_10min"] <= shares["within_15min"]).all()
    city_row = shares[shares["unit_level"] == "city"].iloc[0]
    near = access.station_walk_s <= 600
    people = evaluation.accessibility.residences["population"].to_numpy(float)
    assert city_row["within_10min"] == pytest.approx(people[near].sum())
    assert transit.network_km["metro"] == pytest.approx(transit.lines["length_km"].sum(), abs=1e-3)
    summary = summarize(evaluation)
    assert summary["transit"]["stations"] == len(transit.stations)
    out = write_evaluation(evaluation, tmp_path / "results", formats=("parquet",))
    stations = pd.read_parquet(out / "stations.parquet")
    assert len(stations) == len(transit.stations)
    assert (out / "catchments.parquet").is_file()
    assert (out / "station_shares.parquet").is_file()
