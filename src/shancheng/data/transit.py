"""A GTFS feed as one service day's :class:`~shancheng.network.raptor.Timetable`.

:func:`compile_feed` picks the services of a day (default: the feed's busiest), expands
``frequencies.txt`` into scheduled trips, fills untimed stops by interpolation along the
trip, and builds the footpaths: ``transfers.txt`` (a transfer between stations applies to
every pair of their platforms; ``transfer_type`` 3 forbids; 2 takes ``min_transfer_time``,
0 and 1 the walk) and, optionally, straight-line walks between platforms within a radius.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shancheng.data.gtfs import busiest_day, parse_times, service_ids_on
from shancheng.errors import GtfsError
from shancheng.geo.crs import lonlat_to_utm
from shancheng.network.raptor import Timetable, build_timetable

if TYPE_CHECKING:
    from datetime import date

    from shancheng.data.gtfs import Feed
    from shancheng.types import FloatArray, IntArray

logger = logging.getLogger(__name__)

STOP_OR_PLATFORM = 0
STATION = 1
ENTRANCE = 2
FORBIDDEN_TRANSFER = 3
TIMED_TRANSFER = 2
DEFAULT_WALK_SPEED_M_S = 1.2
"""Straight-line walking speed for footpaths between stops (a brisk 4.3 km/h)."""


@dataclass(frozen=True, eq=False)
class CompiledFeed:
    """One service day of a feed, ready for RAPTOR.

    Attributes
    ----------
    timetable
        The compiled timetable; stop ``i`` is row ``i`` of ``stops``.
    stops
        ``stop_id, stop_name, lon, lat, station_id`` (the parent station, or the stop itself).
    trips
        ``trip_id, route_id, departure_s`` of each timetable trip (frequency copies included).
    day
        The service day.
    """

    timetable: Timetable
    stops: pd.DataFrame
    trips: pd.DataFrame
    day: date

    def stop_index(self, stop_ids: list[str]) -> IntArray:
        """Timetable indices of GTFS ``stop_ids`` (a station id gives none: use platforms).

        Raises
        ------
        GtfsError
            An id is not a stop of the timetable.
        """
        lookup = pd.Series(np.arange(len(self.stops)), index=self.stops["stop_id"])
        missing = [s for s in stop_ids if s not in lookup.index]
        if missing:
            msg = f"stop_id {missing[0]!r}: not a stop served on {self.day}"
            raise GtfsError(msg)
        return lookup.loc[stop_ids].to_numpy(np.int64)


FEED_FOLDER = "transit"
"""A City's feeds live in ``<city>/transit/`` (the demo writes ``metro_gtfs.zip`` there)."""


def city_feed(city_dir: str | Path) -> Path | None:
    """Return the City's GTFS feed, ``<city>/transit/*.zip`` (the first by name), or ``None``.

    Examples
    --------
    >>> city_feed("/nonexistent") is None
    True
    """
    folder = Path(city_dir) / FEED_FOLDER
    feeds = sorted(folder.glob("*.zip")) if folder.is_dir() else []
    return feeds[0] if feeds else None


def _day_stop_times(feed: Feed, day: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    services = service_ids_on(feed, day)
    trips = feed.trips[feed.trips["service_id"].astype(str).isin(services)]
    if trips.empty:
        msg = f"trips.txt: no trip runs on {day} (services running: {sorted(services)})"
        raise GtfsError(msg)
    st = feed.stop_times[feed.stop_times["trip_id"].isin(trips["trip_id"])].copy()
    st["arr"], _ = parse_times(st["arrival_time"])
    st["dep"], _ = parse_times(st["departure_time"])
    st["seq"] = pd.to_numeric(st["stop_sequence"])
    st = st.sort_values(["trip_id", "seq"], kind="stable").reset_index(drop=True)
    st["arr"] = st["arr"].fillna(st["dep"])
    st["dep"] = st["dep"].fillna(st["arr"])
    if st["arr"].isna().any():
        _interpolate_untimed(st)
    return trips, st


def _interpolate_untimed(st: pd.DataFrame) -> None:
    """Time untimed stops linearly in calling order, from the last departure to the next arrival.

    An untimed stop gets one time (arrival = departure): the vehicle does not wait there.
    """
    k = st.groupby("trip_id").cumcount().astype(float)
    known = st["dep"].notna()
    trip = st["trip_id"]
    last_dep = st["dep"].groupby(trip).ffill()
    last_k = k.where(known).groupby(trip).ffill()
    next_arr = st["arr"].groupby(trip).bfill()
    next_k = k.where(known).groupby(trip).bfill()
    span = (next_k - last_k).where(lambda d: d > 0)
    filled = last_dep + (next_arr - last_dep) * (k - last_k) / span
    st.loc[~known, "arr"] = filled[~known]
    st.loc[~known, "dep"] = filled[~known]


def _expand_frequencies(feed: Feed, trips: pd.DataFrame, st: pd.DataFrame) -> pd.DataFrame:
    """Replace each trip of ``frequencies.txt`` by copies at every headway."""
    freq = feed.frequencies
    if freq is None or freq.empty:
        st["copy_id"] = st["trip_id"].astype(str)
        return st
    freq = freq[freq["trip_id"].isin(trips["trip_id"])]
    starts, _ = parse_times(freq["start_time"])
    ends, _ = parse_times(freq["end_time"])
    plain = st[~st["trip_id"].isin(freq["trip_id"])].copy()
    plain["copy_id"] = plain["trip_id"].astype(str)
    copies = [plain]
    by_trip = dict(iter(st[st["trip_id"].isin(freq["trip_id"])].groupby("trip_id")))
    for (trip_id, headway), start, end in zip(
        freq[["trip_id", "headway_secs"]].itertuples(index=False, name=None),
        starts,
        ends,
        strict=True,
    ):
        template = by_trip[trip_id]
        first = float(template["dep"].iloc[0])
        for t0 in np.arange(start, end, float(headway)):
            copy = template.copy()
            copy["arr"] += t0 - first
            copy["dep"] += t0 - first
            copy["copy_id"] = f"{trip_id}@{int(t0)}"
            copies.append(copy)
    return pd.concat(copies, ignore_index=True)


def compile_feed(
    feed: Feed,
    *,
    day: date | None = None,
    walk_radius_m: float = 0.0,
    walk_speed_m_s: float = DEFAULT_WALK_SPEED_M_S,
) -> CompiledFeed:
    """Compile one service day of a checked feed (see the module docstring).

    Parameters
    ----------
    feed
        A feed from :func:`shancheng.data.gtfs.read_gtfs`.
    day
        The service day; default :func:`~shancheng.data.gtfs.busiest_day`.
    walk_radius_m
        Also walk between platforms this close (straight line), besides ``transfers.txt``.
    walk_speed_m_s
        Speed of those walks and of transfers without a time.

    Returns
    -------
    CompiledFeed
    """
    day = day or busiest_day(feed)
    trips, st = _day_stop_times(feed, day)
    st = _expand_frequencies(feed, trips, st)
    used = np.asarray(pd.unique(st["stop_id"].astype(str)), dtype=object)
    stops = _stop_table(feed, used)
    index = pd.Series(np.arange(len(stops)), index=stops["stop_id"])
    codes, uniques = pd.factorize(st["copy_id"], sort=False)
    f_from, f_to, f_time = _footpaths(feed, stops, walk_radius_m, walk_speed_m_s)
    tt = build_timetable(
        len(stops), codes, index.loc[st["stop_id"].astype(str)].to_numpy(),
        st["arr"].to_numpy(), st["dep"].to_numpy(),
        footpath_from=f_from, footpath_to=f_to, footpath_time_s=f_time,
    )  # fmt: skip
    first = st.groupby(codes, sort=True)["dep"].first().to_numpy()
    base = st.drop_duplicates("copy_id").set_index("copy_id")["trip_id"]
    route = trips.set_index("trip_id")["route_id"]
    trip_table = pd.DataFrame({"trip_id": uniques.astype(str), "departure_s": first})
    trip_table["route_id"] = route.reindex(base.loc[trip_table["trip_id"]].to_numpy()).to_numpy()
    logger.info("timetable of %s: %d stops, %d trips, %d patterns, %d footpaths", day,
                tt.n_stops, tt.n_trips, tt.n_patterns, tt.footpath_to.shape[0])  # fmt: skip
    return CompiledFeed(timetable=tt, stops=stops, trips=trip_table, day=day)


def _stop_table(feed: Feed, used: np.ndarray[tuple[int], np.dtype[np.object_]]) -> pd.DataFrame:
    all_stops = feed.stops.copy()
    all_stops["stop_id"] = all_stops["stop_id"].astype(str)
    table = all_stops.set_index("stop_id").reindex(used)
    parent = (
        table["parent_station"].astype("string")
        if "parent_station" in table.columns
        else pd.Series(pd.NA, index=table.index, dtype="string")
    )
    return pd.DataFrame({
        "stop_id": used.astype(str),
        "stop_name": table.get("stop_name", pd.Series("", index=table.index))
        .astype(str).to_numpy(),
        "lon": table["stop_lon"].to_numpy(np.float64),
        "lat": table["stop_lat"].to_numpy(np.float64),
        "station_id": parent.fillna(pd.Series(used.astype(str), index=table.index)).to_numpy(),
    })  # fmt: skip


def stop_metres(stops: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
    """Return the stops' coordinates in metres in the UTM zone of their centre."""
    lon, lat = stops["lon"].to_numpy(np.float64), stops["lat"].to_numpy(np.float64)
    zone = int((np.nanmean(lon) + 180.0) // 6.0) + 1
    epsg = (32600 if np.nanmean(lat) >= 0 else 32700) + zone
    return lonlat_to_utm(lon, lat, epsg=epsg)


def _footpaths(
    feed: Feed, stops: pd.DataFrame, radius_m: float, speed_m_s: float
) -> tuple[IntArray, IntArray, IntArray]:
    x, y = stop_metres(stops)

    def walk_s(i: int, j: int) -> int:
        return int(np.ceil(np.hypot(x[i] - x[j], y[i] - y[j]) / speed_m_s))

    pairs: dict[tuple[int, int], int] = {}
    if radius_m > 0:
        dist = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
        a, b = np.nonzero((dist <= radius_m) & ~np.eye(len(stops), dtype=bool))
        pairs.update({(i, j): walk_s(i, j) for i, j in zip(a.tolist(), b.tolist(), strict=True)})
    members: dict[str, list[int]] = {}
    for i, (stop_id, station) in enumerate(zip(stops["stop_id"], stops["station_id"],
                                               strict=True)):  # fmt: skip
        members.setdefault(str(stop_id), []).append(i)
        if station != stop_id:
            members.setdefault(str(station), []).append(i)
    transfers = feed.transfers
    rows = [] if transfers is None else list(zip(
        transfers["from_stop_id"].astype(str), transfers["to_stop_id"].astype(str),
        pd.to_numeric(transfers["transfer_type"]).fillna(0).to_numpy(),
        pd.to_numeric(transfers.get("min_transfer_time", pd.Series(np.nan, transfers.index)))
        .to_numpy(np.float64),
        strict=True,
    ))  # fmt: skip
    for a_id, b_id, kind, minimum in rows:
        timed = kind == TIMED_TRANSFER and np.isfinite(minimum)
        for i, j in itertools.product(members.get(a_id, []), members.get(b_id, [])):
            if i == j:
                continue
            if kind == FORBIDDEN_TRANSFER:
                pairs.pop((i, j), None)
            else:
                pairs[(i, j)] = int(minimum) if timed else walk_s(i, j)
    keys = np.array(list(pairs), dtype=np.int64).reshape(-1, 2)
    times = np.array(list(pairs.values()), dtype=np.int64)
    return keys[:, 0], keys[:, 1], times
