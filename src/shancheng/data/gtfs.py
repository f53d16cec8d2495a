"""GTFS feeds in: read with gtfs-kit, checked once, loudly, with every problem by file and line.

:func:`read_gtfs` reads a feed (a ``.zip`` or a folder) with :mod:`gtfs_kit` and runs
:func:`check_feed`, which collects every problem before it raises one :class:`GtfsError`
listing them (``stop_times.txt: line 3: field `arrival_time`: ...``). Line numbers are those
of the file, the header being line 1. Checked:

* required files (``agency``, ``stops``, ``routes``, ``trips``, ``stop_times`` and one of
  ``calendar`` / ``calendar_dates``) and their required fields, column and value;
* times in ``H:MM:SS``; times past 24:00 (a trip running past midnight, ``25:10:00``) are
  valid and kept as seconds past the service day's noon-minus-12h, 90,600 s;
* ``stop_times`` in order along each trip: ``stop_sequence`` strictly increasing, no time
  going backwards (arrival before the departure from the stop before, departure before
  arrival);
* references: stops and trips in ``stop_times``, routes of trips, parent stations;
* trips without service: a ``service_id`` that neither ``calendar`` nor ``calendar_dates``
  defines.

:func:`service_ids_on` picks the services running on a day (``calendar`` by weekday and
date range, then ``calendar_dates`` added or removed) and :func:`busiest_day` the day with
the most trips, the default service day.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shancheng.errors import GtfsError

if TYPE_CHECKING:
    from shancheng.types import FloatArray

logger = logging.getLogger(__name__)

Feed = Any
"""A :class:`gtfs_kit.Feed` (gtfs-kit ships no type information)."""

REQUIRED_FILES = ("agency", "stops", "routes", "trips", "stop_times")
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "agency": ("agency_name", "agency_url", "agency_timezone"),
    "stops": ("stop_id",),
    "routes": ("route_id", "route_type"),
    "trips": ("route_id", "service_id", "trip_id"),
    "stop_times": ("trip_id", "stop_id", "stop_sequence"),
    "calendar": ("service_id", "monday", "tuesday", "wednesday", "thursday", "friday",
                 "saturday", "sunday", "start_date", "end_date"),
    "calendar_dates": ("service_id", "date", "exception_type"),
    "frequencies": ("trip_id", "start_time", "end_time", "headway_secs"),
    "transfers": ("from_stop_id", "to_stop_id", "transfer_type"),
    "shapes": ("shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence"),
}  # fmt: skip
"""Fields each file must have (GTFS Schedule reference, "Required")."""
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"^\s*(\d{1,3}):([0-5]\d):([0-5]\d)\s*$")
_MAX_LISTED = 50


@dataclass(frozen=True, slots=True)
class GtfsProblem:
    """One problem of a feed: which file, which line (header = 1), which field, what."""

    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        """``stops.txt: line 4: field `stop_id`: ...``."""
        where = f"{self.file}.txt"
        if self.line is not None:
            where += f": line {self.line}"
        if self.field is not None:
            where += f": field `{self.field}`"
        return f"{where}: {self.message}"


def parse_times(values: pd.Series[Any]) -> tuple[FloatArray, np.ndarray[Any, np.dtype[np.bool_]]]:
    """Parse GTFS ``H:MM:SS`` times into seconds; hours past 24 are kept as they are.

    Returns
    -------
    tuple
        Seconds (``nan`` where the value is empty or malformed) and a mask of the malformed.

    Examples
    --------
    >>> import pandas as pd
    >>> seconds, bad = parse_times(pd.Series(["7:05:00", "25:10:00", None, "7h05"]))
    >>> seconds[:2].tolist(), bad.tolist()
    ([25500.0, 90600.0], [False, False, False, True])
    """
    text = values.astype("string")
    parts = text.str.extract(_TIME)
    numbers = parts.apply(pd.to_numeric).to_numpy(dtype=np.float64, na_value=np.nan)
    seconds = numbers[:, 0] * 3600.0 + numbers[:, 1] * 60.0 + numbers[:, 2]
    present = text.notna().to_numpy() & (text.str.strip() != "").fillna(value=False).to_numpy()
    bad = present & np.isnan(seconds)
    return seconds, bad


def read_gtfs(path: str | Path, *, check: bool = True) -> Feed:
    """Read a GTFS feed (``.zip`` or folder) and check it.

    Parameters
    ----------
    path
        The feed.
    check
        Run :func:`check_feed` and raise on any problem.

    Returns
    -------
    gtfs_kit.Feed
        Its tables as pandas DataFrames (times as the feed's strings).

    Raises
    ------
    GtfsError
        The feed is unreadable or has problems: the message lists each by file, line, field.
    """
    import gtfs_kit  # noqa: PLC0415 - heavy (folium, requests); only readers of feeds pay

    source = Path(path)
    if not source.exists():
        msg = f"{source}: no such GTFS feed (give a .zip or a folder of .txt files)"
        raise GtfsError(msg)
    try:
        feed = gtfs_kit.read_feed(source, dist_units="km")
    except (ValueError, KeyError, TypeError, OSError) as exc:
        msg = f"{source}: cannot read the GTFS feed ({exc})"
        raise GtfsError(msg) from exc
    if check:
        problems = check_feed(feed)
        if problems:
            listed = "\n".join(f"  {p}" for p in problems[:_MAX_LISTED])
            more = len(problems) - _MAX_LISTED
            tail = f"\n  ... and {more} more" if more > 0 else ""
            msg = f"{source}: {len(problems)} problem(s) in the GTFS feed:\n{listed}{tail}"
            raise GtfsError(msg, problems=tuple(problems))
    logger.info("GTFS feed %s: %d stops, %d trips", source, _rows(feed.stops),
                _rows(feed.trips))  # fmt: skip
    return feed


def _rows(table: pd.DataFrame | None) -> int:
    return 0 if table is None else len(table)


def _lines(index: pd.Index[Any] | np.ndarray[Any, Any]) -> list[int]:
    """File line numbers of table rows (gtfs-kit keeps the file's order, header = line 1)."""
    return [int(i) + 2 for i in index]


def check_feed(feed: Feed) -> list[GtfsProblem]:
    """Return every problem of a feed (see the module docstring), in file order.

    Examples
    --------
    >>> import gtfs_kit, pandas as pd
    >>> problems = check_feed(gtfs_kit.Feed(dist_units="km", stops=pd.DataFrame(
    ...     {"stop_id": ["A"]})))
    >>> str(problems[0])
    'agency.txt: required file is missing'
    """
    problems: list[GtfsProblem] = []
    tables = {name: getattr(feed, name, None) for name in REQUIRED_FIELDS}
    problems.extend(
        GtfsProblem(name, None, None, "required file is missing")
        for name in REQUIRED_FILES
        if tables[name] is None
    )
    if tables["calendar"] is None and tables["calendar_dates"] is None:
        problems.append(GtfsProblem("calendar", None, None, "required file is missing (a "
                                    "feed needs calendar.txt or calendar_dates.txt)"))  # fmt: skip
    for name, fields in REQUIRED_FIELDS.items():
        table = tables[name]
        if table is None:
            continue
        for field in fields:
            if field not in table.columns:
                problems.append(GtfsProblem(name, None, field, "required field is missing"))
                continue
            empty = table[field].isna() | (table[field].astype("string").str.strip() == "")
            problems.extend(
                GtfsProblem(name, line, field, "required value is empty")
                for line in _lines(table.index[empty.fillna(value=True).to_numpy()])
            )
    problems.extend(_check_stop_times(tables["stop_times"]))
    problems.extend(_check_references(tables))
    return problems


def _check_stop_times(stop_times: pd.DataFrame | None) -> list[GtfsProblem]:
    """Malformed times, and stop_times out of order along their trip."""
    if stop_times is None or not {"trip_id", "stop_sequence"} <= set(stop_times.columns):
        return []
    problems: list[GtfsProblem] = []
    times = {}
    for field in ("arrival_time", "departure_time"):
        if field not in stop_times.columns:
            times[field] = np.full(len(stop_times), np.nan)
            continue
        seconds, bad = parse_times(stop_times[field])
        times[field] = seconds
        problems.extend(
            GtfsProblem(
                "stop_times",
                line,
                field,
                f"{value!r} is not a time H:MM:SS (e.g. 7:05:00 or 25:10:00 past midnight)",
            )
            for line, value in zip(_lines(np.flatnonzero(bad)), stop_times[field][bad], strict=True)
        )
    arrival = np.where(np.isnan(times["arrival_time"]), times["departure_time"],
                       times["arrival_time"])  # fmt: skip
    departure = np.where(np.isnan(times["departure_time"]), arrival, times["departure_time"])
    frame = pd.DataFrame({
        "trip": stop_times["trip_id"].astype("string").to_numpy(),
        "seq": pd.to_numeric(stop_times["stop_sequence"], errors="coerce").to_numpy(np.float64),
        "arr": arrival, "dep": departure, "row": np.arange(len(stop_times)),
    })  # fmt: skip
    with np.errstate(invalid="ignore"):
        early = np.flatnonzero(arrival > departure)
    problems.extend(
        GtfsProblem(
            "stop_times", int(r) + 2, "departure_time", "departure before arrival at the same stop"
        )
        for r in early
    )
    # along each trip by stop_sequence: no sequence number twice, no time going back
    sorted_seq = frame.sort_values(["trip", "seq"], kind="stable")
    s_trip = sorted_seq["trip"].to_numpy()
    s_same = s_trip[1:] == s_trip[:-1]
    repeated = s_same & (sorted_seq["seq"].to_numpy()[1:] == sorted_seq["seq"].to_numpy()[:-1])
    for row, value in zip(sorted_seq["row"].to_numpy()[1:][repeated],
                          sorted_seq["seq"].to_numpy()[1:][repeated], strict=True):  # fmt: skip
        problems.append(GtfsProblem("stop_times", int(row) + 2, "stop_sequence",
                                    f"{value:g} is repeated within its trip"))  # fmt: skip
    ends = np.ones(len(sorted_seq), dtype=bool)
    ends[1:-1] = ~(s_same[:-1] & s_same[1:])  # first or last row of its trip
    untimed = ends & np.isnan(sorted_seq["arr"].to_numpy())
    problems.extend(
        GtfsProblem(
            "stop_times",
            int(row) + 2,
            "arrival_time",
            "the first and the last stop of a trip need a time",
        )
        for row in sorted_seq["row"].to_numpy()[untimed]
    )
    dep_before = sorted_seq["dep"].to_numpy()[:-1]
    arr_after = sorted_seq["arr"].to_numpy()[1:]
    with np.errstate(invalid="ignore"):
        backwards = s_same & (arr_after < dep_before)
    for row, trip in zip(sorted_seq["row"].to_numpy()[1:][backwards], s_trip[1:][backwards],
                         strict=True):  # fmt: skip
        message = (f"trip {trip!r} arrives here before it left the stop before (stop_times "
                   "out of order by stop_sequence)")  # fmt: skip
        problems.append(GtfsProblem("stop_times", int(row) + 2, "arrival_time", message))
    return sorted(problems, key=lambda p: (p.line or 0, p.field or ""))


def _check_references(tables: dict[str, pd.DataFrame | None]) -> list[GtfsProblem]:
    """Ids that point at nothing: stops, trips, routes, parent stations, services."""
    problems: list[GtfsProblem] = []

    def ids(name: str, field: str) -> set[str] | None:
        table = tables[name]
        if table is None or field not in table.columns:
            return None
        return set(table[field].dropna().astype(str))

    def unknown(name: str, field: str, known: set[str] | None, what: str) -> None:
        table = tables[name]
        if known is None or table is None or field not in table.columns:
            return
        values = table[field].astype("string")
        missing = values.notna().to_numpy() & ~values.isin(known).fillna(value=False).to_numpy()
        for line, value in zip(_lines(np.flatnonzero(missing)), values[missing], strict=True):
            problems.append(GtfsProblem(name, line, field, f"unknown {what} {value!r}"))

    stops = ids("stops", "stop_id")
    unknown("stop_times", "stop_id", stops, "stop (not in stops.txt)")
    unknown("stop_times", "trip_id", ids("trips", "trip_id"), "trip (not in trips.txt)")
    unknown("trips", "route_id", ids("routes", "route_id"), "route (not in routes.txt)")
    unknown("stops", "parent_station", stops, "parent station (not in stops.txt)")
    unknown("transfers", "from_stop_id", stops, "stop (not in stops.txt)")
    unknown("transfers", "to_stop_id", stops, "stop (not in stops.txt)")
    unknown("frequencies", "trip_id", ids("trips", "trip_id"), "trip (not in trips.txt)")
    services = (ids("calendar", "service_id") or set()) | (
        ids("calendar_dates", "service_id") or set()
    )
    table = tables["trips"]
    if table is not None and "service_id" in table.columns:
        values = table["service_id"].astype("string")
        missing = values.notna().to_numpy() & ~values.isin(services).fillna(value=False).to_numpy()
        for line, trip, value in zip(_lines(np.flatnonzero(missing)), table["trip_id"][missing],
                                     values[missing], strict=True):  # fmt: skip
            problems.append(GtfsProblem("trips", line, "service_id", f"trip {trip!r} has no "
                                        f"service: service_id {value!r} is in neither "
                                        "calendar.txt nor calendar_dates.txt"))  # fmt: skip
    return problems


def service_ids_on(feed: Feed, day: date) -> frozenset[str]:
    """Return the services running on ``day`` (calendar, then calendar_dates exceptions).

    Examples
    --------
    >>> import gtfs_kit, pandas as pd
    >>> feed = gtfs_kit.Feed(dist_units="km", calendar=pd.DataFrame({
    ...     "service_id": ["WD"], **{d: [1 if i < 5 else 0] for i, d in enumerate(WEEKDAYS)},
    ...     "start_date": ["20250101"], "end_date": ["20251231"]}),
    ...     calendar_dates=pd.DataFrame({"service_id": ["WD", "X"],
    ...     "date": ["20250106", "20250106"], "exception_type": [2, 1]}))
    >>> sorted(service_ids_on(feed, date(2025, 1, 7)))
    ['WD']
    >>> sorted(service_ids_on(feed, date(2025, 1, 6)))  # WD removed, X added
    ['X']
    """
    key = day.strftime("%Y%m%d")
    running: set[str] = set()
    calendar = feed.calendar
    if calendar is not None and len(calendar):
        weekday = WEEKDAYS[day.weekday()]
        starts = calendar["start_date"].astype(str)
        ends = calendar["end_date"].astype(str)
        on = (pd.to_numeric(calendar[weekday]) == 1) & (starts <= key) & (ends >= key)
        running |= set(calendar.loc[on, "service_id"].astype(str))
    dates = feed.calendar_dates
    if dates is not None and len(dates):
        today = dates[dates["date"].astype(str) == key]
        kind = pd.to_numeric(today["exception_type"])
        running |= set(today.loc[kind == 1, "service_id"].astype(str))
        running -= set(today.loc[kind == 2, "service_id"].astype(str))  # noqa: PLR2004
    return frozenset(running)


def busiest_day(feed: Feed) -> date:
    """Return the day of the feed with the most trips running (the earliest among ties).

    Raises
    ------
    GtfsError
        The calendars define no day at all.
    """
    per_service = feed.trips["service_id"].astype(str).value_counts().to_dict()
    days: set[date] = set()
    weekly: list[tuple[int, int, np.ndarray[Any, Any], int]] = []
    if feed.calendar is not None and len(feed.calendar):
        for row in feed.calendar.itertuples(index=False):
            first, last = _day(row.start_date), _day(row.end_date)
            days |= set(pd.date_range(first, last).date)
            flags = np.array([int(getattr(row, d)) == 1 for d in WEEKDAYS])
            weekly.append((_key(first), _key(last), flags, per_service.get(str(row.service_id), 0)))
    changes: dict[date, int] = {}
    if feed.calendar_dates is not None and len(feed.calendar_dates):
        for row in feed.calendar_dates.itertuples(index=False):
            day, trips = _day(row.date), per_service.get(str(row.service_id), 0)
            days.add(day)
            changes[day] = changes.get(day, 0) + (trips if int(row.exception_type) == 1 else -trips)
    if not days:
        msg = "calendar.txt / calendar_dates.txt: the feed defines no service day"
        raise GtfsError(msg)

    def trips_on(day: date) -> int:
        key, wd = _key(day), day.weekday()
        base = sum(t for lo, hi, flags, t in weekly if flags[wd] and lo <= key <= hi)
        return base + changes.get(day, 0)

    return max(sorted(days), key=trips_on)


def _day(value: object) -> date:
    return datetime.strptime(str(value), "%Y%m%d").date()  # noqa: DTZ007 - a calendar day


def _key(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day
