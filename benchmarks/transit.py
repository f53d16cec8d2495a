"""Transit: all-stops range RAPTOR on the NYC subway, and walk + transit circles of the demo city.

1. New York subway (the shared MTA test feed: lines 1 and 2, the busiest weekday), and the
   Cairns bus network (a larger pattern count) for scale: an earliest-arrival profile from
   every stop, for every minute of 07:00-09:00 (121 departures), range RAPTOR, up to 8 rides,
   transfers.txt plus straight-line walks of up to 250 m between stops. Timed twice: on a thread pool (``stop_profiles``,
   the production call) and on one thread, origin by origin, with the rounds counted, for the
   time per RAPTOR round (one departure, one round: route scans plus footpaths).
2. The demo city (default config, 3,932 buildings): walking accessibility, then walk + transit
   over 07:00-09:00 every minute for every residence and every category
   (``compute_transit_access``), the target being under 60 s for the whole city.

No peer runs here: r5py needs Java and R5's jar, which this workplace cannot fetch; see
RESULTS.md for the published figures and what is comparable.

    .venv/bin/python benchmarks/transit.py
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shancheng.circles.accessibility import compute_accessibility
from shancheng.circles.residences import residences_from_buildings
from shancheng.circles.standard import load_catalogue
from shancheng.circles.transit import compute_transit_access
from shancheng.data.demo import DemoConfig, write_demo_city
from shancheng.data.demo.metro import FEED_FOLDER, FEED_NAME
from shancheng.data.gtfs import read_gtfs
from shancheng.data.transit import compile_feed
from shancheng.data.transit_stations import access_points, read_pathways
from shancheng.network._raptor import range_profiles
from shancheng.network.raptor import stop_profiles

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "transit"
WINDOW = np.arange(7 * 3600, 9 * 3600 + 1, 60, dtype=np.int64)
MAX_RIDES = 8


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def all_stops(name: str, label: str) -> None:
    feed = read_gtfs(SHARED / name)
    compiled = compile_feed(feed, walk_radius_m=250.0)
    tt = compiled.timetable
    print(
        f"{label} {compiled.day}: {tt.n_stops} stops, {tt.n_trips} trips, "
        f"{tt.n_patterns} patterns, {tt.footpath_to.shape[0]} footpaths"
    )
    stop_profiles(tt, WINDOW[:2], origins=[0], max_rides=MAX_RIDES)  # compile the kernels
    best = np.inf
    for _ in range(3):
        started = time.perf_counter()
        profiles = stop_profiles(tt, WINDOW, max_rides=MAX_RIDES, threads=2)
        best = min(best, time.perf_counter() - started)
    reached = float((profiles < 2**62).mean())
    queries = tt.n_stops * WINDOW.shape[0]
    print(
        f"  all stops x {WINDOW.shape[0]} departures, 2 threads: {best:.3f} s "
        f"({queries:,} RAPTOR queries, {best / queries * 1e6:.1f} us each); "
        f"{reached:.1%} of (origin, minute, stop) reached"
    )
    patterns, by_stop, footpaths = tt.kernel_arrays()
    out = np.empty((WINDOW.shape[0], tt.n_stops), dtype=np.int64)
    zero = np.zeros(1, dtype=np.int64)
    started, cpu = time.perf_counter(), time.process_time()
    rounds = 0
    for origin in range(tt.n_stops):
        rounds += int(
            range_profiles(
                patterns, by_stop, footpaths, np.array([origin]), zero, WINDOW, MAX_RIDES, out
            )
        )
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"  one thread: {wall:.3f} s wall, {cpu:.3f} s CPU, {rounds:,} rounds run "
        f"({rounds / queries:.2f} per query): {wall / rounds * 1e6:.1f} us per round"
    )


def demo() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        city = write_demo_city(Path(tmp) / "demo", DemoConfig())
        feed_path = Path(tmp) / "demo" / FEED_FOLDER / FEED_NAME
        started = time.perf_counter()
        feed = read_gtfs(feed_path)
        compiled = compile_feed(feed)
        points = access_points(feed, compiled, pathways=read_pathways(feed_path))
        read_s = time.perf_counter() - started
        homes = residences_from_buildings(city)
        started = time.perf_counter()
        acc = compute_accessibility(city.network, homes, city.facilities, load_catalogue())
        walk_s = time.perf_counter() - started
        compute_transit_access(acc, compiled, points, window_s=(7 * 3600, 7 * 3600 + 120))
        started = time.perf_counter()
        result = compute_transit_access(acc, compiled, points, window_s=(7 * 3600, 9 * 3600))
        transit_s = time.perf_counter() - started
    tt = compiled.timetable
    print(
        f"demo city: {len(homes):,} residences, {len(acc.categories)} categories, "
        f"{result.departures_s.shape[0]} departures; metro {tt.n_stops} platforms, "
        f"{tt.n_trips} trips, {len(points)} entrances"
    )
    print(
        f"  feed read + checked + compiled: {read_s:.2f} s; walking accessibility: "
        f"{walk_s:.2f} s; walk + transit (window): {transit_s:.2f} s; "
        f"total {read_s + walk_s + transit_s:.2f} s (target < 60 s)"
    )


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f}")
    if SHARED.is_dir():
        all_stops("nyc_subway_gtfs.zip", "NYC subway")
        all_stops("cairns_gtfs.zip", "Cairns buses")
    else:
        print(f"{SHARED} not found: NYC part skipped")
    demo()
    print(f"peak RSS {peak_rss_mb():,.0f} MB; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
