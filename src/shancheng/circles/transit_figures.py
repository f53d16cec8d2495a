"""Metro figures for the plan: line lengths, residents near a station per unit, catchments.

:func:`transit_results` gathers, for one City and one feed, what the report, the results
folder, the indicators and the dashboard show: the line-kilometres per route type (the
plan's "593 km"), the share of residents within a 10- and a 15-minute walk of a platform
(entrance climb included) per admin unit, each station's catchment (the unit-grid cells of
the residents for whom it is the nearest station, within 10 and 15 minutes), and the share
of residents reaching each category within 15/30/45 minutes by walking and transit (median
over the window).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from shancheng.circles.transit import (
    DEFAULT_WINDOW_S,
    TRANSIT_THRESHOLDS_MIN,
    compute_transit_access,
)
from shancheng.data.gtfs import read_gtfs
from shancheng.data.transit import compile_feed
from shancheng.data.transit_lines import network_length_km, route_lines
from shancheng.data.transit_stations import access_points, read_pathways

if TYPE_CHECKING:
    from datetime import date
    from pathlib import Path

    from shancheng.circles.accessibility import Accessibility
    from shancheng.circles.transit import TransitAccess
    from shancheng.data.gtfs import Feed
    from shancheng.types import Progress

STATION_WALK_MIN = (10.0, 15.0)
"""Walks to a station the plan figures count."""
UNIT_LEVELS = ("city", "district", "street", "community")


@dataclass(frozen=True, eq=False)
class TransitResults:
    """What a feed adds to a City's evaluation.

    Attributes
    ----------
    access
        The per-residence times (:class:`~shancheng.circles.transit.TransitAccess`).
    lines
        Each route's longest path and length (:func:`~shancheng.data.transit_lines.route_lines`).
    network_km
        Line-kilometres per route type name (``metro``, ``bus`` ...).
    station_shares
        ``unit_level, unit_code, population, within_10min, within_15min, share_10min,
        share_15min``: residents within a 10/15-minute walk of a platform.
    coverage
        ``unit_level, unit_code, category, threshold_min, population, covered, share,
        walk_covered, walk_share``: residents reaching the category within the threshold by
        walk + transit (median over the window), and by walking only.
    stations
        One point per station: ``station_id, stop_name, platforms, entrances,
        climb_max_s, residents_10min, residents_15min``.
    catchments
        ``station_id, threshold_min, residents`` and the merged unit-grid cells.
    service_day
        The service day evaluated (ISO date).
    """

    access: TransitAccess
    lines: gpd.GeoDataFrame
    network_km: dict[str, float]
    station_shares: pd.DataFrame
    coverage: pd.DataFrame
    stations: gpd.GeoDataFrame
    catchments: gpd.GeoDataFrame
    service_day: str


def _unit_codes(residences: pd.DataFrame, level: str, city_code: str) -> npt.NDArray[np.object_]:
    if level == "city":
        return np.full(len(residences), city_code, dtype=object)
    column = f"{level}_code"
    if column not in residences.columns:
        return np.full(len(residences), "", dtype=object)
    return residences[column].astype(str).to_numpy()


def _shares(
    residences: pd.DataFrame, flags: dict[str, npt.NDArray[np.bool_]], city_code: str
) -> pd.DataFrame:
    """Sum the population, and the population within each flag, per unit of every level."""
    people = residences["population"].to_numpy(np.float64)
    frames = []
    for level in UNIT_LEVELS:
        codes = _unit_codes(residences, level, city_code)
        frame = pd.DataFrame({"unit_code": codes, "population": people})
        for name, flag in flags.items():
            frame[name] = np.where(flag, people, 0.0)
        sums = frame[frame["unit_code"] != ""].groupby("unit_code", sort=True).sum()
        sums.insert(0, "unit_level", level)
        frames.append(sums.reset_index())
    return pd.concat(frames, ignore_index=True)


def station_shares(
    residences: pd.DataFrame, access: TransitAccess, *, city_code: str
) -> pd.DataFrame:
    """Residents within a 10- and 15-minute walk of a platform, per admin unit."""
    flags = {f"within_{m:g}min": access.station_walk_s <= m * 60.0 for m in STATION_WALK_MIN}
    table = _shares(residences, flags, city_code)
    for m in STATION_WALK_MIN:
        with np.errstate(invalid="ignore", divide="ignore"):
            table[f"share_{m:g}min"] = table[f"within_{m:g}min"] / table["population"]
    return table


def transit_coverage(
    residences: pd.DataFrame, access: TransitAccess, *, city_code: str
) -> pd.DataFrame:
    """Residents reaching each category within 15/30/45 minutes, per admin unit.

    By walk + transit (the median over the window) and, beside it, by walking only, so the
    metro's gain reads per unit and category.
    """
    frames = []
    for c, category in enumerate(access.categories):
        flags = {f"t{m:g}": access.median_s[:, c] <= m * 60.0 for m in TRANSIT_THRESHOLDS_MIN}
        flags |= {f"w{m:g}": access.walk_s[:, c] <= m * 60.0 for m in TRANSIT_THRESHOLDS_MIN}
        table = _shares(residences, flags, city_code)
        for m in TRANSIT_THRESHOLDS_MIN:
            part = table[["unit_level", "unit_code", "population"]].copy()
            part["category"] = category
            part["threshold_min"] = m
            part["covered"] = table[f"t{m:g}"]
            part["walk_covered"] = table[f"w{m:g}"]
            frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = out["covered"] / out["population"]
        out["walk_share"] = out["walk_covered"] / out["population"]
    return out


def catchments(
    residences: pd.DataFrame, access: TransitAccess, grid_cells: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Each station's catchment: the cells of the residents it serves within 10 and 15 min."""
    rows = []
    cells = grid_cells.set_index(grid_cells["cell_id"].astype(str))
    people = residences["population"].to_numpy(np.float64)
    cell_ids = residences["cell_id"].astype(str).to_numpy()
    for minutes in STATION_WALK_MIN:
        near = access.station_walk_s <= minutes * 60.0
        frame = pd.DataFrame({"station_id": access.nearest_station[near],
                              "cell_id": cell_ids[near], "people": people[near]})  # fmt: skip
        for station, group in frame.groupby("station_id", sort=True):
            shapes = cells.geometry.reindex(pd.unique(group["cell_id"])).dropna()
            rows.append({"station_id": str(station), "threshold_min": minutes,
                         "residents": float(group["people"].sum()),
                         "geometry": shapes.union_all() if len(shapes) else None})  # fmt: skip
    columns = ["station_id", "threshold_min", "residents", "geometry"]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns), geometry="geometry",
                            crs=grid_cells.crs)  # fmt: skip


def station_points(
    feed: Feed, points: pd.DataFrame, catchment: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """One point per station with its platforms, entrances, deepest climb and residents."""
    stops = feed.stops.copy()
    stops["stop_id"] = stops["stop_id"].astype(str)
    named = stops.set_index("stop_id")
    grouped = points.groupby("station_id", sort=True)
    frame = pd.DataFrame({
        "station_id": list(grouped.groups),
        "platforms": grouped["stop"].nunique().to_numpy(),
        "entrances": points.assign(is_entrance=points["via"] == "entrance")
        .groupby("station_id", sort=True)["is_entrance"].sum().to_numpy(),
        "climb_max_s": grouped[["to_platform_s", "from_platform_s"]].max().max(axis=1).to_numpy(),
    })  # fmt: skip
    where = named.reindex(frame["station_id"])
    fallback = points.groupby("station_id")[["lon", "lat"]].mean().reindex(frame["station_id"])
    lon = where["stop_lon"].fillna(fallback["lon"]).to_numpy(np.float64)
    lat = where["stop_lat"].fillna(fallback["lat"]).to_numpy(np.float64)
    frame["stop_name"] = where["stop_name"].astype("string").fillna("").to_numpy()
    for minutes in STATION_WALK_MIN:
        served = catchment[catchment["threshold_min"] == minutes].set_index("station_id")
        frame[f"residents_{minutes:g}min"] = (
            served["residents"].reindex(frame["station_id"]).fillna(0.0).to_numpy()
        )
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=4326)


METRO_ROUTE_TYPES = (1, 12)
"""GTFS route types counted as metro: subway/metro (1) and monorail (12, Chongqing's lines 2
and 3); the plan's 593 km counts every urban rail line of the city."""


def unit_line_km(
    lines: gpd.GeoDataFrame,
    admin_units: gpd.GeoDataFrame,
    *,
    crs_epsg: int,
    route_types: tuple[int, ...] = METRO_ROUTE_TYPES,
) -> dict[str, float]:
    """Line-kilometres of ``route_types`` per admin unit (``code``); the city unit counts all.

    Lines are cut at the unit boundaries, so the districts' figures add up to the city's
    where the lines stay inside it; the ``city`` unit takes the whole length.
    """
    chosen = lines[lines["route_type"].isin(route_types)]
    total = float(chosen["length_km"].sum())
    if chosen.empty:
        return {str(c): 0.0 for c in admin_units["code"]}
    metric = chosen.to_crs(crs_epsg)
    scale = chosen["length_m"].to_numpy() / np.maximum(metric.geometry.length.to_numpy(), 1e-9)
    units = admin_units.to_crs(crs_epsg)
    out: dict[str, float] = {}
    for code, level, polygon in zip(units["code"], units["level"], units.geometry, strict=True):
        if level == "city":
            out[str(code)] = round(total, 3)
            continue
        inside = metric.geometry.intersection(polygon).length.to_numpy()
        out[str(code)] = round(float((inside * scale).sum()) / 1000.0, 3)
    return out


def transit_results(
    feed: Feed,
    points: pd.DataFrame,
    access: TransitAccess,
    residences: pd.DataFrame,
    grid_cells: gpd.GeoDataFrame,
    *,
    city_code: str,
    service_day: str,
) -> TransitResults:
    """Gather the figures of the module docstring for one City and one feed."""
    lines = route_lines(feed)
    catchment = catchments(residences, access, grid_cells)
    return TransitResults(
        access=access,
        lines=lines,
        network_km=network_length_km(lines),
        station_shares=station_shares(residences, access, city_code=city_code),
        coverage=transit_coverage(residences, access, city_code=city_code),
        stations=station_points(feed, points, catchment),
        catchments=catchment,
        service_day=service_day,
    )


def evaluate_transit(
    gtfs: str | Path,
    acc: Accessibility,
    grid_cells: gpd.GeoDataFrame,
    *,
    city_code: str,
    window_s: tuple[int, int] = DEFAULT_WINDOW_S,
    day: date | None = None,
    osm_entrances: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> TransitResults:
    """Read and check a feed, compile its service day, and evaluate it for ``acc``'s residences.

    Parameters
    ----------
    gtfs
        The feed (``.zip`` or folder).
    acc
        The walking accessibility of the City's residences.
    grid_cells
        The City's unit-grid cells (catchment maps).
    city_code
        Code of the city unit (the ``city`` row of the per-unit tables).
    window_s
        Departure window from home, seconds since midnight.
    day
        Service day; default the feed's busiest.
    osm_entrances
        ``entrance_id, lon, lat`` of the City's OpenStreetMap subway entrances, for stations
        the feed gives no entrance.
    progress
        Called with the number of origin stops done.
    """
    feed = read_gtfs(gtfs)
    compiled = compile_feed(feed, day=day)
    points = access_points(feed, compiled, pathways=read_pathways(gtfs),
                           osm_entrances=osm_entrances)  # fmt: skip
    access = compute_transit_access(acc, compiled, points, window_s=window_s, progress=progress)
    return transit_results(feed, points, access, acc.residences, grid_cells,
                           city_code=city_code, service_day=compiled.day.isoformat())  # fmt: skip
