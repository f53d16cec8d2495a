"""The report's transit part: walk against walk + transit, the walk to a station, the figures.

Each part is a ``(title, figures, html, note)`` for :mod:`shancheng.circles.report` to frame,
so that the report module keeps one way of drawing sections.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from shancheng.circles.evaluate import Evaluation
    from shancheng.circles.transit_figures import TransitResults

Part = tuple[str, list["Figure"], str, str]


def transit_parts(evaluation: Evaluation) -> list[Part]:
    """Return the report's transit sections; none without a feed."""
    transit = evaluation.transit
    if transit is None:
        return []
    people = evaluation.accessibility.residences["population"].to_numpy(np.float64)
    return [
        ("Walk + transit", [_comparison_chart(transit, people)], _figures_table(transit),
         (f"Median over the window (service day {transit.service_day}) of the door-to-door time "
         "to the nearest facility, walking only and with the metro (walk to an entrance, lift "
         "or escalator, wait, ride, climb out, walk); people-weighted medians over residences.")),
        ("Walk to a station", [_station_map(evaluation, transit)], _district_table(transit),
         ("Minutes from each residence to the nearest platform through the station entrances, "
         "climb included; black triangles: stations, lines: the metro.")),
    ]  # fmt: skip


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    if cumulative.shape[0] == 0 or cumulative[-1] <= 0:
        return float("nan")
    k = int(np.searchsorted(cumulative / cumulative[-1], 0.5))
    return float(values[order][min(k, order.shape[0] - 1)])


def _comparison_chart(transit: TransitResults, people: np.ndarray) -> Figure:
    access = transit.access
    n = len(access.categories)
    walk = [_weighted_median(access.walk_s[:, c], people) / 60 for c in range(n)]
    ride = [_weighted_median(access.median_s[:, c], people) / 60 for c in range(n)]
    figure, axes = plt.subplots(figsize=(10, 0.32 * n + 1))
    y = np.arange(n)
    axes.barh(y - 0.2, np.minimum(walk, 60), height=0.4, color="#fdae61", label="walking")
    axes.barh(y + 0.2, np.minimum(ride, 60), height=0.4, color="#2b83ba",
              label="walking + metro")  # fmt: skip
    for threshold in (15, 30, 45):
        axes.axvline(threshold, color="#999", linestyle=":", linewidth=1)
    axes.set_yticks(y, access.categories)
    axes.invert_yaxis()
    axes.set_xlabel("median minutes to the nearest facility (60 = 60+)")
    axes.legend(loc="lower right")
    return figure


def _station_map(evaluation: Evaluation, transit: TransitResults) -> Figure:
    points = evaluation.residences.geometry.representative_point()
    minutes = np.minimum(transit.access.station_walk_s / 60.0, 20.0)
    figure, axes = plt.subplots(figsize=(8, 7))
    axes.set_axis_off()
    mappable = axes.scatter(points.x, points.y, c=minutes, cmap="viridis_r", vmin=0, vmax=20,
                            s=3, linewidths=0)  # fmt: skip
    for line in transit.lines.geometry:
        x, y = line.xy
        axes.plot(x, y, color="#d7191c", linewidth=1.5)
    stations = transit.stations.geometry
    axes.scatter(stations.x, stations.y, marker="^", color="k", s=25, zorder=3)
    lat = float(np.nanmean(points.y)) if len(points) else 0.0
    axes.set_aspect(1.0 / np.cos(np.radians(lat)))
    figure.colorbar(mappable, ax=axes, shrink=0.6, label="minutes to a platform (20+)")
    return figure


def _figures_table(transit: TransitResults) -> str:
    shares = transit.station_shares
    city = shares[shares["unit_level"] == "city"].iloc[0]
    rows = [(f"{kind} network", f"{km:,.1f} km of line") for kind, km in
            transit.network_km.items()]  # fmt: skip
    rows += [
        ("lines, stations", f"{len(transit.lines)}, {len(transit.stations)}"),
        ("residents within a 10-minute walk of a station", f"{city['share_10min']:.1%}"),
        ("residents within a 15-minute walk of a station", f"{city['share_15min']:.1%}"),
    ]
    body = "".join(f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td></tr>" for a, b in rows)
    return f"<table><tr><th>metro figure</th><th>value</th></tr>{body}</table>"


def _district_table(transit: TransitResults) -> str:
    shares = transit.station_shares
    districts = shares[shares["unit_level"] == "district"]
    body = "".join(
        f"<tr><td>{html.escape(str(code))}</td><td>{people:,.0f}</td><td>{s10:.1%}</td>"
        f"<td>{s15:.1%}</td></tr>"
        for code, people, s10, s15 in zip(
            districts["unit_code"],
            districts["population"],
            districts["share_10min"],
            districts["share_15min"],
            strict=True,
        )
    )
    head = "<tr><th>district</th><th>residents</th><th>≤ 10 min</th><th>≤ 15 min</th></tr>"
    return f"<table>{head}{body}</table>"
