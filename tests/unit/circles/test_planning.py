"""Siting on the small demo city, checked by re-evaluating coverage with the evaluation itself."""

import dataclasses

import numpy as np
import pytest

from shancheng.circles.accessibility import compute_accessibility
from shancheng.circles.candidates import grid_candidates
from shancheng.circles.capacity import capacity_access
from shancheng.circles.coverage import residence_coverage
from shancheng.circles.evaluate import evaluate_city
from shancheng.circles.plan_tables import apply_plan
from shancheng.circles.planning import plan_max_cover, plan_set_cover, prepare_siting
from shancheng.circles.residences import residences_from_buildings
from shancheng.circles.standard import load_catalogue
from shancheng.circles.whatif import WhatIf
from shancheng.errors import InfeasiblePlanError, InputError

REQUIREMENT = "kindergarten_5min"


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def homes(small_city):
    return residences_from_buildings(small_city)


@pytest.fixture(scope="module")
def instance(small_city, homes, catalogue):
    candidates = grid_candidates(small_city)
    return prepare_siting(small_city.network, homes, small_city.facilities, catalogue,
                          REQUIREMENT, candidates)  # fmt: skip


def _share(evaluation, measure):
    table = evaluation.table
    row = table[(table["unit_level"] == "city") & (table["age_group"] == "all")
                & (table["measure"] == measure)]  # fmt: skip
    return float(row["share"].iloc[0])


def test_set_cover_plan_reaches_target_when_re_evaluated(small_city, instance, catalogue):
    target = 0.9
    plan = plan_set_cover(instance, target)
    assert plan.result.method == "exact"
    assert plan.result.gap == pytest.approx(0.0)
    assert plan.share_before < target <= plan.share_after
    planned = dataclasses.replace(small_city, facilities=apply_plan(plan, small_city.facilities))
    before = _share(evaluate_city(small_city, catalogue), REQUIREMENT)
    after = _share(evaluate_city(planned, catalogue), REQUIREMENT)
    assert before == pytest.approx(plan.share_before)
    assert after >= target
    assert after == pytest.approx(plan.share_after)
    table = plan.unit_table()
    city = table[table["unit_level"] == "city"].iloc[0]
    assert city["share_after"] == pytest.approx(after)
    streets = table[table["unit_level"] == "street"]
    assert streets["covered_after"].sum() == pytest.approx(city["covered_after"])
    # one site fewer cannot reach the target: the plan is minimal (exact solver)
    fewer = plan_max_cover(instance, len(plan.sites) - 1)
    assert fewer.share_after < target


def test_full_coverage_refused_naming_the_residents(small_city, homes, instance, catalogue):
    with pytest.raises(InfeasiblePlanError, match="cannot be reached") as info:
        plan_set_cover(instance, 1.0)
    error = info.value
    assert error.reason == "unreachable"
    assert len(error.why) == len(error.uncoverable) > 0
    # cross-check with the evaluation: build at every candidate, the rest stay uncovered
    everywhere = dataclasses.replace(
        plan_max_cover(instance, 0), result=dataclasses.replace(
            plan_max_cover(instance, 0).result, sites=np.arange(len(instance.candidates))),
        sites=instance.candidates.assign(newly_covered=0.0),
    )  # fmt: skip
    facilities = apply_plan(everywhere, small_city.facilities)
    acc = compute_accessibility(small_city.network, homes, facilities, catalogue)
    cov = residence_coverage(acc, catalogue)
    people = homes["population"].to_numpy() > 0
    left = set(homes["residence_id"].to_numpy()[~cov.column(REQUIREMENT) & people].tolist())
    assert set(error.uncoverable) == left


def test_contradictory_k_and_no_candidates(small_city, homes, instance, catalogue):
    n = len(instance.candidates)
    with pytest.raises(InfeasiblePlanError, match=f"only {n} candidate sites") as info:
        plan_max_cover(instance, n + 1)
    assert info.value.reason == "k_out_of_range"
    empty = prepare_siting(small_city.network, homes, small_city.facilities, catalogue,
                           REQUIREMENT, instance.candidates.iloc[:0])  # fmt: skip
    with pytest.raises(InfeasiblePlanError, match="no candidate sites"):
        plan_max_cover(empty, 1)
    with pytest.raises(InfeasiblePlanError, match="no candidate sites"):
        plan_set_cover(empty, 0.99)


def test_what_if_equals_full_re_evaluation(small_city, homes, instance, catalogue):
    facilities = small_city.facilities
    state = WhatIf.from_instance(instance, catalogue, facilities)
    base = _evaluate(small_city, homes, catalogue, facilities)
    np.testing.assert_array_equal(state.covered, base[0])
    np.testing.assert_allclose(state.per_1000, base[1], rtol=1e-9, atol=1e-9)

    plan = plan_max_cover(instance, 2)
    first = str(plan.sites["candidate_id"].iloc[0])
    change = state.add_candidate(first, capacity=120.0)
    assert change.searched_nodes > 0
    added = apply_plan(plan.__class__(**{**plan.__dict__, "sites": plan.sites.iloc[:1].assign(
        capacity=120.0)}), facilities)  # fmt: skip
    after = _evaluate(small_city, homes, catalogue, added)
    np.testing.assert_array_equal(state.covered, after[0])
    np.testing.assert_allclose(state.per_1000, after[1], rtol=1e-9, atol=1e-9)
    assert set(change.newly_covered.tolist()) == set(np.flatnonzero(after[0] & ~base[0]).tolist())
    city_row = change.units[change.units["unit_level"] == "city"]
    gained = instance.weight[after[0]].sum() - instance.weight[base[0]].sum()
    assert float(city_row["covered_change"].sum()) == pytest.approx(gained)

    kinder = facilities[facilities["category"] == "kindergarten"]
    gone = str(kinder["facility_id"].iloc[0])
    state.remove(gone)
    state.resize(f"planned-{first}", 45.0)
    fewer = added[added["facility_id"].astype(str) != gone].copy()
    fewer.loc[fewer["facility_id"] == f"planned-{first}", "capacity"] = 45.0
    final = _evaluate(small_city, homes, catalogue, fewer)
    np.testing.assert_array_equal(state.covered, final[0])
    np.testing.assert_allclose(state.per_1000, final[1], rtol=1e-9, atol=1e-9)


def _evaluate(city, homes, catalogue, facilities):
    acc = compute_accessibility(city.network, homes, facilities, catalogue)
    cap = capacity_access(acc, catalogue)
    cov = residence_coverage(acc, catalogue)
    return cov.column(REQUIREMENT), cap.per_1000[:, cap.categories.index("kindergarten")]


def test_coverage_sets_equal_scipy_dijkstra(instance):
    """Each candidate's row = residents whose walk TO it is within the threshold (scipy)."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import dijkstra

    net = instance.graph.network
    order = np.lexsort((net.edge_time_s, net.edge_head, net.edge_tail))
    tail, head, time_s = net.edge_tail[order], net.edge_head[order], net.edge_time_s[order]
    first = np.r_[True, (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])]  # fastest parallel arc
    graph = sp.csr_array((time_s[first], (tail[first], head[first])),
                         shape=(net.n_nodes, net.n_nodes))  # fmt: skip
    rows = np.flatnonzero(instance.candidate_node >= 0)[:40]
    # walking to the candidate: shortest paths on the transposed graph from it
    times = dijkstra(graph.T, indices=instance.candidate_node[rows],
                     limit=instance.threshold_s + 1e-6)  # fmt: skip
    demand_nodes = instance.residence_node[instance.demand]
    for r, j in enumerate(rows):
        expected = np.flatnonzero(times[r, demand_nodes] <= instance.threshold_s)
        got = instance.matrix.indices[instance.matrix.indptr[j] : instance.matrix.indptr[j + 1]]
        np.testing.assert_array_equal(np.sort(got), expected)
    assert instance.matrix.nnz > 0


def test_what_if_drop_at_a_point(small_city, instance, catalogue):
    facilities = small_city.facilities
    site = instance.candidates.iloc[7]
    by_candidate = WhatIf.from_instance(instance, catalogue, facilities)
    by_point = WhatIf.from_instance(instance, catalogue, facilities)
    a = by_candidate.add_candidate(site["candidate_id"], capacity=50.0)
    # grid candidates are street nodes: a drop 3 m away lands on the same node
    b = by_point.add_at("drop", site["x_utm"] + 3.0, site["y_utm"], capacity=50.0)
    np.testing.assert_array_equal(by_candidate.covered, by_point.covered)
    np.testing.assert_allclose(by_candidate.per_1000, by_point.per_1000)
    assert a.units.equals(b.units)
    with pytest.raises(InputError, match="from the nearest street node"):
        by_point.add_at("far", site["x_utm"] + 1e5, site["y_utm"])
    with pytest.raises(InputError, match="already there"):
        by_point.add_at("drop", site["x_utm"], site["y_utm"])
