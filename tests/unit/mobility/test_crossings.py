"""Crossings counted on a hand-built junction: at a zebra, at a signal, without either."""

from __future__ import annotations

import pytest

from shancheng.mobility.bottlenecks import load_assumptions
from shancheng.mobility.crossings import build_legs, crossed_legs
from shancheng.mobility.schools import school_zones


@pytest.mark.parametrize(
    ("control", "signals", "expected"),
    [("marked", False, "marked"), ("", True, "signals"), ("", False, "")],
)
def test_pupils_cross_the_primary_road_once_with_its_control(plus, control, signals, expected):
    city = plus(control=control, signals=signals)
    zones = school_zones(city, load_assumptions())
    c = zones.crossings
    assert len(c) == 1
    row = c.iloc[0]
    assert (row["walk_node_id"], row["road_class"], row["control"]) == (2, "primary", expected)
    assert row["pupils"] == 30
    school = zones.schools.iloc[0]
    protected = expected in ("marked", "signals")
    assert school["unprotected_main"] == (0 if protected else 30)
    assert school["protected_main"] == (30 if protected else 0)
    assert school["steep_unprotected_main"] == 0  # flat ground


def test_turning_the_near_corner_crosses_nothing(plus):
    city = plus()
    legs = build_legs(city.walk_nodes, city.walk_segments)
    # from N (segment 4) to E (segment 2) at J: the near corner
    assert crossed_legs(legs, 2, legs.leg_of(2, 4), legs.leg_of(2, 2)) == []
    # from N to W (segment 1): the primary's south arm is not crossed either (same side)
    crossed = crossed_legs(legs, 2, legs.leg_of(2, 4), legs.leg_of(2, 1))
    assert crossed == []
    # straight along the primary from N to S: one arm of the side street is crossed
    crossed = crossed_legs(legs, 2, legs.leg_of(2, 4), legs.leg_of(2, 5))
    assert len(crossed) == 1
    assert int(legs.segment[crossed[0]]) in (1, 2)


def test_a_what_if_zebra_protects_the_crossing(plus):
    from shancheng.mobility.schools import school_zones as zones_of

    city = plus()
    zones = zones_of(city, load_assumptions(), extra_controls={2: "marked"})
    assert zones.crossings.iloc[0]["control"] == "marked"
