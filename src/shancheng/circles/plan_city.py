"""Plan a City in one call: pick the requirement (by default the worst covered), build, solve.

This is what ``shancheng circles plan`` and the notebook use: residences from the buildings,
candidates from a file or from the unit grid (:mod:`shancheng.circles.candidates`), the siting
problem (:func:`shancheng.circles.planning.prepare_siting`), then maximal covering (``k``
sites) or set covering (a target share).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shancheng.circles.accessibility import compute_accessibility
from shancheng.circles.candidates import DEFAULT_MAX_SLOPE, grid_candidates
from shancheng.circles.coverage import residence_coverage
from shancheng.circles.planning import plan_max_cover, plan_set_cover, prepare_siting
from shancheng.circles.residences import residences_from_buildings
from shancheng.circles.siting import DEFAULT_TIME_LIMIT_S, Method
from shancheng.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable

    import geopandas as gpd

    from shancheng.circles.planning import Plan
    from shancheng.circles.standard import Catalogue
    from shancheng.data.city import City

logger = logging.getLogger(__name__)
DEFAULT_TARGET = 0.95


def worst_requirement(city: City, catalogue: Catalogue) -> tuple[str, float]:
    """Return the required requirement covering the fewest residents, and its share."""
    homes = residences_from_buildings(city)
    acc = compute_accessibility(city.network, homes, city.facilities, catalogue)
    coverage = residence_coverage(acc, catalogue)
    people = homes["population"].to_numpy(np.float64)
    total = max(float(people.sum()), 1e-12)
    shares = {
        r.key: float(people[coverage.column(r.key)].sum()) / total
        for r in catalogue.requirements
        if r.required
    }
    key = min(shares, key=lambda k: (shares[k], k))
    return key, shares[key]


def plan_city(
    city: City,
    catalogue: Catalogue,
    *,
    requirement: str | None = None,
    k: int | None = None,
    target_share: float | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    extra_candidates: gpd.GeoDataFrame | None = None,
    max_slope: float = DEFAULT_MAX_SLOPE,
    method: Method = "auto",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    progress: Callable[[str], None] | None = None,
) -> Plan:
    """Plan new facilities for one requirement of a City.

    Parameters
    ----------
    city
        The City.
    catalogue
        The catalogue.
    requirement
        Requirement key (``kindergarten_5min``); default the worst covered required one.
    k, target_share
        ``k`` new sites (maximal covering) or the share of residents to reach (set
        covering); give at most one; default a target of 95 %.
    candidates
        Candidate sites; default one per unit-grid cell with residents.
    extra_candidates
        Sites added to the candidates, e.g. residents' accepted ideas; those with a
        ``category`` column are kept only where it names the requirement's category.
    max_slope
        Steepest ground for generated candidates.
    method, time_limit_s
        Solver choice and HiGHS's time limit.
    progress
        Called with the name of each step.

    Returns
    -------
    Plan
    """
    step = progress or (lambda _name: None)
    if k is not None and target_share is not None:
        msg = "give either k (number of new sites) or a target share, not both"
        raise InputError(msg)
    if requirement is None:
        step("worst requirement")
        requirement, share = worst_requirement(city, catalogue)
        logger.info("worst covered requirement: %s (%.1f %% of residents)", requirement,
                    100 * share)  # fmt: skip
    step("candidates")
    sites = candidates if candidates is not None else grid_candidates(city, max_slope=max_slope)
    if extra_candidates is not None and len(extra_candidates):
        sites = _with_extra(sites, extra_candidates, catalogue, requirement)
    step("coverage sets")
    instance = prepare_siting(city.network, residences_from_buildings(city), city.facilities,
                              catalogue, requirement, sites)  # fmt: skip
    step("solve")
    if k is not None:
        return plan_max_cover(instance, k, method=method, time_limit_s=time_limit_s)
    target = DEFAULT_TARGET if target_share is None else target_share
    return plan_set_cover(instance, target, method=method, time_limit_s=time_limit_s)


def _with_extra(
    sites: gpd.GeoDataFrame, extra: gpd.GeoDataFrame, catalogue: Catalogue, requirement: str
) -> gpd.GeoDataFrame:
    """Append the extra candidates of the requirement's category to ``sites``."""
    category = next(r.category for r in catalogue.requirements if r.key == requirement)
    if "category" in extra.columns:
        extra = extra[extra["category"].astype(str).isin(["", category])]
    logger.info("candidates: %d added from other sources (%s)", len(extra), category)
    if not len(extra):
        return sites
    return type(sites)(pd.concat([sites, extra], ignore_index=True), crs=sites.crs)
