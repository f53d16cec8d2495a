"""Load test of the Golden Ideas supports: many residents supporting at once on PostgreSQL.

A fresh PostgreSQL database with the small demo city's center, one campaign in its supporting
phase (threshold 500 supports, at most 200 supports per person: the per-person counter is on the
path), 200 ideas and 40,000 verified residents (recorded verifications, as in production). N
worker processes call the pillar's service, `shancheng.ideas.supports.support`, each with its own
connection, as fast as they are answered: every call validates the phase and the idea (read
`FOR SHARE`), checks the resident's verification, inserts the support (`ON CONFLICT DO NOTHING`
on the unique `(idea, person)`), raises the person's counter, logs it, commits, then counts in a
fresh transaction (threshold deadline). About 5 % of the calls repeat a support already given (a
double click): they must change nothing. Meanwhile a reader process renders the campaign page
(`views.campaign_ideas`, all ideas with their counts, sorted by supports) in a loop.

Prints supports per second, p50/p90/p99 per support and per page read, the machine's load, and
checks the counts at the end: standing supports = distinct (idea, person) pairs given = the sum
of the page's counts = log rows = the per-person counters' sum. The issue's target is >= 1,000
supports/s with p99 < 100 ms. There is no peer system.

Run (needs PostgreSQL on 127.0.0.1:5432): .venv/bin/python benchmarks/ideas_load.py
[--workers 6] [--supports 30000]
"""

import argparse
import multiprocessing as mp
import os
import random
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from shancheng.cases.center import Center
from shancheng.cases.permissions import Actor, Role
from shancheng.cases.routing import AdminIndex
from shancheng.cases.taxonomy import load_taxonomy
from shancheng.data.demo import DemoConfig, generate_demo_city
from shancheng.ideas import service, supports, views
from shancheng.ideas.batch import SupportRequest, support_many
from shancheng.ideas.phases import Phases
from shancheng.ideas.verification import RecordedVerifier
from shancheng.store import create_db_engine, session_factory, upgrade_database

ADMIN_URL = os.environ.get(
    "SHANCHENG_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
N_IDEAS = 200
N_PEOPLE = 40_000
CENTER: Center | None = None  # built before the fork, inherited by the workers


def _database() -> tuple[str, str]:
    name = f"shancheng_bench_ideas_{os.getpid()}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'drop database if exists "{name}"'))
        conn.execute(sa.text(f'create database "{name}"'))
    admin.dispose()
    return name, ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop(name: str) -> None:
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
    admin.dispose()


def _setup(url: str, center: Center) -> tuple[int, list[int]]:
    """Create the campaign, its ideas and the verified residents; return their ids."""
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
        session.execute(
            sa.text(
                "insert into ideas_residents (username, method, unit_code, account_created_at, "
                "verified_at) values (:u, 'phone', '', :c, :c)"
            ),
            [{"u": f"p{i}", "c": created} for i in range(N_PEOPLE)],
        )
        session.commit()
    engine.dispose()
    return camp.id, ids


def _worker(
    url: str, tasks: list[tuple[int, int]], start_at: float, out: mp.Queue, batch: int
) -> None:
    assert CENTER is not None
    engine = create_db_engine(url)
    session = session_factory(engine)()
    verifier = RecordedVerifier()
    lat_ms: list[float] = []
    given = []
    while time.time() < start_at:
        time.sleep(0.001)
    if batch > 1:
        for k in range(0, len(tasks), batch):
            chunk = tasks[k : k + batch]
            at = datetime.now(UTC)
            requests = [SupportRequest(i, Actor(f"p{p}", Role.CITIZEN, ""), at) for i, p in chunk]
            t = time.perf_counter()
            outcomes = support_many(session, CENTER, requests, verifier=verifier)
            # every support of the batch waited for the whole batch
            lat_ms.extend([(time.perf_counter() - t) * 1000] * len(chunk))
            given += [
                pair
                for pair, o in zip(chunk, outcomes, strict=True)
                if isinstance(o, supports.SupportResult) and o.changed
            ]
            session.expunge_all()
        out.put(("support", lat_ms, given))
        return
    for idea_id, person in tasks:
        t = time.perf_counter()
        result = supports.support(
            session,
            CENTER,
            idea_id,
            actor=Actor(f"p{person}", Role.CITIZEN, ""),
            at=datetime.now(UTC),
            verifier=verifier,
        )
        lat_ms.append((time.perf_counter() - t) * 1000)
        if result.changed:
            given.append((idea_id, person))
        session.expunge_all()  # a server's session lives for one request
    session.close()
    engine.dispose()
    out.put(("support", lat_ms, given))


def _reader(url: str, campaign_id: int, start_at: float, stop: mp.Event, out: mp.Queue) -> None:
    assert CENTER is not None
    engine = create_db_engine(url)
    lat_ms = []
    while time.time() < start_at:
        time.sleep(0.001)
    while not stop.is_set():
        with session_factory(engine)() as session:
            t = time.perf_counter()
            page = views.campaign_ideas(session, CENTER, campaign_id, viewer=None)
            lat_ms.append((time.perf_counter() - t) * 1000)
        assert len(page) == N_IDEAS
        time.sleep(0.02)  # about 40 page views a second alongside the supports
    engine.dispose()
    out.put(("page", lat_ms, []))


def _tasks(total: int, workers: int, ideas: list[int], seed: int) -> list[list[tuple[int, int]]]:
    """Distinct (idea, person) pairs, popular ideas first (Zipf), 5 % of them sent twice."""
    rng = random.Random(seed)
    weights = [1 / (k + 1) for k in range(len(ideas))]
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < int(total * 0.95):
        pairs.add((rng.choices(ideas, weights)[0], rng.randrange(N_PEOPLE)))
    calls = list(pairs) + rng.sample(sorted(pairs), total - len(pairs))
    rng.shuffle(calls)
    return [calls[w::workers] for w in range(workers)]


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def _check(url: str, campaign_id: int, given: set[tuple[int, int]]) -> dict[str, int]:
    engine = create_db_engine(url)
    with engine.connect() as conn:
        one = lambda q: int(conn.execute(sa.text(q)).scalar_one())  # noqa: E731
        figures = {
            "distinct pairs supported": len(given),
            "ideas_supports rows": one("select count(*) from ideas_supports"),
            "distinct (idea, person) rows": one(
                "select count(*) from (select distinct idea_id, username from ideas_supports) s"
            ),
            "support log rows": one(
                "select count(*) from ideas_support_log where action = 'support'"
            ),
            "per-person counters' sum": one("select coalesce(sum(used), 0) from ideas_quotas"),
            "deadlines (ideas past 500)": one("select count(*) from ideas_deadlines"),
        }
    with session_factory(engine)() as session:
        assert CENTER is not None
        page = views.campaign_ideas(session, CENTER, campaign_id, viewer=None)
        figures["sum of the page's counts"] = sum(v.supports for v in page)
        figures["ideas with >= 500 on the page"] = sum(v.supports >= 500 for v in page)
    engine.dispose()
    return figures


def main() -> None:
    global CENTER  # noqa: PLW0603 - set once before the fork, read by the children
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--supports", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--batch", type=int, default=1, help="Group commit: supports per transaction (1: none)."
    )
    args = parser.parse_args()
    CENTER = Center(load_taxonomy(), AdminIndex.from_city(generate_demo_city(DemoConfig.small())))
    name, url = _database()
    try:
        upgrade_database(url)
        campaign_id, ideas = _setup(url, CENTER)
        plan = _tasks(args.supports, args.workers, ideas, args.seed)
        ctx = mp.get_context("fork")
        out: mp.Queue = ctx.Queue()
        stop = ctx.Event()
        start_at = time.time() + 1.0
        load_before = os.getloadavg()
        procs = [
            ctx.Process(target=_worker, args=(url, t, start_at, out, args.batch)) for t in plan
        ]
        reader = ctx.Process(target=_reader, args=(url, campaign_id, start_at, stop, out))
        for p in [*procs, reader]:
            p.start()
        results = [out.get() for _ in procs]
        elapsed = time.time() - start_at
        stop.set()
        results.append(out.get())
        for p in [*procs, reader]:
            p.join()
        load_after = os.getloadavg()
        sup = [x for kind, lat, _ in results if kind == "support" for x in lat]
        page = [x for kind, lat, _ in results if kind == "page" for x in lat]
        given = {pair for kind, _, g in results if kind == "support" for pair in g}
        print(
            f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load "
            f"{load_before[0]:.1f} -> {load_after[0]:.1f}; {args.workers} worker processes"
        )
        print("| call | count | per second | p50 ms | p90 ms | p99 ms |")
        print("|---|---:|---:|---:|---:|---:|")
        print(
            f"| support | {len(sup):,} | {len(sup) / elapsed:,.0f} | {_pct(sup, 50):.1f} | "
            f"{_pct(sup, 90):.1f} | {_pct(sup, 99):.1f} |"
        )
        print(
            f"| campaign page ({N_IDEAS} ideas) | {len(page):,} | {len(page) / elapsed:,.0f} | "
            f"{_pct(page, 50):.1f} | {_pct(page, 90):.1f} | {_pct(page, 99):.1f} |"
        )
        figures = _check(url, campaign_id, given)
        for what, n in figures.items():
            print(f"- {what}: {n:,}")
        counts = [
            figures[k]
            for k in (
                "distinct pairs supported",
                "ideas_supports rows",
                "distinct (idea, person) rows",
                "support log rows",
                "per-person counters' sum",
                "sum of the page's counts",
            )
        ]
        exact = len(set(counts)) == 1 and len(sup) == args.supports
        met = len(sup) / elapsed >= 1000 and _pct(sup, 99) < 100
        print(
            f"counts exact: {exact}; target >= 1,000 supports/s with p99 < 100 ms: "
            f"{'met' if met else 'NOT met'}"
        )
    finally:
        _drop(name)


if __name__ == "__main__":
    main()
