"""Walk + transit accessibility: from every residence to each category, over a departure window.

For every residence and category, the door-to-door time leaving home at each minute of a
window (07:00-09:00 by default) is the best of walking all the way and of: walking to a
station entrance on the slope-aware network, climbing to the platform (pathways), waiting
and riding (range RAPTOR over the timetable, transfers included), climbing out at any
station and walking to the nearest facility of the category. Reported: its median and an
upper percentile (90th by default) over the window, as R5 / r5py report travel times.

The work is cut as R5 cuts it (Conway, Byrd & van der Linden 2017): one range-RAPTOR per
origin *stop* over the window extended by the longest access walk, so its cost does not
grow with the number of residences; each residence then combines its few nearby platforms
(access walk rounded up to the whole minute on which it boards, never down) with those
stop profiles in a compiled loop. The walks reuse the walk-network search kernels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from shancheng.circles._transit_kernel import combine
from shancheng.errors import InputError
from shancheng.geo.crs import lonlat_to_utm
from shancheng.network.raptor import UNREACHED, stop_profiles
from shancheng.network.search import nearest_times
from shancheng.network.snap import entry_seeds, snap_points

if TYPE_CHECKING:
    from shancheng.circles.accessibility import Accessibility
    from shancheng.data.transit import CompiledFeed
    from shancheng.network.walk import WalkNetwork
    from shancheng.types import FloatArray, IntArray, Progress

logger = logging.getLogger(__name__)

DEFAULT_WINDOW_S = (7 * 3600, 9 * 3600)
"""The morning peak, 07:00-09:00, departures every minute."""
TRANSIT_THRESHOLDS_MIN = (15.0, 30.0, 45.0)
ACCESS_CUTOFF_S = 900.0
"""Longest walk to a platform (entrance climb included) counted."""
EGRESS_CUTOFF_S = 1200.0
"""Longest walk from a platform to a facility counted."""


@dataclass(frozen=True, eq=False)
class TransitAccess:
    """Walk + transit times of every residence to each category, over a window.

    Attributes
    ----------
    categories
        Category ids (column ``c`` of the arrays), as in the walking :class:`Accessibility`.
    departures_s
        Departure times of the window, seconds since midnight.
    percentile
        The upper percentile reported in ``upper_s`` (e.g. 90).
    walk_s
        ``(n_residences, n_categories)`` walking only, seconds (inf beyond its cutoff).
    median_s, upper_s
        Same shape: median and upper percentile over the window of the best of walking and
        walk + transit, seconds.
    station_walk_s
        ``(n_residences,)`` walk to the nearest platform, entrance climb included (inf: none
        within :data:`ACCESS_CUTOFF_S`).
    nearest_station
        ``station_id`` of that platform's station ("" when none).
    rounds
        RAPTOR rounds run over all origin stops (for benchmarks).
    """

    categories: tuple[str, ...]
    departures_s: IntArray
    percentile: float
    walk_s: FloatArray
    median_s: FloatArray
    upper_s: FloatArray
    station_walk_s: FloatArray
    nearest_station: npt.NDArray[Any]
    rounds: int = 0

    def to_frame(self) -> pd.DataFrame:
        """Return one row per residence, in minutes.

        Columns ``station_walk_min, nearest_station`` and per category
        ``<category>_transit_median_min`` and ``<category>_transit_p<percentile>_min``.
        """
        columns: dict[str, object] = {
            "station_walk_min": self.station_walk_s / 60.0,
            "nearest_station": self.nearest_station,
        }
        tag = f"p{self.percentile:g}"
        for c, category in enumerate(self.categories):
            columns[f"{category}_transit_median_min"] = self.median_s[:, c] / 60.0
            columns[f"{category}_transit_{tag}_min"] = self.upper_s[:, c] / 60.0
        return pd.DataFrame(columns)


Seeds = tuple["IntArray", "FloatArray", "IntArray"]


def _points_on(network: WalkNetwork, points: pd.DataFrame) -> tuple[Seeds, Seeds]:
    x, y = lonlat_to_utm(points["lon"], points["lat"], epsg=network.crs_epsg)
    snap = snap_points(network, x, y, max_distance_m=300.0, source="station entrances")
    return (entry_seeds(network, snap, direction="to_points"),
            entry_seeds(network, snap, direction="from_points"))  # fmt: skip


def _access(
    acc: Accessibility, points: pd.DataFrame, n_stops: int, cutoff_s: float, threads: int | None
) -> tuple[FloatArray, FloatArray]:
    """Walk from each residence to each platform, and from each node to each access point."""
    network = acc.attached_network().network
    to_seeds, _ = _points_on(network, points)
    nodes, offsets, rows = to_seeds
    walk = nearest_times(network, nodes, group=rows, n_groups=len(points), offsets_s=offsets,
                         cutoff_s=cutoff_s, threads=threads).time_s  # fmt: skip
    homes = acc.residence_node
    at_home = np.where(homes[None, :] >= 0, walk[:, np.maximum(homes, 0)], np.inf)
    climb = points["to_platform_s"].to_numpy(np.float64)[:, None]
    access = np.full((n_stops, homes.shape[0]), np.inf)
    np.minimum.at(access, points["stop"].to_numpy(np.int64), at_home + climb)
    access[access > cutoff_s] = np.inf
    return access, walk


def _egress(
    acc: Accessibility, points: pd.DataFrame, n_stops: int, cutoff_s: float, threads: int | None
) -> FloatArray:
    """``(n_categories, n_stops)``: from each platform, out and on foot to the nearest one."""
    network = acc.attached_network().network
    n_cat = len(acc.categories)
    attached = acc.facility_node >= 0
    nearest = nearest_times(
        network, acc.facility_node[attached], group=acc.facility_group[attached],
        n_groups=n_cat, cutoff_s=cutoff_s, threads=threads,
    ).time_s  # fmt: skip
    _, from_seeds = _points_on(network, points)
    nodes, offsets, rows = from_seeds
    climb = points["from_platform_s"].to_numpy(np.float64)
    platform = points["stop"].to_numpy(np.int64)
    out = np.full((n_cat, n_stops), np.inf)
    for c in range(n_cat):
        per_point = np.full(len(points), np.inf)
        np.minimum.at(per_point, rows, offsets + nearest[c, nodes])
        np.minimum.at(out[c], platform, per_point + climb)
    return out


def compute_transit_access(
    acc: Accessibility,
    compiled: CompiledFeed,
    points: pd.DataFrame,
    *,
    window_s: tuple[int, int] = DEFAULT_WINDOW_S,
    step_s: int = 60,
    percentile: float = 90.0,
    max_rides: int = 4,
    threads: int | None = None,
    progress: Progress | None = None,
) -> TransitAccess:
    """Walk + transit times from every residence to each category (see the module docstring).

    Parameters
    ----------
    acc
        The walking accessibility of the same residences and facilities.
    compiled
        The service day's timetable (:func:`shancheng.data.transit.compile_feed`).
    points
        Ways into the platforms (:func:`shancheng.data.transit_stations.access_points`).
    window_s
        First and last departure from home, seconds since midnight (both included).
    step_s
        Departures every ``step_s`` seconds.
    percentile
        Upper percentile reported beside the median.
    max_rides
        Most vehicles in one journey.
    threads, progress
        Worker threads; called with the number of origin stops done.

    Returns
    -------
    TransitAccess
    """
    first, last = int(window_s[0]), int(window_s[1])
    if last < first or step_s <= 0 or not 0.0 < percentile < 100.0:  # noqa: PLR2004
        msg = (f"window_s {window_s}, step_s {step_s}, percentile {percentile}: give first <= "
               "last, a positive step and a percentile strictly between 0 and 100")  # fmt: skip
        raise InputError(msg)
    tt = compiled.timetable
    access, _ = _access(acc, points, tt.n_stops, ACCESS_CUTOFF_S, threads)
    egress = _egress(acc, points, tt.n_stops, EGRESS_CUTOFF_S, threads)
    window = np.arange(first, last + 1, step_s, dtype=np.int64)
    extended = np.arange(first, last + ACCESS_CUTOFF_S + 2 * step_s, step_s, dtype=np.int64)
    profiles = stop_profiles(tt, extended, max_rides=max_rides, threads=threads,
                             progress=progress)  # fmt: skip
    arrival = np.where(profiles >= UNREACHED, np.inf, profiles.astype(np.float64))
    # ride[c, s, m]: leave stop s at extended[m], arrive at the best stop, walk to category c
    ride = np.empty((len(acc.categories), tt.n_stops, extended.shape[0]))
    for s in range(tt.n_stops):
        ride[:, s, :] = (arrival[s][None, :, :] + egress[:, None, :]).min(axis=2) - extended
    walk = np.ascontiguousarray(acc.time_s, dtype=np.float64)
    median = np.empty_like(walk)
    upper = np.empty_like(walk)
    combine(np.ascontiguousarray(access), ride, walk, float(step_s), window.shape[0],
            percentile / 100.0, median, upper)  # fmt: skip
    nearest_stop = np.argmin(access, axis=0)
    station_walk = access[nearest_stop, np.arange(access.shape[1])]
    station_ids = compiled.stops["station_id"].astype(str).to_numpy()
    nearest_station = np.where(np.isfinite(station_walk), station_ids[nearest_stop], "")
    logger.info("transit access: %d residences x %d categories x %d departures",
                walk.shape[0], walk.shape[1], window.shape[0])  # fmt: skip
    return TransitAccess(
        categories=acc.categories, departures_s=window, percentile=percentile, walk_s=walk,
        median_s=median, upper_s=upper, station_walk_s=station_walk,
        nearest_station=nearest_station, rounds=0,
    )  # fmt: skip
