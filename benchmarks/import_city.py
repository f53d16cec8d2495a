"""Import time and peak memory of the largest real extract (Malta), shancheng vs pyrosm.

Each peer runs in its own forked process on the same .osm.pbf; peak RSS is the child's
ru_maxrss. shancheng builds the whole City (walk network cut into ≤30 m pieces, facilities,
buildings, grid) and writes it; pyrosm builds its walking network only (nodes + edges), so
the comparison favours the peer.

    .venv/bin/python benchmarks/import_city.py [path/to.osm.pbf]
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared/data"
DEFAULT = SHARED / "networks/osm/malta_2018-08-27_geofabrik.osm.pbf"


def _shancheng(path: str, queue: mp.Queue) -> None:
    from shancheng.data.city import write_city
    from shancheng.data.importer import ImportOptions, build_city
    from shancheng.errors import FlatTerrainWarning

    warnings.simplefilter("ignore", FlatTerrainWarning)
    started = time.perf_counter()
    steps: dict[str, float] = {}
    last = [started, ""]

    def step(name: str) -> None:
        now = time.perf_counter()
        if last[1]:
            steps[str(last[1])] = now - float(last[0])
        last[:] = [now, name]

    city, report = build_city(ImportOptions(osm=Path(path), name="bench"), step=step)
    step("writing GeoParquet")
    with tempfile.TemporaryDirectory() as tmp:
        write_city(city, Path(tmp) / "city")
    step("")
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("  shancheng steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in steps.items()))
    queue.put((elapsed, report.figures["walk_nodes"], report.figures["walk_segments"], peak))


def _pyrosm(path: str, queue: mp.Queue) -> None:
    warnings.simplefilter("ignore")
    from pyrosm import OSM

    started = time.perf_counter()
    nodes, edges = OSM(path).get_network(network_type="walking", nodes=True)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((elapsed, len(nodes), len(edges), peak))


def run(target, path: str) -> tuple[float, int, int, float]:
    """Run one peer in a fresh forked process; it reports its own time and peak RSS (MB)."""
    queue: mp.Queue = mp.Queue()
    process = mp.get_context("fork").Process(target=target, args=(path, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    path = str(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
    print(f"input: {path} ({Path(path).stat().st_size / 1e6:.1f} MB)")
    ours = run(_shancheng, path)
    print(
        f"shancheng import_city: {ours[0]:.2f} s, {ours[1]:,} nodes, {ours[2]:,} segments, "
        f"peak RSS {ours[3]:.0f} MB"
    )
    peer = run(_pyrosm, path)
    print(
        f"pyrosm get_network(walking): {peer[0]:.2f} s, {peer[1]:,} nodes, {peer[2]:,} edges, "
        f"peak RSS {peer[3]:.0f} MB"
    )
    print(f"ratio pyrosm / shancheng time: {peer[0] / ours[0]:.2f}")


if __name__ == "__main__":
    main()
