"""Load test of the Golden Ideas supports over HTTP: `shancheng serve` on PostgreSQL.

What users get, end to end: a fresh PostgreSQL database, the small demo city, one campaign in
its supporting phase (threshold 500 supports, at most 200 supports per person: the per-person
counter is on the path), 200 ideas and 20,000 verified residents, each with an account and a
login token (set up directly in the database: logging in is not what is measured). Then
`shancheng serve --workers N` (uvicorn, uvloop, httptools, real clock) is started and driven
by one client process (asyncio on raw keep-alive sockets, so that the load generator, which
shares the machine's cores with the server, takes as little CPU as it can): C connections send
`POST /ideas/{id}/support` with the resident's bearer token, each as soon as the previous one
is answered — the route authenticates the token, hands the support to the worker's group-commit
collector (`shancheng.ideas.collector`) and answers once its batch is committed. About 5 % of
the calls repeat a support already given (a double click): they must change nothing. Meanwhile
R more connections read the campaign page (`GET /ideas/campaigns/{id}/ideas`: the 200 ideas
with their counts, sorted by supports), each pausing 40 ms between reads.

Prints supports per second, p50/p90/p99 per support and per page read, the CPU the server,
PostgreSQL's backends of the benchmark's database and the client spent, the machine's load,
and checks the counts at the end: every call answered 200; standing supports = distinct
(idea, person) pairs answered `changed` = distinct pairs sent = the sum of the ideas' counters
= log rows = the per-person counters' sum.
The issue's target is >= 1,000 supports/s with p99 < 100 ms. There is no peer system.

Run (needs PostgreSQL on 127.0.0.1:5432): .venv/bin/python benchmarks/ideas_load.py
[--workers 2] [--connections 64] [--supports 30000]
"""

import argparse
import asyncio
import hashlib
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa
import uvloop
from cases_load import backends, cpu_s, free_port, fresh_database, start_server, tree, wait_up

from shancheng.cases.center import Center
from shancheng.cases.permissions import Actor, Role
from shancheng.cases.routing import AdminIndex
from shancheng.cases.taxonomy import load_taxonomy
from shancheng.data.city import read_city
from shancheng.data.demo import DemoConfig, write_demo_city
from shancheng.ideas import service
from shancheng.ideas.phases import Phases
from shancheng.store import create_db_engine, session_factory

N_IDEAS = 200
N_PEOPLE = 20_000
DBNAME = "shancheng_bench_ideas"


def _setup(url: str, center: Center) -> tuple[int, list[int], list[str]]:
    """Create the campaign, its ideas, the verified residents and their tokens."""
    now = datetime.now(UTC)
    d = timedelta(days=1)
    official = Actor("official", Role.ADMIN, center.city_code)
    engine = create_db_engine(url)
    with session_factory(engine)() as session:
        camp = service.create_campaign(
            session,
            center,
            service.CampaignIn(
                "benchmark",
                "",
                (center.city_code,),
                ("设施",),
                Phases(
                    (now - d, now + d),
                    (now - d, now + d),
                    (now + d, now + 2 * d),
                    (now + 2 * d, now + 3 * d),
                ),
                threshold_supports=500,
                max_supports_per_person=200,
            ),
            actor=official,
            at=now - d,
        )
        ids = []
        for i in range(N_IDEAS):
            spec = service.IdeaIn(f"建议{i}号：增设便民设施", f"第{i}个建议的内容", "设施")
            row = service.propose(
                session, center, camp.id, spec, actor=Actor(f"author{i}", Role.CITIZEN, ""), at=now
            )
            ids.append(row.id)
        created = now - timedelta(days=400)
        people = [f"p{i}" for i in range(N_PEOPLE)]
        session.execute(
            sa.text(
                "insert into ideas_residents (username, method, unit_code, account_created_at, "
                "verified_at) values (:u, 'phone', '', :c, :c)"
            ),
            [{"u": u, "c": created} for u in people],
        )
        session.execute(
            sa.text(
                "insert into case_users (username, password_hash, role, unit_code, active) "
                "values (:u, 'not-used', 'citizen', '', true)"
            ),
            [{"u": u} for u in people],
        )
        user_ids = dict(session.execute(sa.text("select username, id from case_users")).all())
        tokens = [secrets.token_urlsafe(32) for _ in people]
        session.execute(
            sa.text(
                "insert into case_tokens (token_sha256, user_id, expires_at) values (:t, :u, :e)"
            ),
            [
                {"t": hashlib.sha256(t.encode()).hexdigest(), "u": user_ids[u], "e": now + d}
                for u, t in zip(people, tokens, strict=True)
            ],
        )
        session.commit()
    engine.dispose()
    return camp.id, ids, tokens


def _tasks(total: int, ideas: list[int], seed: int) -> list[tuple[int, int]]:
    """Distinct (idea, person) pairs, popular ideas first (Zipf), 5 % of them sent twice."""
    rng = random.Random(seed)
    weights = [1 / (k + 1) for k in range(len(ideas))]
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < int(total * 0.95):
        pairs.add((rng.choices(ideas, weights)[0], rng.randrange(N_PEOPLE)))
    calls = list(pairs) + rng.sample(sorted(pairs), total - len(pairs))
    rng.shuffle(calls)
    return calls


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """Send one HTTP/1.1 request on a kept-alive connection; return status and body."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


class _Load:
    def __init__(self, port: int, tokens: list[str], calls: list[tuple[int, int]]) -> None:
        self.port, self.tokens, self.calls = port, tokens, calls
        self.next = 0
        self.support_ms: list[float] = []
        self.page_ms: list[float] = []
        self.statuses: dict[int, int] = {}
        self.changed: set[tuple[int, int]] = set()
        self.done = False

    async def supporter(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        while self.next < len(self.calls):
            idea_id, person = self.calls[self.next]
            self.next += 1
            request = (
                f"POST /ideas/{idea_id}/support HTTP/1.1\r\nHost: bench\r\n"
                f"Authorization: Bearer {self.tokens[person]}\r\nContent-Length: 0\r\n\r\n"
            ).encode()
            t = time.perf_counter()
            status, body = await _exchange(reader, writer, request)
            self.support_ms.append((time.perf_counter() - t) * 1000)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 200 and b'"changed":true' in body:
                self.changed.add((idea_id, person))
        writer.close()

    async def page_reader(self, campaign_id: int, pause_s: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        request = (
            f"GET /ideas/campaigns/{campaign_id}/ideas HTTP/1.1\r\nHost: bench\r\n\r\n"
        ).encode()
        while not self.done:
            t = time.perf_counter()
            status, body = await _exchange(reader, writer, request)
            self.page_ms.append((time.perf_counter() - t) * 1000)
            assert status == 200, body[:200]
            assert len(json.loads(body)) == N_IDEAS
            await asyncio.sleep(pause_s)
        writer.close()


async def _drive(load: _Load, campaign_id: int, connections: int, readers: int) -> float:
    """Run the supporters and the page readers; return the supports' wall time in seconds."""
    pages = [
        asyncio.create_task(load.page_reader(campaign_id, 0.02 * readers)) for _ in range(readers)
    ]
    t0 = time.perf_counter()
    await asyncio.gather(*(load.supporter() for _ in range(connections)))
    elapsed = time.perf_counter() - t0
    load.done = True
    await asyncio.gather(*pages)
    return elapsed


def _wait_warm(pids: list[int]) -> None:
    """Wait until the server's start-up work (the City state, built in the background) is done:
    its processes use less than a tenth of a core over a second."""
    deadline = time.monotonic() + 300
    before = sum(cpu_s(p) for p in pids)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = sum(cpu_s(p) for p in pids)
        if now - before < 0.1:
            return
        before = now
    msg = "the server kept busy for 5 minutes after start-up"
    raise SystemExit(msg)


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def _check(url: str, campaign_id: int, load: _Load) -> dict[str, int]:
    engine = create_db_engine(url)
    with engine.connect() as conn:
        one = lambda q: int(conn.execute(sa.text(q), {"c": campaign_id}).scalar_one())  # noqa: E731
        figures = {
            "distinct pairs sent": len(set(load.calls)),
            "distinct pairs answered `changed`": len(load.changed),
            "ideas_supports rows": one("select count(*) from ideas_supports"),
            "distinct (idea, person) rows": one(
                "select count(*) from (select distinct idea_id, username from ideas_supports) s"
            ),
            "support log rows": one(
                "select count(*) from ideas_support_log where action = 'support'"
            ),
            "per-person counters' sum": one("select coalesce(sum(used), 0) from ideas_quotas"),
            "sum of the ideas' counters": one(
                "select sum(n.supports) from ideas_counts n join ideas i on i.id = n.idea_id "
                "where i.campaign_id = :c"
            ),
            "deadlines (ideas past 500)": one("select count(*) from ideas_deadlines"),
        }
    engine.dispose()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--connections", type=int, default=64, help="supporting connections")
    parser.add_argument("--readers", type=int, default=2, help="campaign page connections")
    parser.add_argument("--supports", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", metavar="FILE", help="sample the server with py-spy (raw)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ideas_load_"))
    write_demo_city(tmp / "demo", DemoConfig.small())
    center = Center(load_taxonomy(), AdminIndex.from_city(read_city(tmp / "demo", verify=False)))
    url = fresh_database(DBNAME)
    campaign_id, ideas, tokens = _setup(url, center)
    calls = _tasks(args.supports, ideas, args.seed)
    port = free_port()
    env = {
        **os.environ,
        "SHANCHENG_DATA_DIR": str(tmp),
        "SHANCHENG_DATABASE_URL": url,
        "SHANCHENG_QUIET": "1",
        "SHANCHENG_CASES_CLASSIFIER_WARMUP": "0",
    }
    server = start_server(port, args.workers, env=env, cwd=tmp)
    try:
        wait_up(f"http://127.0.0.1:{port}", server)
        load = _Load(port, tokens, calls)
        servers = tree(server.pid)
        _wait_warm(servers)
        cpu_server0 = sum(cpu_s(p) for p in servers)
        cpu_db0 = {p: cpu_s(p) for p in backends(DBNAME)}
        usage0 = os.times()
        load_before = os.getloadavg()
        spy = None
        if args.profile:
            spy = subprocess.Popen(
                [shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy")), "record", "--gil", "--subprocesses", "-p", str(server.pid), "-r", "200",
                 "-f", "raw", "-o", args.profile],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
        elapsed = uvloop.run(_drive(load, campaign_id, args.connections, args.readers))
        usage1 = os.times()
        load_after = os.getloadavg()
        cpu_server = sum(cpu_s(p) for p in servers) - cpu_server0
        cpu_db = sum(cpu_s(p) - cpu_db0.get(p, 0.0) for p in backends(DBNAME))
        cpu_client = usage1.user + usage1.system - usage0.user - usage0.system
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    sup, page = load.support_ms, load.page_ms
    print(
        f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load "
        f"{load_before[0]:.1f} -> {load_after[0]:.1f}; shancheng serve --workers {args.workers}, "
        f"{args.connections} supporting connections, {args.readers} page readers"
    )
    print("| request | count | per second | p50 ms | p90 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| POST /ideas/{{id}}/support | {len(sup):,} | {len(sup) / elapsed:,.0f} | "
        f"{_pct(sup, 50):.1f} | {_pct(sup, 90):.1f} | {_pct(sup, 99):.1f} |"
    )
    print(
        f"| GET campaign page ({N_IDEAS} ideas) | {len(page):,} | {len(page) / elapsed:,.0f} | "
        f"{_pct(page, 50):.1f} | {_pct(page, 90):.1f} | {_pct(page, 99):.1f} |"
    )
    print(f"statuses of the supports: {load.statuses}")
    n = max(len(sup), 1)
    print(
        f"CPU per support: server {1e3 * cpu_server / n:.2f} ms, PostgreSQL's backends "
        f"{1e3 * cpu_db / n:.2f} ms, client {1e3 * cpu_client / n:.2f} ms; in cores: server "
        f"{cpu_server / elapsed:.2f}, PostgreSQL {cpu_db / elapsed:.2f}, client "
        f"{cpu_client / elapsed:.2f}"
    )
    figures = _check(url, campaign_id, load)
    for what, k in figures.items():
        print(f"- {what}: {k:,}")
    counts = {v for k, v in figures.items() if not k.startswith("deadlines")}
    exact = len(counts) == 1 and load.statuses == {200: args.supports}
    met = len(sup) / elapsed >= 1000 and _pct(sup, 99) < 100
    print(
        f"counts exact: {exact}; target >= 1,000 supports/s with p99 < 100 ms over HTTP: "
        f"{'met' if met else 'NOT met'}"
    )
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
