"""Maximal and set covering: exact solver = brute-force enumeration; greedy within its bound."""

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from shancheng.circles.siting import GREEDY_RATIO, max_cover, set_cover
from shancheng.errors import InfeasiblePlanError


def _brute_max(dense, w, k):
    """Best covered weight over every set of exactly min(k, n) sites (enumeration)."""
    n = dense.shape[0]
    best = 0.0
    for sites in itertools.combinations(range(n), min(k, n)):
        hit = dense[list(sites)].any(axis=0) if sites else np.zeros(dense.shape[1], bool)
        best = max(best, float(w[hit].sum()))
    return best


def _brute_set(dense, w, required):
    """Fewest sites covering at least ``required`` (enumeration by size), or None."""
    n = dense.shape[0]
    for size in range(n + 1):
        for sites in itertools.combinations(range(n), size):
            hit = dense[list(sites)].any(axis=0) if sites else np.zeros(dense.shape[1], bool)
            if w[hit].sum() >= required - 1e-9:
                return size
    return None


@st.composite
def instances(draw):
    n_sites = draw(st.integers(1, 7))
    n_dem = draw(st.integers(1, 12))
    dense = np.array(
        draw(st.lists(st.lists(st.booleans(), min_size=n_dem, max_size=n_dem),
                      min_size=n_sites, max_size=n_sites))
    )  # fmt: skip
    w = np.array(draw(st.lists(st.integers(0, 50), min_size=n_dem, max_size=n_dem)), float)
    return dense, w


@settings(max_examples=60, deadline=None)
@given(instances(), st.integers(0, 7))
def test_exact_max_cover_equals_enumeration(inst, k):
    dense, w = inst
    k = min(k, dense.shape[0])
    result = max_cover(sp.csr_array(dense.astype(np.int8)), w, k, method="exact")
    assert result.method == "exact"
    assert result.objective == pytest.approx(_brute_max(dense, w, k))
    assert result.sites.shape[0] <= k
    assert result.gap == pytest.approx(0.0)


@settings(max_examples=60, deadline=None)
@given(instances(), st.integers(0, 7))
def test_greedy_within_its_bound(inst, k):
    dense, w = inst
    k = min(k, dense.shape[0])
    best = _brute_max(dense, w, k)
    result = max_cover(sp.csr_array(dense.astype(np.int8)), w, k, method="greedy")
    assert result.objective >= GREEDY_RATIO * best - 1e-9
    assert result.bound >= best - 1e-9  # the reported bound is a true upper bound
    assert result.objective <= result.bound + 1e-9


@settings(max_examples=60, deadline=None)
@given(instances(), st.floats(0.0, 1.0))
def test_exact_set_cover_equals_enumeration(inst, fraction):
    dense, w = inst
    reach = dense.any(axis=0)
    required = fraction * float(w[reach].sum())
    result = set_cover(sp.csr_array(dense.astype(np.int8)), w, required, method="exact")
    assert result.objective == _brute_set(dense, w, required)
    assert result.covered_weight >= required - 1e-6
    greedy = set_cover(sp.csr_array(dense.astype(np.int8)), w, required, method="greedy")
    assert greedy.covered_weight >= required - 1e-6
    assert greedy.bound <= result.objective  # a true lower bound


def test_greedy_can_be_suboptimal_and_says_so():
    # site 0 covers the middle 4 (weight 4), sites 1 and 2 cover 3 each on the sides
    dense = np.array([[0, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], bool)
    w = np.ones(6)
    greedy = max_cover(sp.csr_array(dense.astype(np.int8)), w, 2, method="greedy")
    exact = max_cover(sp.csr_array(dense.astype(np.int8)), w, 2, method="exact")
    assert exact.objective == 6.0
    assert greedy.objective == 5.0  # picks the 4 first, then one side adds only 1
    assert greedy.bound >= 6.0
    assert greedy.gap == pytest.approx((greedy.bound - 5.0) / 5.0)


def test_contradictory_requests_are_refused():
    a = sp.csr_array(np.array([[1, 0, 0], [0, 1, 0]], np.int8))
    w = np.array([5.0, 7.0, 11.0])
    with pytest.raises(InfeasiblePlanError, match="k=3 new sites requested but there are 2"):
        max_cover(a, w, 3)
    with pytest.raises(InfeasiblePlanError, match="no candidate sites") as no_sites:
        max_cover(sp.csr_array((0, 3)), w, 1)
    assert no_sites.value.reason == "no_candidates"
    with pytest.raises(InfeasiblePlanError, match="cover only 12.0") as info:
        set_cover(a, w, 23.0)
    assert info.value.reason == "unreachable"
    assert list(info.value.uncoverable) == [2]
    assert math.isclose(set_cover(a, w, 12.0).objective, 2.0)
