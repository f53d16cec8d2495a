"""Hand-built cities for the mobility tests."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from shancheng.data.city import network_from_layers
from shancheng.data.demo import DemoConfig, generate_demo_city


@pytest.fixture(scope="session")
def small_city():
    return generate_demo_city(DemoConfig.small())


def plus_city(base, *, control: str = "", signals: bool = False):
    """A primary road N–S crossing a residential street W–E at junction J (node 2).

    Nodes: 0 home (-200, 0), 1 W (-100, 0), 2 J (0, 0), 3 E (100, 0), 4 school (200, 0),
    5 N (0, 100), 6 S (0, -100). 30 pupils live at the home, the school is at node 4.
    """
    x0, y0 = 650_000.0, 3_270_000.0
    xy = np.array([(-200, 0), (-100, 0), (0, 0), (100, 0), (200, 0), (0, 100), (0, -100)], float)
    nodes = gpd.GeoDataFrame(
        {
            "node_id": np.arange(7),
            "x_utm": x0 + xy[:, 0],
            "y_utm": y0 + xy[:, 1],
            "z_m": np.zeros(7),
            "crossing": ["", "", control, "", "", "", ""],
            "traffic_signals": [False, False, signals, False, False, False, False],
        },
        geometry=gpd.points_from_xy(x0 + xy[:, 0], y0 + xy[:, 1]),
        crs=32648,
    ).to_crs(4326)
    ends = [
        (0, 1, "residential"),
        (1, 2, "residential"),
        (2, 3, "residential"),
        (3, 4, "residential"),
        (5, 2, "primary"),
        (2, 6, "primary"),
    ]
    tail = np.array([e[0] for e in ends])
    head = np.array([e[1] for e in ends])
    segments = gpd.GeoDataFrame(
        {
            "segment_id": np.arange(len(ends)),
            "tail": tail,
            "head": head,
            "length_m": np.hypot(*(xy[head] - xy[tail]).T),
            "kind": 0,
            "oneway": False,
            "fixed_time_s": np.nan,
            "road_class": [e[2] for e in ends],
            "name": "",
            "name_en": "",
        },
        geometry=[shapely.LineString([xy[a], xy[b]]) for a, b in zip(tail, head, strict=True)],
        crs=32648,
    ).to_crs(4326)
    buildings = base.buildings.iloc[:1].copy()
    buildings[["x_utm", "y_utm"]] = [x0 - 200, y0]
    buildings[["population", "age_6_11", "age_12_14"]] = [100, 30, 0]
    facilities = base.facilities.iloc[:1].copy()
    facilities[["facility_id", "category", "name"]] = ["S1", "primary_school", "school"]
    facilities[["x_utm", "y_utm"]] = [x0 + 200, y0]
    return dataclasses.replace(
        base,
        walk_nodes=nodes,
        walk_segments=segments,
        buildings=buildings,
        facilities=facilities,
        network=network_from_layers(nodes, segments),
    )


@pytest.fixture
def plus(small_city):
    return lambda **kw: plus_city(small_city, **kw)


def frame(**columns):
    return pd.DataFrame(columns)
