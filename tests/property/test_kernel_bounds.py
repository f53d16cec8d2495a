"""The search kernels' oracle tests again, with numba's bounds checks on every array access.

The kernels run without bounds checks: an index one past a work array's end writes into
whatever memory follows, and an oracle test passes as long as that memory held nothing the
answer used. Here every compiled function of the kernel modules is recompiled with
``boundscheck=True`` (helpers inlined into their callers take the callers' checks), so such
an index raises ``IndexError`` instead.
"""

from __future__ import annotations

import numba as nb
import pytest
from numba.core.registry import CPUDispatcher
from tests.property import test_search_oracle as oracle

from shancheng.network import _dial, _kernels


@pytest.fixture(scope="module")
def bounds_checked():
    """Swap each kernel module's compiled functions for bounds-checked builds, then restore."""
    swapped = []
    for module in (_dial, _kernels):
        for name, value in list(vars(module).items()):
            if isinstance(value, CPUDispatcher):
                options = {**value.targetoptions, "boundscheck": True, "cache": False}
                options.pop("nopython", None)
                swapped.append((module, name, value))
                setattr(module, name, nb.njit(**options)(value.py_func))
    assert len(swapped) > 10
    yield
    for module, name, value in swapped:
        setattr(module, name, value)


@pytest.mark.parametrize(
    "oracle_test",
    [
        oracle.test_nearest_heap_equals_networkx,
        oracle.test_nearest_buckets_equals_networkx_on_integer_times,
        oracle.test_counts_equal_brute_force,
        oracle.test_nearest_ties_follow_the_documented_rule,
        oracle.test_reach_equals_nearest_times_and_count_within,
    ],
    ids=lambda test: test.__name__,
)
def test_oracles_hold_with_bounds_checks(bounds_checked, oracle_test):
    oracle_test()
