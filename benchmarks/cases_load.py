"""Load test of the governance center: sustained Open311 intake plus queries on PostgreSQL.

Starts `shancheng serve` (uvicorn, N workers, uvloop + httptools) on a fresh PostgreSQL
database and the small demo city, then drives it with `wrk` (C, one thread each, so the load
generator takes little of the server's CPU) for a fixed time: one wrk sends new reports
(`POST /open311/requests.json`: validated, routed, duplicate-checked, stored with their first
event in one transaction, committed before the answer) and a second one reads reports back
(`GET /open311/requests/{id}.json`), both at once. Prints throughput and latency percentiles
per kind of request, and the CPU time the server processes, the PostgreSQL backends and wrk
spent per report (from /proc), so a figure measured on a busy machine can still be compared.
There is no peer server; the target of the issue is >= 500 reports/s with p99 < 100 ms.

Run (one command; needs PostgreSQL on 127.0.0.1:5432 and `wrk`, which `make bench-cases`
installs): .venv/bin/python benchmarks/cases_load.py [--workers 2] [--duration 20]
"""

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import sqlalchemy as sa
from sqlalchemy.orm import Session

from shancheng.cases import accounts
from shancheng.cases.permissions import Actor, Role
from shancheng.data.demo import DemoConfig, write_demo_city
from shancheng.geo.crs import utm_to_lonlat
from shancheng.store import create_db_engine, upgrade_database

ADMIN_URL = os.environ.get(
    "SHANCHENG_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CODES = ("E0102", "E0502", "C0110", "E0404")
TICKS = os.sysconf("SC_CLK_TCK")

POST_LUA = """
local points = {%(points)s}
local codes = {%(codes)s}
local key = "%(key)s"
local n = 0
request = function()
  n = n + 1
  local p = points[math.random(#points)]
  local body = "api_key=" .. key .. "&service_code=" .. codes[math.random(#codes)]
    .. "&lat=" .. p[2] .. "&long=" .. p[1]
    .. "&description=load+test+report+%%E8%%B4%%9F%%E8%%BD%%BD%%E6%%B5%%8B%%E8%%AF%%95+" .. n
  return wrk.format("POST", "/open311/requests.json",
    {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
"""

GET_LUA = """
local refs = {%(refs)s}
delay = function()
  return %(delay_ms)d
end
request = function()
  return wrk.format("GET", "/open311/requests/" .. refs[math.random(#refs)] .. ".json")
end
"""

DONE_LUA = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d p50_us=%d p90_us=%d p99_us=%d\\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


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


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            todo.extend(int(c) for c in task.read_text().split())
    return found


def backends(database: str) -> list[int]:
    """PostgreSQL backend processes serving ``database``."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if cmd.startswith(b"postgres: ") and f" {database} ".encode() in cmd:
            pids.append(int(proc.name))
    return pids


def start_server(port: int, workers: int, *, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    """Start `shancheng serve` on ``port`` with ``workers`` uvicorn workers."""
    command = [str(Path(sys.executable).with_name("shancheng")), "serve"]
    return subprocess.Popen(
        [*command, "--port", str(port), "--workers", str(workers)], env=env, cwd=cwd
    )


def wait_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx2.get(base + "/health", timeout=2).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            msg = "server did not start"
            raise SystemExit(msg)
        time.sleep(0.3)


def seed(base: str, key: str, points: list[tuple[float, float]], n: int) -> list[str]:
    """Post ``n`` reports (before the timed run) so the readers have ids to ask for."""
    rng = random.Random(0)
    refs = []
    with httpx2.Client(base_url=base, timeout=30) as client:
        for _ in range(n):
            lon, lat = points[rng.randrange(len(points))]
            r = client.post(
                "/open311/requests.json",
                data={
                    "api_key": key,
                    "service_code": rng.choice(CODES),
                    "lat": f"{lat:.6f}",
                    "long": f"{lon:.6f}",
                    "description": "seed",
                },
            )
            r.raise_for_status()
            refs.append(r.json()[0]["service_request_id"])
    return refs


def count_statements(url: str, city_dir: Path, key: str, point: tuple[float, float]) -> str:
    """SQL statements one new report, one duplicate and one read run (in-process, same app)."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from shancheng.api.app import create_app
    from shancheng.api.state import state_of
    from shancheng.config import Settings

    settings = Settings(
        data_dir=city_dir.parent,
        city=city_dir.name,
        database_url=url,
        cases_rate_per_min=0,
        cases_async_intake=False,
    )
    app = create_app(settings)
    seen: list[str] = []
    event.listen(
        state_of(app).engine,
        "before_cursor_execute",
        lambda *a: seen.append(a[2].split()[0].upper()),
    )
    counts = []
    with TestClient(app) as client:
        lon, lat = point
        form = {
            "api_key": key,
            "service_code": "C0110",
            "lat": f"{lat:.6f}",
            "long": f"{lon:.6f}",
            "description": "statement count",
        }
        client.post("/open311/requests.json", data=form)  # warms the caches (rules, limits)
        for _ in range(2):  # a new report at another spot, then its duplicate
            form["service_code"] = "E0404"
            seen.clear()
            ref = client.post("/open311/requests.json", data=form).json()[0]["service_request_id"]
            counts.append(" + ".join(seen))
        seen.clear()
        client.get(f"/open311/requests/{ref}.json")
        counts.append(" + ".join(seen))
    state_of(app).engine.dispose()
    return (
        f"SQL statements of the session path (besides BEGIN/COMMIT): new report "
        f"{counts[0]}; duplicate {counts[1]}; read {counts[2]}"
    )


def parse(out: str) -> dict[str, float]:
    match = re.search(r"RESULT (.*)", out)
    if match is None:
        msg = f"wrk gave no result:\n{out}"
        raise SystemExit(msg)
    return {k: float(v) for k, v in (kv.split("=") for kv in match.group(1).split())}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--post-connections", type=int, default=16)
    parser.add_argument("--get-connections", type=int, default=4)
    parser.add_argument(
        "--get-rate",
        type=float,
        default=0,
        help="pace the readers to about this many GETs a second in all (0: as fast as they go)",
    )
    parser.add_argument(
        "--redis",
        default="redis://127.0.0.1:6379/0",
        help="Redis for the shared rate limits ('' = in memory per worker)",
    )
    parser.add_argument("--profile", metavar="SVG", help="sample one worker with py-spy")
    parser.add_argument(
        "--session-writer",
        action="store_true",
        help="store reports through a session in a worker thread, not the event-loop store",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: run `make bench-cases` (apt-get install wrk)")
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="cases_load_"))
    city = write_demo_city(tmp / "demo", DemoConfig.small())
    dbname = "shancheng_load"
    url = fresh_database(dbname)
    engine = create_db_engine(url)
    with Session(engine) as s:
        key = accounts.create_api_key(
            s, "load", actor=Actor("bench", Role.ADMIN, ""), at=datetime.now(UTC)
        )
    x, y = city.grid.cell_center(city.grid_cells.cell_id.to_numpy())
    lon, lat = utm_to_lonlat(x, y)
    points = list(zip(lon.tolist(), lat.tolist(), strict=True))
    statements = count_statements(url, tmp / "demo", key, points[0])
    port = free_port()
    env = {
        **os.environ,
        "SHANCHENG_DATA_DIR": str(tmp),
        "SHANCHENG_DATABASE_URL": url,
        # rate limits on, shared through Redis, but far above what one key sends here
        "SHANCHENG_CASES_RATE_PER_MIN": "1e9",
        "SHANCHENG_CASES_RATE_BURST": "1000000",
        "SHANCHENG_CASES_RATE_REDIS_URL": args.redis,
        "SHANCHENG_QUIET": "1",
        "SHANCHENG_CASES_CLASSIFIER_WARMUP": "0",
        "SHANCHENG_CASES_ASYNC_INTAKE": "0" if args.session_writer else "1",
    }  # no model training during the run
    server = start_server(port, args.workers, env=env, cwd=tmp)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base, server)
        refs = seed(base, key, points, 300)
        post_lua, get_lua = tmp / "post.lua", tmp / "get.lua"
        post_lua.write_text(
            POST_LUA
            % {
                "points": ",".join(f'{{"{a:.6f}","{b:.6f}"}}' for a, b in points),
                "codes": ",".join(f'"{c}"' for c in CODES),
                "key": key,
            }
            + DONE_LUA
        )
        delay_ms = round(1000 * args.get_connections / args.get_rate) if args.get_rate else 0
        get_lua.write_text(
            GET_LUA % {"refs": ",".join(f'"{r}"' for r in refs), "delay_ms": delay_ms} + DONE_LUA
        )
        with engine.connect() as conn:
            before = conn.execute(sa.text("select count(*) from cases")).scalar_one()
        servers = tree(server.pid)
        cpu_server0 = sum(cpu_s(p) for p in servers)
        cpu_pg0 = {p: cpu_s(p) for p in backends(dbname)}
        load_before = os.getloadavg()[0]
        wall0 = time.perf_counter()
        usage0 = os.times()
        runs = [
            subprocess.Popen(
                [
                    "wrk",
                    "-t1",
                    f"-c{conns}",
                    f"-d{args.duration}s",
                    "--latency",
                    "--timeout",
                    "10s",
                    "-s",
                    str(script),
                    base,
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for script, conns in (
                (post_lua, args.post_connections),
                (get_lua, args.get_connections),
            )
            if conns > 0
        ]
        if args.profile:
            subprocess.run(
                [
                    "py-spy",
                    "record",
                    "--subprocesses",
                    "-p",
                    str(server.pid),
                    "-d",
                    str(args.duration - 2),
                    "-r",
                    "200",
                    "-f",
                    "raw",
                    "-o",
                    args.profile,
                ],
                check=False,
                stdout=subprocess.DEVNULL,
            )
        outs = [run.communicate()[0] for run in runs]
        wall = time.perf_counter() - wall0
        usage1 = os.times()
        cpu_server = sum(cpu_s(p) for p in servers) - cpu_server0
        cpu_pg = sum(cpu_s(p) - cpu_pg0.get(p, 0.0) for p in backends(dbname))
        cpu_wrk = (
            usage1.children_user
            + usage1.children_system
            - usage0.children_user
            - usage0.children_system
        )
        load_after = os.getloadavg()[0]
        with engine.connect() as conn:
            stored = conn.execute(sa.text("select count(*) from cases")).scalar_one() - before
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    engine.dispose()
    results = [parse(out) for out in outs]
    print(
        f"shancheng serve --workers {args.workers} (uvicorn, uvloop, httptools) on "
        f"PostgreSQL, small demo city; wrk -t1 -c{args.post_connections} POST + wrk -t1 "
        f"-c{args.get_connections} GET"
        f"{f' paced to ~{args.get_rate:g}/s' if args.get_rate else ''} for {args.duration} s; "
        f"{os.cpu_count()} CPUs, "
        f"load average {load_before:.1f} -> {load_after:.1f}"
    )
    print("| request | count | per second | p50 ms | p90 ms | p99 ms | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    labels = ("POST requests.json (new report)", "GET requests/{id}.json")
    for label, res in zip(labels, results, strict=False):
        print(
            f"| {label} | {res['requests']:.0f} | {res['requests'] / wall:.0f} | "
            f"{res['p50_us'] / 1e3:.1f} | {res['p90_us'] / 1e3:.1f} | "
            f"{res['p99_us'] / 1e3:.1f} | {res['errors']:.0f} |"
        )
    total = sum(res["requests"] for res in results)
    if args.session_writer:
        print("writer: a session in a worker thread (SQLAlchemy ORM, psycopg)")
    else:
        print(
            "writer: the event-loop store (shancheng.cases.async_store, psycopg async pool): "
            "2 statements per report (duplicate search; one INSERT ... WITH for the case, its "
            "events and photos and the duplicate count), 1 per read"
        )
    print(statements)
    print(f"reports stored during the run: {stored} (POSTs answered: {results[0]['requests']:.0f})")
    print(
        f"CPU per request (all {total:.0f} requests): server {1e3 * cpu_server / total:.2f} ms, "
        f"PostgreSQL {1e3 * cpu_pg / total:.2f} ms, wrk {1e3 * cpu_wrk / total:.2f} ms; "
        f"server CPU {cpu_server / wall:.2f} cores, PostgreSQL {cpu_pg / wall:.2f} cores"
    )
    posts = max(results[0]["requests"], 1)
    print(
        f"CPU per report, all of it charged to the POSTs: server {1e3 * cpu_server / posts:.2f} "
        f"ms, PostgreSQL {1e3 * cpu_pg / posts:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
