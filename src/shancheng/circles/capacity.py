"""Capacity-aware access: the two-step floating catchment method (2SFCA).

Being within 5 minutes of a kindergarten does not give a child a place in it when 20,000
children share its 90 places. 2SFCA (Luo & Wang 2003) shares each facility's capacity among
the people who can reach it, then adds up, for each residence, the shares of the facilities it
can reach:

1. for every facility ``j``: ``R_j = S_j / sum_k P_k f(t_kj)`` — its capacity ``S_j`` over the
   demand ``P_k`` (people of the category's demand age group) of every residence ``k`` within
   its catchment, weighted by the decay ``f`` of the walking time ``t_kj`` from ``k`` to ``j``;
2. for every residence ``i``: ``A_i = sum_j R_j f(t_ij)`` — capacity per person within reach.

The catchment ``t0`` is the category's walking-time threshold (its smallest level). The decay is
the Gaussian of Dai (2010) and Wang (2012), rescaled to reach 0 at the catchment edge:

    f(t) = (exp(-(t/t0)^2 / 2) - exp(-1/2)) / (1 - exp(-1/2))   for t <= t0, 0 beyond,

so ``f(0) = 1`` and ``f(t0) = 0``; ``decay="none"`` gives the classic step (1 inside, 0 beyond).
A residence is *adequately served* when ``1000 A_i`` reaches the catalogue's
``capacity_per_1000`` (e.g. 4.5 childcare places per 1,000 residents).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from shancheng.network.pairs import pairs_within

if TYPE_CHECKING:
    from shancheng.circles.accessibility import Accessibility
    from shancheng.circles.standard import Catalogue, Decay
    from shancheng.types import FloatArray, IntArray

logger = logging.getLogger(__name__)

_EDGE = float(np.exp(-0.5))


def decay_weight(time_s: npt.ArrayLike, catchment_s: float, decay: Decay) -> FloatArray:
    """Weight of a facility ``time_s`` away, for a catchment of ``catchment_s``.

    Examples
    --------
    >>> decay_weight([0.0, 150.0, 300.0, 301.0], 300.0, "gaussian").round(4).tolist()
    [1.0, 0.7014, 0.0, 0.0]
    >>> decay_weight([0.0, 300.0, 301.0], 300.0, "none").tolist()
    [1.0, 1.0, 0.0]
    """
    t = np.asarray(time_s, dtype=np.float64)
    inside = t <= catchment_s
    if decay == "none":
        return inside.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        gauss = (np.exp(-0.5 * (t / catchment_s) ** 2) - _EDGE) / (1.0 - _EDGE)
    return np.where(inside, np.clip(gauss, 0.0, 1.0), 0.0)


def two_step_fca(
    residence: npt.ArrayLike,
    facility: npt.ArrayLike,
    time_s: npt.ArrayLike,
    *,
    demand: npt.ArrayLike,
    supply: npt.ArrayLike,
    catchment_s: float,
    decay: Decay = "gaussian",
) -> tuple[FloatArray, FloatArray]:
    """2SFCA on residence-facility pairs.

    Parameters
    ----------
    residence, facility, time_s
        Pairs: residence index, facility index, walking time from the residence to the
        facility in seconds. Pairs beyond the catchment may be given; they weigh 0.
    demand
        People of the demand age group at each residence.
    supply
        Capacity of each facility.
    catchment_s
        The catchment ``t0``, seconds.
    decay
        ``"gaussian"`` or ``"none"``.

    Returns
    -------
    tuple of arrays
        ``(access, ratio)``: capacity per person within reach of each residence (``A_i``),
        and capacity per person of demand in each facility's catchment (``R_j``; 0 when
        nobody is within reach).

    Examples
    --------
    Two homes of 100 and 300 people, one facility of 40 places both reach (step decay):
    each gets 40 / 400 = 0.1 places per person.

    >>> access, ratio = two_step_fca([0, 1], [0, 0], [60.0, 120.0], demand=[100, 300],
    ...                              supply=[40], catchment_s=300.0, decay="none")
    >>> access.tolist(), ratio.tolist()
    ([0.1, 0.1], [0.1])
    """
    res = np.asarray(residence, dtype=np.int64)
    fac = np.asarray(facility, dtype=np.int64)
    people = np.asarray(demand, dtype=np.float64)
    places = np.asarray(supply, dtype=np.float64)
    weight = decay_weight(time_s, catchment_s, decay)
    reached = np.bincount(fac, weights=weight * people[res], minlength=places.shape[0])
    ratio = np.divide(places, reached, out=np.zeros_like(places), where=reached > 0)
    access = np.bincount(res, weights=weight * ratio[fac], minlength=people.shape[0])
    return np.asarray(access, dtype=np.float64), ratio


@dataclass(frozen=True, eq=False)
class CapacityAccess:
    """Capacity within reach of every residence, for the categories with a norm.

    Attributes
    ----------
    categories
        Categories with a ``capacity_per_1000`` norm.
    per_1000
        ``(n_residences, len(categories))``: capacity within reach per 1,000 people of the
        category's demand group (``1000 A_i``).
    adequate
        ``(n_residences, n_all_categories)`` flags in the accessibility's category order:
        ``per_1000`` meets the norm (True for categories without a norm).
    facilities
        One row per facility of those categories: ``facility_id, category, capacity,
        catchment_demand`` (decay-weighted people within reach) and ``per_1000_demand``.
    """

    categories: tuple[str, ...]
    per_1000: FloatArray
    adequate: npt.NDArray[np.bool_]
    facilities: pd.DataFrame


def capacity_access(
    accessibility: Accessibility, catalogue: Catalogue, *, threads: int | None = None
) -> CapacityAccess:
    """Run 2SFCA for every category of the catalogue that has a capacity norm.

    The catchment of a category is its smallest walking-time threshold; demand is the head
    count of its ``capacity_demand`` age group; supply is the facilities' ``capacity``.
    ``threads`` are the searches' threads (default: every core).
    """
    acc = accessibility
    n_res = len(acc.residences)
    norms = [c for c in acc.categories if catalogue.categories[c].capacity_per_1000 is not None]
    per_1000 = np.zeros((n_res, len(norms)))
    adequate = np.ones((n_res, len(acc.categories)), dtype=bool)
    rows: list[pd.DataFrame] = []
    capacity = (
        acc.facilities["capacity"].to_numpy(np.float64)
        if "capacity" in acc.facilities.columns
        else np.ones(len(acc.facilities))
    )
    for k, category in enumerate(norms):
        spec = catalogue.categories[category]
        c = acc.categories.index(category)
        members = np.flatnonzero((acc.facility_group == c) & (acc.facility_node >= 0))
        catchment = catalogue.catchment_s(category)
        res, fac, time_s = _pairs(acc, members, catchment, threads)
        group = catalogue.age_groups[spec.capacity_demand]
        counts = acc.residences[list(group.columns)].to_numpy(np.float64)
        if np.isnan(counts).all():
            logger.warning(
                "2SFCA %s: no ages for group %r in this city; demand is all residents",
                category,
                group.id,
            )
            counts = acc.residences[["population"]].to_numpy(np.float64)
        demand = np.nan_to_num(counts).sum(axis=1)
        access, ratio = two_step_fca(
            res, fac, time_s, demand=demand, supply=capacity[members],
            catchment_s=catchment, decay=catalogue.decay,
        )  # fmt: skip
        per_1000[:, k] = 1000.0 * access
        norm = float(spec.capacity_per_1000 or 0.0)
        adequate[:, c] = per_1000[:, k] >= norm * (1.0 - 1e-9)
        reached = np.divide(capacity[members], ratio, out=np.zeros_like(ratio), where=ratio > 0)
        rows.append(
            pd.DataFrame(
                {
                    # a Series keeps the ids' dtype even when a category has no facility
                    "facility_id": acc.facilities["facility_id"]
                    .iloc[members]
                    .reset_index(drop=True),
                    "category": category,
                    "capacity": capacity[members],
                    "catchment_demand": reached,
                    "per_1000_demand": 1000.0 * ratio,
                }
            )
        )
    logger.info("2SFCA for %d categories with capacity norms", len(norms))
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return CapacityAccess(
        categories=tuple(norms), per_1000=per_1000, adequate=adequate, facilities=table
    )


def _pairs(
    acc: Accessibility, members: IntArray, catchment_s: float, threads: int | None = None
) -> tuple[IntArray, IntArray, FloatArray]:
    """Residence-facility pairs within the catchment: one bounded search per facility.

    The pairs come back sorted by facility, then residence, not in the searches' visiting
    order, so the 2SFCA sums add the same terms in the same order whatever network the
    searches ran on: a district evaluated with its buffer (:mod:`shancheng.circles.split`)
    gives the whole city's bits.
    """
    reverse = acc.attached_network().network.reversed()  # times *to* the facility
    target = np.full(reverse.n_nodes, -1, dtype=np.int64)
    attached = np.flatnonzero(acc.residence_node >= 0)
    target[acc.residence_node[attached]] = attached
    position, res, time_s = pairs_within(
        reverse.indptr,
        reverse.edge_head,
        reverse.edge_time_s,
        acc.facility_node[members],
        target,
        catchment_s,
        threads=threads,
    )
    order = np.lexsort((res, position))
    return res[order], position[order], time_s[order]
