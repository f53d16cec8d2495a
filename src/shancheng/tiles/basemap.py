"""The base map's tiled layers, cut from the City itself (offline).

Roads, buildings, water, green, contours and labels; the shaded relief is a raster layer
(:mod:`~shancheng.tiles.raster`).

Attributes (``docs/dashboard-api.md`` has the full contract; a missing name is absent, never
``""``, so a client falls back from ``name_en`` to ``name``):

- ``roads``: lines ``class`` (:data:`ROAD_MINZOOM`'s keys), ``name``, ``name_en``, ``bridge``;
  pieces of one road (same class, names and bridge flag) are merged into long lines, so a
  client can write the name along them; main roads appear from zoom 10, lanes from 13-14;
- ``buildings``: footprints with ``levels`` (absent when unknown), from zoom 14;
- ``water`` and ``green``: polygons with ``kind``, ``name``, ``name_en``;
- ``contours``: lines ``elevation_m`` (integer metres) and ``index`` (true on every fifth
  level, from zoom 11; the others from zoom 13);
- ``labels``: points ``name``, ``name_en``, ``kind`` (district, street, community, road, water,
  green) and ``rank`` (1 the most important) for the client to thin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from shancheng.geo.crs import WGS84_EPSG, geometries_to_lonlat
from shancheng.geo.relief import contour_lines
from shancheng.network.speed import ROAD_CLASS_OF_KIND, EdgeKind
from shancheng.tiles.layer import TileLayer, layer_from_frame

if TYPE_CHECKING:
    from shancheng.geo.relief import HeightGrid

ROAD_MINZOOM: dict[str, int] = {
    "primary": 10, "secondary": 11, "tertiary": 12, "cable_car": 12, "ferry": 12,
    "residential": 13, "service": 13, "lift": 14, "footway": 14, "path": 14, "steps": 14,
}  # fmt: skip
"""Lowest zoom whose ``roads`` tiles carry each class."""
BUILDINGS_MINZOOM = 14
"""Footprints below zoom 14 (≈ 10 m per pixel) would be specks."""
CONTOUR_MINZOOM = (11, 13)
"""Lowest zoom of the index contours and of the others."""
MAIN_ROADS = ("primary", "secondary", "tertiary")
"""Classes whose named roads get a point label."""
_UNIT_RANK = {"district": 1, "street": 3, "community": 4}
_ROAD_RANK = {"primary": 2, "secondary": 3, "tertiary": 4}
_NAMES = ["name", "name_en"]


def _names(frame: pd.DataFrame) -> pd.DataFrame:
    """``name`` and ``name_en`` as strings with missing for empty (absent in the tiles)."""
    out = pd.DataFrame(index=frame.index)
    for column in _NAMES:
        values = frame[column] if column in frame.columns else pd.Series(None, index=frame.index)
        out[column] = values.astype(object).where(values.notna() & (values != ""), None)
    return out


def road_rows(segments: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Walk segments as roads: ``class`` (from ``road_class``, else the kind), names, bridge."""
    kinds = segments["kind"].to_numpy()
    kind_ids = kinds.astype(np.int64) if np.issubdtype(kinds.dtype, np.integer) else None
    if "road_class" in segments.columns:
        classes = segments["road_class"].astype(object).to_numpy()
    elif kind_ids is not None:
        classes = np.array([ROAD_CLASS_OF_KIND.get(EdgeKind(k), "residential")
                            for k in kind_ids], dtype=object)  # fmt: skip
    else:
        classes = np.full(len(segments), "residential", dtype=object)
    bridge = kind_ids == EdgeKind.BRIDGE if kind_ids is not None else np.zeros(len(segments), bool)
    frame = pd.concat([pd.DataFrame({"class": classes, "bridge": bridge}, index=segments.index),
                       _names(segments)], axis=1)  # fmt: skip
    return gpd.GeoDataFrame(frame, geometry=segments.geometry, crs=segments.crs)


def roads_layer(segments: gpd.GeoDataFrame) -> TileLayer:
    """Roads by class, the pieces of each named road (or class of unnamed ones) merged."""
    rows = road_rows(segments)
    keys = ["class", "name", "name_en", "bridge"]
    parts = []
    for key, group in rows.groupby(keys, dropna=False, sort=True):
        merged = shapely.line_merge(shapely.multilinestrings(group.geometry.to_numpy()))
        lines = shapely.get_parts(merged)
        parts.append(pd.DataFrame({"geometry": lines, **dict(zip(keys, key, strict=True))}))
    columns = ["class", "name", "name_en", "bridge"]
    if not parts:
        empty = gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=WGS84_EPSG)
        return layer_from_frame("roads", empty, columns, minzoom=min(ROAD_MINZOOM.values()))
    frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=segments.crs)
    frame[_NAMES] = _names(frame)
    frame["bridge"] = frame["bridge"].astype(bool)
    zooms = frame["class"].map(ROAD_MINZOOM).fillna(ROAD_MINZOOM["residential"]).astype(int)
    return layer_from_frame("roads", frame, columns, minzoom=min(ROAD_MINZOOM.values()),
                            feature_minzoom=zooms.to_numpy())  # fmt: skip


def buildings_layer(buildings: gpd.GeoDataFrame) -> TileLayer:
    """Index building footprints with their number of ``levels`` (absent when unknown)."""
    polygons = buildings[buildings.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    levels = pd.to_numeric(polygons.get("levels"), errors="coerce")
    frame = polygons[["geometry"]].assign(levels=levels.round().astype("Int64"))
    return layer_from_frame("buildings", frame, ["levels"], minzoom=BUILDINGS_MINZOOM)


def areas_layer(name: str, areas: gpd.GeoDataFrame | None) -> TileLayer:
    """Water or green polygons with ``kind``, ``name`` and ``name_en``."""
    columns = ["kind", *_NAMES]
    if areas is None or not len(areas):
        empty = gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=WGS84_EPSG)
        return layer_from_frame(name, empty, columns)
    frame = areas[["geometry", "kind"]].assign(**_names(areas))
    return layer_from_frame(name, frame, columns)


def contours_layer(grid: HeightGrid | None) -> TileLayer:
    """Contour lines of the terrain (interval from its relief; every fifth an index line)."""
    columns = ["elevation_m", "index"]
    lines, elevation, index = (
        contour_lines(grid)
        if grid is not None
        else (np.empty(0, dtype=object), np.empty(0), np.empty(0, dtype=bool))
    )
    geometry = geometries_to_lonlat(lines, epsg=grid.crs_epsg) if grid is not None else lines
    frame = gpd.GeoDataFrame(
        {"elevation_m": np.round(elevation).astype(np.int64), "index": index.astype(bool)},
        geometry=geometry, crs=WGS84_EPSG,
    )  # fmt: skip
    zooms = np.where(index, CONTOUR_MINZOOM[0], CONTOUR_MINZOOM[1])
    return layer_from_frame("contours", frame, columns, minzoom=CONTOUR_MINZOOM[0],
                            feature_minzoom=zooms)  # fmt: skip


def labels_layer(
    units: gpd.GeoDataFrame,
    segments: gpd.GeoDataFrame,
    water: gpd.GeoDataFrame | None = None,
    green: gpd.GeoDataFrame | None = None,
) -> TileLayer:
    """Name points: units inside their polygon, main roads at the middle of their longest piece.

    Water and green areas are labelled at a point inside their largest part.
    """
    frames = [_unit_labels(units), _road_labels(road_rows(segments))]
    for areas, kind, rank in ((water, "water", 1), (green, "green", 4)):
        if areas is not None and len(areas):
            frames.append(_area_labels(areas, kind, rank))
    frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=WGS84_EPSG)
    frame[_NAMES] = _names(frame)
    frame = frame[frame["name"].notna() | frame["name_en"].notna()]
    return layer_from_frame("labels", frame, ["name", "name_en", "kind", "rank"])


def _unit_labels(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    polygons = units[units["level"].isin(list(_UNIT_RANK))
                     & units.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]  # fmt: skip
    return gpd.GeoDataFrame(
        {"kind": polygons["level"].to_numpy(),
         "rank": polygons["level"].map(_UNIT_RANK).to_numpy(np.int64), **_names(polygons)},
        geometry=shapely.point_on_surface(polygons.geometry.to_numpy()), crs=WGS84_EPSG,
    )  # fmt: skip


def _road_labels(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    main = roads[
        roads["class"].isin(MAIN_ROADS) & (roads["name"].notna() | roads["name_en"].notna())
    ]
    rows = []
    for (name, name_en), group in main.groupby(["name", "name_en"], dropna=False, sort=True):
        merged = shapely.line_merge(shapely.multilinestrings(group.geometry.to_numpy()))
        pieces = shapely.get_parts(merged)
        longest = pieces[np.argmax(shapely.length(pieces))]
        best = min(group["class"], key=MAIN_ROADS.index)
        rows.append({"geometry": shapely.line_interpolate_point(longest, 0.5, normalized=True),
                     "name": name, "name_en": name_en, "kind": "road",
                     "rank": _ROAD_RANK[best]})  # fmt: skip
    return gpd.GeoDataFrame(rows, columns=["geometry", *_NAMES, "kind", "rank"],
                            geometry="geometry", crs=WGS84_EPSG)  # fmt: skip


def _area_labels(areas: gpd.GeoDataFrame, kind: str, rank: int) -> gpd.GeoDataFrame:
    geometry = areas.geometry.to_numpy()
    parts, owner = shapely.get_parts(geometry, return_index=True)
    largest = pd.Series(shapely.area(parts)).groupby(owner).idxmax().to_numpy()
    points = shapely.point_on_surface(parts[largest])
    named = _names(areas.iloc[np.unique(owner)])
    return gpd.GeoDataFrame({"kind": kind, "rank": rank, **named.reset_index(drop=True)},
                            geometry=points, crs=WGS84_EPSG)  # fmt: skip
