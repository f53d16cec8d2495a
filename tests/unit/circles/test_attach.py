"""Splicing points into the network: hand cases and the two-pass snapping."""

import numpy as np
import pytest

from shancheng.circles.attach import NOT_ATTACHED, _snap_near_first, attach_points
from shancheng.network.search import nearest_times
from shancheng.network.snap import snap_points


def test_two_pass_snapping_equals_one_pass(small_city):
    net = small_city.network
    rng = np.random.default_rng(5)
    x = np.r_[
        small_city.buildings["x_utm"].to_numpy(),
        rng.uniform(net.node_x_utm.min() - 300, net.node_x_utm.max(), 300),
    ]
    y = np.r_[
        small_city.buildings["y_utm"].to_numpy(),
        rng.uniform(net.node_y_utm.min() - 300, net.node_y_utm.max(), 300),
    ]
    one = snap_points(net, x, y, max_distance_m=200.0)
    two = _snap_near_first(net, x, y, max_distance_m=200.0, source="points")
    assert (one.distance_m[one.snapped] > 40).any()  # the second pass has work to do
    assert (~one.snapped).any()
    for field in ("edge", "fraction", "distance_m", "access_time_s", "snapped"):
        assert np.array_equal(getattr(one, field), getattr(two, field)), field


def test_uphill_home_and_downhill_facility_on_one_street(hill_path):
    # home at 25 m, facility at 75 m along the street that climbs 10 m from node 0 to node 1
    attached = attach_points(hill_path, [25.0, 75.0], [0.0, 0.0])
    home, facility = attached.point_node
    to_facility = nearest_times(attached.network, [facility], cutoff_s=1e4).time_s[0][home]
    to_home = nearest_times(attached.network, [home], cutoff_s=1e4).time_s[0][facility]
    up = hill_path.edge_time_s[(hill_path.edge_tail == 0) & (hill_path.edge_head == 1)][0]
    down = hill_path.edge_time_s[(hill_path.edge_tail == 1) & (hill_path.edge_head == 0)][0]
    assert to_facility == pytest.approx(0.5 * up)  # half the street, climbing
    assert to_home == pytest.approx(0.5 * down)  # the other way, descending
    assert to_facility > to_home


def test_far_points_are_not_attached(hill_path):
    attached = attach_points(hill_path, [50.0, 50.0], [0.0, 900.0])
    assert attached.point_node[1] == NOT_ATTACHED
    assert attached.point_node[0] >= hill_path.n_nodes


def test_far_points_are_counted_against_the_whole_input(caplog):
    """Issue 18: "2 of 38 points" counted a second pass's subset; it is 2 of all 6 here."""
    import logging

    from shancheng.circles.attach import attach_points
    from shancheng.network.walk import build_walk_network

    net = build_walk_network([0.0, 1000.0], [0.0, 0.0], None, [0], [1], [1000.0], [0])
    # rows 0-2 on the street, row 3 at 100 m (second pass), rows 4 and 5 beyond 200 m
    x = [10.0, 500.0, 900.0, 300.0, 400.0, 600.0]
    y = [1.0, -2.0, 5.0, 100.0, 250.0, -900.0]
    with caplog.at_level(logging.WARNING, logger="shancheng.network.snap"):
        attached = attach_points(net, x, y, max_distance_m=200.0, source="homes")
    [record] = [r for r in caplog.records if "lie more than" in r.getMessage()]
    assert "homes: 2 of 6 points lie more than 200 m" in record.getMessage()
    assert "(rows 4, 5)" in record.getMessage()
    assert (attached.point_node >= 0).tolist() == [True, True, True, True, False, False]
