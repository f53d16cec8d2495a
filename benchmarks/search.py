"""Nearest facility of 15 categories, counts within 5/10/15 min, and both in one pass (reach).

shancheng's kernels against scipy.sparse.csgraph.dijkstra(min_only=True, limit=cutoff) and
igraph (super-source, no cutoff) on the same input, in one run. Each peer runs in a forked
child so its peak memory can be read on its own; answers are compared with scipy's.

The graph follows the method of ../shared/reference/living-circle.md §6: a sqrt(N) x sqrt(N)
lattice, 80 m spacing, ±16 m jitter, 10 % of edges removed, length = straight distance x
U(1.00, 1.15); walking at 80 m/min; times rounded to whole seconds so every peer solves the
same integer problem. 15 categories from 6/km² down to 0.05/km²; cutoff 900 s.

shancheng's nearest search, counts and joint pass (reach) run in rounds, each run on memory
freed by the previous run of its kind; the first round is not timed (see ``in_rounds``).

    .venv/bin/python benchmarks/search.py [--side 1000] [--no-igraph]
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from shancheng.network.search import count_within, nearest_times, reach
from shancheng.network.walk import build_walk_network

CUTOFF_S = 900
THRESHOLDS_S = [300, 600, 900]
SPEED_M_S = 80 / 60
DENSITIES_KM2 = np.geomspace(6.0, 0.05, 15)


def street_grid(side: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    row, col = np.divmod(np.arange(side * side), side)
    x = col * 80.0 + rng.uniform(-16, 16, side * side)
    y = row * 80.0 + rng.uniform(-16, 16, side * side)
    ids = np.arange(side * side).reshape(side, side)
    tail = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    head = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    keep = rng.random(tail.shape[0]) >= 0.10
    tail, head = tail[keep], head[keep]
    length = np.hypot(x[tail] - x[head], y[tail] - y[head]) * rng.uniform(1.0, 1.15, tail.shape[0])
    seconds = np.maximum(1.0, np.rint(length / SPEED_M_S))
    area_km2 = (side * 0.08) ** 2
    sources, groups = [], []
    for g, density in enumerate(DENSITIES_KM2):
        k = max(1, round(density * area_km2))
        sources.append(rng.choice(side * side, size=k, replace=False))
        groups.append(np.full(k, g))
    return x, y, tail, head, seconds, np.concatenate(sources), np.concatenate(groups)


def capacities(graph) -> np.ndarray:
    """A capacity per source (places, beds...), whole numbers so sums compare exactly."""
    return np.random.default_rng(7).integers(1, 200, graph[5].shape[0]).astype(np.float64)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_shancheng(graph, out: Path) -> dict:
    x, y, tail, head, seconds, sources, groups = graph
    t0 = time.perf_counter()
    net = build_walk_network(
        x, y, None, tail, head, seconds * SPEED_M_S, np.zeros_like(tail), fixed_time_s=seconds
    )
    build = time.perf_counter() - t0
    t0 = time.perf_counter()  # first search: builds the renumbered search layout, kept
    nearest_times(net, sources[:1], cutoff_s=CUTOFF_S, time_step_s=1.0)
    nearest_times(net, sources[:1], cutoff_s=CUTOFF_S)
    layout = time.perf_counter() - t0
    kinds = {
        "nearest": lambda: nearest_times(
            net, sources, group=groups, cutoff_s=CUTOFF_S, time_step_s=1.0
        ),
        "counts": lambda: count_within(
            net,
            sources,
            group=groups,
            thresholds_s=THRESHOLDS_S,
            capacity=capacities(graph),
            time_step_s=1.0,
        ),
        "joint": lambda: reach(
            net,
            sources,
            group=groups,
            thresholds_s=THRESHOLDS_S,
            capacity=capacities(graph),
            time_step_s=1.0,
        ),
    }
    results, runs = in_rounds(kinds)
    near, within, both = results["nearest"], results["counts"], results["joint"]
    t0 = time.perf_counter()
    heap = nearest_times(net, sources, group=groups, cutoff_s=CUTOFF_S)
    nearest_heap = time.perf_counter() - t0
    np.save(out / "shancheng.npy", near.time_s.astype(np.float32))
    np.save(out / "shancheng_heap.npy", heap.time_s.astype(np.float32))
    np.save(out / "counts_sample.npy", within.count[:, ::997, :])
    np.save(out / "capacity_sample.npy", within.capacity[:, ::997, :])
    assert np.array_equal(both.nearest.time_s, near.time_s), "joint nearest times differ"
    assert np.array_equal(both.nearest.source, near.source), "joint nearest sources differ"
    assert digest(both.within.count, both.within.capacity) == digest(
        within.count, within.capacity
    ), "joint counts differ"
    stats = {
        "build_s": build,
        "layout_s": layout,
        "nearest_heap_s": nearest_heap,
        "runs": runs,
        "settled_nearest": int(near.settled.sum()),
        "settled_counts": int(both.within.settled.sum()),
    }
    for name, timings in runs.items():  # the faster run of each kind
        stats[f"{name}_s"], stats[f"{name}_cpu_s"] = min(timings)
    return stats


ROUNDS = 4
"""Rounds of (nearest, counts, joint); the first is not timed, the fastest of the rest kept."""


def in_rounds(kinds: dict) -> tuple[dict, dict]:
    """Run each kind of search once per round; return the last results and the timings.

    Before a search runs, the previous result of its kind is freed, so every timed run
    writes its outputs into memory the process has used before, as a long-running process
    does. The first round is not timed: in it the process takes its memory from the host,
    which costs here (a Firecracker VM that hands freed pages back to the host) about 3 ms
    per MB touched, so whichever search ran first paid for more of it (until 2026-12-02 the
    nearest search did, and looked 0.5 s slower than it is). Timings are (wall, CPU) seconds
    per timed round.
    """
    results: dict = {}
    timings: dict = {name: [] for name in kinds}
    for round_ in range(ROUNDS):
        for name, run in kinds.items():
            results.pop(name, None)
            t0, c0 = time.perf_counter(), time.process_time()
            results[name] = run()
            if round_ > 0:
                timings[name].append((time.perf_counter() - t0, time.process_time() - c0))
    return results, timings


def digest(*arrays: np.ndarray) -> str:
    """SHA-256 of the arrays' bytes: compares two 0.5 GB results without holding both."""
    h = hashlib.sha256()
    for array in arrays:
        h.update(np.ascontiguousarray(array).data)
    return h.hexdigest()


def scipy_matrix(graph):
    x, _, tail, head, seconds, _, _ = graph
    n = x.shape[0]
    rows = np.concatenate([head, tail])  # reversed graph: time to walk *to* a source
    cols = np.concatenate([tail, head])
    return sp.csr_matrix((np.concatenate([seconds, seconds]), (rows, cols)), shape=(n, n))


def run_scipy(graph, out: Path) -> dict:
    t0 = time.perf_counter()
    matrix = scipy_matrix(graph)
    build = time.perf_counter() - t0
    _, _, _, _, _, sources, groups = graph
    result = np.empty((len(DENSITIES_KM2), matrix.shape[0]), dtype=np.float32)
    t0, c0 = time.perf_counter(), time.process_time()
    for g in range(len(DENSITIES_KM2)):
        result[g] = dijkstra(
            matrix, directed=True, indices=sources[groups == g], min_only=True, limit=CUTOFF_S
        )
    nearest, nearest_cpu = time.perf_counter() - t0, time.process_time() - c0
    np.save(out / "scipy.npy", result)
    return {"build_s": build, "nearest_s": nearest, "nearest_cpu_s": nearest_cpu}


def run_igraph(graph, out: Path) -> dict:
    import igraph as ig

    x, _, tail, head, seconds, sources, groups = graph
    n = x.shape[0]
    t0 = time.perf_counter()
    edges = np.column_stack([np.concatenate([head, tail]), np.concatenate([tail, head])])
    g_ig = ig.Graph(n=n + 1, edges=edges.tolist(), directed=True)
    weights = np.concatenate([seconds, seconds]).tolist()
    build = time.perf_counter() - t0
    result = np.empty((len(DENSITIES_KM2), n), dtype=np.float32)
    t0, c0 = time.perf_counter(), time.process_time()
    for g in range(len(DENSITIES_KM2)):
        members = sources[groups == g]
        h = g_ig.copy()
        h.add_edges([(n, int(s)) for s in members])
        dist = np.asarray(h.distances(source=[n], weights=weights + [0.0] * len(members))[0][:n])
        dist[dist > CUTOFF_S] = np.inf
        result[g] = dist
    nearest, nearest_cpu = time.perf_counter() - t0, time.process_time() - c0
    np.save(out / "igraph.npy", result)
    return {"build_s": build, "nearest_s": nearest, "nearest_cpu_s": nearest_cpu}


def in_child(target, graph, out: Path) -> dict:
    """Run a peer in a forked child; report its times and the child's peak RSS.

    The child shares the generated graph with the parent; its peak RSS counts the pages it
    touched (the graph arrays it reads plus everything it allocates).
    """
    queue: mp.Queue = mp.get_context("fork").Queue()

    def child():
        stats = target(graph, out)
        stats["peak_rss_mb"] = peak_rss_mb()
        queue.put(stats)

    proc = mp.get_context("fork").Process(target=child)
    proc.start()
    while True:
        try:
            stats = queue.get(timeout=5)
            break
        except Exception:  # noqa: BLE001 - queue.Empty: check the child is still alive
            if not proc.is_alive():
                msg = f"{target.__name__} died with exit code {proc.exitcode}"
                raise RuntimeError(msg) from None
    proc.join()
    return stats


def warm_up() -> None:
    """Compile the numba kernels once (cached on disk) outside the timings."""
    small = street_grid(30)
    t0 = time.perf_counter()
    run_shancheng(small, Path(tempfile.mkdtemp()))
    print(f"kernel compile/warm-up: {time.perf_counter() - t0:.1f} s")


KEEP_MEMORY = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(2**40)}
"""glibc settings that keep freed memory in the process instead of handing it back.

This machine is a Firecracker VM that returns the guest's free pages to the host: memory a
process frees and allocates again a second later is faulted in from the host anew, at about
3 ms per MB, at moments that depend on the host. That made a search writing 0.5 GB of
results vary by a second from run to run. Keeping freed memory in the process (as a
long-running server's heap does) leaves each search its own cost; every peer runs under it.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=1000, help="lattice side (N = side²)")
    parser.add_argument("--no-igraph", action="store_true")
    parser.add_argument(
        "--host-memory",
        action="store_true",
        help="let glibc hand freed memory back (see KEEP_MEMORY)",
    )
    args = parser.parse_args()
    if not args.host_memory and any(os.environ.get(k) != v for k, v in KEEP_MEMORY.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **KEEP_MEMORY})
    print(
        "freed memory "
        + ("handed back to the host" if args.host_memory else "kept in the process (KEEP_MEMORY)")
    )
    print(f"load average at start (1, 5, 15 min): {os.getloadavg()}")
    warm_up()
    t0 = time.perf_counter()
    graph = street_grid(args.side)
    n_sources = graph[5].shape[0]
    print(
        f"graph: {args.side**2:,} nodes, {2 * graph[2].shape[0]:,} arcs, "
        f"{n_sources:,} sources in 15 categories, built in {time.perf_counter() - t0:.1f} s"
    )
    out = Path(tempfile.mkdtemp())
    peers = {"shancheng": run_shancheng, "scipy": run_scipy}
    if not args.no_igraph:
        peers["igraph"] = run_igraph
    stats = {name: in_child(fn, graph, out) for name, fn in peers.items()}
    reference = np.load(out / "scipy.npy")
    for name in ("shancheng", "shancheng_heap", "igraph"):
        if (out / f"{name}.npy").exists():
            got = np.load(out / f"{name}.npy")
            same = np.array_equal(np.isinf(got), np.isinf(reference))
            finite = np.isfinite(reference) & np.isfinite(got)
            diff = float(np.max(np.abs(got[finite] - reference[finite]), initial=0.0))
            print(f"{name:15s} agrees with scipy: reach {same}, max |Δt| {diff:.3g} s")
            assert same and diff == 0.0, f"{name} disagrees with scipy"
    check_counts(graph, out)
    ours, ref = stats["shancheng"], stats["scipy"]
    print(f"load average at end (1, 5, 15 min): {os.getloadavg()}")
    print(f"\n{'peer':10s} {'build s':>8s} {'nearest s':>10s} {'CPU s':>7s} {'peak RSS MB':>12s}")
    for name, s in stats.items():
        print(
            f"{name:10s} {s['build_s']:8.2f} {s['nearest_s']:10.2f} {s['nearest_cpu_s']:7.2f} "
            f"{s['peak_rss_mb']:12.0f}"
        )
    print(
        f"\nshancheng search layout (first search on the network, then kept): "
        f"{ours['layout_s']:.2f} s"
    )
    print(
        f"shancheng nearest (bucket queue, 2 threads): {ours['nearest_s']:.2f} s "
        f"(CPU {ours['nearest_cpu_s']:.2f} s); heap variant {ours['nearest_heap_s']:.2f} s; "
        f"counts within 5/10/15 min (count and capacity): {ours['counts_s']:.2f} s "
        f"(CPU {ours['counts_cpu_s']:.2f} s)"
    )
    for name, timings in ours["runs"].items():
        print(f"  {name} runs, wall/CPU s: " + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in timings))
    print(f"settled nodes: nearest {ours['settled_nearest']:,}, counts {ours['settled_counts']:,}")
    print(
        f"CPU per settled node: nearest "
        f"{ours['nearest_cpu_s'] / ours['settled_nearest'] * 1e9:.0f} ns, counts "
        f"{ours['counts_cpu_s'] / ours['settled_counts'] * 1e9:.0f} ns"
    )
    print(
        f"ratio scipy / shancheng (nearest): {ref['nearest_s'] / ours['nearest_s']:.1f}x wall, "
        f"{ref['nearest_cpu_s'] / ours['nearest_cpu_s']:.1f}x CPU (scipy uses one core)"
    )
    if "igraph" in stats:
        print(
            f"ratio igraph / shancheng (nearest): "
            f"{stats['igraph']['nearest_s'] / ours['nearest_s']:.1f}x"
        )
    print(
        f"counts / nearest time: {ours['counts_s'] / ours['nearest_s']:.1f} wall, "
        f"{ours['counts_cpu_s'] / ours['nearest_cpu_s']:.1f} CPU"
    )
    add, add_cpu = ours["joint_s"] - ours["nearest_s"], ours["joint_cpu_s"] - ours["nearest_cpu_s"]
    print(
        f"joint pass (reach: nearest + counts, equal to the separate calls): "
        f"{ours['joint_s']:.2f} s (CPU {ours['joint_cpu_s']:.2f} s); "
        f"nearest alone {ours['nearest_s']:.2f} s (CPU {ours['nearest_cpu_s']:.2f} s), "
        f"counts alone {ours['counts_s']:.2f} s (CPU {ours['counts_cpu_s']:.2f} s)"
    )
    print(
        f"counts add = joint - nearest = {add:.2f} s = {add / ours['nearest_s']:.2f}x nearest "
        f"wall; CPU {add_cpu:.2f} s = {add_cpu / ours['nearest_cpu_s']:.2f}x nearest CPU"
    )


def check_counts(graph, out: Path) -> None:
    """Counts on sampled nodes against scipy distances from every source (brute force)."""
    matrix = scipy_matrix(graph).T.tocsr()  # forward graph: from a source to the nodes
    _, _, _, _, _, sources, groups = graph
    sample = np.arange(0, matrix.shape[0], 997)
    counts = np.load(out / "counts_sample.npy")
    capacity = np.load(out / "capacity_sample.npy")
    weights = capacities(graph)
    for g in (len(DENSITIES_KM2) - 1, 7):  # a sparse and a middle category
        members = np.flatnonzero(groups == g)
        expected = np.zeros((sample.shape[0], len(THRESHOLDS_S)), dtype=np.int64)
        expected_cap = np.zeros((sample.shape[0], len(THRESHOLDS_S)))
        for chunk in np.array_split(members, max(1, members.shape[0] // 100)):
            dist = dijkstra(matrix, directed=True, indices=sources[chunk], limit=CUTOFF_S)[
                :, sample
            ]
            expected += np.stack([(dist <= t).sum(axis=0) for t in THRESHOLDS_S], axis=1)
            expected_cap += np.stack([weights[chunk] @ (dist <= t) for t in THRESHOLDS_S], axis=1)
        assert np.array_equal(counts[g], expected), f"counts of category {g} disagree"
        assert np.array_equal(capacity[g], expected_cap), f"capacity of category {g} disagrees"
    print("counts and capacities agree with brute force (scipy from every source) on sampled nodes")


if __name__ == "__main__":
    main()
