"""Load test of the governance center: sustained Open311 intake plus queries on PostgreSQL.

Starts `shancheng serve` (uvicorn, N workers) on a fresh PostgreSQL database and the small demo
city, then drives it with an asyncio HTTP client (httpx2) for a fixed time: a mix of
`POST /open311/requests.json` (new reports, validated, routed, duplicate-checked, stored with
their first event in one transaction) and `GET /open311/requests/{id}.json`. Prints throughput
and latency percentiles per kind of request. There is no peer server to compare with; the
target of the issue is >= 500 reports/s with p99 < 100 ms.

Run: .venv/bin/python benchmarks/cases_load.py [--workers 2] [--duration 20] [--concurrency 32]
"""

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import numpy as np
import sqlalchemy as sa

from shancheng.cases import accounts
from shancheng.cases.permissions import Actor, Role
from shancheng.data.demo import DemoConfig, write_demo_city
from shancheng.geo.crs import utm_to_lonlat
from shancheng.store import create_db_engine, session_factory, upgrade_database

ADMIN_URL = os.environ.get("SHANCHENG_TEST_POSTGRES",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def fresh_database(name: str) -> str:
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        conn.execute(sa.text(f'create database "{name}"'))
    admin.dispose()
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade_database(url)
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def drive(base, key, points, *, duration_s, warmup_s, concurrency, post_share):
    latencies = {"post": [], "get": []}
    errors = {"post": 0, "get": 0}
    refs: list[str] = []
    start = time.perf_counter()
    stop = start + warmup_s + duration_s
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(base_url=base, timeout=10, limits=limits) as client:
        async def worker(seed):
            rng = random.Random(seed)
            while (now := time.perf_counter()) < stop:
                kind = "post" if (not refs or rng.random() < post_share) else "get"
                t0 = time.perf_counter()
                try:
                    if kind == "post":
                        lon, lat = points[rng.randrange(len(points))]
                        r = await client.post("/open311/requests.json", data={
                            "api_key": key, "service_code": rng.choice(["E0102", "E0502",
                                                                         "C0110", "E0404"]),
                            "lat": f"{lat:.6f}", "long": f"{lon:.6f}",
                            "description": "load test report 负载测试"})
                    else:
                        r = await client.get(f"/open311/requests/{rng.choice(refs)}.json")
                    ok = r.status_code == 200
                except httpx2.HTTPError:
                    ok = False
                t1 = time.perf_counter()
                if not ok:
                    errors[kind] += 1
                    continue
                if kind == "post":
                    refs.append(r.json()[0]["service_request_id"])
                if now >= start + warmup_s:
                    latencies[kind].append(t1 - t0)

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return latencies, errors


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--post-share", type=float, default=0.8)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cases_load_"))
    city = write_demo_city(tmp / "demo", DemoConfig.small())
    url = fresh_database("shancheng_load")
    engine = create_db_engine(url)
    with session_factory(engine)() as s:
        key = accounts.create_api_key(s, "load", actor=Actor("bench", Role.ADMIN, ""),
                                      at=datetime.now(UTC))
    x, y = city.grid.cell_center(city.grid_cells.cell_id.to_numpy())
    lon, lat = utm_to_lonlat(x, y)
    points = list(zip(lon.tolist(), lat.tolist(), strict=True))
    port = free_port()
    env = {**os.environ, "SHANCHENG_DATA_DIR": str(tmp), "SHANCHENG_DATABASE_URL": url,
           "SHANCHENG_CASES_RATE_PER_MIN": "0", "SHANCHENG_QUIET": "1",
           "SHANCHENG_CASES_CLASSIFIER_WARMUP": "0"}  # no model training during the run
    server = subprocess.Popen([str(Path(sys.executable).with_name("shancheng")), "serve",
                               "--port", str(port), "--workers", str(args.workers)],
                              env=env, cwd=tmp)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx2.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                print("server did not start")
                return 1
            time.sleep(0.3)
        load_before = os.getloadavg()[0]
        latencies, errors = asyncio.run(drive(
            base, key, points, duration_s=args.duration, warmup_s=args.warmup,
            concurrency=args.concurrency, post_share=args.post_share))
        load_after = os.getloadavg()[0]
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    with engine.connect() as conn:
        stored = conn.execute(sa.text("select count(*) from cases")).scalar_one()
    engine.dispose()
    print(f"shancheng serve --workers {args.workers} on PostgreSQL, small demo city; client: "
          f"httpx2 asyncio, {args.concurrency} concurrent, {args.duration:.0f} s after "
          f"{args.warmup:.0f} s warm-up; {os.cpu_count()} CPUs, load average "
          f"{load_before:.1f} -> {load_after:.1f} (the machine is shared)")
    print("| request | count | per second | p50 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, label in (("post", "POST requests.json (new report)"),
                        ("get", "GET requests/{id}.json")):
        values = np.array(latencies[kind]) * 1e3
        if values.size == 0:
            print(f"| {label} | 0 | 0 | - | - | {errors[kind]} |")
            continue
        print(f"| {label} | {values.size} | {values.size / args.duration:.0f} | "
              f"{np.percentile(values, 50):.1f} | {np.percentile(values, 99):.1f} | "
              f"{errors[kind]} |")
    print(f"cases stored: {stored}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
