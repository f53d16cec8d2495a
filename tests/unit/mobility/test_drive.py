"""The drive network: carriageways only, one-ways, speeds and turn restrictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shancheng.errors import InputError, MissingColumnError
from shancheng.mobility.drive import build_drive_network, drive_route


def _square():
    """A 2x2 block: 0-1 top, 2-3 bottom, 0-2 and 1-3 sides; plus a footway 0-3."""
    nodes = pd.DataFrame({"x_utm": [0.0, 100.0, 0.0, 100.0], "y_utm": [100.0, 100.0, 0.0, 0.0]})
    segs = pd.DataFrame({
        "tail": [0, 2, 0, 1, 0], "head": [1, 3, 2, 3, 3],
        "length_m": [100.0, 100.0, 100.0, 100.0, 141.0], "kind": [0, 0, 0, 0, 1],
        "road_class": ["primary", "residential", "tertiary", "tertiary", "footway"],
        "car_oneway": [1, 0, -1, 0, 0], "maxspeed_kmh": [np.nan, np.nan, 20.0, np.nan, np.nan],
    })  # fmt: skip
    return nodes, segs


def test_one_ways_and_speeds():
    nodes, segs = _square()
    net = build_drive_network(nodes, segs)
    arcs = set(zip(net.edge_tail.tolist(), net.edge_head.tolist(), strict=True))
    # primary 0→1 only; tertiary 0-2 against its direction only (2→0); footway absent
    assert (0, 1) in arcs and (1, 0) not in arcs
    assert (2, 0) in arcs and (0, 2) not in arcs
    assert (0, 3) not in arcs and (3, 0) not in arcs
    assert net.n_edges == 6
    speed = dict(zip(zip(net.edge_tail.tolist(), net.edge_head.tolist(), strict=True),
                     net.edge_speed_kmh.tolist(), strict=True))  # fmt: skip
    assert speed[(0, 1)] == 60.0  # class default
    assert speed[(2, 0)] == 20.0  # tagged maxspeed


def test_turn_restriction_sends_the_driver_round():
    nodes, segs = _square()
    segs["car_oneway"] = 0
    restrictions = pd.DataFrame({"from_segment": [2], "via_node": [0], "to_segment": [0],
                                 "restriction": ["no_right_turn"]})  # fmt: skip
    free = build_drive_network(nodes, segs)
    banned = build_drive_network(nodes, segs, turn_restrictions=restrictions)
    assert banned.banned_turns.shape == (1, 2)
    heads = lambda net, route: [int(net.edge_head[a]) for a in route]  # noqa: E731
    assert heads(free, drive_route(free, 2, 1, weight="length")) == [0, 1]
    assert heads(banned, drive_route(banned, 2, 1, weight="length")) == [3, 1]


def test_only_restriction_bans_every_other_turn():
    nodes, segs = _square()
    segs["car_oneway"] = 0
    only = pd.DataFrame({"from_segment": [2], "via_node": [0], "to_segment": [2],
                         "restriction": ["only_u_turn"]})  # fmt: skip
    net = build_drive_network(nodes, segs, turn_restrictions=only)
    assert net.banned_turns.shape[0] == 1  # the turn onto the primary


def test_bad_oneway_names_the_row():
    nodes, segs = _square()
    segs.loc[3, "car_oneway"] = 2
    with pytest.raises(InputError, match=r"row 3: `car_oneway` must be -1, 0 or 1"):
        build_drive_network(nodes, segs)


def test_a_city_without_road_classes_is_refused():
    nodes, segs = _square()
    with pytest.raises(MissingColumnError, match="road_class"):
        build_drive_network(nodes, segs.drop(columns="road_class"))
