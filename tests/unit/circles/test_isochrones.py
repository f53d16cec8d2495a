"""Isochrones follow the network, differ uphill and downhill, and refuse far points."""

import networkx as nx
import numpy as np
import pytest
import shapely

from shancheng.circles.isochrones import isochrones
from shancheng.errors import InputError, SnapDistanceError


def test_climbing_reaches_less_street_than_descending(hill_path):
    t_up = hill_path.edge_time_s[(hill_path.edge_tail == 0) & (hill_path.edge_head == 1)][0]
    t_down = hill_path.edge_time_s[(hill_path.edge_tail == 1) & (hill_path.edge_head == 0)][0]
    assert t_up > t_down > 0
    limit_s = 0.9 * t_down
    up = isochrones(hill_path, 0.0, 0.0, thresholds_min=(limit_s / 60,), direction="from")
    down = isochrones(hill_path, 0.0, 0.0, thresholds_min=(limit_s / 60,), direction="to")
    # by hand: the share of the 100 m street walked is the time left over the street's time
    assert up.street_length_m[0] == pytest.approx(100 * limit_s / t_up)
    assert down.street_length_m[0] == pytest.approx(100 * limit_s / t_down)
    assert up.geometry[0].area < down.geometry[0].area


def test_isochrones_on_the_demo_follow_the_streets(small_city):
    net = small_city.network
    start = int(
        np.argmin(
            np.hypot(
                net.node_x_utm - np.median(net.node_x_utm),
                net.node_y_utm - np.median(net.node_y_utm),
            )
        )
    )
    x, y = float(net.node_x_utm[start]), float(net.node_y_utm[start])  # on a node: no access leg
    iso = isochrones(net, x, y, thresholds_min=(5, 10, 15))
    assert iso.threshold_min.tolist() == [5.0, 10.0, 15.0]
    assert iso.geometry[1].contains(iso.geometry[0].buffer(-1))
    assert iso.geometry[2].contains(iso.geometry[1].buffer(-1))
    # nested but not a disc: far smaller than a 15-minute circle at flat speed
    radius_m = 15 * 60 * net.speeds.flat_speed_m_s
    assert iso.geometry[2].area < 0.7 * np.pi * radius_m**2
    # every node reached within 10 minutes (networkx) lies inside the 10-minute polygon
    graph = nx.DiGraph()
    for u, v, t in zip(net.edge_tail, net.edge_head, net.edge_time_s, strict=True):
        graph.add_edge(int(u), int(v), weight=float(t))
    reached = nx.single_source_dijkstra_path_length(graph, start, cutoff=600, weight="weight")
    points = shapely.points(net.node_x_utm[list(reached)], net.node_y_utm[list(reached)])
    assert len(reached) > 10
    assert shapely.contains(iso.geometry[1], points).all()


def test_far_point_and_bad_arguments(small_city):
    net = small_city.network
    with pytest.raises(SnapDistanceError, match="more than 200 m"):
        isochrones(net, 0.0, 0.0)
    x, y = float(net.node_x_utm[0]), float(net.node_y_utm[0])
    with pytest.raises(InputError, match="direction"):
        isochrones(net, x, y, direction="sideways")
    with pytest.raises(InputError, match="thresholds_min"):
        isochrones(net, x, y, thresholds_min=(-5,))
