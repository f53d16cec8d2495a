from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from shancheng.lifelines.leak_fusion import (
    FusionSettings,
    detect_leaks_fused,
    fit_errors,
    localise,
    most_likely_hit,
    weekly_changes,
    whitening,
)
from shancheng.lifelines.leak_signatures import node_signatures, pipe_signatures
from shancheng.lifelines.leaks import Leak, pipe_centre_distances
from shancheng.lifelines.pipes import build_network, read_inp
from shancheng.lifelines.scada_simulation import simulate_scada_year
from shancheng.lifelines.water_balance import BalanceZone, night_mean, zone_consumption

T0 = datetime(2018, 1, 1)


def test_localise_fits_out_demand_and_uses_the_size():
    signatures = np.array([[-1.0, -0.5, 0.0], [-0.5, -1.0, 0.0], [-1.0, -1.0, -1.0]])
    town = np.array([[-0.3], [-0.3], [-0.3]])
    change = 2.0 * signatures[1] + 0.7 * town[:, 0]  # leak of 2 on pipe 1 + a demand swing
    assert localise(change, 2.0, signatures, town) == (1, pytest.approx(1.0))
    # the same shape at the wrong size fits worse than the right pipe
    best, gain = localise(change, 2.0, signatures, np.zeros((3, 0)))
    assert best != 2 or gain < 1.0


def test_hit_prefers_the_pipe_within_reach_of_most_posterior_mass():
    # pipe 0 fits best by a hair, but pipes 1 and 2 (near each other, 500 m from 0) together
    # carry about two thirds of the mass: pipe 1 or 2 is the likelier hit within 300 m
    distance = np.array([[0.0, 500.0, 500.0], [500.0, 0.0, 100.0], [500.0, 100.0, 0.0]])
    error = np.array([1.0, 1.0 + 1e-9, 1.0 + 1e-9])
    pick, mass = most_likely_hit(error, distance, n_free=10)
    assert pick in {1, 2}
    assert mass == pytest.approx(2 / 3)
    # a decisive fit (error 1 against 5 with 10 free sensors: likelihood ratio e^-20) wins
    pick, mass = most_likely_hit(np.array([1.0, 5.0, 5.0]), distance, n_free=10)
    assert (pick, mass) == (0, pytest.approx(1.0))
    # a hotter posterior spreads the mass: the same fits are no longer decisive
    _, warm = most_likely_hit(np.array([1.0, 5.0, 5.0]), distance, n_free=10, temperature=100)
    assert 1 / 3 < warm < 1.0


def _detect_on_a_line(flow, pressure, signature, days, **settings):
    """The fused detector on R -m- a -p- b -q- c -r- d (pipes 1 km apart), candidates p, q, r
    with ``signature`` (3 x 3 sensors), one zone Z with ``flow``; plain (unweighted) fits."""
    nodes = pd.DataFrame({"node_id": ["R", "a", "b", "c", "d"],
                          "kind": ["source", "junction", "junction", "junction", "junction"],
                          "demand": [0, 1.0, 1.0, 1.0, 1.0]})  # fmt: skip
    links = pd.DataFrame({"link_id": ["m", "p", "q", "r"], "kind": ["pipe"] * 4,
                          "from_node": ["R", "a", "b", "c"], "to_node": ["a", "b", "c", "d"],
                          "length_m": [1000.0] * 4})  # fmt: skip
    net = build_network("water", nodes, links, source="hand")
    return detect_leaks_fused(
        pd.DataFrame({"Z": flow}, index=days), pd.DataFrame(pressure, index=days), net,
        ["p", "q", "r"], ["Z"] * 3, signature, np.zeros((3, 0)),
        FusionSettings(**{"whiten_floor": 0.0, **settings}), thresholds={"Z": (1.0, 5.0)},
    )  # fmt: skip


def test_a_growing_leak_already_reported_is_fitted_out_of_the_next_step():
    # three pressure sensors
    signature = np.array([[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [-0.33, -0.67, -0.2]])  # p, q, r
    days = pd.date_range("2018-01-01", periods=60, freq="D")
    # day 20: a leak of 10 m3/h on p; day 40: p grows by 5 and q starts leaking 10
    flow = np.r_[np.zeros(20), np.full(20, 10.0), np.full(20, 25.0)]
    pressure = np.vstack([np.zeros((20, 3)), np.tile(10 * signature[0], (20, 1)),
                          np.tile(15 * signature[0] + 10 * signature[1], (20, 1))])  # fmt: skip

    def detect(**settings):
        return _detect_on_a_line(flow, pressure, signature, days, **settings)

    # the second step's pressure change is 5 x p + 10 x q: with p's signature fitted out,
    # q explains the rest exactly; without, r's blend of the two fits best (error 8.4 to 25)
    assert detect()["link_id"].tolist() == ["p", "q"]
    assert detect()["hit_probability"].tolist() == [1.0, 1.0]
    blind = detect(fit_out_active=False, min_hit_probability=0.0)
    assert blind["link_id"].tolist() == ["p", "r"]
    # and r is not sure enough to be named at 0.9 (q keeps 12 % of the mass)
    assert detect(fit_out_active=False, min_hit_probability=0.9)["link_id"].tolist() == ["p", ""]


def test_an_unsure_alarm_is_placed_again_on_later_nights_and_dated_then():
    # each of p, q, r seen by its own sensor
    signature = -np.eye(3)  # p, q, r
    days = pd.date_range("2018-01-01", periods=40, freq="D")
    flow = np.r_[np.zeros(20), np.full(20, 10.0)]  # a 10 m3/h leak from day 20 (alarm: day 20)
    pressure = np.zeros((40, 3))
    pressure[20:22] = [0.0, -5.0, -5.0]  # its first two nights: q or r alike
    pressure[22:] = [0.0, -10.0, 0.0]  # then plainly q

    def detect(**settings):
        return _detect_on_a_line(flow, pressure, signature, days, **settings)

    # the alarm night: change (0, -5, -5); free-size errors q 25, r 25, p 50; variance 25 / 2
    # free sensors: weights 1, 1, e^-1, so q's mass is 1 / (2 + e^-1) -- no pipe named
    alone = detect(confirm_days=0)
    assert alone["link_id"].tolist() == [""]
    assert alone["hit_probability"].iloc[0] == pytest.approx(1 / (2 + np.exp(-1)))
    # night 22: the mean of nights 20-22 is (0, -20/3, -10/3); errors q 100/9, r 400/9,
    # p 500/9; variance 50/9: weights 1, e^-3, e^-4 -- q at 0.936, named and dated night 22
    later = detect()
    assert later["link_id"].tolist() == ["q"]
    assert later["hit_probability"].iloc[0] == pytest.approx(1 / (1 + np.exp(-3) + np.exp(-4)))
    assert later["time"].iloc[0] == pd.Timestamp("2018-01-21 05:00")  # the alarm night
    assert later["placed_time"].iloc[0] == pd.Timestamp("2018-01-23 05:00")  # night 22
    # one night of waiting is not enough (nights 20-21 are as ambiguous as the alarm's)
    assert detect(confirm_days=1)["link_id"].tolist() == [""]


def test_weekly_changes_are_last_week_less_the_week_before():
    pressure = np.r_[np.zeros(10), np.full(5, 7.0)][:, None]  # a 7 m step on night 10
    # nights 13 and 14: last 7 nights (4 and 5 nights at 7 m) less the 7 before (all 0)
    assert weekly_changes(pressure).ravel().tolist() == [4.0, 5.0]


def test_whitened_fit_trusts_the_quiet_directions():
    # the night noise moves sensors 0 and 1 together (a demand swing): a change that is
    # 2 x pipe A plus that swing is fitted better by B in plain least squares, by A once the
    # fit is weighted by the noise's inverse covariance (floor 1 % of the mean variance)
    a, b = np.array([-1.0, 0.0, -1.0]), np.array([-1.0, -1.0, -0.5])
    change = 2 * a - 1.5 * np.array([1.0, 1.0, 0.0])  # (-3.5, -1.5, -2)
    none = np.zeros((3, 0))
    plain, _ = fit_errors(change, 0.0, np.vstack([a, b]), none, free_size=True)
    assert plain == pytest.approx([3.375, 2.5])  # B
    white = whitening(np.array([[1.0, 1.0, 0.0], [-1.0, -1.0, 0.0]]), 0.01)
    # covariance [[1, 1, 0], [1, 1, 0], [0, 0, 0]] + I / 150: the swing's direction has
    # variance 2 + 1/150, the others 1/150
    covariance = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]) + np.eye(3) / 150
    assert white @ white == pytest.approx(np.linalg.inv(covariance))
    weighted, _ = fit_errors(white @ change, 0.0, np.vstack([a, b]) @ white.T, none, free_size=True)
    assert weighted[0] < weighted[1] / 100  # A


@pytest.mark.data
def test_simulated_leak_shows_in_the_zone_balance_and_localises(shared_data):
    folder = shared_data / "lifelines" / "battledim_ltown"
    inp = folder / "L-TOWN.inp"
    sensors = [
        "n54",
        "n105",
        "n114",
        "n163",
        "n188",
        "n229",
        "n288",
        "n296",
        "n332",
        "n342",
        "n410",
        "n415",
        "n429",
        "n458",
        "n469",
        "n495",
        "n506",
        "n516",
        "n519",
        "n549",
        "n613",
        "n636",
        "n644",
        "n679",
        "n722",
        "n726",
        "n740",
        "n752",
        "n769",
    ]
    start = T0 + timedelta(days=5, hours=12)
    leak = Leak("p538", start, T0 + timedelta(days=9), 0.02, "abrupt", start)
    year = simulate_scada_year(inp, [leak], sensors, start=T0, days=9)
    zones = [
        BalanceZone("AB", ("p227", "p235"), ("PUMP_1",)),
        BalanceZone("C", ("PUMP_1",), tanks=(("T1", np.pi * 16.0**2 / 4),)),
    ]
    night = night_mean(zone_consumption(year.flow_m3_h, year.level_m, zones))
    true_leak = night_mean(
        pd.DataFrame({"q": year.leak_flow_m3_h["p538"]}, index=year.flow_m3_h.index)
    )["q"]
    assert true_leak.iloc[:5].max() == 0.0 and true_leak.iloc[6] > 10.0
    # the AB zone's night flow rises by the leak (up to the day-to-day demand noise);
    # the tank zone C does not move
    rise = night["AB"].iloc[6:].mean() - night["AB"].iloc[:5].mean()
    assert rise == pytest.approx(true_leak.iloc[6:].mean(), rel=0.3)
    assert abs(night["C"].iloc[6:].mean() - night["C"].iloc[:5].mean()) < 1.0
    # the night pressure change, with the leak's metered size, points within 300 m of p538
    pressure = night_mean(year.pressure_m - year.model_pressure_m)
    change = pressure.iloc[6:].mean().to_numpy() - pressure.iloc[:5].mean().to_numpy()
    unit = node_signatures(inp, sensors, per_unit_flow=True)
    net = read_inp(inp)
    names, matrix = pipe_signatures(net.links[net.links["kind"] == "pipe"], unit)
    best, gain = localise(
        change, float(true_leak.iloc[6:].mean()), matrix, unit.mean().to_numpy()[:, None]
    )
    assert gain > 0.5
    distance = pipe_centre_distances(net, ["p538"])[0]
    row = int(np.flatnonzero(net.links["link_id"].to_numpy() == names[best])[0])
    assert distance[row] <= 300.0
