"""Many cities on Dask: sequentially, then on a LocalCluster of 1 and 2 workers, in one run.

The same set of cities (small demo cities of different seeds, a full-size demo city and, when
../shared/data is there, the Monaco and Porto extracts imported by the task) is evaluated by
the very task function `evaluate-many` submits (`shancheng.circles.many.run_city`):

1. sequentially in this process;
2. through `evaluate_many` on a LocalCluster of 1 worker, then 2 workers (1 thread each,
   processes, 4 GiB each), the workers warmed first (imports, numba's cached kernels) so the
   timed run is the cities' work plus Dask's scheduling.

3. for the country plan, each shared OSM extract alone in a fresh process (spawned): its
   size, walk nodes and residences after import, and where the time goes (import steps,
   evaluation steps, writing) with the process's peak memory.

Printed: wall time, parallel efficiency (the 1-worker time / (workers x cluster time): the
sequential run in this process uses both cores inside the search kernels, a worker one), the
peak memory of each worker (VmHWM, read on the worker), each city's task time and the
machine's load average before and after each phase (the machine is shared: read it first).

    .venv/bin/python benchmarks/scale.py [--small-seeds 4] [--no-full]
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import tempfile
import time
from pathlib import Path

from shancheng.circles.many import content_key, evaluate_many, peak_rss_mb, run_city
from shancheng.circles.many_manifest import CityEntry
from shancheng.circles.many_store import code_fingerprint
from shancheng.data.demo import DemoConfig, write_demo_city

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _load() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def _cities(root: Path, small_seeds: int, *, full: bool) -> list[CityEntry]:
    entries = []
    for seed in range(1, small_seeds + 1):
        folder = root / f"demo-small-{seed}"
        write_demo_city(folder, DemoConfig.small(seed=seed))
        entries.append(CityEntry(name=folder.name, city=folder))
    if full:
        folder = root / "demo-full"
        write_demo_city(folder, DemoConfig())
        entries.append(CityEntry(name="demo-full", city=folder))
    osm = SHARED / "networks" / "osm"
    dem = SHARED / "networks" / "dem"
    if (osm / "monaco_2026-07-10_geofabrik.osm.pbf").is_file():
        entries.append(
            CityEntry(
                name="monaco",
                osm=osm / "monaco_2026-07-10_geofabrik.osm.pbf",
                dem=dem / "srtm3_v21" / "N43E007.hgt",
                admin_from_osm="MC",
            )
        )
        entries.append(
            CityEntry(
                name="porto",
                osm=osm / "porto_centre_2020-07-20.osm.pbf",
                dem=dem / "porto_srtm1_clip.tif",
                bbox=(-8.6212, 41.1338, -8.5937, 41.1561),
            )
        )
    else:
        print(f"(no {SHARED}: the OSM extracts are left out)")
    return entries


def _sequential(entries: list[CityEntry], store: Path) -> tuple[float, dict[str, dict]]:
    code = code_fingerprint()
    outcomes = {}
    started = time.perf_counter()
    for entry in entries:
        outcome = run_city(entry, str(store), content_key(entry, code))
        assert outcome["status"] == "ok", outcome
        outcomes[entry.name] = outcome
    return time.perf_counter() - started, outcomes


def _cluster(
    entries: list[CityEntry], store: Path, workers: int, warm_city: CityEntry
) -> tuple[float, float, dict, dict]:
    from distributed import Client, LocalCluster

    started = time.perf_counter()
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        memory_limit="4GiB",
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)

    def warm() -> None:  # imports and numba's cached kernels, on one small city
        run_city(warm_city, str(store / "warm"), "warm")

    client.run(warm)
    startup = time.perf_counter() - started
    try:
        report = evaluate_many(entries, str(store), client=client, force=True)
        assert not report.failed, report.outcomes
        peaks = client.run(peak_rss_mb)
    finally:
        client.close()
        cluster.close()
    return report.seconds, startup, peaks, {o["name"]: o for o in report.outcomes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small-seeds", type=int, default=4)
    parser.add_argument("--no-full", action="store_true", help="leave the full demo city out")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="shancheng-scale-") as tmp:
        root = Path(tmp)
        entries = _cities(root / "cities", args.small_seeds, full=not args.no_full)
        print(
            f"{len(entries)} cities: {', '.join(e.name for e in entries)}; cores {os.cpu_count()}"
        )
        print(f"load before sequential: {_load()}")
        seq_s, seq = _sequential(entries, root / "seq")
        seq_peak = peak_rss_mb()
        print(f"sequential: {seq_s:.1f} s, peak RSS {seq_peak:.0f} MiB; load after {_load()}")
        rows = [
            (
                "sequential (this process, kernels on 2 threads)",
                1,
                seq_s,
                0.0,
                float("nan"),
                f"{seq_peak:.0f}",
            )
        ]
        per_city = {name: [o["seconds"]] for name, o in seq.items()}
        one_worker_s = float("nan")
        for workers in (1, 2):
            print(f"load before {workers} worker(s): {_load()}")
            wall, startup, peaks, outcomes = _cluster(
                entries, root / f"cluster{workers}", workers, entries[0]
            )
            one_worker_s = wall if workers == 1 else one_worker_s
            efficiency = one_worker_s / (workers * wall)
            memory = " / ".join(f"{p:.0f}" for p in peaks.values())
            print(
                f"{workers} worker(s): {wall:.1f} s (+{startup:.1f} s start), efficiency "
                f"{efficiency:.2f}, peak RSS per worker {memory} MiB; load after {_load()}"
            )
            rows.append(
                (f"LocalCluster, {workers} worker(s)", workers, wall, startup, efficiency, memory)
            )
            for name, outcome in outcomes.items():
                per_city[name].append(outcome["seconds"])
        print()
        print(
            "| run | workers | wall s | cluster start s | parallel efficiency | peak RSS per worker, MiB |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for name, workers, wall, startup, efficiency, memory in rows:
            print(
                f"| {name} | {workers} | {wall:.1f} | {startup:.1f} | {efficiency:.2f} | {memory} |"
            )
        print()
        print("| city | residences | task s: sequential / 1 worker / 2 workers |")
        print("|---|---:|---|")
        for name, times in per_city.items():
            print(
                f"| {name} | {seq[name]['residences']:,} | {' / '.join(f'{t:.1f}' for t in times)} |"
            )
        _extracts()


def _phases(path: str, dem: str | None, bbox: tuple | None, queue) -> None:
    """Import and evaluate one extract whole in this (fresh) process; time every step."""
    import warnings

    from shancheng.circles.evaluate import evaluate_city, write_evaluation
    from shancheng.data.importer import ImportOptions, build_city

    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.ERROR)
    marks: list[tuple[str, float]] = [("start", time.perf_counter())]

    def step(name: str) -> None:
        marks.append((name, time.perf_counter()))

    import shapely

    options = ImportOptions(
        osm=Path(path), dem=Path(dem) if dem else None, area=shapely.box(*bbox) if bbox else None
    )
    try:
        city, _ = build_city(options, step=step)
    except Exception as exc:
        queue.put({"error": f"{type(exc).__name__}: {exc}"})
        raise
    step("evaluate: residences")
    evaluation = evaluate_city(city, progress=lambda name: step(f"evaluate: {name}"))
    step("writing")
    with tempfile.TemporaryDirectory() as out:
        write_evaluation(evaluation, Path(out) / "r", formats=("parquet",))
    step("end")
    phases = {}
    for (name, t0), (_, t1) in itertools.pairwise(marks[1:]):
        phases[name] = phases.get(name, 0.0) + t1 - t0
    queue.put(
        {
            "nodes": city.network.n_nodes,
            "residences": len(evaluation.residences),
            "seconds": marks[-1][1] - marks[0][1],
            "peak_mb": peak_rss_mb(),
            "phases": phases,
        }
    )


def _extracts() -> None:
    import multiprocessing

    osm, dem = SHARED / "networks" / "osm", SHARED / "networks" / "dem"
    # Porto's extract reaches south of the Douro, beyond its DEM: clipped to the DEM's bounds
    extracts = [
        ("monaco_2026-07-10_geofabrik.osm.pbf", dem / "srtm3_v21" / "N43E007.hgt", None),
        (
            "porto_centre_2020-07-20.osm.pbf",
            dem / "porto_srtm1_clip.tif",
            (-8.6212, 41.1338, -8.5937, 41.1561),
        ),
        ("malta_2018-08-27_geofabrik.osm.pbf", None, None),
    ]
    if not (osm / extracts[0][0]).is_file():
        return
    context = multiprocessing.get_context("spawn")
    print()
    print(
        "| extract | MB | walk nodes | residences | nodes per MB | residences per MB | task s "
        "| peak MiB | load |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    phases = {}
    for name, height, bbox in extracts:
        queue = context.Queue()
        args = (str(osm / name), str(height) if height else None, bbox, queue)
        process = context.Process(target=_phases, args=args)
        process.start()
        result = queue.get(timeout=900)
        process.join()
        if "error" in result:
            print(f"| {name} | failed: {result['error']} |")
            continue
        mb = (osm / name).stat().st_size / 1e6
        print(
            f"| {name} | {mb:.2f} | {result['nodes']:,} | {result['residences']:,} | "
            f"{result['nodes'] / mb:,.0f} | {result['residences'] / mb:,.0f} | "
            f"{result['seconds']:.1f} | {result['peak_mb']:.0f} | {_load()} |"
        )
        phases[name] = result["phases"]
    largest = max(phases, key=lambda n: (osm / n).stat().st_size)
    total = sum(phases[largest].values())
    print()
    print(f"where the time goes, {largest}:")
    for step, seconds in sorted(phases[largest].items(), key=lambda kv: -kv[1]):
        print(f"  {step}: {seconds:.2f} s ({seconds / total:.0%})")


if __name__ == "__main__":
    main()
