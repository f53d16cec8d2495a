"""Tables of a plan: facilities with the plan's sites added, and coverage before and after."""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from shancheng.circles.coverage import unit_codes
from shancheng.geo.crs import WGS84_EPSG, utm_to_lonlat

if TYPE_CHECKING:
    from shancheng.circles.planning import Plan
    from shancheng.types import BoolArray, FloatArray

PLAN_LEVELS = ("city", "district", "street", "community")
"""Unit levels of the before/after table."""


def apply_plan(plan: Plan, facilities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return ``facilities`` with the plan's sites added (for a re-evaluation)."""
    sites = plan.sites
    new = pd.DataFrame(
        {
            "facility_id": "planned-" + sites["candidate_id"].astype(str),
            "category": plan.instance.requirement.category,
            "name": "planned " + plan.instance.requirement.category,
            "x_utm": sites["x_utm"].to_numpy(np.float64),
            "y_utm": sites["y_utm"].to_numpy(np.float64),
        }
    )
    if "capacity" in facilities.columns:
        new["capacity"] = sites["capacity"] if "capacity" in sites.columns else 0.0
    lon, lat = utm_to_lonlat(new["x_utm"], new["y_utm"], epsg=plan.instance.graph.network.crs_epsg)
    added = gpd.GeoDataFrame(new, geometry=gpd.points_from_xy(lon, lat), crs=WGS84_EPSG)
    frame = pd.concat([facilities, added.to_crs(facilities.crs)], ignore_index=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=facilities.crs)


def before_after_table(
    residences: pd.DataFrame,
    weight: FloatArray,
    before: BoolArray,
    after: BoolArray,
    *,
    city_code: str = "city",
    levels: tuple[str, ...] = PLAN_LEVELS,
) -> pd.DataFrame:
    """Residents covered before and after, per unit.

    Returns
    -------
    pandas.DataFrame
        ``unit_level, unit_code, population, covered_before, covered_after, share_before,
        share_after, gain``.
    """
    frames = []
    for level in levels:
        codes = unit_codes(residences, level, city_code)
        frame = pd.DataFrame(
            {"unit_code": codes, "population": weight,
             "covered_before": np.where(before, weight, 0.0),
             "covered_after": np.where(after, weight, 0.0)}
        ).groupby("unit_code", sort=True).sum()  # fmt: skip
        frame.insert(0, "unit_level", level)
        frames.append(frame.reset_index())
    table = pd.concat(frames, ignore_index=True)
    pop = table["population"].where(table["population"] > 0)
    table["share_before"] = table["covered_before"] / pop
    table["share_after"] = table["covered_after"] / pop
    table["gain"] = table["share_after"] - table["share_before"]
    return table[["unit_level", "unit_code", "population", "covered_before", "covered_after",
                  "share_before", "share_after", "gain"]]  # fmt: skip
