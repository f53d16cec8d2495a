"""Sustained telemetry ingestion: the real Mosquitto broker into PostgreSQL, every message booked.

Forked publishers (`--publishers`, each a gateway numbering its own messages, each sending
every n-th message) send N readings as SensorThings observations (QoS 1, `--per-message`
observations per message, our batching extension) for `--sensors` sensors; `--ingesters`
production `MqttIngester`s (MQTT 5 persistent sessions on one shared subscription, manual
acknowledgements after commit, message accounting and COPY + ON CONFLICT DO NOTHING in one
transaction) store them in a fresh PostgreSQL database. Reports readings/s from the first
message received to the last commit, and checks count published = acknowledged by the broker
= stored, and that the accounting booked every message once with no gap.

    .venv/bin/python benchmarks/telemetry.py [--readings 500000] [--per-message 100]
        [--publishers 1] [--ingesters 1]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import threading
import time
import uuid

import sqlalchemy as sa

from shancheng.lifelines.accounting import list_gaps, list_sources
from shancheng.lifelines.gateway import Gateway
from shancheng.lifelines.mqtt import MqttIngester, MqttPublisher, forget_session, open_session
from shancheng.lifelines.repository import register_sensors
from shancheng.lifelines.sensors import Sensor
from shancheng.store import create_db_engine, upgrade_database

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HOST, PORT = "127.0.0.1", 1883
BASE_MS = 1_790_000_000_000


def sensors(n):
    return {
        f"B{i:05d}": Sensor(f"B{i:05d}", "water", "pressure", "kPa", 0, 1000, 106.5, 29.5)
        for i in range(n)
    }


def publish(n_messages, per_message, n_sensors, queue, part=0, parts=1):
    registry = list(sensors(n_sensors).values())
    publisher = MqttPublisher(HOST, PORT, gateway=Gateway(f"bench-gw-{part}"))
    start = time.perf_counter()
    for m in range(part, n_messages, parts):
        sensor = registry[m % n_sensors]
        t0 = BASE_MS + (m // n_sensors) * per_message * 1000
        publisher.publish(
            sensor,
            [t0 + k * 1000 for k in range(per_message)],
            [300.0 + (k % 7) for k in range(per_message)],
        )
    acked = publisher.wait(timeout_s=600)
    queue.put((acked, time.perf_counter() - start))
    publisher.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readings", type=int, default=500_000)
    parser.add_argument("--per-message", type=int, default=100)
    parser.add_argument("--sensors", type=int, default=500)
    parser.add_argument(
        "--publishers",
        type=int,
        default=1,
        help="forked publisher processes, each sending every n-th message",
    )
    parser.add_argument(
        "--ingesters", type=int, default=1,
        help="ingesters (threads of this process) on one shared subscription",
    )  # fmt: skip
    args = parser.parse_args()
    n_messages = args.readings // args.per_message
    name = f"bench_telemetry_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'create database "{name}"'))
    url = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    upgrade_database(url)
    engine = create_db_engine(url)
    registry = sensors(args.sensors)
    with engine.begin() as conn:
        register_sensors(conn, registry.values())
    client_ids = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(args.ingesters)]
    group = f"bench-{uuid.uuid4().hex[:8]}"  # one shared subscription of this run's ingesters
    first_seen = []
    ingesters = []
    for client_id in client_ids:
        open_session(HOST, PORT, client_id, share_group=group)
        ingester = MqttIngester(
            engine, registry, host=HOST, port=PORT, client_id=client_id, batch_max=20_000,
            share_group=group,
        )  # fmt: skip
        original = ingester._on_message  # noqa: SLF001 - timestamp the first arrival

        def on_message(*a, original=original):
            if not first_seen:
                first_seen.append(time.perf_counter())
            original(*a)

        ingester._client.on_message = on_message  # noqa: SLF001
        ingester.start()
        ingester.ready.wait(10)
        ingesters.append(ingester)
    stop = threading.Event()
    runners = [threading.Thread(target=i.run, args=(stop,)) for i in ingesters]
    for runner in runners:
        runner.start()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = usage.ru_utime + usage.ru_stime
    queue = mp.get_context("fork").Queue()
    children = [
        mp.get_context("fork").Process(
            target=publish,
            args=(n_messages, args.per_message, args.sensors, queue, part, args.publishers),
        )
        for part in range(args.publishers)
    ]
    for child in children:
        child.start()
    done_parts = [queue.get() for _ in children]
    acked = sum(a for a, _ in done_parts)
    publish_s = max(s for _, s in done_parts)
    for child in children:
        child.join()
    deadline = time.perf_counter() + 300
    while sum(i.stats.messages for i in ingesters) < n_messages and time.perf_counter() < deadline:
        time.sleep(0.01)
    done = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = usage.ru_utime + usage.ru_stime - cpu_start
    stop.set()
    for runner in runners:
        runner.join()
    for ingester, client_id in zip(ingesters, client_ids, strict=True):
        ingester.close()
        forget_session(HOST, PORT, client_id)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("select count(*) from lifelines_readings")).scalar_one()
        booked = sum(row["messages"] for row in list_sources(conn))
        gaps = list_gaps(conn, state="all")
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'drop database "{name}" with (force)'))
    elapsed = done - first_seen[0]
    shares = [i.stats.messages for i in ingesters]
    stats = ingesters[0].stats
    for other in ingesters[1:]:
        stats.messages += other.stats.messages
        stats.readings += other.stats.readings
        stats.batches += other.stats.batches
        stats.duplicates += other.stats.duplicates
        stats.rejected += other.stats.rejected
    print(
        f"published {n_messages:,} messages x {args.per_message} = {args.readings:,} readings "
        f"for {args.sensors} sensors by {args.publishers} publisher(s) in {publish_s:.2f} s; "
        f"broker acknowledged {acked:,} messages"
    )
    print(
        f"ingested {stats.messages:,} messages, {stats.readings:,} readings in {stats.batches} "
        f"batches; stored {stored:,} (duplicates {stats.duplicates}, rejected {stats.rejected})"
    )
    print(
        f"sustained: {args.readings / elapsed:,.0f} readings/s over {elapsed:.2f} s "
        f"(first message received to last commit); ingester peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    print(
        f"ingester process CPU (all its threads, PostgreSQL's own work excluded): "
        f"{cpu_s:.2f} s = {cpu_s / args.readings * 1e6:.1f} us per reading, a ceiling of "
        f"{args.readings / cpu_s:,.0f} readings/s on one free core"
    )
    print(
        f"messages per ingester {shares}; accounting booked {booked:,} numbered messages, "
        f"{len(gaps)} gaps on record"
    )
    print(
        f"count in = count stored: {stored == args.readings == stats.readings}; every message "
        f"booked once: {booked == n_messages and not gaps}"
    )


if __name__ == "__main__":
    main()
