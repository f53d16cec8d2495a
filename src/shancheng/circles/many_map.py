"""The national map and table of ``evaluate-many``: coverage per city, per requirement.

``national.png`` has two panels: the cities where they lie (lon/lat of their residents'
centre), sized by population and coloured by the share of residents whose 15-minute circle
is complete; and a city x requirement grid of shares. ``national.html`` is the same grid as
a table a browser opens offline, with the PNG embedded.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING, Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

HEADLINE = "complete_15min"
"""The measure the map colours cities by."""
_META = ("city", "status", "error", "population")


def national_png(wide: pd.DataFrame, outcomes: list[dict[str, Any]], path: Path) -> None:
    """Draw the cities' map and the city x requirement grid of shares."""
    measures = [c for c in wide.columns if c not in _META]
    where = {o["name"]: (o.get("lon"), o.get("lat")) for o in outcomes}
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(13, max(4.0, 0.35 * len(wide) + 2)), width_ratios=[1, 2]
    )
    ok = wide[wide["status"] == "ok"]
    colour = ok[HEADLINE] if HEADLINE in ok.columns else np.zeros(len(ok))
    lon = [where[c][0] for c in ok["city"]]
    lat = [where[c][1] for c in ok["city"]]
    size = 30 + 300 * np.sqrt(ok["population"].fillna(0) / max(float(ok["population"].max()), 1))
    points = left.scatter(lon, lat, c=colour, s=size, cmap="RdYlGn", vmin=0, vmax=1,
                          edgecolors="black")  # fmt: skip
    for name, x, y in zip(ok["city"], lon, lat, strict=True):
        left.annotate(str(name), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    left.set(title=f"cities: share of residents, {HEADLINE.replace('_', ' ')}",
             xlabel="longitude", ylabel="latitude")  # fmt: skip
    fig.colorbar(points, ax=left, shrink=0.6)
    grid = wide[measures].to_numpy(np.float64) if measures else np.zeros((len(wide), 0))
    right.imshow(grid, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    right.set_xticks(range(len(measures)), [m.replace("_", " ") for m in measures],
                     rotation=90, fontsize=7)  # fmt: skip
    labels = [f"{c} (failed)" if s != "ok" else str(c) for c, s in
              zip(wide["city"], wide["status"], strict=True)]  # fmt: skip
    right.set_yticks(range(len(wide)), labels, fontsize=8)
    right.set_title("share of residents covered, per city and requirement")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def national_html(wide: pd.DataFrame, png: Path, path: Path) -> None:
    """Write the grid as an HTML table (cells shaded by share), the PNG embedded."""
    measures = [c for c in wide.columns if c not in _META]
    head = "".join(f"<th>{html.escape(m.replace('_', ' '))}</th>" for m in measures)
    rows = []
    for record in wide.to_dict("records"):
        cells = []
        for m in measures:
            share = record.get(m)
            if share is None or np.isnan(share):  # a failed city, or no data
                cells.append("<td></td>")
                continue
            hue = int(120 * float(share))
            cells.append(f'<td style="background:hsl({hue},70%,80%)">{float(share):.1%}</td>')
        status = html.escape(str(record["status"]))
        error = html.escape(str(record.get("error") or ""))
        rows.append(f"<tr><th>{html.escape(str(record['city']))}</th><td>{status}</td>"
                    f"<td>{error}</td>{''.join(cells)}</tr>")  # fmt: skip
    image = base64.b64encode(png.read_bytes()).decode()
    page = (
        "<!doctype html><meta charset='utf-8'><title>living circles per city</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 6px;font-size:12px}"
        "table{border-collapse:collapse}</style>"
        "<h1>Living circles per city</h1>"
        f"<img alt='map of cities and grid of shares' src='data:image/png;base64,{image}'>"
        f"<table><tr><th>city</th><th>status</th><th>error</th>{head}</tr>{''.join(rows)}"
        "</table>"
    )
    path.write_text(page, encoding="utf-8")
