"""Places to add so that reachable demand is met: a 2SFCA-based iteration.

The street rule of :mod:`shancheng.circles.capacity_plan` counts places per service area;
walking reach ignores street borders, so it does not promise that anyone can *reach* enough
places. Here places are added to facilities (existing ones, and a plan's new sites held at
capacity 0) until every resident of the demand group who can reach a facility of the category
has enough capacity within reach, as 2SFCA measures it (:mod:`shancheng.circles.capacity`):

    A_i = Σ_j R_j f(t_ij),   R_j = S_j / D_j,   D_j = Σ_k P_k f(t_kj),
    adequate  ⇔  1000 A_i ≥ norm  (the catalogue's ``capacity_per_1000``).

**Why an iteration works.** ``D_j`` depends on demand and walking times only, not on
capacities, so adding ``x`` places at ``j`` raises ``A_i`` by exactly ``x g_ij`` with
``g_ij = f(t_ij) / D_j`` (what :meth:`WhatIf.resize` applies). Access is linear and increasing
in the places added.

**The greedy** (documented model):

1. *target*: residences with people of the demand group (``P_i > 0``) and at least one
   facility with ``f(t_ij) > 0`` — i.e. strictly inside the catchment ``t0`` under the Gaussian
   decay, within ``t0`` under the step. Residences with people and no such facility are
   *unreachable*: places cannot help them, they need a new site (listed, not counted). An
   optional floor ``min_weight`` on ``f`` moves residences reached only at the very edge of a
   catchment to that list too (under the Gaussian, lifting them costs ``deficit D_j / f``);
2. each target residence leans on the facility where a place helps it most, ``argmax_j g_ij``
   (fixed: ``g`` does not change with capacities);
3. while a target residence has ``1000 A_i < norm``: take the facility whose leaning,
   inadequate residences hold the most people; add ``x = max_i (norm/1000 - A_i) / g_ij`` over
   them (rounded up to whole places), which lifts *all* of them — the worst included;
4. stop when none is left (``status="met"``), or before a step would exceed ``max_places``
   (``"budget"``), or after ``max_steps`` (``"steps"``).

Access never falls and step 3 clears every leaning residence of the facility it picks, so a
facility is picked at most once: the loop ends within as many steps as there are facilities.
It is not the fewest places: that is the linear program ``min Σ x_j`` s.t. ``A_i + Σ_j g_ij
x_j ≥ norm/1000``, ``x ≥ 0``, whose optimum :func:`places_lower_bound` reports (HiGHS) as the
bound the greedy is compared with.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from shancheng.circles.capacity import decay_weight
from shancheng.circles.capacity_plan import street_of
from shancheng.circles.whatif import WhatIf

if TYPE_CHECKING:
    from shancheng.circles.planning import Plan
    from shancheng.circles.standard import Catalogue
    from shancheng.data.city import City
    from shancheng.types import BoolArray, FloatArray, IntArray

logger = logging.getLogger(__name__)

Status = Literal["met", "budget", "steps"]
_TOL = 1e-9
"""Relative tolerance of adequacy, as in :func:`shancheng.circles.capacity.capacity_access`."""


@dataclass(frozen=True, eq=False)
class PlacesFit:
    """What the greedy added, on arrays.

    Attributes
    ----------
    added
        Places added to each facility.
    access
        ``A_i`` after the additions.
    target, unreachable
        Residences the fit must serve, and residences with people that no facility reaches.
    inadequate
        Target residences still below the norm (empty when ``status == "met"``).
    steps
        ``(facility, places)`` in the order they were added.
    status
        ``"met"``, ``"budget"`` or ``"steps"``.
    """

    added: FloatArray
    access: FloatArray
    target: BoolArray
    unreachable: BoolArray
    inadequate: BoolArray
    steps: tuple[tuple[int, float], ...]
    status: Status


def fit_places(
    residence: npt.ArrayLike,
    facility: npt.ArrayLike,
    weight: npt.ArrayLike,
    *,
    demand: npt.ArrayLike,
    supply: npt.ArrayLike,
    norm_per_1000: float,
    access: npt.ArrayLike | None = None,
    whole_places: bool = True,
    max_places: float | None = None,
    max_steps: int | None = None,
    min_weight: float = 0.0,
) -> PlacesFit:
    """Add places to facilities until every reachable residence meets the norm (the greedy).

    Parameters
    ----------
    residence, facility, weight
        Residence-facility pairs and their decay weight ``f(t_ij)`` (0 beyond the catchment).
    demand
        People of the demand group at each residence.
    supply
        Current capacity of each facility.
    norm_per_1000
        Places per 1,000 people of the demand group.
    access
        Current ``A_i``; default the 2SFCA of ``supply``.
    whole_places
        Round each addition up to whole places.
    max_places, max_steps
        Budget of places, and most facilities enlarged; the fit stops before exceeding them.
    min_weight
        A residence counts as reachable only through a facility with ``f(t_ij) >=
        min_weight`` (0: any ``f > 0``). Under the Gaussian decay a residence at the catchment
        edge has ``f`` near 0 and lifting it to the norm through that facility costs
        ``deficit x D_j / f`` places; a floor lists it as needing a nearer site instead.

    Examples
    --------
    One facility of 10 places, 100 children within reach (step), norm 200 per 1,000: 10 more.

    >>> fit = fit_places([0], [0], [1.0], demand=[100.0], supply=[10.0], norm_per_1000=200.0)
    >>> fit.added.tolist(), fit.status
    ([10.0], 'met')
    """
    res = np.asarray(residence, dtype=np.int64)
    fac = np.asarray(facility, dtype=np.int64)
    w = np.asarray(weight, dtype=np.float64)
    people = np.asarray(demand, dtype=np.float64)
    places = np.asarray(supply, dtype=np.float64)
    n_res, n_fac = people.shape[0], places.shape[0]
    reached = np.bincount(fac, weights=w * people[res], minlength=n_fac)
    keep = (w > 0) & (reached[fac] > 0)
    res, fac, gain = res[keep], fac[keep], w[keep] / reached[fac[keep]]
    if access is None:
        ratio = np.divide(places, reached, out=np.zeros(n_fac), where=reached > 0)
        acc = np.bincount(res, weights=gain * reached[fac] * ratio[fac], minlength=n_res)
    else:
        acc = np.array(access, dtype=np.float64)
    strong = w[keep] >= min_weight
    target, unreachable = _reach(res[strong], people)
    best = _leaning(res[strong], fac[strong], gain[strong], n_res)
    best_gain = np.zeros(n_res)
    mine = strong & (best[res] == fac)
    best_gain[res[mine]] = gain[mine]
    goal = norm_per_1000 / 1000.0
    added = np.zeros(n_fac)
    steps: list[tuple[int, float]] = []
    status: Status = "met"
    while True:
        short = target & (acc < goal * (1.0 - _TOL))
        if not short.any():
            break
        if max_steps is not None and len(steps) >= max_steps:
            status = "steps"
            break
        load = np.bincount(best[short], weights=people[short], minlength=n_fac)
        j = int(np.argmax(load))
        mine = short & (best == j)
        needed = float(np.max((goal - acc[mine]) / best_gain[mine]))
        if whole_places:
            needed = float(np.ceil(needed * (1.0 - 1e-12)))
        if max_places is not None and added.sum() + needed > max_places * (1.0 + _TOL):
            status = "budget"
            break
        added[j] += needed
        touched = fac == j
        acc += np.bincount(res[touched], weights=needed * gain[touched], minlength=n_res)
        steps.append((j, needed))
    inadequate = target & (acc < goal * (1.0 - _TOL))
    return PlacesFit(
        added,
        np.asarray(acc, dtype=np.float64),
        target,
        unreachable,
        inadequate,
        tuple(steps),
        status,
    )


def _reach(strong_res: IntArray, people: FloatArray) -> tuple[BoolArray, BoolArray]:
    """Target residences (people and a facility within reach) and unreachable ones."""
    has_pair = np.bincount(strong_res, minlength=people.shape[0]) > 0
    return has_pair & (people > 0), ~has_pair & (people > 0)


def _leaning(res: IntArray, fac: IntArray, gain: FloatArray, n_res: int) -> IntArray:
    """Each residence's facility of largest gain ``g_ij`` (-1 without any)."""
    best = np.full(n_res, -1, dtype=np.int64)
    order = np.lexsort((gain, res))  # by residence, then gain ascending: the last one wins
    best[res[order]] = fac[order]
    return best


def places_lower_bound(
    residence: npt.ArrayLike,
    facility: npt.ArrayLike,
    weight: npt.ArrayLike,
    *,
    demand: npt.ArrayLike,
    norm_per_1000: float,
    access: npt.ArrayLike,
    min_weight: float = 0.0,
) -> float:
    """Fewest places (fractional) that lift every reachable residence to the norm: the LP.

    ``min Σ x_j`` subject to ``Σ_j g_ij x_j ≥ norm/1000 - A_i`` for every target residence
    (the same as :func:`fit_places`' for ``min_weight``),
    ``x ≥ 0``, solved with HiGHS (:func:`scipy.optimize.milp` without integer variables). A
    lower bound of any allocation, the greedy's included.
    """
    res = np.asarray(residence, dtype=np.int64)
    fac = np.asarray(facility, dtype=np.int64)
    w = np.asarray(weight, dtype=np.float64)
    people = np.asarray(demand, dtype=np.float64)
    acc = np.asarray(access, dtype=np.float64)
    n_fac = int(fac.max()) + 1 if fac.shape[0] else 0
    reached = np.bincount(fac, weights=w * people[res], minlength=n_fac)
    keep = (w > 0) & (reached[fac] > 0) & (people[res] > 0)
    target, _ = _reach(res[keep & (w >= min_weight)], people)
    res, fac = res[keep], fac[keep]
    gain = w[keep] / reached[fac]
    deficit = norm_per_1000 / 1000.0 - acc
    short = np.unique(res[(deficit[res] > 0) & target[res]])
    if short.shape[0] == 0:
        return 0.0
    row = np.searchsorted(short, res)
    inside = (row < short.shape[0]) & (short[np.minimum(row, short.shape[0] - 1)] == res)
    matrix = sp.csr_array((gain[inside], (row[inside], fac[inside])), shape=(short.shape[0], n_fac))
    result = milp(
        np.ones(n_fac),
        constraints=[LinearConstraint(matrix, lb=deficit[short], ub=np.inf)],
        bounds=Bounds(np.zeros(n_fac), np.full(n_fac, np.inf)),
    )
    if result.status != 0:  # pragma: no cover - every target residence has a facility
        msg = f"capacity LP bound: HiGHS says {result.message}"
        raise RuntimeError(msg)
    return float(result.fun)


@dataclass(frozen=True, eq=False)
class CapacityFit:
    """Places added to reach the norm everywhere a facility reaches, and what is left.

    Attributes
    ----------
    category, norm_per_1000
        The category and its norm.
    facilities
        ``facility_id, kind ("new" | "existing"), street_code, capacity, added,
        capacity_after`` — only facilities that get places.
    streets
        ``street_code, added``: places added per street (of the facilities' locations).
    unreachable
        Residences with people that no facility reaches (with ``f >= min_weight``):
        ``residence_id, street_code, people`` — they need a new site, not places.
    status
        ``"met"``, ``"budget"`` or ``"steps"``.
    places_added, lower_bound
        Places the greedy adds, and the LP's fewest (fractional) places.
    share_before, share_after
        Share of reachable demand (people) adequate before and after.
    """

    category: str
    norm_per_1000: float
    facilities: pd.DataFrame
    streets: pd.DataFrame
    unreachable: pd.DataFrame
    status: Status
    places_added: float
    lower_bound: float
    share_before: float
    share_after: float


def fit_capacity(
    state: WhatIf,
    city: City | None = None,
    *,
    whole_places: bool = True,
    max_places: float | None = None,
    max_steps: int | None = None,
    min_weight: float = 0.0,
) -> CapacityFit:
    """Run the greedy on a what-if state and apply its additions (``state.resize``).

    ``state`` holds the existing facilities and any new sites (``planned-<id>`` keys, e.g. at
    capacity 0). With ``city``, facilities and residences get their street (unit grid).
    ``whole_places``, ``max_places``, ``max_steps``, ``min_weight``: as :func:`fit_places`.
    """
    if state.norm_per_1000 is None:
        msg = f"category {state.instance.requirement.category!r} has no capacity norm"
        raise ValueError(msg)
    keys = list(state.active)
    res_parts, fac_parts, w_parts = [], [], []
    for f, key in enumerate(keys):
        item = state.active[key]
        res_parts.append(item.residences)
        fac_parts.append(np.full(item.residences.shape[0], f, dtype=np.int64))
        w_parts.append(decay_weight(item.time_s, state.catchment_s, state.catalogue.decay))
    res = np.concatenate(res_parts) if keys else np.zeros(0, np.int64)
    fac = np.concatenate(fac_parts) if keys else np.zeros(0, np.int64)
    w = np.concatenate(w_parts) if keys else np.zeros(0)
    supply = np.array([state.active[k].capacity for k in keys], dtype=np.float64)
    people = state.demand_people
    fit = fit_places(
        res, fac, w, demand=people, supply=supply, norm_per_1000=state.norm_per_1000,
        access=state.access, whole_places=whole_places, max_places=max_places,
        max_steps=max_steps, min_weight=min_weight,
    )  # fmt: skip
    bound = places_lower_bound(
        res, fac, w, demand=people, norm_per_1000=state.norm_per_1000, access=state.access,
        min_weight=min_weight,
    )  # fmt: skip
    reachable = max(float(people[fit.target].sum()), 1e-12)
    before = float(people[fit.target & state.adequate].sum()) / reachable
    for f, places in fit.steps:
        key = keys[f]
        state.resize(key, state.active[key].capacity + places)
    after = float(people[fit.target & state.adequate].sum()) / reachable
    table = _facility_table(state, city, keys, supply, fit.added)
    streets = pd.DataFrame(
        table.groupby("street_code", as_index=False)["added"].sum()
        if len(table)
        else pd.DataFrame(columns=["street_code", "added"])
    )
    homes = state.instance.residences
    lost = np.flatnonzero(fit.unreachable)
    unreachable = pd.DataFrame({
        "residence_id": homes["residence_id"].to_numpy()[lost] if "residence_id" in homes
        else lost,
        "street_code": _streets(city, homes["x_utm"].to_numpy()[lost],
                                homes["y_utm"].to_numpy()[lost]),
        "people": people[lost],
    })  # fmt: skip
    logger.info(
        "capacity fit %s: %.0f places at %d facilities (LP bound %.1f), %s; %d residences "
        "out of reach",
        state.instance.requirement.category, fit.added.sum(), len(table), bound, fit.status,
        lost.shape[0],
    )  # fmt: skip
    return CapacityFit(
        category=state.instance.requirement.category,
        norm_per_1000=float(state.norm_per_1000),
        facilities=table,
        streets=streets,
        unreachable=unreachable,
        status=fit.status,
        places_added=float(fit.added.sum()),
        lower_bound=bound,
        share_before=before,
        share_after=after,
    )


def fit_plan(
    city: City, catalogue: Catalogue, plan: Plan, *, min_weight: float = 0.0
) -> CapacityFit:
    """Run :func:`fit_capacity` on the city's facilities plus the plan's new sites.

    New sites start at their candidate ``capacity`` when the candidates give one, else 0:
    the fit decides their places.
    """
    state = WhatIf.from_instance(plan.instance, catalogue, city.facilities)
    sites = plan.sites
    start = (
        sites["capacity"].fillna(0.0).to_numpy(np.float64)
        if "capacity" in sites.columns
        else np.zeros(len(sites))
    )
    for cid, places in zip(sites["candidate_id"].tolist(), start.tolist(), strict=True):
        state.add_candidate(str(cid), capacity=float(places))
    return fit_capacity(state, city, min_weight=min_weight)


def _facility_table(
    state: WhatIf, city: City | None, keys: list[str], supply: FloatArray, added: FloatArray
) -> pd.DataFrame:
    chosen = np.flatnonzero(added > 0)
    net = state.instance.graph.network
    nodes = np.array([state.active[keys[f]].node for f in chosen], dtype=np.int64)
    ids = np.array([keys[f] for f in chosen], dtype=object)
    return pd.DataFrame({
        "facility_id": ids,
        "kind": np.where([k.startswith("planned-") for k in ids], "new", "existing"),
        "street_code": _streets(city, net.node_x_utm[nodes], net.node_y_utm[nodes]),
        "capacity": supply[chosen],
        "added": added[chosen],
        "capacity_after": supply[chosen] + added[chosen],
    })  # fmt: skip


def _streets(city: City | None, x_utm: FloatArray, y_utm: FloatArray) -> npt.NDArray[np.str_]:
    if city is None or x_utm.shape[0] == 0:
        return np.full(x_utm.shape[0], "", dtype=str)
    return np.asarray(street_of(city, x_utm, y_utm), dtype=str)
