"""Line lengths of a feed: each route's length from ``shapes.txt``, or its stops if no shape.

A route's length is that of the longest path any of its trips runs (its full extent: a
short-turn or a branch does not add to it), measured in metres in the UTM zone of the feed's
centre. The network length per ``route_type`` is the sum over its routes: line-kilometres,
as plans count them (two lines sharing a track both count it). Chongqing's plan figure
(593 km of rail by 2025) is such a sum.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from shancheng.geo.crs import lonlat_to_utm

if TYPE_CHECKING:
    from shancheng.data.gtfs import Feed

logger = logging.getLogger(__name__)

ROUTE_TYPES = {0: "tram", 1: "metro", 2: "rail", 3: "bus", 4: "ferry", 5: "cable tram",
               6: "aerial lift", 7: "funicular", 11: "trolleybus", 12: "monorail"}  # fmt: skip
"""GTFS ``route_type`` codes and their names (Chongqing's monorail lines 2 and 3 are 12)."""


def _utm_epsg(lon: float, lat: float) -> int:
    zone = int((lon + 180.0) // 6.0) + 1
    return (32600 if lat >= 0 else 32700) + zone


def _path_lengths(paths: dict[str, pd.DataFrame], epsg: int) -> dict[str, float]:
    """Length in metres of each ``lon, lat`` point sequence, in one projection."""
    out = {}
    for key, points in paths.items():
        x, y = lonlat_to_utm(points["lon"].to_numpy(), points["lat"].to_numpy(), epsg=epsg)
        out[key] = float(np.hypot(np.diff(x), np.diff(y)).sum())
    return out


def _shape_paths(feed: Feed) -> dict[str, pd.DataFrame]:
    shapes = feed.shapes.sort_values(["shape_id", "shape_pt_sequence"], kind="stable")
    shapes = shapes.rename(columns={"shape_pt_lon": "lon", "shape_pt_lat": "lat"})
    return {str(k): g for k, g in shapes.groupby("shape_id", sort=False)}


def _stop_paths(feed: Feed, trip_ids: pd.Series[str]) -> dict[str, pd.DataFrame]:
    """One path per distinct stop sequence (trips without a shape)."""
    st = feed.stop_times[feed.stop_times["trip_id"].isin(trip_ids)]
    st = st.sort_values(["trip_id", "stop_sequence"], kind="stable")
    stops = feed.stops.set_index("stop_id")[["stop_lon", "stop_lat"]]
    paths = {}
    for trip_id, group in st.groupby("trip_id", sort=False):
        where = stops.loc[group["stop_id"]]
        paths[f"stops:{trip_id}"] = pd.DataFrame(
            {"lon": where["stop_lon"].to_numpy(), "lat": where["stop_lat"].to_numpy()}
        )
    return paths


def route_lines(feed: Feed) -> gpd.GeoDataFrame:
    """Each route's longest path, with its length.

    Returns
    -------
    geopandas.GeoDataFrame
        ``route_id, route_short_name, route_type, route_type_name, length_m, length_km,
        measured_on`` (``shapes`` or ``stops``) and a WGS84 line ``geometry``.
    """
    trips = feed.trips.copy()
    if "shape_id" not in trips.columns:
        trips["shape_id"] = pd.NA
    paths = _shape_paths(feed) if feed.shapes is not None and len(feed.shapes) else {}
    shaped = trips["shape_id"].astype("string").isin(list(paths))
    unshaped = trips.loc[~shaped.fillna(value=False).to_numpy()]
    paths.update(_stop_paths(feed, unshaped["trip_id"]))
    trips["path"] = np.where(shaped.fillna(value=False), trips["shape_id"].astype("string"),
                             "stops:" + trips["trip_id"].astype(str))  # fmt: skip
    all_points = pd.concat(list(paths.values()))
    epsg = _utm_epsg(float(all_points["lon"].mean()), float(all_points["lat"].mean()))
    lengths = _path_lengths({k: paths[k] for k in pd.unique(trips["path"])}, epsg)
    trips["length_m"] = trips["path"].map(lengths)
    longest = trips.sort_values("length_m", ascending=False, kind="stable").drop_duplicates(
        "route_id"
    )
    routes = feed.routes.set_index("route_id")
    rows = longest.set_index("route_id").reindex(routes.index).dropna(subset=["length_m"])
    route_type = routes.loc[rows.index, "route_type"].astype(int)
    geometry = [
        shapely.LineString(paths[p][["lon", "lat"]].to_numpy()) for p in rows["path"].tolist()
    ]
    short = routes.get("route_short_name", pd.Series("", index=routes.index))
    frame = pd.DataFrame({
        "route_id": rows.index.astype(str),
        "route_short_name": short.reindex(rows.index).astype("string").fillna("").to_numpy(),
        "route_type": route_type.to_numpy(),
        "route_type_name": [ROUTE_TYPES.get(int(t), f"type {t}") for t in route_type],
        "length_m": rows["length_m"].to_numpy(np.float64),
        "length_km": rows["length_m"].to_numpy(np.float64) / 1000.0,
        "measured_on": np.where(rows["path"].str.startswith("stops:"), "stops", "shapes"),
    })  # fmt: skip
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=4326)


def network_length_km(lines: pd.DataFrame) -> dict[str, float]:
    """Line-kilometres per route type name (``metro``, ``bus`` ...), from :func:`route_lines`.

    Examples
    --------
    >>> network_length_km(pd.DataFrame({"route_type_name": ["metro", "metro", "bus"],
    ...                                 "length_km": [20.0, 12.5, 8.0]}))
    {'bus': 8.0, 'metro': 32.5}
    """
    sums = lines.groupby("route_type_name")["length_km"].sum()
    return {str(k): round(float(v), 3) for k, v in sums.items()}
