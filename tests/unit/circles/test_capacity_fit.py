"""The 2SFCA-based iteration that adds places until reachable demand meets the norm."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shancheng.circles.candidates import grid_candidates
from shancheng.circles.capacity import decay_weight, two_step_fca
from shancheng.circles.capacity_fit import fit_capacity, fit_places, places_lower_bound
from shancheng.circles.planning import plan_max_cover, prepare_siting
from shancheng.circles.residences import residences_from_buildings
from shancheng.circles.standard import load_catalogue
from shancheng.circles.whatif import WhatIf


def test_hand_computed_two_facilities_step_decay():
    """A (10 places) reaches r0 (100 children) and r1 (100); B (0) reaches r1 and r2 (250); r3
    (50) reaches nothing. Norm 200 per 1,000 = 0.2 places per child.

    D_A = 200, D_B = 350; A_r0 = A_r1 = 10/200 = 0.05, A_r2 = 0. A place helps r1 more at A
    (1/200 > 1/350), so r0, r1 lean on A (200 children), r2 on B (250): B first, 0.2 x 350 =
    70 places (r1 then has 0.05 + 70/350 = 0.25); then A: (0.2 - 0.05) x 200 = 30 places.
    r1 ends with 0.05 + 70/350 + 30/200 = 0.4. The LP: x_A >= 30 (r0), x_B >= 70 (r2), so 100 is also the fewest.
    """
    res = [0, 1, 1, 2]
    fac = [0, 0, 1, 1]
    weight = decay_weight([60.0, 200.0, 100.0, 300.0], 300.0, "none")
    demand = [100.0, 100.0, 250.0, 50.0]
    fit = fit_places(res, fac, weight, demand=demand, supply=[10.0, 0.0], norm_per_1000=200.0)
    assert fit.steps == ((1, 70.0), (0, 30.0))
    assert fit.added.tolist() == [30.0, 70.0]
    assert fit.status == "met"
    np.testing.assert_allclose(fit.access, [0.2, 0.4, 0.2, 0.0])
    assert fit.unreachable.tolist() == [False, False, False, True]
    assert fit.target.tolist() == [True, True, True, False]
    assert not fit.inadequate.any()
    bound = places_lower_bound(res, fac, weight, demand=demand, norm_per_1000=200.0,
                               access=[0.05, 0.05, 0.0, 0.0])  # fmt: skip
    assert bound == pytest.approx(100.0)
    # budget: the first step (70) fits in 80 places, the second (30) does not
    short = fit_places(res, fac, weight, demand=demand, supply=[10.0, 0.0],
                       norm_per_1000=200.0, max_places=80.0)  # fmt: skip
    assert short.status == "budget"
    assert short.added.tolist() == [0.0, 70.0]
    assert short.inadequate.tolist() == [True, False, False, False]
    one = fit_places(res, fac, weight, demand=demand, supply=[10.0, 0.0],
                     norm_per_1000=200.0, max_steps=1)  # fmt: skip
    assert one.status == "steps"
    assert one.added.tolist() == [0.0, 70.0]


@st.composite
def _instances(draw):
    n_res = draw(st.integers(1, 12))
    n_fac = draw(st.integers(1, 5))
    pairs = draw(st.sets(st.tuples(st.integers(0, n_res - 1), st.integers(0, n_fac - 1)),
                         max_size=n_res * n_fac))  # fmt: skip
    pairs = sorted(pairs)
    time_s = draw(st.lists(st.floats(0.0, 400.0), min_size=len(pairs), max_size=len(pairs)))
    demand = draw(st.lists(st.sampled_from([0.0, 1.0, 7.0, 40.0, 250.0]),
                           min_size=n_res, max_size=n_res))  # fmt: skip
    supply = draw(st.lists(st.sampled_from([0.0, 3.0, 50.0]), min_size=n_fac, max_size=n_fac))
    decay = draw(st.sampled_from(["none", "gaussian"]))
    norm = draw(st.sampled_from([4.5, 200.0, 900.0]))
    res = np.array([p[0] for p in pairs], dtype=np.int64)
    fac = np.array([p[1] for p in pairs], dtype=np.int64)
    return res, fac, np.array(time_s), np.array(demand), np.array(supply), decay, norm


@settings(max_examples=150, deadline=None)
@given(_instances(), st.booleans(), st.sampled_from([0.0, 0.3]))
def test_every_reachable_resident_is_adequate_when_recomputed(case, whole, floor):
    res, fac, time_s, demand, supply, decay, norm = case
    catchment = 300.0
    weight = decay_weight(time_s, catchment, decay)
    fit = fit_places(res, fac, weight, demand=demand, supply=supply, norm_per_1000=norm,
                     whole_places=whole, min_weight=floor)  # fmt: skip
    assert fit.status == "met"
    assert len(fit.steps) <= supply.shape[0]  # each facility picked at most once
    assert (fit.added >= 0).all()
    if whole:
        np.testing.assert_array_equal(fit.added, np.round(fit.added))
    # from scratch, with the 2SFCA of capacity.py on the enlarged supply
    access, _ = two_step_fca(res, fac, time_s, demand=demand, supply=supply + fit.added,
                             catchment_s=catchment, decay=decay)  # fmt: skip
    np.testing.assert_allclose(access, fit.access, rtol=1e-9, atol=1e-12)
    reach = np.zeros(demand.shape[0], bool)
    reach[res[(weight > 0) & (weight >= floor)]] = True
    target = reach & (demand > 0)
    assert (1000.0 * access[target] >= norm * (1.0 - 1e-9)).all()
    np.testing.assert_array_equal(fit.unreachable, ~reach & (demand > 0))
    np.testing.assert_array_equal(fit.target, target)
    before, _ = two_step_fca(res, fac, time_s, demand=demand, supply=supply,
                             catchment_s=catchment, decay=decay)  # fmt: skip
    bound = places_lower_bound(res, fac, weight, demand=demand, norm_per_1000=norm,
                               access=before, min_weight=floor)  # fmt: skip
    assert fit.added.sum() >= bound * (1.0 - 1e-7) - 1e-7


def test_demo_city_reaches_all_reachable_demand(small_city):
    catalogue = load_catalogue()
    homes = residences_from_buildings(small_city)
    inst = prepare_siting(small_city.network, homes, small_city.facilities, catalogue,
                          "kindergarten_5min", grid_candidates(small_city))  # fmt: skip
    plan = plan_max_cover(inst, 3)
    state = WhatIf.from_instance(inst, catalogue, small_city.facilities)
    for cid in plan.sites["candidate_id"]:
        state.add_candidate(cid, capacity=0.0)
    fit = fit_capacity(state, small_city)
    assert fit.status == "met"
    assert fit.share_before < 1.0
    assert fit.share_after == pytest.approx(1.0)
    assert fit.places_added >= fit.lower_bound * (1 - 1e-7)
    assert fit.places_added == pytest.approx(fit.facilities["added"].sum())
    assert fit.places_added == pytest.approx(fit.streets["added"].sum())
    assert set(fit.facilities["kind"]) <= {"new", "existing"}
    assert (fit.facilities["street_code"] != "").all()
    # re-evaluate from scratch with capacity.py's 2SFCA on every facility of the category
    kinder = small_city.facilities[small_city.facilities["category"] == "kindergarten"]
    keys = list(state.active)
    position = {k: i for i, k in enumerate(keys)}
    supply = np.array([state.active[k].capacity for k in keys])
    rows, cols, times = [], [], []
    for k in keys:
        item = state.active[k]
        rows.append(item.residences)
        cols.append(np.full(item.residences.shape[0], position[k]))
        times.append(item.time_s)
    res, fac, time_s = np.concatenate(rows), np.concatenate(cols), np.concatenate(times)
    access, _ = two_step_fca(res, fac, time_s, demand=state.demand_people, supply=supply,
                             catchment_s=state.catchment_s, decay=catalogue.decay)  # fmt: skip
    weight = decay_weight(time_s, state.catchment_s, catalogue.decay)
    reach = np.zeros(len(inst.residences), bool)
    reach[res[weight > 0]] = True
    people = state.demand_people
    target = reach & (people > 0)
    assert (1000.0 * access[target] >= state.norm_per_1000 * (1 - 1e-9)).all()
    assert set(fit.unreachable["residence_id"]) == set(
        inst.residences["residence_id"].to_numpy()[~reach & (people > 0)]
    )
    assert len(kinder) + len(plan.sites) == len(keys)
