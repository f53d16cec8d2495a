"""Coverage and complete-circle shares against a brute force; unit aggregates add up."""

from collections import defaultdict

import numpy as np
import pytest
from tests.unit.circles.oracle import oracle_nearest

from shancheng.circles.accessibility import compute_accessibility
from shancheng.circles.coverage import aggregate_coverage, residence_coverage
from shancheng.circles.residences import residences_from_buildings
from shancheng.circles.standard import load_catalogue

PARENT = {"district": "city", "street": "district", "community": "street"}
COLUMN = {
    "district": "district_code",
    "street": "street_code",
    "community": "community_code",
    "cell": "cell_id",
}


@pytest.fixture(scope="module")
def evaluated(small_city):
    catalogue = load_catalogue()
    residences = residences_from_buildings(small_city)
    acc = compute_accessibility(small_city.network, residences, small_city.facilities, catalogue)
    coverage = residence_coverage(acc, catalogue)
    table = aggregate_coverage(coverage, residences, city_code="990100")
    return catalogue, residences, acc, coverage, table


def test_shares_equal_a_brute_force_on_the_small_city(small_city, evaluated):
    catalogue, residences, acc, _, table = evaluated
    categories = list(acc.categories)
    fac = acc.facilities
    times = oracle_nearest(
        small_city.network,
        (residences["x_utm"].to_numpy(), residences["y_utm"].to_numpy()),
        (fac["x_utm"].to_numpy(), fac["y_utm"].to_numpy()),
        np.array([categories.index(c) for c in fac["category"]]),
        len(categories),
        cutoff_s=acc.cutoff_s,
    )
    # brute force, one residence at a time, in plain Python
    sums = defaultdict(float)
    for i, home in enumerate(residences.itertuples()):
        flags = {}
        for r in catalogue.requirements:
            flags[r.key] = times[i, categories.index(r.category)] <= r.threshold_min * 60
        for level in catalogue.levels:
            flags[f"complete_{level}min"] = all(
                flags[r.key] for r in catalogue.requirements if r.level_min == level and r.required
            )
        units = {"city": "990100", **{lv: str(getattr(home, col)) for lv, col in COLUMN.items()}}
        for group in catalogue.age_groups.values():
            people = sum(getattr(home, c) for c in group.columns)
            for level, code in units.items():
                sums[(level, code, group.id, "population")] += people
                for measure, ok in flags.items():
                    sums[(level, code, group.id, measure)] += people * ok
    assert len(table) == sum(1 for key in sums if key[3] != "population") > 1000
    for row in table.itertuples():
        population = sums[(row.unit_level, row.unit_code, row.age_group, "population")]
        covered = sums[(row.unit_level, row.unit_code, row.age_group, row.measure)]
        assert row.population == population
        assert row.covered_population == covered
        if population:
            assert row.share == pytest.approx(covered / population)
    city = table[(table.unit_level == "city") & (table.age_group == "all")].set_index("measure")
    assert 0 < city.loc["convenience_store_5min", "share"] < 1  # not a vacuous case


def _check_children_add_up(table):
    for child, parent in PARENT.items():
        kids = table[table.unit_level == child].copy()
        parents = table[table.unit_level == parent]
        kids["parent"] = kids["unit_code"].str[: {"city": 0, "district": 6, "street": 9}[parent]]
        if parent == "city":
            kids["parent"] = parents["unit_code"].iloc[0]
        summed = kids.groupby(["parent", "age_group", "measure"])[
            ["population", "covered_population"]
        ].sum()
        mine = parents.set_index(["unit_code", "age_group", "measure"])[
            ["population", "covered_population"]
        ]
        mine.index.names = summed.index.names
        assert len(summed) == len(mine)
        np.testing.assert_allclose(summed.loc[mine.index].to_numpy(), mine.to_numpy())
    cells = (
        table[table.unit_level == "cell"]
        .groupby(["age_group", "measure"])[["population", "covered_population"]]
        .sum()
    )
    city = table[table.unit_level == "city"].set_index(["age_group", "measure"])[
        ["population", "covered_population"]
    ]
    np.testing.assert_allclose(cells.loc[city.index].to_numpy(), city.to_numpy())


def test_unit_aggregates_sum_to_the_parent_on_the_small_city(evaluated):
    _check_children_add_up(evaluated[4])


@pytest.mark.slow
def test_unit_aggregates_sum_to_the_parent_on_the_demo_city(full_city):
    catalogue = load_catalogue()
    residences = residences_from_buildings(full_city)
    acc = compute_accessibility(full_city.network, residences, full_city.facilities, catalogue)
    table = aggregate_coverage(residence_coverage(acc, catalogue), residences, city_code="990100")
    assert set(table.unit_level) == {"city", "district", "street", "community", "cell"}
    assert (table.unit_level == "community").sum() >= 40 * len(set(table.measure))
    _check_children_add_up(table)


def test_complete_circle_is_the_and_of_its_required_categories(evaluated):
    catalogue, _, _, coverage, _ = evaluated
    for level in catalogue.levels:
        required = [r.key for r in catalogue.requirements_at(level) if r.required]
        expected = np.logical_and.reduce([coverage.column(k) for k in required])
        assert np.array_equal(coverage.column(f"complete_{level}min"), expected)
    optional = [r for r in catalogue.requirements if not r.required]
    assert optional  # hospital and senior canteen do not decide completeness
