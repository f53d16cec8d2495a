"""The event-loop store of reports with and without group commit: throughput and CPU per report.

Sixteen concurrent streams of Open311-like reports (random cell centres of the small demo
city, four categories, so about a quarter are duplicates) are planned and stored through
``shancheng.cases.async_store.PostgresCaseStore`` (through ``service.submit_report_async``) on a fresh PostgreSQL database, once with each
report in its own transaction and once with group commit (reports waiting while a batch is
written go together in the next one), alternating, in one process. Prints reports per second
and the CPU per report of this process (planning and the driver) and of the PostgreSQL
backends (from /proc). No HTTP: `cases_load.py` measures the whole server.

Run: .venv/bin/python benchmarks/cases_store.py [--rounds 2] [--per-stream 150]
"""

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import uvloop
from cases_load import CODES, backends, cpu_s, fresh_database

from shancheng.cases import service
from shancheng.cases.async_store import PostgresCaseStore
from shancheng.cases.center import Center
from shancheng.cases.intake import ReportIn
from shancheng.cases.routing import AdminIndex
from shancheng.cases.taxonomy import load_taxonomy
from shancheng.data.demo import DemoConfig, write_demo_city
from shancheng.geo.crs import utm_to_lonlat

DATABASE = "shancheng_store_bench"


async def run(center, points, *, group_commit, streams, per_stream):
    url = fresh_database(DATABASE)
    store = PostgresCaseStore(url, group_commit=group_commit)
    await store.by_reference("none")  # opens the pool
    rng = random.Random(0)

    async def stream():
        for _ in range(per_stream):
            lon, lat = points[rng.randrange(len(points))]
            at = datetime.now(UTC)
            report = ReportIn(rng.choice(CODES), lon, lat, description="load", source="open311")
            await service.submit_report_async(store, center, report, at=at)

    pg0 = {p: cpu_s(p) for p in backends(DATABASE)}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(stream() for _ in range(streams)))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    pg = sum(cpu_s(p) - pg0.get(p, 0.0) for p in backends(DATABASE))
    await store.close()
    n = streams * per_stream
    return n / wall, 1e3 * cpu / n, 1e3 * pg / n


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--streams", type=int, default=16)
    parser.add_argument("--per-stream", type=int, default=150)
    args = parser.parse_args()
    city = write_demo_city(
        Path(tempfile.mkdtemp(prefix="cases_store_")) / "demo", DemoConfig.small()
    )
    center = Center(load_taxonomy(), AdminIndex.from_city(city))
    x, y = city.grid.cell_center(city.grid_cells.cell_id.to_numpy())
    lon, lat = utm_to_lonlat(x, y)
    points = list(zip(lon.tolist(), lat.tolist(), strict=True))
    print(
        f"{args.streams} streams x {args.per_stream} reports, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        "| round | group commit | reports/s | this process ms CPU/report | PostgreSQL ms CPU/report |"
    )
    print("|---:|---|---:|---:|---:|")
    for k in range(args.rounds):
        for group_commit in (False, True):
            rate, client, pg = uvloop.run(
                run(
                    center,
                    points,
                    group_commit=group_commit,
                    streams=args.streams,
                    per_stream=args.per_stream,
                )
            )
            print(
                f"| {k + 1} | {'on' if group_commit else 'off'} | {rate:.0f} | {client:.2f} | {pg:.2f} |"
            )
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
