import math

import numpy as np
import pytest

from shancheng.errors import ConfigError
from shancheng.network.speed import EdgeKind, WalkSpeeds, edge_times_s, tobler_speed_m_s

STREET = np.array([EdgeKind.STREET], dtype=np.uint8)


def test_flat_ground_gives_the_configured_speed():
    speeds = WalkSpeeds(flat_speed_km_h=5.0)
    t = edge_times_s(np.array([1000.0]), np.array([0.0]), STREET, speeds=speeds)
    assert t[0] == pytest.approx(1000.0 / (5.0 / 3.6), rel=1e-12)  # 720 s


def test_uphill_slower_than_downhill_on_the_same_edge():
    speeds = WalkSpeeds()
    up, down = edge_times_s(
        np.array([200.0, 200.0]), np.array([20.0, -20.0]), np.repeat(STREET, 2), speeds=speeds
    )
    assert up > down
    # Tobler is fastest on a gentle descent: -5 % beats the flat
    gentle, flat = edge_times_s(
        np.array([200.0, 200.0]), np.array([-10.0, 0.0]), np.repeat(STREET, 2), speeds=speeds
    )
    assert gentle < flat


def test_tobler_reference_values_when_unscaled():
    # Tobler's own table (flat 5.04 km/h): +10° → 2.72 km/h, -10° → 3.86, +20° → 1.41
    flat_m_s = 6.0 * math.exp(-3.5 * 0.05) / 3.6
    slopes = np.tan(np.radians([10.0, -10.0, 20.0]))
    v_km_h = tobler_speed_m_s(slopes, flat_speed_m_s=flat_m_s) * 3.6
    assert v_km_h == pytest.approx([2.72, 3.86, 1.41], abs=0.01)


def test_steps_slower_than_flat_ground_of_the_same_length():
    speeds = WalkSpeeds()
    kinds = np.array([EdgeKind.STREET, EdgeKind.STEPS, EdgeKind.STEPS], dtype=np.uint8)
    flat, steps_level, steps_up = edge_times_s(
        np.array([30.0, 30.0, 30.0]), np.array([0.0, 0.0, 15.0]), kinds, speeds=speeds
    )
    assert steps_level > flat
    assert steps_up > steps_level
    assert steps_up == pytest.approx(15.0 / speeds.stairs_up_m_s)


def test_stairs_down_use_the_down_rate():
    speeds = WalkSpeeds(stairs_up_m_s=0.2, stairs_down_m_s=0.4)
    kinds = np.array([EdgeKind.STEPS, EdgeKind.STEPS], dtype=np.uint8)
    up, down = edge_times_s(np.array([10.0, 10.0]), np.array([8.0, -8.0]), kinds, speeds=speeds)
    assert up == pytest.approx(40.0)
    assert down == pytest.approx(20.0)


def test_lifts_take_fixed_times_and_overrides_win():
    speeds = WalkSpeeds(elevator_time_s=50.0)
    kinds = np.array([EdgeKind.ELEVATOR, EdgeKind.ELEVATOR, EdgeKind.FERRY], dtype=np.uint8)
    times = edge_times_s(
        np.array([5.0, 5.0, 800.0]),
        np.array([40.0, -40.0, 0.0]),
        kinds,
        speeds=speeds,
        fixed_time_s=np.array([np.nan, 30.0, np.nan]),
    )
    assert times.tolist() == [50.0, 30.0, speeds.ferry_time_s]


def test_zero_length_edges_take_no_time():
    t = edge_times_s(np.array([0.0]), np.array([0.0]), STREET, speeds=WalkSpeeds())
    assert t[0] == 0.0


@pytest.mark.parametrize(
    ("field", "value"),
    [("flat_speed_km_h", 0.0), ("stairs_up_m_s", -1.0), ("elevator_time_s", math.nan)],
)
def test_impossible_speeds_are_refused_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        WalkSpeeds(**{field: value})
