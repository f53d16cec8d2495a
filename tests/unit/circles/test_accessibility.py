"""Nearest walking times and counts against a networkx oracle; bad facilities are refused."""

import numpy as np
import pytest
from tests.unit.circles.oracle import oracle_nearest

from shancheng.circles.accessibility import compute_accessibility
from shancheng.circles.residences import residences_from_buildings, residences_from_cells
from shancheng.circles.standard import load_catalogue
from shancheng.errors import InputError, MissingColumnError

CUTOFF_S = 1800.0


def _check_against_networkx(city, residences, n_sample, rng):
    catalogue = load_catalogue()
    acc = compute_accessibility(
        city.network, residences, city.facilities, catalogue, cutoff_s=CUTOFF_S
    )
    sample = np.sort(rng.choice(len(residences), min(n_sample, len(residences)), replace=False))
    fac = acc.facilities
    group = np.array([acc.categories.index(c) for c in fac["category"]])
    expected = oracle_nearest(
        city.network,
        (residences["x_utm"].to_numpy()[sample], residences["y_utm"].to_numpy()[sample]),
        (fac["x_utm"].to_numpy(), fac["y_utm"].to_numpy()),
        group,
        len(acc.categories),
        cutoff_s=CUTOFF_S,
    )
    got = acc.time_s[sample]
    assert np.array_equal(np.isinf(got), np.isinf(expected))
    finite = np.isfinite(expected)
    assert finite.mean() > 0.5  # the comparison is not vacuous
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-9, atol=1e-6)
    return acc, sample, expected


def test_nearest_times_equal_networkx_on_the_small_demo(small_city):
    rng = np.random.default_rng(1)
    _check_against_networkx(small_city, residences_from_buildings(small_city), 1000, rng)


@pytest.mark.slow
def test_nearest_times_equal_networkx_on_the_demo_city(full_city):
    """1,000 sampled buildings x all 19 catalogue categories on the default demo city."""
    rng = np.random.default_rng(2)
    residences = residences_from_buildings(full_city)
    assert len(residences) > 1000
    _check_against_networkx(full_city, residences, 1000, rng)


@pytest.mark.slow
def test_population_cells_equal_networkx_on_the_demo_city(full_city):
    rng = np.random.default_rng(3)
    _check_against_networkx(full_city, residences_from_cells(full_city), 300, rng)


def test_counts_match_the_nearest_times_and_brute_force(small_city):
    """count within t == number of facilities whose own time is <= t (single-facility runs)."""
    catalogue = load_catalogue()
    residences = residences_from_buildings(small_city)
    acc = compute_accessibility(
        small_city.network, residences, small_city.facilities, catalogue, cutoff_s=CUTOFF_S
    )
    c = acc.categories.index("bus_stop")
    members = np.flatnonzero(acc.facility_group == c)
    per_facility = []
    for j in members:
        one = small_city.facilities[
            small_city.facilities["facility_id"] == acc.facilities["facility_id"].iloc[j]
        ]
        single = compute_accessibility(
            small_city.network, residences, one, catalogue, cutoff_s=CUTOFF_S
        )
        per_facility.append(single.time_s[:, c])
    times = np.column_stack(per_facility)
    capacity = acc.facilities["capacity"].to_numpy()[members]
    for k, threshold in enumerate(acc.thresholds_s):
        within = times <= threshold
        assert np.array_equal(acc.count[:, c, k], within.sum(axis=1))
        np.testing.assert_allclose(acc.capacity[:, c, k], within @ capacity)
    np.testing.assert_allclose(acc.time_s[:, c], times.min(axis=1))
    assert acc.count[:, c, -1].max() > 1


def test_a_facility_without_category_is_refused_naming_it(small_city):
    facilities = small_city.facilities.copy()
    facilities.loc[7, "category"] = None
    with pytest.raises(
        InputError,
        match=r"facilities row 7 \(facility_id 'F00007'\): field "
        r"`category` is empty",
    ):
        compute_accessibility(
            small_city.network, residences_from_buildings(small_city), facilities, load_catalogue()
        )


def test_a_blank_category_and_a_negative_capacity_are_refused(small_city):
    facilities = small_city.facilities.copy()
    facilities.loc[3, "category"] = "  "
    with pytest.raises(InputError, match="row 3"):
        compute_accessibility(
            small_city.network, residences_from_buildings(small_city), facilities, load_catalogue()
        )
    facilities = small_city.facilities.copy()
    facilities.loc[2, "capacity"] = -5
    with pytest.raises(
        InputError,
        match=r"row 2 .*`capacity` must be a finite number >= 0, "
        r"got -5",
    ):
        compute_accessibility(
            small_city.network, residences_from_buildings(small_city), facilities, load_catalogue()
        )


def test_missing_columns_and_bad_residences_are_named(small_city):
    residences = residences_from_buildings(small_city)
    with pytest.raises(MissingColumnError, match="`category` is missing"):
        compute_accessibility(
            small_city.network,
            residences,
            small_city.facilities.drop(columns="category"),
            load_catalogue(),
        )
    bad = residences.copy()
    bad.loc[4, "age_60_plus"] = -1
    with pytest.raises(InputError, match=r"residences row 4 .*`age_60_plus`"):
        compute_accessibility(small_city.network, bad, small_city.facilities, load_catalogue())


def test_unknown_facility_categories_are_ignored(small_city):
    facilities = small_city.facilities.copy()
    facilities.loc[0, "category"] = "karaoke"
    acc = compute_accessibility(
        small_city.network, residences_from_buildings(small_city), facilities, load_catalogue()
    )
    assert len(acc.facilities) == len(facilities) - 1


def test_a_facility_of_unknown_capacity_counts_but_adds_no_capacity(small_city, caplog):
    """OpenStreetMap facilities rarely carry a capacity: they still count as facilities."""
    residences = residences_from_buildings(small_city)
    known = compute_accessibility(
        small_city.network, residences, small_city.facilities, load_catalogue()
    )
    facilities = small_city.facilities.copy()
    row = int(np.flatnonzero(facilities["category"].to_numpy() == "kindergarten")[0])
    lost = float(facilities.loc[row, "capacity"])
    facilities.loc[row, "capacity"] = np.nan
    with caplog.at_level("WARNING", logger="shancheng"):
        unknown = compute_accessibility(
            small_city.network, residences, facilities, load_catalogue()
        )
    assert "1 without a known capacity (kindergarten 1)" in caplog.text
    np.testing.assert_array_equal(unknown.count, known.count)
    k = unknown.categories.index("kindergarten")
    drop = known.capacity[:, k, :] - unknown.capacity[:, k, :]
    assert lost > 0
    assert set(np.unique(drop)) <= {0.0, lost}  # only that facility's places are gone
    assert (drop == lost).any()
    others = [c for c in range(len(unknown.categories)) if c != k]
    np.testing.assert_array_equal(unknown.capacity[:, others, :], known.capacity[:, others, :])
    facilities["capacity"] = facilities["capacity"].astype(object)
    facilities.loc[row, "capacity"] = "lots"  # unparseable is still refused, not guessed
    with pytest.raises(InputError, match=rf"row {row} .*`capacity`"):
        compute_accessibility(small_city.network, residences, facilities, load_catalogue())
