"""Transit timetables and RAPTOR: earliest arrivals by transit and walking between stops.

A :class:`Timetable` holds one service day in arrays: *patterns* (trips that call at the
same stops in the same order, sorted by departure, none overtaking another), their stop
times, the patterns through each stop, and footpaths between stops (transfers, walks).
:func:`build_timetable` compiles it from plain arrays (the GTFS side is
:mod:`shancheng.data.transit`). The queries run RAPTOR (Delling, Pajor & Werneck 2012,
"Round-Based Public Transit Routing"), one round per vehicle ridden:

* :func:`earliest_arrivals` — one departure time, earliest arrival at every stop;
* :func:`arrival_profiles` — every departure time of a window at once (range RAPTOR: labels
  carried from each departure to the next earlier one), for one set of origin stops;
* :func:`stop_profiles` — :func:`arrival_profiles` from every origin stop, on all cores.

Semantics (what the tests check against a time-expanded graph): a rider at a stop may board
any trip departing there at or after the time they are there; a change at the same stop
takes no time; a footpath is walked from a vehicle's arrival or from an origin, one at a
time (never two in a row), so footpaths need not be transitively closed. Times are whole
seconds since the service day's midnight (hours past 24 as they are).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shancheng.errors import InputError
from shancheng.network._raptor import INF, range_profiles
from shancheng.network._runner import run_parallel

if TYPE_CHECKING:
    from shancheng.types import IntArray, Progress

logger = logging.getLogger(__name__)

UNREACHED = int(INF)
"""Arrival time of a stop no journey reaches."""
DEFAULT_MAX_RIDES = 8


@dataclass(frozen=True, eq=False)
class Timetable:
    """One service day of a transit network, in the arrays the RAPTOR kernels read.

    Attributes
    ----------
    n_stops
        Stops are ``0 .. n_stops-1`` (platforms: where vehicles call).
    pattern_stop_ptr, pattern_stops
        The stops of pattern ``p`` in calling order: ``pattern_stops[ptr[p]:ptr[p+1]]``.
    pattern_trip_ptr, pattern_trips
        The trips of pattern ``p`` (input trip indices), by departure.
    pattern_time_ptr, arrival_s, departure_s
        Trip ``j`` of pattern ``p`` at its ``i``-th stop: index
        ``pattern_time_ptr[p] + j * n_stops_of_p + i``.
    stop_pattern_ptr, stop_patterns, stop_pattern_pos
        Patterns calling at each stop, and where in them.
    footpath_ptr, footpath_to, footpath_time_s
        Footpaths leaving each stop (CSR), whole seconds.
    """

    n_stops: int
    pattern_stop_ptr: IntArray
    pattern_stops: IntArray
    pattern_trip_ptr: IntArray
    pattern_trips: IntArray
    pattern_time_ptr: IntArray
    arrival_s: IntArray
    departure_s: IntArray
    stop_pattern_ptr: IntArray
    stop_patterns: IntArray
    stop_pattern_pos: IntArray
    footpath_ptr: IntArray
    footpath_to: IntArray
    footpath_time_s: IntArray

    @property
    def n_patterns(self) -> int:
        """Number of patterns."""
        return int(self.pattern_stop_ptr.shape[0] - 1)

    @property
    def n_trips(self) -> int:
        """Number of trips."""
        return int(self.pattern_trips.shape[0])

    def kernel_arrays(self) -> tuple[tuple[IntArray, ...], ...]:
        """Return the tuples the compiled kernels take: patterns, stops' patterns, footpaths."""
        patterns = (self.pattern_stop_ptr, self.pattern_stops, self.pattern_trip_ptr,
                    self.pattern_time_ptr, self.arrival_s, self.departure_s)  # fmt: skip
        stops = (self.stop_pattern_ptr, self.stop_patterns, self.stop_pattern_pos)
        footpaths = (self.footpath_ptr, self.footpath_to, self.footpath_time_s)
        return patterns, stops, footpaths


def _ints(values: npt.ArrayLike, name: str) -> IntArray:
    array = np.asarray(values)
    if array.ndim != 1:
        msg = f"`{name}` must be one-dimensional, got shape {array.shape}"
        raise InputError(msg)
    if array.size and not np.all(np.isfinite(array.astype(np.float64))):
        bad = int(np.flatnonzero(~np.isfinite(array.astype(np.float64)))[0])
        msg = f"`{name}`: row {bad} is {array[bad]!r}; give whole seconds"
        raise InputError(msg)
    return np.rint(array.astype(np.float64)).astype(np.int64)


def _patterns(
    trip: IntArray, stop: IntArray
) -> tuple[list[tuple[int, ...]], dict[int, tuple[int, int]]]:
    """Each trip's stop sequence, and each trip's slice of the stop-time rows."""
    bounds = np.flatnonzero(np.diff(trip)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [trip.shape[0]]])
    rows = {int(trip[a]): (int(a), int(b)) for a, b in zip(starts, ends, strict=True)}
    keys = [tuple(stop[a:b].tolist()) for a, b in zip(starts, ends, strict=True)]
    return keys, rows


def build_timetable(
    n_stops: int,
    trip: npt.ArrayLike,
    stop: npt.ArrayLike,
    arrival_s: npt.ArrayLike,
    departure_s: npt.ArrayLike,
    *,
    footpath_from: npt.ArrayLike = (),
    footpath_to: npt.ArrayLike = (),
    footpath_time_s: npt.ArrayLike = (),
) -> Timetable:
    """Compile stop times and footpaths into a :class:`Timetable`.

    Parameters
    ----------
    n_stops
        Number of stops; stop indices are ``0 .. n_stops-1``.
    trip, stop, arrival_s, departure_s
        One row per stop time, grouped by trip and in calling order within each trip.
    footpath_from, footpath_to, footpath_time_s
        Walks between stops (directed), whole seconds; self-loops are dropped.

    Returns
    -------
    Timetable
        Trips with the same stop sequence form a pattern, split where a trip would overtake
        another (RAPTOR needs trips of a pattern in the same order at every stop).

    Raises
    ------
    InputError
        Times go backwards along a trip, a trip's rows are not together, or a stop index is
        out of range (the message names the row).

    Examples
    --------
    >>> tt = build_timetable(3, [0, 0, 1, 1], [0, 1, 1, 2], [0, 60, 100, 160],
    ...                      [0, 60, 100, 160])
    >>> tt.n_patterns, tt.n_trips
    (2, 2)
    """
    trips, stops = _ints(trip, "trip"), _ints(stop, "stop")
    arr, dep = _ints(arrival_s, "arrival_s"), _ints(departure_s, "departure_s")
    n = trips.shape[0]
    if not (stops.shape[0] == arr.shape[0] == dep.shape[0] == n):
        msg = "`trip`, `stop`, `arrival_s`, `departure_s` must have the same length"
        raise InputError(msg)
    _check_rows(n_stops, trips, stops, arr, dep)
    keys, rows = _patterns(trips, stops)
    groups: dict[tuple[int, ...], list[int]] = {}
    for t, key in zip(rows, keys, strict=True):
        groups.setdefault(key, []).append(t)
    pattern_stops: list[tuple[int, ...]] = []
    pattern_trips: list[list[int]] = []
    for key, members in groups.items():
        members.sort(key=lambda t: (dep[rows[t][0]], arr[rows[t][1] - 1], t))
        for part in _no_overtaking(members, rows, arr, dep):
            pattern_stops.append(key)
            pattern_trips.append(part)
    return _assemble(n_stops, pattern_stops, pattern_trips, rows, (arr, dep),
                     (footpath_from, footpath_to, footpath_time_s))  # fmt: skip


def _check_rows(n_stops: int, trips: IntArray, stops: IntArray, arr: IntArray,
                dep: IntArray) -> None:  # fmt: skip
    out = np.flatnonzero((stops < 0) | (stops >= n_stops))
    if out.size:
        msg = f"`stop`: row {int(out[0])} is {int(stops[out[0]])}, not in 0..{n_stops - 1}"
        raise InputError(msg)
    if trips.size:
        change = np.flatnonzero(np.diff(trips)) + 1
        if np.unique(trips[np.concatenate([[0], change])]).shape[0] != change.shape[0] + 1:
            msg = "`trip`: the rows of each trip must be together and in calling order"
            raise InputError(msg)
        back = np.flatnonzero(dep < arr)
        same = np.diff(trips) == 0
        back_between = np.flatnonzero(same & (arr[1:] < dep[:-1])) + 1
        if back.size or back_between.size:
            row = int(back[0]) if back.size else int(back_between[0])
            msg = (f"row {row}: time goes backwards along trip {int(trips[row])} "
                   f"(arrival {int(arr[row])} s, departure {int(dep[row])} s)")  # fmt: skip
            raise InputError(msg)


def _no_overtaking(
    members: list[int], rows: dict[int, tuple[int, int]], arr: IntArray, dep: IntArray
) -> list[list[int]]:
    """Split trips (sorted by first departure) into runs where none overtakes another."""
    parts: list[list[int]] = []
    for t in members:
        a, b = rows[t]
        for part in parts:
            la, lb = rows[part[-1]]
            if np.all(arr[la:lb] <= arr[a:b]) and np.all(dep[la:lb] <= dep[a:b]):
                part.append(t)
                break
        else:
            parts.append([t])
    return parts


def _assemble(
    n_stops: int,
    pattern_stops: list[tuple[int, ...]],
    pattern_trips: list[list[int]],
    rows: dict[int, tuple[int, int]],
    times: tuple[IntArray, IntArray],
    footpaths: tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike],
) -> Timetable:
    arr, dep = times
    widths = np.array([len(s) for s in pattern_stops], dtype=np.int64)
    counts = np.array([len(t) for t in pattern_trips], dtype=np.int64)
    stop_ptr = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
    trip_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    time_ptr = np.concatenate([[0], np.cumsum(widths * counts)]).astype(np.int64)
    flat_stops = np.array([s for key in pattern_stops for s in key], dtype=np.int64)
    order = [rows[t] for part in pattern_trips for t in part]
    index = np.concatenate([np.arange(a, b) for a, b in order]) if order else np.zeros(0, int)
    pattern_of = np.repeat(np.arange(len(pattern_stops)), widths)
    position = np.arange(flat_stops.shape[0]) - np.repeat(stop_ptr[:-1], widths)
    by_stop = np.lexsort((position, pattern_of, flat_stops))
    stop_pattern_ptr = np.zeros(n_stops + 1, dtype=np.int64)
    np.cumsum(np.bincount(flat_stops, minlength=n_stops), out=stop_pattern_ptr[1:])
    f_from, f_to = _ints(footpaths[0], "footpath_from"), _ints(footpaths[1], "footpath_to")
    f_time = _ints(footpaths[2], "footpath_time_s")
    if not (f_from.shape == f_to.shape == f_time.shape):
        msg = "`footpath_from`, `footpath_to`, `footpath_time_s` must have the same length"
        raise InputError(msg)
    bad = np.flatnonzero((f_from < 0) | (f_from >= n_stops) | (f_to < 0) | (f_to >= n_stops)
                         | (f_time < 0))  # fmt: skip
    if bad.size:
        msg = f"footpath {int(bad[0])}: stop out of range or negative time"
        raise InputError(msg)
    keep = f_from != f_to
    f_from, f_to, f_time = f_from[keep], f_to[keep], f_time[keep]
    f_order = np.lexsort((f_time, f_to, f_from))
    footpath_ptr = np.zeros(n_stops + 1, dtype=np.int64)
    np.cumsum(np.bincount(f_from, minlength=n_stops), out=footpath_ptr[1:])
    return Timetable(
        n_stops=n_stops,
        pattern_stop_ptr=stop_ptr,
        pattern_stops=flat_stops,
        pattern_trip_ptr=trip_ptr,
        pattern_trips=np.array([t for part in pattern_trips for t in part], dtype=np.int64),
        pattern_time_ptr=time_ptr,
        arrival_s=arr[index],
        departure_s=dep[index],
        stop_pattern_ptr=stop_pattern_ptr,
        stop_patterns=pattern_of[by_stop].astype(np.int64),
        stop_pattern_pos=position[by_stop].astype(np.int64),
        footpath_ptr=footpath_ptr,
        footpath_to=f_to[f_order],
        footpath_time_s=f_time[f_order],
    )


def _seeds(
    tt: Timetable, origins: npt.ArrayLike, offsets_s: npt.ArrayLike | None
) -> tuple[IntArray, IntArray]:
    stops = _ints(np.atleast_1d(np.asarray(origins)), "origins")
    if stops.size == 0 or np.any((stops < 0) | (stops >= tt.n_stops)):
        msg = f"`origins`: give stop indices in 0..{tt.n_stops - 1}, got {stops.tolist()[:5]}"
        raise InputError(msg)
    offsets = (
        np.zeros(stops.shape[0], dtype=np.int64)
        if offsets_s is None
        else _ints(np.atleast_1d(np.asarray(offsets_s)), "offsets_s")
    )
    if offsets.shape != stops.shape or np.any(offsets < 0):
        msg = "`offsets_s`: one non-negative whole number of seconds per origin"
        raise InputError(msg)
    return stops, offsets


def arrival_profiles(
    tt: Timetable,
    origins: npt.ArrayLike,
    departures_s: npt.ArrayLike,
    *,
    offsets_s: npt.ArrayLike | None = None,
    max_rides: int = DEFAULT_MAX_RIDES,
) -> IntArray:
    """Earliest arrival at every stop for each departure time (range RAPTOR).

    Parameters
    ----------
    tt
        The timetable.
    origins
        Origin stop(s); with several, the rider starts at whichever is best.
    departures_s
        Departure times, seconds since midnight (any order).
    offsets_s
        Time to reach each origin after the departure (an access walk), seconds.
    max_rides
        Most vehicles ridden (RAPTOR rounds).

    Returns
    -------
    numpy.ndarray
        ``(n_departures, n_stops)`` arrival seconds, :data:`UNREACHED` where none; in the
        order of ``departures_s``.

    Examples
    --------
    >>> tt = build_timetable(3, [0, 0, 1, 1], [0, 1, 1, 2], [0, 60, 100, 160],
    ...                      [0, 60, 100, 160])
    >>> arrival_profiles(tt, 0, [0, 30])[:, 2].tolist()  # change at stop 1, or miss trip 0
    [160, 4611686018427387904]
    """
    stops, offsets = _seeds(tt, origins, offsets_s)
    deps = _ints(np.atleast_1d(np.asarray(departures_s)), "departures_s")
    if max_rides < 0:
        msg = f"`max_rides` must be >= 0, got {max_rides}"
        raise InputError(msg)
    order = np.argsort(deps, kind="stable")
    out = np.empty((deps.shape[0], tt.n_stops), dtype=np.int64)
    patterns, by_stop, footpaths = tt.kernel_arrays()
    range_profiles(patterns, by_stop, footpaths, stops, offsets, deps[order], max_rides, out)
    result = np.empty_like(out)
    result[order] = out
    return result


def earliest_arrivals(
    tt: Timetable,
    origins: npt.ArrayLike,
    departure_s: float,
    *,
    offsets_s: npt.ArrayLike | None = None,
    max_rides: int = DEFAULT_MAX_RIDES,
) -> IntArray:
    """Earliest arrival at every stop leaving ``origins`` at ``departure_s`` (one RAPTOR).

    Examples
    --------
    >>> tt = build_timetable(2, [0, 0], [0, 1], [0, 90], [0, 90])
    >>> earliest_arrivals(tt, 0, 0).tolist()
    [0, 90]
    """
    profile = arrival_profiles(tt, origins, [departure_s], offsets_s=offsets_s,
                               max_rides=max_rides)  # fmt: skip
    first: IntArray = profile[0]
    return first


def stop_profiles(
    tt: Timetable,
    departures_s: npt.ArrayLike,
    *,
    origins: npt.ArrayLike | None = None,
    max_rides: int = DEFAULT_MAX_RIDES,
    threads: int | None = None,
    progress: Progress | None = None,
) -> IntArray:
    """:func:`arrival_profiles` from each origin stop alone, on a thread pool.

    Returns
    -------
    numpy.ndarray
        ``(n_origins, n_departures, n_stops)`` arrival seconds (default: every stop).
    """
    chosen = np.arange(tt.n_stops) if origins is None else _seeds(tt, origins, None)[0]
    deps = _ints(np.atleast_1d(np.asarray(departures_s)), "departures_s")
    order = np.argsort(deps, kind="stable")
    out = np.empty((chosen.shape[0], deps.shape[0], tt.n_stops), dtype=np.int64)
    patterns, by_stop, footpaths = tt.kernel_arrays()
    zero = np.zeros(1, dtype=np.int64)

    def run(u: int) -> int:
        sorted_out = np.empty((deps.shape[0], tt.n_stops), dtype=np.int64)
        rounds = range_profiles(patterns, by_stop, footpaths, chosen[u : u + 1], zero,
                                deps[order], max_rides, sorted_out)  # fmt: skip
        out[u][order] = sorted_out
        return int(rounds)

    rounds = run_parallel(run, int(chosen.shape[0]), threads, progress)
    logger.debug("stop_profiles: %d origins x %d departures, %d rounds", chosen.shape[0],
                 deps.shape[0], sum(rounds))  # fmt: skip
    return out
