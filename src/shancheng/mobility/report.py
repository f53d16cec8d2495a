"""Write the bottleneck analysis: GeoPackage layers, a CSV ranking and an HTML report.

The HTML is one self-contained file with embedded PNGs (as the circles report): a map of the
candidates over the carriageways (main roads drawn heavier), the ranked table with every
weighted component and the reason in words, and the stated assumptions.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

from shancheng.geo.crs import WGS84_EPSG
from shancheng.mobility.drive import carriageway_mask

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from shancheng.data.city import City
    from shancheng.mobility.bottlenecks import Bottlenecks

TOP_IN_REPORT = 30
"""Candidates listed in the HTML report (the CSV and GeoPackage hold all)."""


def write_outputs(
    result: Bottlenecks, city: City, directory: str | Path, *, before: pd.DataFrame | None = None
) -> dict[str, Path]:
    """Write ``bottlenecks.gpkg``, ``bottlenecks.csv`` and ``bottlenecks.html``.

    ``before`` is the ranking without the what-if; when given, ``rank_before`` and
    ``rank_change`` columns show how the what-if moved each candidate.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    table = result.candidates.copy()
    if before is not None:
        rank_of = before.set_index("candidate_id")["rank"]
        table["rank_before"] = table["candidate_id"].map(rank_of).astype("Int64")
        table["rank_change"] = table["rank_before"] - table["rank"]
    csv = out / "bottlenecks.csv"
    table.to_csv(csv, index=False)
    gpkg = out / "bottlenecks.gpkg"
    points = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]),
                              crs=WGS84_EPSG)  # fmt: skip
    points.to_file(gpkg, layer="candidates", driver="GPKG")
    pieces = city.walk_segments[["segment_id", "road_class", "name", "geometry"]].merge(
        result.pieces, on="segment_id"
    )
    pieces.to_file(gpkg, layer="road_pieces", driver="GPKG")
    crossings = result.zones.crossings.merge(
        city.walk_nodes[["node_id", "geometry"]], left_on="walk_node_id", right_on="node_id"
    )
    layer = gpd.GeoDataFrame(crossings.drop(columns="node_id"), geometry="geometry", crs=WGS84_EPSG)
    layer.to_file(gpkg, layer="pupil_crossings", driver="GPKG")
    page = out / "bottlenecks.html"
    page.write_text(render_report(result, city, table), encoding="utf-8")
    return {"gpkg": gpkg, "csv": csv, "html": page}


def render_report(result: Bottlenecks, city: City, table: pd.DataFrame) -> str:
    """Return the HTML report."""
    top = table.head(TOP_IN_REPORT)
    b = result.betweenness
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            r["rank"], r["kind"].replace("_", " "), r["name"], f"{r['score']:.3f}",
            f"{r['pupils']:.0f}", f"{r['residents']:,}",
            *([r["rank_before"]] if "rank_before" in r else []), r["reason"])) + "</tr>"
        for r in top.to_dict("records")
    )  # fmt: skip
    moved = "<th>rank before</th>" if "rank_before" in table.columns else ""
    sampling = "exact (every junction a source)" if b.exact else (
        f"{b.samples:,} of {b.n_nodes:,} junctions as sources; every count within "
        + ", ".join(f"±{e:,.0f} pairs at {s / 1000:g} km" for s, e in
                    zip(b.scales_m, b.error_bounds, strict=True))
        + f" with probability {1 - b.delta:.0%}"
    )  # fmt: skip
    if b.turn_restricted:
        sampling += "; routes obey the mapped turn restrictions"
    assumptions = html.escape(json.dumps(result.assumptions, indent=1, ensure_ascii=False))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Bottlenecks: {html.escape(city.name)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}}td,th{{padding:2px 6px;
border-bottom:1px solid #ddd;font-size:13px;vertical-align:top}}</style></head><body>
<h1>School gates and junctions: candidate projects — {html.escape(city.name)}</h1>
<p>{len(table):,} candidates ranked ({(table["kind"] == "school_gate").sum()} school gates,
{(table["kind"] == "junction").sum()} major junctions). Through movement: sampled betweenness
on the drive network, {sampling}. Reproduce: <code>shancheng mobility bottlenecks --city
CITY --out DIR</code>.</p>
<h2>Map</h2><img alt="candidates" src="data:image/png;base64,{_png(_map(city, top))}">
<h2>Ranking (top {len(top)})</h2>
<table><tr><th>rank</th><th>kind</th><th>name</th><th>score</th><th>pupils</th>
<th>residents</th>{moved}<th>why</th></tr>{rows}</table>
<h2>Assumptions and weights</h2><pre>{assumptions}</pre></body></html>
"""


def _map(city: City, top: pd.DataFrame) -> Figure:
    segs = city.walk_segments
    roads = segs[carriageway_mask(segs)]
    figure, axes = plt.subplots(figsize=(9, 7.5))
    main = roads["road_class"].isin(("primary", "secondary"))
    roads[~main].plot(ax=axes, color="#ccc", linewidth=0.3)
    roads[main].plot(ax=axes, color="#777", linewidth=1.2)
    for kind, colour, marker in (("school_gate", "#d62728", "o"), ("junction", "#1f77b4", "s")):
        part = top[top["kind"] == kind]
        axes.scatter(part["lon"], part["lat"], s=40 + 200 * part["score"], c=colour,
                     marker=marker, label=kind.replace("_", " "), zorder=3, alpha=0.8)  # fmt: skip
        for r in part.head(10).itertuples():
            axes.annotate(str(r.rank), (r.lon, r.lat), fontsize=8, zorder=4)
    axes.legend(loc="lower right")
    axes.set_axis_off()
    return figure


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
