"""The demo city's metro, written as a GTFS feed beside the City.

Three lines, laid like Chongqing's: one along the valley of the peninsula between the two
rivers, one north-south and one diagonal, both crossing the rivers on bridges. Stations
stand every kilometre or so on land (never on the water), at street level where the walk
network is; the track follows the lie of the land smoothed over about a kilometre, so a
station on a hill top has its platform deep below (lifts, like Hongyancun's 116 m) and one
at a hill's foot may have it above the street (escalators up to a viaduct). The climb from
each entrance to the platform is written in ``pathways.txt`` (mode 4 escalator, 5 lift)
with its traversal time; lines meeting within 400 m get ``transfers.txt`` entries.

Trains run 06:00-23:00, every 4 minutes in the peaks (07:00-09:30, 17:00-19:30) and every
8 minutes otherwise, at 12 m/s between stations plus 25 s to start and stop, and wait 30 s.
"""

from __future__ import annotations

import io
import itertools
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from shancheng.geo.crs import utm_to_lonlat

if TYPE_CHECKING:
    from pathlib import Path

    from shancheng.data.city import City
    from shancheng.data.demo.terrain import Terrain
    from shancheng.types import FloatArray

FEED_FOLDER = "transit"
FEED_NAME = "metro_gtfs.zip"
"""The feed is ``<city>/transit/metro_gtfs.zip``."""

_LINES_UV = {
    "1": ("环江线", "Valley line", "E4002B",
          ((0.02, 0.53), (0.2, 0.545), (0.35, 0.55), (0.5, 0.555), (0.6, 0.54),
           (0.75, 0.48), (0.95, 0.42))),
    "2": ("南北线", "North-south line", "00A3E0", ((0.42, 0.04), (0.43, 0.5), (0.41, 0.96))),
    "3": ("斜跨线", "Diagonal line", "84BD00", ((0.08, 0.08), (0.5, 0.5), (0.92, 0.94))),
}  # fmt: skip
STATION_SPACING_M = 1000.0
STATION_BANK_CLEARANCE_M = 80.0
"""A station stands at least this far from a river bank."""
RUN_SPEED_M_S = 12.0
START_STOP_S = 25
DWELL_S = 30
PEAKS_S = ((7 * 3600, 9 * 3600 + 1800), (17 * 3600, 19 * 3600 + 1800))
PEAK_HEADWAY_S = 240
OFF_PEAK_HEADWAY_S = 480
FIRST_S, LAST_S = 6 * 3600, 23 * 3600
LIFT_WAIT_S = 40.0
LIFT_SPEED_M_S = 2.0
ESCALATOR_RISE_M_S = 0.25
"""Vertical rate of a 30° escalator at 0.5 m/s."""
LIFT_ABOVE_M = 20.0
"""Climbs higher than this take a lift, lower ones an escalator."""
CONCOURSE_S = 20.0
"""Walk across the concourse, from the gates to the stairs or lifts."""


@dataclass(frozen=True)
class _Station:
    station_id: str
    name: str
    line: str
    x: float
    y: float
    ground_z: float
    platform_z: float
    entrances: tuple[tuple[float, float], ...]


def _polyline(points_uv: tuple[tuple[float, float], ...], terrain: Terrain) -> FloatArray:
    uv = np.array(points_uv)
    return np.column_stack([terrain.origin_x_utm + uv[:, 0] * terrain.width_m,
                            terrain.origin_y_utm + uv[:, 1] * terrain.height_m])  # fmt: skip


def _resample(line: FloatArray, step_m: float) -> tuple[FloatArray, FloatArray]:
    """Points every ``step_m`` along a polyline, and their distance from its start."""
    seg = np.hypot(*np.diff(line, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(seg)])
    at = np.arange(0.0, along[-1] + 1e-9, step_m)
    return np.column_stack([np.interp(at, along, line[:, 0]),
                            np.interp(at, along, line[:, 1])]), at  # fmt: skip


def _stations(line_id: str, terrain: Terrain, nodes: FloatArray, tree: cKDTree) -> list[_Station]:
    name_zh, _, _, uv = _LINES_UV[line_id]
    samples, at = _resample(_polyline(uv, terrain), 50.0)
    ground = terrain.height_at(samples[:, 0], samples[:, 1])
    window = int(800 / 50)
    kernel = np.ones(2 * window + 1) / (2 * window + 1)
    track = np.convolve(np.pad(ground, window, mode="edge"), kernel, mode="valid")
    land = ~terrain.is_water(samples[:, 0], samples[:, 1])
    clearance = terrain.river_clearance_m(samples[:, 0], samples[:, 1])
    stations: list[_Station] = []
    last = -np.inf
    for k in np.flatnonzero(land & (clearance > STATION_BANK_CLEARANCE_M)):
        if at[k] - last < STATION_SPACING_M:
            continue
        _, nearest = tree.query(samples[k], k=12)
        entrances = _entrances(nodes[nearest], samples[k])
        if not entrances:
            continue
        x, y = entrances[0]
        z = float(terrain.height_at([x], [y])[0])
        platform = float(np.clip(track[k], z - 90.0, z + 15.0))
        number = len(stations) + 1
        stations.append(_Station(f"L{line_id}S{number:02d}", f"{name_zh}{number}号站", line_id,
                                 x, y, z, platform, entrances))  # fmt: skip
        last = at[k]
    return stations


def _entrances(candidates: FloatArray, centre: FloatArray) -> tuple[tuple[float, float], ...]:
    """Return the street node nearest the station, and one 60-250 m from it."""
    first = candidates[0]
    if np.hypot(*(first - centre)) > 250.0:  # noqa: PLR2004 - no street near: no station
        return ()
    chosen = [(float(first[0]), float(first[1]))]
    for other in candidates[1:]:
        gap = float(np.hypot(*(other - first)))
        if 60.0 <= gap <= 250.0:  # noqa: PLR2004
            chosen.append((float(other[0]), float(other[1])))
            break
    return tuple(chosen)


def _climb_s(rise_m: float) -> tuple[int, int]:
    """Pathway mode and seconds from an entrance to a platform ``rise_m`` above (or below)."""
    height = abs(rise_m)
    if height > LIFT_ABOVE_M:
        return 5, round(CONCOURSE_S + LIFT_WAIT_S + height / LIFT_SPEED_M_S)
    return 4, round(CONCOURSE_S + height / ESCALATOR_RISE_M_S)


def _departures() -> list[int]:
    times, t = [], FIRST_S
    while t <= LAST_S:
        times.append(t)
        peak = any(lo <= t < hi for lo, hi in PEAKS_S)
        t += PEAK_HEADWAY_S if peak else OFF_PEAK_HEADWAY_S
    return times


def _hms(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def metro_tables(city: City, terrain: Terrain) -> dict[str, pd.DataFrame]:
    """Generate the demo metro's GTFS tables for ``city`` (same city, same metro).

    Returns
    -------
    dict
        ``agency, stops, routes, trips, stop_times, calendar, shapes, transfers, pathways``.
    """
    nodes = city.walk_nodes[["x_utm", "y_utm"]].to_numpy(np.float64)
    on_land = ~terrain.is_water(nodes[:, 0], nodes[:, 1])
    nodes = nodes[on_land]
    tree = cKDTree(nodes)
    lines = {line: _stations(line, terrain, nodes, tree) for line in _LINES_UV}
    stops, pathways = _stop_rows(lines)
    trips, stop_times, shapes = _service_rows(lines)
    routes = pd.DataFrame([
        {"route_id": f"L{line}", "agency_id": "SCM", "route_short_name": line,
         "route_long_name": f"{zh} {en}", "route_type": 1, "route_color": color}
        for line, (zh, en, color, _) in _LINES_UV.items()
    ])  # fmt: skip
    return {
        "agency": pd.DataFrame(
            [
                {
                    "agency_id": "SCM",
                    "agency_name": "山城轨道 Shancheng Metro",
                    "agency_url": "https://example.org/shancheng-metro",
                    "agency_timezone": "Asia/Shanghai",
                }
            ]
        ),
        "stops": stops,
        "routes": routes,
        "trips": trips,
        "stop_times": stop_times,
        "calendar": pd.DataFrame(
            [
                {
                    "service_id": "DAILY",
                    "monday": 1,
                    "tuesday": 1,
                    "wednesday": 1,
                    "thursday": 1,
                    "friday": 1,
                    "saturday": 1,
                    "sunday": 1,
                    "start_date": "20250101",
                    "end_date": "20301231",
                }
            ]
        ),
        "shapes": shapes,
        "transfers": _transfer_rows(lines),
        "pathways": pathways,
    }


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = utm_to_lonlat([x], [y])
    return round(float(lon[0]), 7), round(float(lat[0]), 7)


def _stop_rows(lines: dict[str, list[_Station]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    stops, pathways = [], []
    for stations in lines.values():
        for s in stations:
            lon, lat = _lonlat(s.x, s.y)
            stops.append({"stop_id": s.station_id, "stop_name": s.name, "stop_lat": lat,
                          "stop_lon": lon, "location_type": 1, "parent_station": ""})  # fmt: skip
            stops.append({"stop_id": f"{s.station_id}P", "stop_name": f"{s.name} 站台",
                          "stop_lat": lat, "stop_lon": lon, "location_type": 0,
                          "parent_station": s.station_id})  # fmt: skip
            mode, seconds = _climb_s(s.platform_z - s.ground_z)
            for k, (ex, ey) in enumerate(s.entrances):
                elon, elat = _lonlat(ex, ey)
                entrance = f"{s.station_id}E{k + 1}"
                stops.append({"stop_id": entrance, "stop_name": f"{s.name} {k + 1}号口",
                              "stop_lat": elat, "stop_lon": elon, "location_type": 2,
                              "parent_station": s.station_id})  # fmt: skip
                for a, b in ((entrance, f"{s.station_id}P"), (f"{s.station_id}P", entrance)):
                    pathways.append({"pathway_id": f"{a}-{b}", "from_stop_id": a,
                                     "to_stop_id": b, "pathway_mode": mode,
                                     "is_bidirectional": 0, "traversal_time": seconds})  # fmt: skip
    return pd.DataFrame(stops), pd.DataFrame(pathways)


def _service_rows(
    lines: dict[str, list[_Station]],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    trips, stop_times, shapes = [], [], []
    for line, stations in lines.items():
        for direction, order in ((0, stations), (1, stations[::-1])):
            shape_id = f"L{line}D{direction}"
            for k, s in enumerate(order):
                lon, lat = _lonlat(s.x, s.y)
                shapes.append({"shape_id": shape_id, "shape_pt_lat": lat, "shape_pt_lon": lon,
                               "shape_pt_sequence": k})  # fmt: skip
            gaps = [float(np.hypot(b.x - a.x, b.y - a.y)) for a, b in itertools.pairwise(order)]
            runs = [round(g / RUN_SPEED_M_S) + START_STOP_S for g in gaps]
            for start in _departures():
                trip_id = f"{shape_id}-{_hms(start).replace(':', '')}"
                trips.append({"route_id": f"L{line}", "service_id": "DAILY", "trip_id": trip_id,
                              "direction_id": direction, "shape_id": shape_id})  # fmt: skip
                t = start
                for k, s in enumerate(order):
                    arrive = t
                    leave = arrive if k in (0, len(order) - 1) else arrive + DWELL_S
                    stop_times.append({"trip_id": trip_id, "arrival_time": _hms(arrive),
                                       "departure_time": _hms(leave),
                                       "stop_id": f"{s.station_id}P",
                                       "stop_sequence": k + 1})  # fmt: skip
                    if k < len(runs):
                        t = leave + runs[k]
    return pd.DataFrame(trips), pd.DataFrame(stop_times), pd.DataFrame(shapes)


def _transfer_rows(lines: dict[str, list[_Station]]) -> pd.DataFrame:
    rows = []
    every = [s for stations in lines.values() for s in stations]
    for a in every:
        for b in every:
            gap = float(np.hypot(a.x - b.x, a.y - b.y))
            if a.line != b.line and gap <= 400.0:  # noqa: PLR2004 - an interchange
                seconds = round(120 + gap / 1.2)
                rows.append({"from_stop_id": f"{a.station_id}P", "to_stop_id": f"{b.station_id}P",
                             "transfer_type": 2, "min_transfer_time": seconds})  # fmt: skip
    columns = ["from_stop_id", "to_stop_id", "transfer_type", "min_transfer_time"]
    return pd.DataFrame(rows, columns=columns)


def write_metro_feed(city: City, terrain: Terrain, directory: Path) -> Path:
    """Write the demo metro as ``<directory>/transit/metro_gtfs.zip``; return its path."""
    target = directory / FEED_FOLDER / FEED_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, table in metro_tables(city, terrain).items():
            # a fixed date: the same city gives the same bytes (the demo is reproducible)
            entry = zipfile.ZipInfo(f"{name}.txt", date_time=(2025, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, table.to_csv(index=False, lineterminator="\n"))
    partial = target.with_suffix(".zip.partial")
    partial.write_bytes(buffer.getvalue())
    partial.replace(target)
    return target
