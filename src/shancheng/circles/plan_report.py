"""Write a plan: proposed sites (GeoJSON, GeoPackage), the before/after table, a map and a page.

Files, written into a temporary sibling folder renamed into place (never half a result):

* ``sites.geojson`` and ``plan.gpkg`` (layer ``sites``): the proposed sites, WGS84, with the
  residents each newly covers;
* ``coverage_before_after.csv``: residents covered before and after, per city, district,
  street and community (:func:`shancheng.circles.planning.before_after_table`);
* ``plan.json``: the request, the solver, its bound and gap, shares before and after;
* ``map.png`` and ``plan.html``: residences newly covered, still uncovered and already
  covered, the existing facilities and the proposed sites on the streets.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib as mpl

mpl.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection

from shancheng.data.staged import staged_directory

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from shancheng.circles.capacity_fit import CapacityFit
    from shancheng.circles.capacity_plan import CapacityPlan
    from shancheng.circles.planning import Plan

logger = logging.getLogger(__name__)

_MAX_EDGES = 200_000
"""Most street arcs drawn on the map (a sample beyond that)."""


def plan_summary(plan: Plan) -> dict[str, object]:
    """Return the request, the solver's answer and the shares, as plain JSON values."""
    result = plan.result
    inst = plan.instance
    return {
        "requirement": inst.requirement.key,
        "category": inst.requirement.category,
        "threshold_min": inst.requirement.threshold_min,
        "problem": result.problem,
        "target_share": plan.target_share,
        "new_sites": len(plan.sites),
        "candidates": len(inst.candidates),
        "demand_residences": int(inst.demand.shape[0]),
        "coverage_pairs": int(inst.matrix.nnz),
        "method": result.method,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "solve_time_s": round(result.solve_time_s, 4),
        "share_before": plan.share_before,
        "share_after": plan.share_after,
        "population": inst.total_weight,
    }


def fit_summary(fit: CapacityFit) -> dict[str, object]:
    """Return the 2SFCA fit's figures for ``plan.json``."""
    return {
        "fit_places_added": fit.places_added,
        "fit_places_lower_bound": round(fit.lower_bound, 3),
        "fit_status": fit.status,
        "fit_reachable_adequate_before": fit.share_before,
        "fit_reachable_adequate_after": fit.share_after,
        "fit_residences_unreachable": len(fit.unreachable),
        "fit_people_unreachable": float(fit.unreachable["people"].sum()),
    }


def write_plan(
    plan: Plan,
    directory: str | Path,
    *,
    city_code: str = "city",
    capacity: CapacityPlan | None = None,
    fit: CapacityFit | None = None,
) -> Path:
    """Write the plan's files into ``directory`` (replaced as a whole at the end).

    With ``capacity``, also ``capacity_streets.csv`` (places missing per street) and
    ``capacity_assignments.csv`` (places added to new or existing facilities). With ``fit``
    (:mod:`shancheng.circles.capacity_fit`), also ``capacity_fit_facilities.csv``,
    ``capacity_fit_unreachable.csv`` and a ``fit_added`` column in ``capacity_streets.csv``
    next to the proportional ``assigned`` (the two views, compared).
    """
    target = Path(directory)
    with staged_directory(target, marker="plan.json", what="plan") as staging:
        sites = plan.sites.drop(columns=[c for c in ("node",) if c in plan.sites.columns])
        sites.to_file(staging / "sites.geojson", driver="GeoJSON")
        sites.to_file(staging / "plan.gpkg", layer="sites", driver="GPKG")
        table = plan.unit_table(city_code=city_code)
        table.to_csv(staging / "coverage_before_after.csv", index=False)
        summary = plan_summary(plan)
        if capacity is not None:
            streets = capacity.streets
            if fit is not None:
                added = fit.streets.rename(columns={"added": "fit_added"})
                streets = streets.merge(added, on="street_code", how="outer").fillna(0.0)
            streets.to_csv(staging / "capacity_streets.csv", index=False)
            capacity.assignments.to_csv(staging / "capacity_assignments.csv", index=False)
            summary["places_missing"] = float(capacity.streets["missing"].sum())
            summary["places_unassigned"] = float(capacity.streets["unassigned"].sum())
        if fit is not None:
            fit.facilities.to_csv(staging / "capacity_fit_facilities.csv", index=False)
            fit.unreachable.to_csv(staging / "capacity_fit_unreachable.csv", index=False)
            summary.update(fit_summary(fit))
        (staging / "plan.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        figure = plan_map(plan)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
        plt.close(figure)
        (staging / "map.png").write_bytes(buffer.getvalue())
        page = _page(summary, table, base64.b64encode(buffer.getvalue()).decode("ascii"))
        (staging / "plan.html").write_text(page, encoding="utf-8")
    logger.info("plan written to %s", target)
    return target


def plan_map(plan: Plan) -> Figure:
    """Residences before/after, existing facilities and proposed sites on the street network."""
    inst = plan.instance
    net = inst.graph.network
    n_base = inst.graph.n_base_nodes
    figure, axes = plt.subplots(figsize=(9, 9))
    base = np.flatnonzero((net.edge_tail < n_base) & (net.edge_head < n_base))
    if base.shape[0] > _MAX_EDGES:
        base = np.random.default_rng(0).choice(base, _MAX_EDGES, replace=False)
    segments = np.stack(
        [
            np.column_stack(
                [net.node_x_utm[net.edge_tail[base]], net.node_y_utm[net.edge_tail[base]]]
            ),
            np.column_stack(
                [net.node_x_utm[net.edge_head[base]], net.node_y_utm[net.edge_head[base]]]
            ),
        ],
        axis=1,
    )
    axes.add_collection(LineCollection(list(segments), colors="#bbb", linewidths=0.3))
    x = inst.residences["x_utm"].to_numpy(np.float64)
    y = inst.residences["y_utm"].to_numpy(np.float64)
    before, after = inst.covered_before, plan.covered_after
    people = inst.weight > 0
    groups = (
        (before & people, "#8fb3d9", "covered before"),
        (after & ~before & people, "#1a9850", "newly covered"),
        (~after & people, "#d73027", "still uncovered"),
    )
    for mask, colour, label in groups:
        axes.scatter(x[mask], y[mask], s=4, c=colour, label=f"{label} ({int(mask.sum())})")
    fac = inst.facility_node[inst.facility_node >= 0]
    axes.scatter(net.node_x_utm[fac], net.node_y_utm[fac], marker="s", s=30, c="#2166ac",
                 edgecolors="white", label="existing facilities")  # fmt: skip
    axes.scatter(plan.sites["x_utm"], plan.sites["y_utm"], marker="*", s=220, c="#ff7f00",
                 edgecolors="black", label=f"proposed sites ({len(plan.sites)})")  # fmt: skip
    axes.set_aspect("equal")
    axes.autoscale()
    axes.set_axis_off()
    req = inst.requirement
    axes.set_title(
        f"{req.category} within {req.threshold_min:g} min: "
        f"{plan.share_before:.1%} → {plan.share_after:.1%} of residents"
    )
    axes.legend(loc="lower left", fontsize=8)
    return figure


def _page(summary: dict[str, object], table: pd.DataFrame, png: str) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in summary.items()
    )
    units = table[table["unit_level"].isin(["city", "district", "street"])].copy()
    for column in ("share_before", "share_after", "gain"):
        units[column] = units[column].map(lambda v: "" if v != v else f"{v:.1%}")  # noqa: PLR0124
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>shancheng plan</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;text-align:left}"
        "</style></head><body>"
        f"<h1>Plan: {html.escape(str(summary['requirement']))}</h1>"
        f"<table>{rows}</table><img alt='plan map' src='data:image/png;base64,{png}'>"
        f"<h2>Coverage before and after</h2>{units.to_html(index=False, border=0)}"
        "</body></html>"
    )
