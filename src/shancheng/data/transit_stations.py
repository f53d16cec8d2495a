"""Where riders enter and leave the platforms: entrances, pathways and their climb.

A platform is reached through the entrances of its station (``location_type`` 2 with the
station as ``parent_station``), or, for a station the feed gives no entrance, through the
City's OpenStreetMap ``railway=subway_entrance`` nodes within :data:`OSM_ENTRANCE_RADIUS_M`
(imported as facilities of category ``subway_entrance``); the time from an entrance to the
platform and back is the ``traversal_time`` of ``pathways.txt`` (summed along the path when it
passes through other nodes, e.g. entrance → concourse → platform), so a deep station on a hill
top costs its lift ride. A station without entrances is entered at the platform itself.
gtfs-kit does not read ``pathways.txt``; it is read here from the same feed.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from shancheng.errors import GtfsError

if TYPE_CHECKING:
    from shancheng.data.gtfs import Feed
    from shancheng.data.transit import CompiledFeed
    from shancheng.types import FloatArray

DEFAULT_ENTRANCE_S = 60.0
"""Entrance to platform when the feed has entrances but no pathway between them."""
OSM_ENTRANCE_RADIUS_M = 250.0
"""An OSM ``railway=subway_entrance`` this close to a platform without GTFS entrances serves it."""
ACCESS_COLUMNS = ("stop", "station_id", "point_id", "lon", "lat", "to_platform_s",
                  "from_platform_s", "via")  # fmt: skip


def read_pathways(path: str | Path) -> pd.DataFrame | None:
    """Read ``pathways.txt`` of a feed (zip or folder); ``None`` when the feed has none.

    Raises
    ------
    GtfsError
        The file lacks a required field or has a bad ``traversal_time`` (names the line).
    """
    source = Path(path)
    try:
        if source.is_dir():
            file = source / "pathways.txt"
            if not file.is_file():
                return None
            table = pd.read_csv(file, dtype=str)
        else:
            with zipfile.ZipFile(source) as archive:
                if "pathways.txt" not in archive.namelist():
                    return None
                with archive.open("pathways.txt") as handle:
                    table = pd.read_csv(handle, dtype=str)
    except (OSError, zipfile.BadZipFile, pd.errors.ParserError) as exc:
        msg = f"{source}: pathways.txt: cannot read it ({exc})"
        raise GtfsError(msg) from exc
    for field in ("from_stop_id", "to_stop_id", "is_bidirectional"):
        if field not in table.columns:
            msg = f"pathways.txt: field `{field}`: required field is missing"
            raise GtfsError(msg)
    if "traversal_time" not in table.columns:
        table["traversal_time"] = pd.NA
    seconds = pd.to_numeric(table["traversal_time"], errors="coerce")
    given = table["traversal_time"].notna()
    bad = np.flatnonzero(given.to_numpy() & ~(seconds >= 0).to_numpy())
    if bad.size:
        line = int(bad[0]) + 2
        msg = f"pathways.txt: line {line}: field `traversal_time`: give seconds >= 0"
        raise GtfsError(msg)
    table["traversal_time"] = seconds
    return table


def _pathway_times(pathways: pd.DataFrame) -> tuple[dict[str, int], FloatArray]:
    """All-pairs shortest traversal times over the pathway graph (nodes are stop ids)."""
    both = pd.to_numeric(pathways["is_bidirectional"], errors="coerce").fillna(0) == 1
    forward = pathways[["from_stop_id", "to_stop_id", "traversal_time"]]
    back = pathways.loc[both, ["to_stop_id", "from_stop_id", "traversal_time"]]
    back.columns = forward.columns
    arcs = pd.concat([forward, back], ignore_index=True)
    arcs["traversal_time"] = arcs["traversal_time"].fillna(DEFAULT_ENTRANCE_S)
    names = pd.unique(pd.concat([arcs["from_stop_id"], arcs["to_stop_id"]]))
    index = {str(n): i for i, n in enumerate(names)}
    tail = arcs["from_stop_id"].map(index).to_numpy()
    head = arcs["to_stop_id"].map(index).to_numpy()
    weight = arcs["traversal_time"].to_numpy(np.float64) + 1e-9  # csgraph drops zeros
    graph = csr_matrix((weight, (tail, head)), shape=(len(names), len(names)))
    return index, dijkstra(graph, directed=True)


def access_points(
    feed: Feed,
    compiled: CompiledFeed,
    *,
    pathways: pd.DataFrame | None = None,
    osm_entrances: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every way into each platform of the timetable: entrances, or the platform itself.

    Parameters
    ----------
    feed, compiled
        The feed and its compiled service day.
    pathways
        ``pathways.txt`` (:func:`read_pathways`), for the climbs.
    osm_entrances
        ``entrance_id, lon, lat`` of OpenStreetMap subway entrances, used for stations
        without entrances in the feed (climb :data:`DEFAULT_ENTRANCE_S`).

    Returns
    -------
    pandas.DataFrame
        ``stop`` (timetable stop index), ``station_id``, ``point_id`` (the entrance, or the
        platform), ``lon, lat``, ``to_platform_s`` and ``from_platform_s`` (the climb, by
        pathways or :data:`DEFAULT_ENTRANCE_S`), ``via`` (``entrance``, ``osm_entrance`` or
        ``platform``).
    """
    stops = feed.stops.copy()
    stops["stop_id"] = stops["stop_id"].astype(str)
    kind = pd.to_numeric(stops.get("location_type"), errors="coerce").fillna(0).astype(int)
    parent = stops.get("parent_station", pd.Series(pd.NA, index=stops.index)).astype("string")
    entrances = stops[(kind == 2).to_numpy() & parent.notna().to_numpy()]  # noqa: PLR2004
    by_station = {str(k): g for k, g in entrances.groupby(parent[entrances.index])}
    index, times = (
        _pathway_times(pathways) if pathways is not None and len(pathways) else ({}, None)
    )

    def climb(a: str, b: str) -> float:
        if times is None or a not in index or b not in index:
            return DEFAULT_ENTRANCE_S
        value = float(times[index[a], index[b]])
        return round(value, 3) if np.isfinite(value) else DEFAULT_ENTRANCE_S

    rows: list[tuple[object, ...]] = []
    lons = compiled.stops["lon"].to_numpy(np.float64)
    lats = compiled.stops["lat"].to_numpy(np.float64)
    for i, platform in enumerate(compiled.stops.itertuples(index=False)):
        ways = by_station.get(str(platform.station_id))
        if ways is None and osm_entrances is not None and len(osm_entrances):
            near = _near(osm_entrances, float(lons[i]), float(lats[i]))
            rows.extend(
                (i, platform.station_id, str(e_id), float(e_lon), float(e_lat),
                 DEFAULT_ENTRANCE_S, DEFAULT_ENTRANCE_S, "osm_entrance")
                for e_id, e_lon, e_lat in zip(near["entrance_id"], near["lon"].to_numpy(np.float64),
                                              near["lat"].to_numpy(np.float64), strict=True)
            )  # fmt: skip
            if len(near):
                continue
        if ways is None:
            rows.append((i, platform.station_id, platform.stop_id, platform.lon, platform.lat,
                         0.0, 0.0, "platform"))  # fmt: skip
            continue
        rows.extend(
            (i, platform.station_id, e.stop_id, float(e.stop_lon), float(e.stop_lat),
             climb(str(e.stop_id), str(platform.stop_id)),
             climb(str(platform.stop_id), str(e.stop_id)), "entrance")
            for e in ways.itertuples(index=False)
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(ACCESS_COLUMNS))


def _near(entrances: pd.DataFrame, lon: float, lat: float) -> pd.DataFrame:
    """Entrances within :data:`OSM_ENTRANCE_RADIUS_M` of a point (local equirectangular)."""
    metres_per_degree = 111_320.0
    dx = (entrances["lon"].to_numpy(np.float64) - lon) * metres_per_degree * np.cos(np.radians(lat))
    dy = (entrances["lat"].to_numpy(np.float64) - lat) * metres_per_degree
    near: pd.DataFrame = entrances.loc[np.hypot(dx, dy) <= OSM_ENTRANCE_RADIUS_M]
    return near
