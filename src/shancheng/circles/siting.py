"""Maximal covering and set covering on sparse coverage sets, exact (HiGHS) or greedy.

Given ``A`` (``n_sites x n_demand``, sparse 0/1: site ``j`` covers demand point ``i`` when the
walk from ``i`` to ``j`` is within the threshold) and demand weights ``w`` (residents not yet
covered by any existing facility):

* **maximal covering** (MCLP, Church & ReVelle 1974): choose ``k`` sites covering the most
  weight — ``max Σ w_i z_i`` s.t. ``z_i ≤ Σ_j A_ji y_j``, ``Σ y_j ≤ k``, ``y`` binary,
  ``0 ≤ z ≤ 1``;
* **set covering** (partial, PSCLP): the fewest sites covering at least ``required`` weight —
  ``min Σ y_j`` s.t. ``Σ w_i z_i ≥ required``, the same linking rows (``required`` = all the
  coverable weight gives the classic LSCP).

``z`` may stay continuous: with ``y`` integer, ``z_i`` can only reach 1 where ``i`` is covered.
The model goes to HiGHS (:func:`scipy.optimize.milp`) as sparse arrays in one call, within a
time limit. If HiGHS proves nothing in time (or ``method="greedy"``), the lazy greedy runs
instead: coverage is monotone submodular, so the greedy ``k`` sites cover at least
``1 - 1/e`` of the optimum (Nemhauser, Wolsey & Fisher 1978). Every result carries a proven
bound on the optimum — HiGHS's dual bound, or for the greedy the smallest of ``f/(1 - 1/e)``,
the online bound ``f(S) + Σ top-k marginal gains`` (Leskovec et al. 2007) and the LP
relaxation — and the gap to it.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, milp

from shancheng.circles.siting_reduce import reduce_instance
from shancheng.errors import InfeasiblePlanError

if TYPE_CHECKING:
    from shancheng.types import FloatArray, IntArray

logger = logging.getLogger(__name__)

Method = Literal["auto", "exact", "greedy"]
GREEDY_RATIO = 1.0 - 1.0 / math.e
"""Worst-case share of the optimum the greedy maximal covering reaches."""
DEFAULT_TIME_LIMIT_S = 30.0
_TOL = 1e-9
_HALF = 0.5


@dataclass(frozen=True, eq=False)
class SitingResult:
    """A chosen set of sites, its value, and how far from optimal it can be.

    Attributes
    ----------
    problem
        ``"max_cover"`` or ``"set_cover"``.
    sites
        Indices of the chosen sites (rows of ``A``), ascending.
    covered_weight
        Demand weight the chosen sites cover (recomputed from ``A``).
    objective
        The objective value: covered weight (max cover) or number of sites (set cover).
    bound
        Proven bound on the optimum: an upper bound for max cover, a lower bound for set cover.
    gap
        ``|bound - objective| / max(|objective|, 1e-12)`` (0 when proven optimal).
    method
        ``"exact"`` (HiGHS proved optimality), ``"exact-time-limit"`` (HiGHS's best incumbent
        when the time ran out) or ``"greedy"``.
    solve_time_s
        Wall time of the solve.
    """

    problem: str
    sites: IntArray
    covered_weight: float
    objective: float
    bound: float
    gap: float
    method: str
    solve_time_s: float


def covered_weight(matrix: sp.csr_array, weight: FloatArray, sites: IntArray) -> float:
    """Weight of the demand points covered by ``sites``."""
    if sites.shape[0] == 0:
        return 0.0
    hit = np.zeros(matrix.shape[1], dtype=bool)
    hit[matrix[sites].indices] = True
    return float(weight[hit].sum())


def max_cover(
    matrix: sp.csr_array,
    weight: npt.ArrayLike,
    k: int,
    *,
    method: Method = "auto",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> SitingResult:
    """Choose at most ``k`` sites covering the most demand weight.

    Parameters
    ----------
    matrix
        ``(n_sites, n_demand)`` sparse 0/1 coverage sets.
    weight
        Demand weight of each point (residents), >= 0.
    k
        Number of new sites.
    method
        ``"exact"`` (HiGHS; its incumbent if the time runs out), ``"greedy"``, or ``"auto"``
        (HiGHS, falling back to the greedy if it found nothing in time).
    time_limit_s
        Time limit of HiGHS.

    Returns
    -------
    SitingResult

    Raises
    ------
    InfeasiblePlanError
        ``k`` < 0, no site to choose from, or ``k`` larger than the number of sites.
    """
    a, w = _check(matrix, weight)
    n_sites = a.shape[0]
    if n_sites == 0:
        msg = "maximal covering: there are no candidate sites to choose from"
        raise InfeasiblePlanError(msg, reason="no_candidates")
    if k < 0 or k > n_sites:
        msg = (
            f"maximal covering: k={k} new sites requested but there are {n_sites} candidate "
            f"sites; k must be between 0 and {n_sites}"
        )
        raise InfeasiblePlanError(msg, reason="k_out_of_range")
    started = time.perf_counter()
    a, w, sites = reduce_instance(a, w)
    if a.shape[0] == 0 or a.shape[1] == 0 or k == 0:
        empty = np.zeros(0, np.int64)
        return SitingResult("max_cover", empty, 0.0, 0.0, 0.0, 0.0, "exact", 0.0)
    if method != "greedy":
        result = _max_cover_milp(a, w, k, time_limit_s)
        if result is not None and (method == "exact" or result.method == "exact"):
            return _timed(result, started, sites)
        if result is not None:
            greedy = _max_cover_greedy(a, w, k)
            best = result if result.objective >= greedy.objective else greedy
            bound = min(result.bound, greedy.bound)
            return _timed(_with_bound(best, bound), started, sites)
    return _timed(_max_cover_greedy(a, w, k), started, sites)


def set_cover(
    matrix: sp.csr_array,
    weight: npt.ArrayLike,
    required_weight: float,
    *,
    method: Method = "auto",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> SitingResult:
    """Choose the fewest sites covering at least ``required_weight``.

    Parameters
    ----------
    matrix, weight, method, time_limit_s
        As in :func:`max_cover`.
    required_weight
        Demand weight that must be covered.

    Returns
    -------
    SitingResult
        ``objective`` is the number of sites; ``bound`` a proven lower bound on it.

    Raises
    ------
    InfeasiblePlanError
        The sites together cover less than ``required_weight``; ``uncoverable`` lists the
        demand points no site reaches.
    """
    a, w = _check(matrix, weight)
    reach = np.asarray(a.sum(axis=0)).ravel() > 0
    coverable = float(w[reach].sum())
    if required_weight > coverable * (1 + 1e-12) + _TOL:
        lost = np.flatnonzero(~reach & (w > 0))
        msg = (
            f"set covering: {required_weight:,.1f} must be covered but all {a.shape[0]} "
            f"candidate sites together cover only {coverable:,.1f}; {lost.shape[0]} demand "
            f"points ({float(w[lost].sum()):,.1f}) are beyond every candidate's threshold"
        )
        raise InfeasiblePlanError(msg, reason="unreachable", uncoverable=lost)
    if np.all(w == np.round(w)):  # head counts: only whole totals are reachable
        required_weight = float(math.ceil(required_weight - 1e-9))
    started = time.perf_counter()
    if required_weight <= _TOL:
        empty = np.zeros(0, np.int64)
        return SitingResult("set_cover", empty, 0.0, 0.0, 0.0, 0.0, "exact", 0.0)
    a, w, sites = reduce_instance(a, w)
    if method != "greedy":
        result = _set_cover_milp(a, w, required_weight, time_limit_s)
        if result is not None and (method == "exact" or result.method == "exact"):
            return _timed(result, started, sites)
        if result is not None:
            greedy = _set_cover_greedy(a, w, required_weight, lower=result.bound)
            best = result if result.objective <= greedy.objective else greedy
            return _timed(_with_bound(best, max(result.bound, greedy.bound)), started, sites)
    return _timed(_set_cover_greedy(a, w, required_weight, lower=None), started, sites)


def _check(matrix: sp.csr_array, weight: npt.ArrayLike) -> tuple[sp.csr_array, FloatArray]:
    a = sp.csr_array(matrix)
    w = np.asarray(weight, dtype=np.float64).ravel()
    if w.shape[0] != a.shape[1]:
        msg = f"weight has {w.shape[0]} values but the coverage matrix {a.shape[1]} demand points"
        raise InfeasiblePlanError(msg, reason="bad_input")
    if not (np.isfinite(w).all() and (w >= 0).all()):
        bad = int(np.flatnonzero(~(np.isfinite(w) & (w >= 0)))[0])
        msg = f"weight of demand point {bad} must be a finite number >= 0, got {w[bad]!r}"
        raise InfeasiblePlanError(msg, reason="bad_input")
    a.data = np.ones_like(a.data, dtype=np.float64)
    a.sum_duplicates()
    a.data = np.minimum(a.data, 1.0)
    return a, w


def _linking(a: sp.csr_array) -> sp.csr_array:
    """Rows ``z_i - Σ_j A_ji y_j ≤ 0`` over the variables ``[y, z]``."""
    n_sites, n_dem = a.shape
    block = sp.hstack([-a.T.tocsr(), sp.identity(n_dem, format="csr")], format="csr")
    return sp.csr_array(block, shape=(n_dem, n_sites + n_dem))


def _solve(
    c: FloatArray,
    constraints: list[LinearConstraint],
    n_sites: int,
    time_limit_s: float,
    *,
    integral: bool = True,
) -> OptimizeResult:
    n = c.shape[0]
    integrality = np.zeros(n, dtype=np.int8)
    if integral:
        integrality[:n_sites] = 1
    return milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(np.zeros(n), np.ones(n)),
        options={"time_limit": float(time_limit_s), "disp": False},
    )


def _sites_from(x: FloatArray, n_sites: int) -> IntArray:
    return np.flatnonzero(x[:n_sites] > _HALF).astype(np.int64)


def _max_cover_milp(
    a: sp.csr_array, w: FloatArray, k: int, time_limit_s: float
) -> SitingResult | None:
    n_sites = a.shape[0]
    keep = np.flatnonzero((np.asarray(a.sum(axis=0)).ravel() > 0) & (w > 0))
    sub = sp.csr_array(a[:, keep])
    ws = w[keep]
    c = np.concatenate([np.zeros(n_sites), -ws])
    budget = sp.csr_array(
        (np.ones(n_sites), (np.zeros(n_sites, np.int64), np.arange(n_sites))),
        shape=(1, n_sites + keep.shape[0]),
    )
    constraints = [
        LinearConstraint(_linking(sub), -np.inf, 0.0),
        LinearConstraint(budget, 0.0, float(k)),
    ]
    res = _solve(c, constraints, n_sites, time_limit_s)
    if res.x is None:
        logger.warning("max cover: HiGHS found no solution in %g s (%s)", time_limit_s, res.message)
        return None
    sites = _sites_from(res.x, n_sites)
    value = covered_weight(a, w, sites)
    dual = getattr(res, "mip_dual_bound", None)
    bound = -float(dual) if dual is not None and np.isfinite(dual) else float(ws.sum())
    bound = max(bound, value)
    exact = res.status == 0
    return SitingResult(
        "max_cover", sites, value, value, value if exact else bound,
        0.0 if exact else _gap(value, bound), "exact" if exact else "exact-time-limit", 0.0,
    )  # fmt: skip


def _set_cover_milp(
    a: sp.csr_array, w: FloatArray, required: float, time_limit_s: float
) -> SitingResult | None:
    n_sites = a.shape[0]
    keep = np.flatnonzero((np.asarray(a.sum(axis=0)).ravel() > 0) & (w > 0))
    sub = sp.csr_array(a[:, keep])
    ws = w[keep]
    c = np.concatenate([np.ones(n_sites), np.zeros(keep.shape[0])])
    demand = sp.csr_array(np.concatenate([np.zeros(n_sites), ws])[None, :])
    constraints = [
        LinearConstraint(_linking(sub), -np.inf, 0.0),
        LinearConstraint(demand, required * (1 - 1e-12) - _TOL, np.inf),
    ]
    res = _solve(c, constraints, n_sites, time_limit_s)
    if res.x is None:
        logger.warning("set cover: HiGHS found no solution in %g s (%s)", time_limit_s, res.message)
        return None
    sites = _sites_from(res.x, n_sites)
    if covered_weight(a, w, sites) < required - 1e-9 * max(1.0, float(w.sum())):
        logger.warning("set cover: HiGHS's answer misses the target by its tolerance; greedy")
        return None
    value = float(sites.shape[0])
    dual = getattr(res, "mip_dual_bound", None)
    bound = math.ceil(float(dual) - 1e-6) if dual is not None and np.isfinite(dual) else 1.0
    exact = res.status == 0
    return SitingResult(
        "set_cover", sites, covered_weight(a, w, sites), value, value if exact else bound,
        0.0 if exact else _gap(value, bound), "exact" if exact else "exact-time-limit", 0.0,
    )  # fmt: skip


def _max_cover_greedy(a: sp.csr_array, w: FloatArray, k: int) -> SitingResult:
    """Lazy greedy (CELF): marginal gains only shrink, so stale heap keys are upper bounds."""
    chosen, covered, gains_left = _lazy_greedy(a, w, stop_sites=k, stop_weight=np.inf)
    value = float(w[covered].sum())
    online = value + float(np.sort(gains_left)[::-1][:k].sum())
    bound = min(value / GREEDY_RATIO if value > 0 else 0.0, online)
    bound = max(bound, value)
    return SitingResult("max_cover", np.sort(chosen), value, value, bound,
                        _gap(value, bound), "greedy", 0.0)  # fmt: skip


def _set_cover_greedy(
    a: sp.csr_array, w: FloatArray, required: float, *, lower: float | None
) -> SitingResult:
    chosen, covered, _ = _lazy_greedy(a, w, stop_sites=a.shape[0], stop_weight=required)
    value = float(chosen.shape[0])
    bound = lower if lower is not None else _set_cover_lp_bound(a, w, required)
    return SitingResult("set_cover", np.sort(chosen), float(w[covered].sum()), value, bound,
                        _gap(value, bound), "greedy", 0.0)  # fmt: skip


def _set_cover_lp_bound(a: sp.csr_array, w: FloatArray, required: float) -> float:
    """Lower bound on the fewest sites: the LP relaxation, rounded up."""
    n_sites = a.shape[0]
    c = np.concatenate([np.ones(n_sites), np.zeros(a.shape[1])])
    demand = sp.csr_array(np.concatenate([np.zeros(n_sites), w])[None, :])
    constraints = [
        LinearConstraint(_linking(a), -np.inf, 0.0),
        LinearConstraint(demand, required * (1 - 1e-12) - _TOL, np.inf),
    ]
    res = _solve(c, constraints, n_sites, DEFAULT_TIME_LIMIT_S, integral=False)
    return float(math.ceil(res.fun - 1e-6)) if res.status == 0 else 1.0


def _lazy_greedy(
    a: sp.csr_array, w: FloatArray, *, stop_sites: int, stop_weight: float
) -> tuple[IntArray, npt.NDArray[np.bool_], FloatArray]:
    """Greedy on marginal covered weight; returns chosen sites, covered flags, last gains."""
    covered = np.zeros(a.shape[1], dtype=bool)
    indptr, indices = a.indptr, a.indices
    gains = np.asarray(a @ w, dtype=np.float64).ravel()
    heap = [(-g, j) for j, g in enumerate(gains.tolist()) if g > 0]
    heapq.heapify(heap)
    chosen: list[int] = []
    total = 0.0
    while heap and len(chosen) < stop_sites and total < stop_weight - _TOL:
        _, j = heapq.heappop(heap)
        members = indices[indptr[j] : indptr[j + 1]]
        fresh = float(w[members[~covered[members]]].sum())
        gains[j] = fresh
        if fresh <= 0:
            continue
        if heap and fresh < -heap[0][0] - _TOL:
            heapq.heappush(heap, (-fresh, j))
            continue
        chosen.append(j)
        covered[members] = True
        total += fresh
        gains[j] = 0.0
    # exact marginal gains of every site at the end (for the online bound)
    uncovered_w = np.where(covered, 0.0, w)
    last = np.asarray(a @ uncovered_w, dtype=np.float64).ravel()
    last[chosen] = 0.0
    return np.asarray(chosen, dtype=np.int64), covered, last


def _gap(value: float, bound: float) -> float:
    return abs(bound - value) / max(abs(value), 1e-12)


def _with_bound(result: SitingResult, bound: float) -> SitingResult:
    return SitingResult(
        result.problem, result.sites, result.covered_weight, result.objective, bound,
        _gap(result.objective, bound), result.method, result.solve_time_s,
    )  # fmt: skip


def _timed(result: SitingResult, started: float, sites: IntArray) -> SitingResult:
    """Stamp the time, and map the reduced instance's sites back to the caller's rows."""
    return SitingResult(
        result.problem, np.sort(sites[result.sites]), result.covered_weight, result.objective,
        result.bound, result.gap, result.method, time.perf_counter() - started,
    )  # fmt: skip
