"""How many places are missing per street, and where to add them.

Capacity norms (4.5 childcare places per 1,000 residents, 900 kindergarten places per 1,000
children aged 3-5...) are set for a *service area*, the street (街道), not for a point's
walking ball (../shared/reference/living-circle.md §2.4). The model here, documented as such:

1. **missing places per street**: ``required = norm x people / 1000`` (people of the category's
   ``capacity_demand`` age group living in the street), ``supply`` = capacity of the
   category's facilities located in the street, ``missing = max(0, required - supply)``;
2. **assignment** (proportional, service-area): a street's missing places go first to the new
   sites a plan put in that street, in proportion to the residents each newly covers; where
   the plan put none, to the street's existing facilities in proportion to their capacity
   (enlarging them); a street with neither is reported as needing a new site
   (``unassigned``);
3. **check with 2SFCA**: :func:`adequacy_after` applies the assignment to a
   :class:`~shancheng.circles.whatif.WhatIf` (one ball per changed facility) and returns the
   share of residents whose reachable capacity meets the norm, before and after — walking
   reach is not street borders, so the two views differ and both are reported.

Where walking reach must be met, not street totals, :mod:`shancheng.circles.capacity_fit` adds
places by a 2SFCA-based iteration (reported next to this rule). Not done: a capacitated
location model (places as decision variables with per-site limits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shancheng.errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd

    from shancheng.circles.planning import Plan
    from shancheng.circles.standard import Catalogue
    from shancheng.circles.whatif import WhatIf
    from shancheng.data.city import City


@dataclass(frozen=True, eq=False)
class CapacityPlan:
    """Places missing per street and where the plan puts them.

    Attributes
    ----------
    category
        The category planned.
    norm_per_1000
        The catalogue's norm.
    streets
        ``street_code, people, required, supply, missing, assigned, unassigned``.
    assignments
        ``facility_id, kind ("new" | "existing"), street_code, capacity, added``.
    """

    category: str
    norm_per_1000: float
    streets: pd.DataFrame
    assignments: pd.DataFrame


def street_of(city: City, x_utm: np.ndarray, y_utm: np.ndarray) -> np.ndarray:
    """Street code of the unit-grid cell under each point ("" outside the grid)."""
    grid = city.grid
    col = np.floor((np.asarray(x_utm, float) - grid.origin_x_utm) / grid.cell_size_m)
    row = np.floor((np.asarray(y_utm, float) - grid.origin_y_utm) / grid.cell_size_m)
    cell = grid.cell_id(row.astype(np.int64), col.astype(np.int64))
    streets = city.grid_cells.set_index("cell_id")["street_code"].astype(str)
    return pd.Series(cell).map(streets).fillna("").to_numpy(dtype=str)


def plan_capacity(
    city: City, catalogue: Catalogue, category: str, plan: Plan | None = None
) -> CapacityPlan:
    """Places missing per street for ``category``, assigned to new or existing facilities."""
    spec = catalogue.categories.get(category)
    if spec is None or spec.capacity_per_1000 is None:
        msg = f"category {category!r} has no capacity norm (capacity_per_1000) in the catalogue"
        raise InputError(msg)
    norm = float(spec.capacity_per_1000)
    group = catalogue.age_groups[spec.capacity_demand]
    homes = city.buildings
    people = homes[list(group.columns)].to_numpy(np.float64).sum(axis=1)
    demand = pd.Series(people).groupby(homes["street_code"].astype(str).to_numpy()).sum()
    existing = city.facilities[city.facilities["category"] == category].copy()
    existing["street_code"] = existing["street_code"].astype(str)
    existing["capacity"] = pd.to_numeric(existing["capacity"], errors="coerce").fillna(0.0)
    supply = existing.groupby("street_code")["capacity"].sum()
    streets = pd.DataFrame({"people": demand})
    streets["required"] = norm * streets["people"] / 1000.0
    streets["supply"] = supply.reindex(streets.index).fillna(0.0)
    streets["missing"] = (streets["required"] - streets["supply"]).clip(lower=0.0)
    new = _new_sites(city, plan, category)
    rows = []
    for street, missing in streets["missing"].items():
        if missing <= 0:
            continue
        here = new[new["street_code"] == street]
        if len(here) and here["newly_covered"].sum() > 0:
            share = here["newly_covered"] / here["newly_covered"].sum()
            rows.append(here.assign(kind="new", capacity=0.0, added=missing * share))
            continue
        mine = existing[existing["street_code"] == street]
        if len(mine) and mine["capacity"].sum() > 0:
            share = mine["capacity"] / mine["capacity"].sum()
            rows.append(mine.assign(kind="existing", added=missing * share))
    columns = ["facility_id", "kind", "street_code", "capacity", "added"]
    assignments = (
        pd.concat([r[columns] for r in rows], ignore_index=True)
        if rows
        else pd.DataFrame(columns=columns)
    )
    assigned = assignments.groupby("street_code")["added"].sum()
    streets["assigned"] = assigned.reindex(streets.index).fillna(0.0)
    streets["unassigned"] = (streets["missing"] - streets["assigned"]).clip(lower=0.0)
    streets = streets.rename_axis("street_code").reset_index()
    return CapacityPlan(category, norm, streets, assignments)


def adequacy_after(state: WhatIf, capacity_plan: CapacityPlan) -> tuple[float, float]:
    """Share of residents covered with enough reachable capacity, before and after.

    New sites must already be in ``state`` (``add_candidate``) under ``planned-<id>`` keys;
    each assignment resizes its facility (one 2SFCA update per facility).
    """
    weight = state.instance.weight
    total = max(float(weight.sum()), 1e-12)
    before = float(weight[state.adequate].sum()) / total
    table = capacity_plan.assignments
    keys = table["facility_id"].astype(str).tolist()
    added = table["added"].to_numpy(np.float64).tolist()
    for key, places in zip(keys, added, strict=True):
        if key in state.active:
            state.resize(key, state.active[key].capacity + places)
    return before, float(weight[state.adequate].sum()) / total


def _new_sites(city: City, plan: Plan | None, category: str) -> gpd.GeoDataFrame | pd.DataFrame:
    columns = ["facility_id", "street_code", "newly_covered"]
    if plan is None or plan.instance.requirement.category != category or plan.sites.empty:
        return pd.DataFrame(columns=columns)
    sites = plan.sites
    return pd.DataFrame({
        "facility_id": "planned-" + sites["candidate_id"].astype(str),
        "street_code": street_of(city, sites["x_utm"].to_numpy(), sites["y_utm"].to_numpy()),
        "newly_covered": sites["newly_covered"].to_numpy(np.float64),
    })  # fmt: skip
