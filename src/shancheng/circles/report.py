"""The living-circle report: one self-contained HTML page with maps, charts and tables.

Everything is drawn with matplotlib into PNGs embedded as ``data:`` URIs, so the page opens
offline, from a mail attachment or a USB stick, with no internet and no server. Sections:
headline shares, coverage per requirement and per age group, coverage maps by street and
community, gap areas, walking time to the nearest facility of every category, and tables.
"""

from __future__ import annotations

import base64
import html
import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib as mpl

mpl.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shapely
from matplotlib.collections import LineCollection

from shancheng.circles.report_transit import transit_parts

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from shancheng.circles.evaluate import Evaluation

logger = logging.getLogger(__name__)

REPORT_NAME = "report.html"
_MAP_POINTS = 60_000
"""Most residences drawn per map (a random sample beyond that keeps the page light)."""
_GAP_PANELS = 6
_CMAP = "RdYlGn"


def write_report(evaluation: Evaluation, directory: str | Path) -> Path:
    """Write ``report.html`` into ``directory`` and return its path."""
    path = Path(directory) / REPORT_NAME
    path.write_text(render_report(evaluation), encoding="utf-8")
    logger.debug("report written to %s", path)
    return path


def render_report(evaluation: Evaluation) -> str:
    """Return the report as one self-contained HTML document."""
    sections = [
        _headline(evaluation),
        _section("Coverage by requirement", _png(_requirement_chart(evaluation)),
                 "Share of residents with a facility of the category within its threshold; "
                 "hatched: also with enough capacity (2SFCA) where the catalogue has a norm."),
        _section("Complete circles by age group", _png(_age_chart(evaluation)),
                 "Share of each age group whose circle at a level has every required category."),
        *_unit_map_sections(evaluation),
        _section("Gap areas", _png(_gap_maps(evaluation)) + _gap_table(evaluation),
                 "Contiguous unit-grid cells whose residents lack a category, for the "
                 "requirements leaving the most people uncovered."),
        _section("Walk to the nearest facility", _png(_time_maps(evaluation))
                 + _png(_time_chart(evaluation)),
                 "Walking minutes from every residence to the nearest facility of each category, "
                 "on the slope-aware network (uphill slower than downhill)."),
        *(_section(title, "".join(_png(f) for f in figures) + table, note)
          for title, figures, table, note in transit_parts(evaluation)),
        *_unit_table_sections(evaluation),
    ]  # fmt: skip
    title = f"Living circles — {html.escape(evaluation.city_name)}"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{_CSS}</style></head><body>"
        f"<h1>{title}</h1>" + "".join(sections) + "</body></html>\n"
    )


_CSS = (
    "body{font-family:sans-serif;margin:2em auto;max-width:1200px;color:#222}"
    "img{max-width:100%;display:block;margin:1em 0}table{border-collapse:collapse;"
    "font-size:0.85em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
    "th{background:#eee}td:first-child{text-align:left}.note{color:#555}"
    ".big{font-size:1.6em;font-weight:bold}"
    ".warn{background:#fff3cd;border:1px solid #e0c060;padding:0.5em}"
)


def _section(title: str, body: str, note: str) -> str:
    note_html = f"<p class='note'>{html.escape(note)}</p>" if note else ""
    return f"<section><h2>{html.escape(title)}</h2>{note_html}{body}</section>"


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"<img alt='figure' src='data:image/png;base64,{data}'>"


def _city_shares(evaluation: Evaluation, age_group: str = "all") -> pd.Series:
    table = evaluation.table
    rows = table[(table["unit_level"] == "city") & (table["age_group"] == age_group)]
    return rows.set_index("measure")["share"]


def _headline(evaluation: Evaluation) -> str:
    shares = _city_shares(evaluation)
    acc = evaluation.accessibility
    people = float(evaluation.coverage.weights[:, 0].sum())
    cells = "".join(
        f"<td><div class='big'>{share_text(shares.get(f'complete_{level}min'), 1)}</div>"
        f"complete {level}-minute circle</td>"
        for level in evaluation.catalogue.levels
    )
    facts = (
        f"{people:,.0f} residents in {len(acc.residences):,} residences "
        f"({int(acc.attached.sum()):,} reach the walk network); {len(acc.facilities):,} "
        f"facilities in {len(acc.categories)} categories; catalogue: "
        f"{html.escape(evaluation.catalogue.name)}; {len(evaluation.gaps):,} gap areas."
    )
    notes = "".join(
        f"<p class='warn'><b>Note:</b> {html.escape(note)}</p>" for note in evaluation.data_notes
    )
    return f"<section>{notes}<table><tr>{cells}</tr></table><p>{facts}</p></section>"


def _requirement_chart(evaluation: Evaluation) -> Figure:
    shares = _city_shares(evaluation)
    requirements = evaluation.catalogue.requirements
    labels = [f"{r.category} ({r.threshold_min:g} min)" for r in requirements]
    values = [float(shares.get(r.key, np.nan)) for r in requirements]
    capacity = [float(shares.get(f"{r.key}_capacity", np.nan)) for r in requirements]
    colours = {level: plt.get_cmap("tab10")(i) for i, level in
               enumerate(evaluation.catalogue.levels)}  # fmt: skip
    figure, axes = plt.subplots(figsize=(10, 0.32 * len(labels) + 1))
    y = np.arange(len(labels))
    axes.barh(y, values, color=[colours[r.level_min] for r in requirements], alpha=0.85)
    axes.barh(y, capacity, fill=False, hatch="///", edgecolor="k", linewidth=0)
    axes.set_yticks(y, labels)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of residents covered")
    for level, colour in colours.items():
        axes.barh([np.nan], [np.nan], color=colour, label=f"{level}-minute circle")
    axes.legend(loc="lower right")
    return figure


def _age_chart(evaluation: Evaluation) -> Figure:
    levels = evaluation.catalogue.levels
    groups = list(evaluation.catalogue.age_groups.values())
    figure, axes = plt.subplots(figsize=(10, 3.5))
    width = 0.8 / max(len(groups), 1)
    table = evaluation.table
    city = table[table["unit_level"] == "city"]
    for g, group in enumerate(groups):
        shares = _city_shares(evaluation, group.id)
        values = [float(shares.get(f"complete_{level}min", np.nan)) for level in levels]
        people = float(city.loc[city["age_group"] == group.id, "population"].max() or 0.0)
        x = np.arange(len(levels)) + g * width
        if not people > 0:  # nobody recorded in this group: say so, never draw a 0 %
            for xi in x:
                axes.text(xi, 0.02, "no data", rotation=90, ha="center", va="bottom",
                          fontsize="x-small", color="#777")  # fmt: skip
            axes.bar(x, [0.0] * len(levels), width, label=f"{group.id} (no data)")
            continue
        axes.bar(x, values, width, label=group.id)
    axes.set_xticks(np.arange(len(levels)) + 0.4 - width / 2, [f"{lv} min" for lv in levels])
    axes.set_ylim(0, 1)
    axes.set_ylabel("share with a complete circle")
    axes.legend(ncol=min(len(groups), 6), fontsize="small")
    return figure


def _level_mean_share(units: pd.DataFrame, evaluation: Evaluation, level: int) -> pd.Series:
    keys = [f"{r.key}_share" for r in evaluation.catalogue.requirements_at(level) if r.required]
    present = [k for k in keys if k in units.columns]
    return units[present].mean(axis=1)


def _unit_maps(evaluation: Evaluation, unit_level: str) -> Figure:
    units = evaluation.units[evaluation.units["level"] == unit_level]
    levels = evaluation.catalogue.levels
    figure, axes_row = plt.subplots(1, len(levels), figsize=(5 * len(levels), 5))
    for axes, level in zip(np.atleast_1d(axes_row), levels, strict=True):
        axes.set_axis_off()
        if units.empty:  # e.g. an imported city without polygons at this level
            axes.set_title(f"{level}-minute circle: no {unit_level} polygons in this city")
            continue
        shown = units.assign(share=_level_mean_share(units, evaluation, level))
        shown.plot(column="share", ax=axes, cmap=_CMAP, vmin=0, vmax=1, edgecolor="white",
                   linewidth=0.4, legend=True, legend_kwds={"shrink": 0.6})  # fmt: skip
        complete = units.get(f"complete_{level}min_share")
        known = np.asarray(complete, dtype=float) if complete is not None else np.array([])
        known = known[np.isfinite(known)]
        mean_complete = float(known.mean()) if known.size else np.nan
        axes.set_title(f"{level}-minute circle (complete: {share_text(mean_complete)} on avg.)")
    return figure


def _outline(axes: Axes, evaluation: Evaluation) -> None:
    """Draw the district boundaries (as one line collection: cheap to repeat per panel)."""
    districts = evaluation.units[evaluation.units["level"] == "district"]
    lines = shapely.get_parts(districts.boundary.to_numpy())
    segments = [shapely.get_coordinates(line) for line in lines]
    axes.add_collection(LineCollection(segments, colors="#555", linewidths=0.6))
    axes.autoscale_view()


def _gap_maps(evaluation: Evaluation) -> Figure:
    gaps = evaluation.gaps
    measures: list[str] = []
    if not gaps.empty:
        single = gaps[~gaps["measure"].str.startswith("complete_")]
        totals = single.groupby("measure")["population_affected"].sum()
        measures = totals.sort_values(ascending=False).index[:_GAP_PANELS].tolist()
    n = max(len(measures), 1)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    figure, grid = plt.subplots(rows, cols, figsize=(5 * cols, 5 * rows), squeeze=False)
    for axes in grid.ravel():
        axes.set_axis_off()
    for axes, measure in zip(grid.ravel(), measures, strict=False):
        _outline(axes, evaluation)
        part = gaps[gaps["measure"] == measure]
        part.plot(column="population_affected", ax=axes, cmap="Reds", legend=True,
                  legend_kwds={"shrink": 0.6, "label": "people affected"})  # fmt: skip
        axes.set_title(f"{measure}: {part['population_affected'].sum():,.0f} people uncovered")
    return figure


def _gap_table(evaluation: Evaluation) -> str:
    gaps = evaluation.gaps
    if gaps.empty:
        return "<p>No gap areas: every resident is covered.</p>"
    top = gaps.sort_values("population_affected", ascending=False).head(20)
    frame = pd.DataFrame(
        {
            "gap area": top["gap_id"],
            "cells": top["n_cells"],
            "people affected": top["population_affected"].map("{:,.0f}".format),
            "missing (people)": top["missing_categories"],
        }
    )
    return frame.to_html(index=False, escape=True, border=0)


def _residence_points(evaluation: Evaluation) -> pd.DataFrame:
    """Lon/lat of (a sample of) residences and their walking minutes per category."""
    frame = evaluation.residences
    if len(frame) > _MAP_POINTS:
        frame = frame.sample(_MAP_POINTS, random_state=0)
    points = frame.geometry.representative_point()
    columns = [f"{c}_walk_min" for c in evaluation.accessibility.categories]
    table = pd.DataFrame(frame[columns])
    table["lon"] = points.x.to_numpy()
    table["lat"] = points.y.to_numpy()
    return table


def _time_maps(evaluation: Evaluation) -> Figure:
    points = _residence_points(evaluation)
    categories = evaluation.accessibility.categories
    cols = 5
    rows = int(np.ceil(len(categories) / cols))
    figure, grid = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.6 * rows), squeeze=False)
    for axes in grid.ravel():
        axes.set_axis_off()
    aspect = 1.0 / np.cos(np.radians(float(points["lat"].mean()))) if len(points) else 1.0
    mappable = None
    for axes, category in zip(grid.ravel(), categories, strict=False):
        _outline(axes, evaluation)
        minutes = points[f"{category}_walk_min"].clip(upper=30).fillna(30).to_numpy()
        mappable = axes.scatter(points["lon"], points["lat"], c=minutes, cmap="viridis_r",
                                vmin=0, vmax=30, s=2, linewidths=0)  # fmt: skip
        axes.set_aspect(aspect)
        axes.set_title(category, fontsize="small")
    if mappable is not None:
        figure.colorbar(mappable, ax=grid.ravel().tolist(), shrink=0.4,
                        label="walking minutes (30+)")  # fmt: skip
    return figure


def _time_chart(evaluation: Evaluation) -> Figure:
    acc = evaluation.accessibility
    people = evaluation.coverage.weights[:, 0]
    order = np.argsort(acc.time_s, axis=0)
    quantiles = []
    for c in range(len(acc.categories)):
        t = acc.time_s[order[:, c], c] / 60.0
        w = np.cumsum(people[order[:, c]])
        w = w / w[-1] if w.shape[0] and w[-1] > 0 else w
        quantiles.append([_weighted_quantile(t, w, q) for q in (0.25, 0.5, 0.9)])
    values = np.minimum(np.array(quantiles), 60.0)
    figure, axes = plt.subplots(figsize=(10, 0.32 * len(acc.categories) + 1))
    y = np.arange(len(acc.categories))
    axes.barh(y, values[:, 2], color="#fdae61", label="90 % of residents within")
    axes.barh(y, values[:, 1], color="#2b83ba", label="half of residents within")
    axes.scatter(values[:, 0], y, color="k", s=8, label="a quarter within", zorder=3)
    for threshold in (5, 10, 15):
        axes.axvline(threshold, color="#999", linestyle=":", linewidth=1)
    axes.set_yticks(y, acc.categories)
    axes.invert_yaxis()
    axes.set_xlabel("walking minutes to the nearest facility (people-weighted; 60 = 60+)")
    axes.legend(loc="lower right")
    return figure


def _weighted_quantile(sorted_values: np.ndarray, cumulative: np.ndarray, q: float) -> float:
    if sorted_values.shape[0] == 0:
        return float("nan")
    k = int(np.searchsorted(cumulative, q))
    return float(sorted_values[min(k, sorted_values.shape[0] - 1)])


UNIT_LEVELS = ("district", "street", "community")
"""Admin levels below the city that get a map and a table when the City has them."""


def _unit_levels(evaluation: Evaluation, *, with_polygons: bool) -> list[str]:
    """Return the City's admin levels below the city (those with polygons, for maps)."""
    units = evaluation.units
    present = []
    for level in UNIT_LEVELS:
        mine = units[units["level"] == level]
        if with_polygons:
            mine = mine[mine.geometry.notna() & ~mine.geometry.is_empty]
        if len(mine):
            present.append(level)
    return present


def _unit_map_sections(evaluation: Evaluation) -> list[str]:
    """One map section per admin level with polygons; a note when the City has none."""
    levels = _unit_levels(evaluation, with_polygons=True)
    if not levels:
        return [_section("Coverage by unit", "<p>no data: this City has no admin-unit "
                         "polygons, so coverage is shown for the whole city and the grid "
                         "cells only</p>", "")]  # fmt: skip
    return [
        _section(f"Coverage by {level}", _png(_unit_maps(evaluation, level)),
                 f"Mean share of the level's required categories within reach, per {level}.")
        for level in levels
    ]  # fmt: skip


def _unit_table_sections(evaluation: Evaluation) -> list[str]:
    """One table per admin level the City has (with or without polygons)."""
    return [
        _section(f"{level.capitalize()} units", _unit_table(evaluation, level), "")
        for level in _unit_levels(evaluation, with_polygons=False)
    ]


def share_text(value: object, digits: int = 0) -> str:
    """Return a share as a percentage, or "no data" when unknown (never a made-up 0 %).

    Examples
    --------
    >>> share_text(0.256), share_text(float("nan")), share_text(None), share_text(0.5, 1)
    ('26%', 'no data', 'no data', '50.0%')
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "no data"
    return "no data" if not np.isfinite(number) else f"{number:.{digits}%}"


def _unit_table(evaluation: Evaluation, unit_level: str) -> str:
    units = evaluation.units[evaluation.units["level"] == unit_level]
    names = units["name"].astype(str)
    if "name_en" in units.columns:  # the English name where there is one
        english = units["name_en"].fillna("").astype(str)
        names = english.where(english != "", names)
    frame = pd.DataFrame({"code": units["code"], "name": names,
                          "residents": units["population"].map("{:,.0f}".format)})  # fmt: skip
    for level in evaluation.catalogue.levels:
        frame[f"{level} min: mean coverage"] = _level_mean_share(units, evaluation, level).map(
            share_text
        )
        column = f"complete_{level}min_share"
        if column in units.columns:
            frame[f"{level} min: complete"] = units[column].map(share_text)
    return frame.to_html(index=False, escape=True, border=0)
