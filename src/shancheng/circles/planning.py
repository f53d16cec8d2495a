"""Where to build: siting new facilities of one requirement on the walk network.

A :class:`SitingInstance` gathers, for one requirement of the catalogue (say
``kindergarten_10min``), what the solvers of :mod:`shancheng.circles.siting` need:

* residences, existing facilities of the category and candidate sites spliced into the walk
  network together (:func:`shancheng.circles.attach.attach_points`, exact access legs);
* who is already covered: one bounded multi-source search from the existing facilities
  (:func:`shancheng.network.nearest_times`, to the facilities); existing facilities are kept
  and the residents they cover leave the demand;
* the coverage sets: one ball per candidate (:mod:`shancheng.circles.balls`) over the
  residents not yet covered, as a sparse CSR matrix.

:func:`plan_max_cover` (k new sites) and :func:`plan_set_cover` (fewest sites reaching a
target share of residents) return a :class:`Plan`: the chosen sites, the solver's bound and
gap, and the coverage before and after per unit. A request no plan can meet raises
:class:`~shancheng.errors.InfeasiblePlanError` naming the residents that cannot be covered and
why (off the network, or every candidate too far).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np

from shancheng.circles.attach import NOT_ATTACHED, AttachedNetwork, attach_points
from shancheng.circles.balls import BallSearcher, coverage_sets, node_index
from shancheng.circles.plan_tables import before_after_table
from shancheng.circles.residences import check_residences
from shancheng.circles.siting import (
    DEFAULT_TIME_LIMIT_S,
    Method,
    SitingResult,
    max_cover,
    set_cover,
)
from shancheng.errors import InfeasiblePlanError, InputError
from shancheng.network.search import nearest_times

if TYPE_CHECKING:
    import pandas as pd
    import scipy.sparse as sp

    from shancheng.circles.standard import Catalogue, Requirement
    from shancheng.network.walk import WalkNetwork
    from shancheng.types import BoolArray, FloatArray, IntArray

logger = logging.getLogger(__name__)

_WHY_SEARCH_FACTOR = 4.0
"""How far (times the threshold) to look for the nearest candidate of an uncoverable resident."""


@dataclass(frozen=True, eq=False)
class SitingInstance:
    """One requirement's siting problem on the walk network.

    Attributes
    ----------
    requirement
        The requirement planned for (category, level, threshold).
    residences
        The residences (row ``i`` is residence ``i``).
    weight
        Head count of each residence in the planned age group.
    candidates
        Candidate sites: ``candidate_id, x_utm, y_utm`` (and whatever else was given).
    graph
        Residences, then existing facilities, then candidates attached to the network.
    residence_node, facility_node, candidate_node
        Their nodes in ``graph.network`` (-1 when not attached).
    covered_before
        Residences within the threshold of an existing facility.
    demand
        Residences in the demand: attached, not yet covered, with people.
    matrix
        ``(n_candidates, n_demand)`` sparse coverage sets.
    searcher
        Bounded searches on ``graph.network`` (reused by what-if).
    """

    requirement: Requirement
    residences: gpd.GeoDataFrame
    weight: FloatArray
    candidates: gpd.GeoDataFrame
    graph: AttachedNetwork
    residence_node: IntArray
    facility_node: IntArray
    candidate_node: IntArray
    covered_before: BoolArray
    demand: IntArray
    matrix: sp.csr_array
    searcher: BallSearcher

    @property
    def threshold_s(self) -> float:
        """The requirement's walking-time threshold, seconds."""
        return self.requirement.threshold_s

    @property
    def total_weight(self) -> float:
        """All residents of the planned age group, attached or not."""
        return float(self.weight.sum())

    @property
    def share_before(self) -> float:
        """Share of residents covered by the existing facilities."""
        return _share(float(self.weight[self.covered_before].sum()), self.total_weight)


@dataclass(frozen=True, eq=False)
class Plan:
    """Proposed new sites for one requirement, and what they change.

    Attributes
    ----------
    instance
        The siting problem solved.
    result
        The solver's answer (sites as candidate rows, bound, gap, method, time).
    sites
        The chosen candidates, with ``newly_covered`` residents each would add in that order.
    covered_after
        Residences covered once the sites are built.
    share_before, share_after
        Share of residents covered, city-wide.
    target_share
        The requested share (set covering), or ``None`` (maximal covering).
    """

    instance: SitingInstance
    result: SitingResult
    sites: gpd.GeoDataFrame
    covered_after: BoolArray
    share_before: float
    share_after: float
    target_share: float | None

    def unit_table(self, *, city_code: str = "city") -> pd.DataFrame:
        """Before/after coverage per unit: see :func:`before_after_table`."""
        inst = self.instance
        return before_after_table(
            inst.residences, inst.weight, inst.covered_before, self.covered_after,
            city_code=city_code,
        )  # fmt: skip


def prepare_siting(
    network: WalkNetwork,
    residences: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    catalogue: Catalogue,
    requirement: str,
    candidates: gpd.GeoDataFrame,
    *,
    age_group: str = "all",
    max_snap_m: float = 200.0,
) -> SitingInstance:
    """Build the siting problem of one requirement.

    Parameters
    ----------
    network
        The walk network (not reversed).
    residences
        ``residence_id, x_utm, y_utm`` and the population columns of the catalogue.
    facilities
        ``facility_id, category, x_utm, y_utm``; those of the requirement's category are kept.
    catalogue
        The living-circle catalogue.
    requirement
        Requirement key, e.g. ``"kindergarten_10min"``.
    candidates
        ``candidate_id, x_utm, y_utm``: where a new facility could go.
    age_group
        Whose coverage counts (default all residents, as the evaluation's headline shares).
    max_snap_m
        Points farther than this from every street are not attached.

    Returns
    -------
    SitingInstance
    """
    req = _requirement(catalogue, requirement)
    if age_group not in catalogue.age_groups:
        msg = f"age group {age_group!r} is not in the catalogue ({', '.join(catalogue.age_groups)})"
        raise InputError(msg)
    check_residences(residences, catalogue.population_columns)
    for column in ("candidate_id", "x_utm", "y_utm"):
        if column not in candidates.columns:
            msg = f"candidates: required column `{column}` is missing"
            raise InputError(msg)
    existing = facilities[facilities["category"] == req.category]
    n_res, n_fac = len(residences), len(existing)
    xs = [residences["x_utm"], existing["x_utm"], candidates["x_utm"]]
    ys = [residences["y_utm"], existing["y_utm"], candidates["y_utm"]]
    graph = attach_points(
        network,
        np.concatenate([np.asarray(x, dtype=np.float64) for x in xs]),
        np.concatenate([np.asarray(y, dtype=np.float64) for y in ys]),
        max_distance_m=max_snap_m,
        source="residences, facilities and candidate sites",
    )
    res_node = graph.point_node[:n_res]
    fac_node = graph.point_node[n_res : n_res + n_fac]
    cand_node = graph.point_node[n_res + n_fac :]
    group = catalogue.age_groups[age_group]
    weight = residences[list(group.columns)].to_numpy(np.float64).sum(axis=1)
    covered = _covered_by(graph.network, fac_node[fac_node >= 0], res_node, req.threshold_s)
    demand = np.flatnonzero((res_node != NOT_ATTACHED) & ~covered & (weight > 0))
    searcher = BallSearcher(graph.network)
    index = node_index(res_node[demand], graph.network.n_nodes)
    matrix = coverage_sets(searcher, cand_node, index, demand.shape[0], req.threshold_s)
    logger.info(
        "siting %s: %d residences (%d in demand), %d existing facilities, %d candidates, "
        "%d coverage pairs",
        req.key, n_res, demand.shape[0], n_fac, len(candidates), matrix.nnz,
    )  # fmt: skip
    return SitingInstance(
        requirement=req,
        residences=residences.reset_index(drop=True),
        weight=weight,
        candidates=candidates.reset_index(drop=True),
        graph=graph,
        residence_node=res_node,
        facility_node=fac_node,
        candidate_node=cand_node,
        covered_before=covered,
        demand=demand,
        matrix=matrix,
        searcher=searcher,
    )


def plan_max_cover(
    instance: SitingInstance,
    k: int,
    *,
    method: Method = "auto",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> Plan:
    """Choose ``k`` new sites covering the most residents not yet covered.

    Raises
    ------
    InfeasiblePlanError
        No candidate sites, or ``k`` larger than their number.
    """
    if len(instance.candidates) == 0:
        msg = f"{instance.requirement.key}: no candidate sites were given or generated"
        raise InfeasiblePlanError(msg, reason="no_candidates")
    if k > len(instance.candidates):
        msg = (
            f"{instance.requirement.key}: {k} new sites requested but only "
            f"{len(instance.candidates)} candidate sites exist; ask for at most "
            f"{len(instance.candidates)}"
        )
        raise InfeasiblePlanError(msg, reason="k_out_of_range")
    w = instance.weight[instance.demand]
    result = max_cover(instance.matrix, w, k, method=method, time_limit_s=time_limit_s)
    return _plan(instance, result, None)


def plan_set_cover(
    instance: SitingInstance,
    target_share: float,
    *,
    method: Method = "auto",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> Plan:
    """Choose the fewest new sites so that ``target_share`` of residents are covered.

    Raises
    ------
    InfeasiblePlanError
        The target cannot be met: ``uncoverable`` holds the ids of the residents that no
        candidate (and no existing facility) covers, ``why`` one reason each.
    """
    if not 0.0 <= target_share <= 1.0:
        msg = f"target share must be between 0 and 1, got {target_share!r}"
        raise InputError(msg)
    total = instance.total_weight
    before = float(instance.weight[instance.covered_before].sum())
    required = max(0.0, target_share * total - before)
    w = instance.weight[instance.demand]
    reach = np.asarray(instance.matrix.sum(axis=0)).ravel() > 0
    coverable = float(w[reach].sum())
    if required > coverable * (1 + 1e-12) + 1e-9:
        if len(instance.candidates) == 0:
            msg = f"{instance.requirement.key}: no candidate sites were given or generated"
            raise InfeasiblePlanError(msg, reason="no_candidates")
        _raise_unreachable(instance, reach, target_share, before + coverable)
    result = set_cover(instance.matrix, w, required, method=method, time_limit_s=time_limit_s)
    return _plan(instance, result, target_share)


def _plan(instance: SitingInstance, result: SitingResult, target: float | None) -> Plan:
    chosen = result.sites
    covered = instance.covered_before.copy()
    gains = []
    for j in chosen.tolist():
        members = instance.demand[instance.matrix.indices[
            instance.matrix.indptr[j] : instance.matrix.indptr[j + 1]]]  # fmt: skip
        fresh = members[~covered[members]]
        gains.append(float(instance.weight[fresh].sum()))
        covered[members] = True
    sites = instance.candidates.iloc[chosen].copy()
    sites["newly_covered"] = gains
    sites["category"] = instance.requirement.category
    return Plan(
        instance=instance,
        result=result,
        sites=gpd.GeoDataFrame(sites, geometry="geometry", crs=instance.candidates.crs),
        covered_after=covered,
        share_before=instance.share_before,
        share_after=_share(float(instance.weight[covered].sum()), instance.total_weight),
        target_share=target,
    )


def _raise_unreachable(
    instance: SitingInstance, reach: BoolArray, target: float, best_weight: float
) -> None:
    """Explain which residents no plan can cover, and why, then raise."""
    lost_demand = instance.demand[~reach]
    off_network = np.flatnonzero((instance.residence_node == NOT_ATTACHED) & (instance.weight > 0))
    threshold_min = instance.threshold_s / 60.0
    why: list[str] = []
    ids: list[object] = []
    dist = instance.graph.distance_m
    for i in off_network.tolist():
        ids.append(instance.residences["residence_id"].iloc[i])
        why.append(f"not on the walk network (nearest street {dist[i]:.0f} m away)")
    cands = instance.candidate_node[instance.candidate_node >= 0]
    if lost_demand.shape[0]:
        limit = _WHY_SEARCH_FACTOR * instance.threshold_s
        if cands.shape[0]:
            near = nearest_times(instance.graph.network, cands, cutoff_s=limit).time_s[0]
            times = near[instance.residence_node[lost_demand]]
        else:
            times = np.full(lost_demand.shape[0], np.inf)
        for i, t in zip(lost_demand.tolist(), times.tolist(), strict=True):
            ids.append(instance.residences["residence_id"].iloc[i])
            why.append(
                f"nearest candidate {t / 60:.1f} min away > {threshold_min:g} min"
                if np.isfinite(t)
                else f"no candidate within {limit / 60:g} min (> {threshold_min:g} min)"
            )
    best = _share(best_weight, instance.total_weight)
    examples = "; ".join(f"{r}: {w}" for r, w in zip(ids[:5], why[:5], strict=False))
    msg = (
        f"{instance.requirement.key}: target {target:.1%} cannot be reached; with every "
        f"candidate built at most {best:.2%} of residents are covered. {len(ids)} residences "
        f"cannot be covered by any candidate (e.g. {examples})"
    )
    raise InfeasiblePlanError(msg, reason="unreachable", uncoverable=ids, why=tuple(why))


def _covered_by(
    network: WalkNetwork, facility_nodes: IntArray, residence_node: IntArray, threshold_s: float
) -> BoolArray:
    if facility_nodes.shape[0] == 0:
        return np.zeros(residence_node.shape[0], dtype=bool)
    time_s = nearest_times(network, facility_nodes, cutoff_s=threshold_s).time_s[0]
    attached = residence_node != NOT_ATTACHED
    within: BoolArray = attached & (time_s[np.maximum(residence_node, 0)] <= threshold_s)
    return within


def _requirement(catalogue: Catalogue, key: str) -> Requirement:
    for r in catalogue.requirements:
        if r.key == key:
            return r
    known = ", ".join(r.key for r in catalogue.requirements)
    msg = f"requirement {key!r} is not in the catalogue; known: {known}"
    raise InputError(msg)


def _share(part: float, whole: float) -> float:
    return part / whole if whole > 0 else float("nan")
