"""Dashboard API kernels on the full demo city: the City state's start-up and per-click answers.

Prints, for the default demo city, the time to build the dashboard's City state (circles
evaluation, nearest-facility lookup, pipe models, per-unit tables), then the median latency of
the questions a click asks: time-to-nearest of every category (ours: one lookup after a search
per category at start-up; peer: one search outward from the clicked point per request, the
straightforward way, checked equal), isochrones, the what-if of adding a facility, and a valve
isolation. Run: ``.venv/bin/python benchmarks/dashboard.py [--small]``.
"""

from __future__ import annotations

import os
import resource
import sys
import time

import numpy as np

from shancheng.api.circles_whatif import add_facility
from shancheng.circles.isochrones import isochrones
from shancheng.data.demo import DemoConfig, generate_demo_city
from shancheng.indicators.citystate import build_city_state
from shancheng.lifelines.isolation import isolate_break
from shancheng.network.search import nearest_times
from shancheng.network.snap import entry_seeds, snap_points


def median_ms(fn, n=7):
    fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def peer_nearest(state, x, y):
    """Search outward from the point (cutoff as ours) and take each category's nearest."""
    net, access = state.city.network, state.point_access
    snap = snap_points(net, [x], [y])
    node, offset, _ = entry_seeds(net, snap, direction="from_points")
    reach = nearest_times(
        net, node, cutoff_s=access.cutoff_s, offsets_s=offset, direction="from_sources"
    ).time_s[0]
    out = np.full(len(access.categories), np.inf)
    if "bench_facility_seeds" not in state.cache:
        state.cache["bench_facility_seeds"] = _facility_seeds(state)
    seeds = state.cache["bench_facility_seeds"]
    f_node, f_offset, f_point = seeds
    total = reach[f_node] + f_offset
    for c in range(len(access.categories)):
        mine = access.group[f_point] == c
        if mine.any():
            out[c] = total[mine].min()
    out[out > access.cutoff_s] = np.inf
    return out


def _facility_seeds(state):
    access, net = state.point_access, state.city.network
    used = state.city.facilities[state.city.facilities["category"].isin(access.categories)]
    snap = snap_points(net, used["x_utm"].to_numpy(float), used["y_utm"].to_numpy(float))
    return entry_seeds(net, snap, direction="to_points")


def main():
    small = "--small" in sys.argv
    load = os.getloadavg()
    city = generate_demo_city(DemoConfig.small() if small else DemoConfig())
    wall, cpu = time.perf_counter(), time.process_time()
    state = build_city_state(city)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"load average at start {load[0]:.1f}")
    print(
        f"City state: {len(state.evaluation.accessibility.residences):,} residences, "
        f"{city.network.n_nodes:,} walk nodes, {len(city.facilities):,} facilities; "
        f"built in {wall:.1f} s wall, {cpu:.1f} s CPU; peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    rng = np.random.default_rng(7)
    homes = state.evaluation.accessibility.residences
    picks = rng.choice(len(homes), 20, replace=False)
    points = [(float(homes["x_utm"].iloc[i]) + 15, float(homes["y_utm"].iloc[i])) for i in picks]
    worst = 0.0
    for x, y in points:
        ours = state.point_access.at(x, y)["walk_time_s"].to_numpy()
        theirs = peer_nearest(state, x, y)
        both = np.isfinite(ours) & np.isfinite(theirs)
        worst = max(worst, float(np.max(np.abs(ours[both] - theirs[both]), initial=0.0)))
        assert (np.isfinite(ours) == np.isfinite(theirs)).all()
        assert (ours[both] <= theirs[both] + 1e-6).all()  # only a shorter walk along the street
    x, y = points[0]
    ours_ms = median_ms(lambda: state.point_access.at(x, y))
    peer_ms = median_ms(lambda: peer_nearest(state, x, y))
    print(
        f"time-to-nearest, {len(state.point_access.categories)} categories: ours "
        f"{ours_ms:.1f} ms, peer (search per click) {peer_ms:.1f} ms, ratio "
        f"{peer_ms / ours_ms:.0f}x; largest difference on 20 points {worst:.2e} s "
        "(same street: ours walks along it)"
    )
    print(f"isochrones 5/10/15 min: {median_ms(lambda: isochrones(city.network, x, y), 3):.0f} ms")
    req = next(r for r in state.catalogue.requirements if r.category == "nursery")
    start = time.perf_counter()
    add_facility(state, req, x, y, capacity=50, district=None)
    first = time.perf_counter() - start
    again = median_ms(lambda: add_facility(state, req, x, y, capacity=50, district=None))
    print(
        f"what-if (nursery): first {first:.1f} s (builds the requirement's state), then "
        f"{again:.0f} ms"
    )
    model = state.pipe_model("water")
    pipe = str(model.lines["link_id"].iloc[len(model.lines) // 2])
    iso = median_ms(
        lambda: isolate_break(
            model.network, pipe, seg=model.segmentation, facilities=model.facilities
        )
    )
    print(f"isolation of one water pipe: {iso:.1f} ms")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
