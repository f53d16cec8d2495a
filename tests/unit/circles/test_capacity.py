"""2SFCA against hand-computed examples, through the whole accessibility pipeline."""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from shancheng.circles.accessibility import compute_accessibility
from shancheng.circles.capacity import capacity_access, decay_weight, two_step_fca
from shancheng.circles.coverage import residence_coverage
from shancheng.circles.standard import parse_catalogue
from shancheng.network.speed import WalkSpeeds
from shancheng.network.walk import build_walk_network


def _line():
    """0 — 100 — 200 — 300 — 400 m, flat streets walked at 1 m/s: seconds equal metres."""
    x = [0.0, 100.0, 200.0, 300.0, 400.0]
    return build_walk_network(
        x,
        [0.0] * 5,
        None,
        [0, 1, 2, 3],
        [1, 2, 3, 4],
        [100.0] * 4,
        [0] * 4,
        speeds=WalkSpeeds(flat_speed_km_h=3.6),
    )


def _catalogue(decay, *, threshold_min=2.5, norm=100.0, demand="all"):
    return parse_catalogue(
        {
            "format_version": 1,
            "capacity": {"decay": decay},
            "age_groups": {
                "all": {"label": "all", "columns": ["population"]},
                "children": {"label": "3-5", "columns": ["age_3_5"]},
            },
            "categories": {
                "kindergarten": {
                    "serves": "children",
                    "capacity_per_1000": norm,
                    "capacity_demand": demand,
                }
            },
            "requirements": [
                {"category": "kindergarten", "level_min": 5, "threshold_min": threshold_min}
            ],
        }
    )


def _points(xs, **columns):
    frame = pd.DataFrame({"x_utm": xs, "y_utm": [0.0] * len(xs), **columns})
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame.x_utm, frame.y_utm), crs=32648)


def _run(decay, residence_x, population, facility_x, capacity, **kwargs):
    homes = _points(
        residence_x,
        residence_id=[f"R{i}" for i in range(len(residence_x))],
        population=population,
        age_3_5=population,
    )
    kgs = _points(
        facility_x,
        facility_id=[f"K{i}" for i in range(len(facility_x))],
        category="kindergarten",
        capacity=capacity,
    )
    catalogue = _catalogue(decay, **kwargs)
    acc = compute_accessibility(_line(), homes, kgs, catalogue)
    return acc, capacity_access(acc, catalogue), catalogue


def test_step_decay_by_hand():
    # homes A (x=0, 100 people), B (200, 300), C (400, 50); kindergartens K0 (x=100, 30
    # places), K1 (400, 10); catchment 150 s. K0 reaches A and B (100 s each): R0 = 30 / 400;
    # K1 reaches only C: R1 = 10 / 50. A and B get 0.075 places per person, C 0.2.
    acc, cap, _ = _run("none", [0.0, 200.0, 400.0], [100, 300, 50], [100.0, 400.0], [30, 10])
    np.testing.assert_allclose(acc.time_s[:, 0], [100.0, 100.0, 0.0])
    np.testing.assert_allclose(cap.per_1000[:, 0], [75.0, 75.0, 200.0])
    np.testing.assert_allclose(cap.facilities["per_1000_demand"], [75.0, 200.0])
    np.testing.assert_allclose(cap.facilities["catchment_demand"], [400.0, 50.0])
    assert cap.adequate[:, 0].tolist() == [False, False, True]  # norm: 100 per 1,000


def test_gaussian_decay_by_hand():
    # B moves to x=175: 75 s from K0. Gaussian weights with t0 = 150 s:
    # f(t) = (exp(-(t/150)^2/2) - exp(-1/2)) / (1 - exp(-1/2))
    edge = math.exp(-0.5)
    f100 = (math.exp(-0.5 * (100 / 150) ** 2) - edge) / (1 - edge)  # 0.493574
    f75 = (math.exp(-0.5 * 0.25) - edge) / (1 - edge)  # 0.701368
    r0 = 30 / (100 * f100 + 300 * f75)  # 0.115487 places per person
    acc, cap, _ = _run("gaussian", [0.0, 175.0, 400.0], [100, 300, 50], [100.0, 400.0], [30, 10])
    np.testing.assert_allclose(acc.time_s[:, 0], [100.0, 75.0, 0.0])
    expected = 1000 * np.array([r0 * f100, r0 * f75, 10 / 50])
    np.testing.assert_allclose(cap.per_1000[:, 0], expected, rtol=1e-12)
    np.testing.assert_allclose(expected, [57.001, 80.999, 200.0], atol=1e-3)


def test_ninety_places_do_not_cover_twenty_thousand_children():
    acc, cap, catalogue = _run(
        "none", [150.0], [20_000], [100.0], [90], threshold_min=5, norm=900.0, demand="children"
    )
    coverage = residence_coverage(acc, catalogue, adequate=cap.adequate)
    assert coverage.column("kindergarten_5min").tolist() == [True]  # within 5 minutes...
    assert coverage.column("kindergarten_5min_capacity").tolist() == [False]  # ...but no place
    np.testing.assert_allclose(cap.per_1000[0, 0], 4.5)  # 90 places per 20,000 children


def test_two_step_fca_on_pairs_and_the_decay():
    access, ratio = two_step_fca(
        [0, 1, 1],
        [0, 0, 1],
        [0.0, 0.0, 0.0],
        demand=[10, 30],
        supply=[8, 6],
        catchment_s=60.0,
        decay="none",
    )
    np.testing.assert_allclose(ratio, [0.2, 0.2])
    np.testing.assert_allclose(access, [0.2, 0.4])
    assert decay_weight([0.0], 60.0, "gaussian")[0] == 1.0
    assert decay_weight([60.0, 61.0], 60.0, "gaussian").tolist() == [0.0, 0.0]
    assert np.all(np.diff(decay_weight(np.linspace(0, 60, 50), 60.0, "gaussian")) < 0)


def test_a_facility_nobody_reaches_gives_nothing():
    access, ratio = two_step_fca(
        [0], [0], [500.0], demand=[10], supply=[8, 6], catchment_s=60.0, decay="none"
    )
    assert ratio.tolist() == [0.0, 0.0]
    assert access.tolist() == [0.0]


@pytest.mark.parametrize("decay", ["none", "gaussian"])
def test_total_capacity_is_conserved_when_everyone_reaches_one_facility(decay):
    # with one facility, sum_i P_i A_i = S (all its places are handed out)
    _acc, cap, _ = _run(decay, [60.0, 100.0, 140.0], [10, 20, 30], [100.0], [12])
    people = np.array([10, 20, 30])
    np.testing.assert_allclose((people * cap.per_1000[:, 0] / 1000).sum(), 12.0)
