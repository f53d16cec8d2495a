"""The dashboard's tiled layers, made from a City's tables and the living-circles results.

Each function takes the WGS84 GeoDataFrames as the City and ``circles evaluate`` store them
and returns a :class:`~shancheng.tiles.layer.TileLayer` whose attributes carry their unit in
the name, as in ``docs/dashboard-api.md``:

- ``walk``: street pieces with ``segment_id, kind, length_m, walk_time_s`` (tail → head) and
  ``walk_time_back_s`` (head → tail; absent on one-way pieces), from the slope-aware network;
- ``coverage``: residences with ``population, covered_share`` (share of the catalogue's
  requirements met there) and ``<category>_walk_time_s`` (nearest, absent beyond the cutoff);
- ``cells``: unit-grid cells with ``cell_id, population`` and ``<measure>_share``;
- ``pipes``: water and gas links with ``network, pipe_id, kind, diameter_mm, material``;
- ``admin``: administrative units with ``code, name, level, parent_code``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from shancheng.network.speed import EdgeKind
from shancheng.tiles.layer import TileLayer, layer_from_frame

if TYPE_CHECKING:
    from shancheng.network.walk import WalkNetwork

WALK_MINZOOM = 12
"""Street pieces below zoom 12 (≈ 38 m per screen pixel) would be a grey smear."""
COVERAGE_MINZOOM = 12
"""Residence points below zoom 12 merge anyway; the cells layer shows coverage there."""


def walk_layer(segments: gpd.GeoDataFrame, network: WalkNetwork) -> TileLayer:
    """Street pieces with their walking time each way (slope-aware, from ``network``)."""
    n = len(segments)
    forward = np.full(n, np.nan)
    back = np.full(n, np.nan)
    seg = network.edge_segment
    along = network.edge_forward
    forward[seg[along]] = network.edge_time_s[along]
    back[seg[~along]] = network.edge_time_s[~along]
    kinds = segments["kind"].to_numpy()
    names = {int(k): k.name.lower() for k in EdgeKind}
    frame = segments.assign(
        kind=[names.get(int(k), str(k)) for k in kinds]
        if np.issubdtype(kinds.dtype, np.integer)
        else kinds.astype(str),
        length_m=segments["length_m"].to_numpy(np.float64).round(1),
        walk_time_s=forward.round(1),
        walk_time_back_s=back.round(1),
    )
    columns = ["segment_id", "kind", "length_m", "walk_time_s", "walk_time_back_s"]
    return layer_from_frame("walk", frame, columns, minzoom=WALK_MINZOOM)


def coverage_layer(residences: gpd.GeoDataFrame) -> TileLayer:
    """Residences (as points) with the nearest walking time per category and the share met.

    ``residences`` is the ``residences`` table of ``circles evaluate``: columns
    ``<category>_walk_min`` and ``covered_<measure>`` (booleans).
    """
    times = [c for c in residences.columns if c.endswith("_walk_min")]
    covered = [c for c in residences.columns if c.startswith("covered_")]
    columns: dict[str, object] = {
        c.removesuffix("_walk_min") + "_walk_time_s": (
            residences[c].to_numpy(np.float64) * 60.0
        ).round(0)
        for c in times
    }
    if covered:
        columns["covered_share"] = (
            residences[covered].to_numpy(dtype=np.float64).mean(axis=1).round(4)
        )
    people = [c for c in ("residence_id", "population") if c in residences.columns]
    frame = gpd.GeoDataFrame(
        pd.concat([residences[people].reset_index(drop=True), pd.DataFrame(columns)], axis=1),
        geometry=residences.geometry.reset_index(drop=True).representative_point().to_numpy(),
        crs=residences.crs,
    )
    if "residence_id" in frame.columns:
        frame["residence_id"] = frame["residence_id"].astype(str)
    return layer_from_frame(
        "coverage", frame, [c for c in frame.columns if c != "geometry"], minzoom=COVERAGE_MINZOOM
    )


def cells_layer(cells: gpd.GeoDataFrame) -> TileLayer:
    """Unit-grid cells with residents and the coverage share of each requirement."""
    shares = [c for c in cells.columns if c.endswith("_share")]
    frame = cells.assign(**{c: cells[c].to_numpy(np.float64).round(4) for c in shares})
    base = [c for c in ("cell_id", "population") if c in cells.columns]
    return layer_from_frame("cells", frame, base + shares)


def pipes_layer(links: dict[str, gpd.GeoDataFrame]) -> TileLayer:
    """Pipes of every network (``{"water": water_links, "gas": gas_links}``) in one layer."""
    columns = ["network", "pipe_id", "kind", "diameter_mm", "material"]
    parts = [
        frame.assign(network=network, pipe_id=frame["link_id"].astype(str))
        for network, frame in links.items()
        if len(frame)
    ]
    if not parts:
        empty = gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs="EPSG:4326")
        return layer_from_frame("pipes", empty, columns)
    frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)
    return layer_from_frame("pipes", frame, columns)


def admin_layer(units: gpd.GeoDataFrame) -> TileLayer:
    """Administrative units (city, districts, streets, communities) as outlines to fill."""
    columns = [c for c in ("code", "name", "name_en", "level", "parent_code") if c in units]
    polygons = units[units.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    return layer_from_frame("admin", polygons, columns)
