from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shancheng.errors import InputError
from shancheng.lifelines.water_balance import (
    BalanceZone,
    expected_night_flow,
    fit_scale,
    flow_steps,
    night_mean,
    noise_sd,
    zone_consumption,
)


def test_tank_zone_consumption_is_pump_flow_minus_filling():
    idx = pd.date_range("2018-01-01", periods=4, freq="5min")
    flows = pd.DataFrame({"pump": [40.0, 40.0, 0.0, 0.0]}, index=idx)
    # 0.1 m in 5 min on 100 m² = 10 m³ in 1/12 h = 120 m³/h filling: more than pumped
    levels = pd.DataFrame({"T": [2.0, 2.02, 2.02, 2.01]}, index=idx)
    zone = BalanceZone("high", ("pump",), (), (("T", 100.0),))
    got = zone_consumption(flows, levels, [zone])["high"].to_numpy()
    assert got == pytest.approx([40.0 - 24.0, 40.0, 12.0, 12.0])  # last step: carried forward


def test_unknown_sensor_is_named():
    idx = pd.date_range("2018-01-01", periods=2, freq="5min")
    flows = pd.DataFrame({"p1": [1.0, 1.0]}, index=idx)
    with pytest.raises(InputError, match="zone 'z': no readings for sensor\\(s\\) p9, T9"):
        zone_consumption(
            flows, pd.DataFrame(index=idx), [BalanceZone("z", ("p1", "p9"), tanks=(("T9", 1.0),))]
        )


def test_night_mean_takes_only_night_hours():
    idx = pd.date_range("2018-01-01", periods=48, freq="1h")
    frame = pd.DataFrame({"q": np.where(idx.hour.isin([2, 3, 4]), idx.day * 1.0, 99.0)}, index=idx)
    assert night_mean(frame)["q"].tolist() == [1.0, 2.0]


def test_expected_night_flow_follows_a_weekly_pattern_and_scale_fits_it():
    days = pd.date_range("2018-01-01", periods=14, freq="D")
    week = np.repeat(np.arange(1.0, 8.0), 24)  # hourly multipliers 1..7, one per weekday
    expected = expected_night_flow(
        {"res": 2.0}, {"res": week}, days, pattern_start=days[0], step_s=3600
    )
    assert expected.tolist() == [2.0 * (d % 7 + 1) for d in range(14)]
    assert fit_scale(1.1 * expected, expected) == pytest.approx(1.1)


def test_cusum_finds_a_leak_and_its_repair_and_sizes_them():
    rng = np.random.default_rng(7)
    residual = rng.normal(0.0, 1.0, 150)
    residual[40:100] += 6.0  # a 6 m3/h leak from day 40, repaired on day 100
    sd = noise_sd(residual)
    assert sd == pytest.approx(1.0, abs=0.2)  # differences ignore the two steps
    steps = flow_steps(residual, sd=sd, k_sd=0.5, h_sd=8.0)
    assert [s.size_m3_h > 0 for s in steps] == [True, False]
    up, down = steps
    assert 40 <= up.day <= 42 and 39 <= up.onset <= 40
    assert up.size_m3_h == pytest.approx(6.0, abs=1.5)
    assert up.baseline == (0, up.onset)
    assert 100 <= down.day <= 102
    assert down.size_m3_h < -2.0  # its onset may take in a leaky day or two


def test_cusum_stays_quiet_on_noise_alone():
    rng = np.random.default_rng(3)
    residual = rng.normal(0.0, 1.0, 365)
    assert flow_steps(residual, sd=noise_sd(residual), k_sd=0.5, h_sd=8.0) == []


def test_a_slow_incipient_leak_adds_up():
    residual = np.r_[np.zeros(10), np.linspace(0.0, 3.0, 90)]  # 0.03 m3/h a day
    steps = flow_steps(residual, sd=0.1, k_sd=0.5, h_sd=5.0)
    assert steps and steps[0].size_m3_h > 0
    assert steps[0].day < 40  # the anchored baseline sees 0.6 m3/h within a month
