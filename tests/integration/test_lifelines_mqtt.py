"""Telemetry through the real Mosquitto broker into PostgreSQL, including a killed ingester."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from shancheng.lifelines.mqtt import (
    MqttIngester,
    MqttPublisher,
    forget_session,
    open_session,
)
from shancheng.lifelines.repository import register_sensors
from shancheng.lifelines.sensors import Sensor
from shancheng.lifelines.telemetry import observation_topic
from shancheng.store import create_db_engine

# One broker is shared by every test worker and its ingesters subscribe to all observation
# topics, so two of these tests running at once would read each other's messages: keep them
# on one worker, one after another (make test runs pytest-xdist with --dist loadgroup).
pytestmark = [pytest.mark.services, pytest.mark.xdist_group("shared-mqtt-broker")]

SENSORS = {
    f"T{i:03d}": Sensor(f"T{i:03d}", "water", "pressure", "kPa", 0, 1000, 106.5, 29.5)
    for i in range(20)
}
BASE_MS = 1_790_000_000_000


def _fresh(url):
    engine = create_db_engine(url)
    with engine.begin() as conn:
        for table in ("lifelines_readings", "lifelines_rejections", "lifelines_sensors"):
            conn.execute(sa.text(f"DELETE FROM {table}"))
        register_sensors(conn, SENSORS.values())
    return engine


def _counts(engine):
    with engine.connect() as conn:
        total = conn.execute(sa.text("select count(*) from lifelines_readings")).scalar_one()
        distinct = conn.execute(
            sa.text(
                "select count(*) from (select distinct sensor_id, observed_at_ms "
                "from lifelines_readings) d"
            )
        ).scalar_one()
    return total, distinct


def _message(m, per_message):
    sensor = SENSORS[f"T{m % 20:03d}"]
    times = [BASE_MS + (m // 20) * per_message * 1000 + k * 1000 for k in range(per_message)]
    return sensor, times, [300.0 + 0.1 * (k % 7) for k in range(per_message)]  # no alarms


def test_stream_with_bad_messages_goes_on(postgres_url, mqtt_broker):
    host, port = mqtt_broker
    engine = _fresh(postgres_url)
    client_id = f"test-{uuid.uuid4().hex[:8]}"
    ingester = MqttIngester(engine, SENSORS, host=host, port=port, client_id=client_id)
    ingester.start()
    assert ingester.ready.wait(10)
    stop = threading.Event()
    runner = threading.Thread(target=ingester.run, args=(stop,))
    runner.start()
    publisher = MqttPublisher(host, port)
    try:
        for m in range(100):
            publisher.publish(*_message(m, 10))
            if m == 50:
                publisher.publish_raw(observation_topic("NOPE"), b'{"result": 1}')
                publisher.publish_raw(
                    observation_topic("T001"),
                    json.dumps(
                        {
                            "phenomenonTime": "2026-01-01T00:00:00Z",
                            "result": 1,
                            "parameters": {"unit": "bar"},
                        }
                    ).encode(),
                )
                publisher.publish_raw(
                    observation_topic("T001"),
                    json.dumps(
                        {
                            "phenomenonTime": "2099-01-01T00:00:00Z",
                            "result": 1,
                            "parameters": {"unit": "kPa"},
                        }
                    ).encode(),
                )
        assert publisher.wait() == 103
        deadline = time.monotonic() + 20
        while ingester.stats.messages < 103 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        runner.join()
        ingester.close()
        publisher.close()
        forget_session(host, port, client_id)
    assert _counts(engine) == (1000, 1000)
    assert ingester.stats.reasons == {"unknown_sensor": 1, "wrong_unit": 1, "future_time": 1}
    with engine.connect() as conn:
        logged = conn.execute(sa.text("select count(*) from lifelines_rejections")).scalar_one()
    assert logged == 3
    engine.dispose()


def _start_ingester(url, host, port, client_id, idle_exit=None, *, capture=True):
    env = {
        **os.environ,
        "SHANCHENG_DATABASE_URL": url,
        "SHANCHENG_MQTT_URL": f"mqtt://{host}:{port}",
        "SHANCHENG_QUIET": "1",
    }
    command = [
        str(Path(sys.executable).parent / "shancheng"),
        "lifelines",
        "ingest",
        "--client-id",
        client_id,
    ]
    if idle_exit is not None:
        command += ["--idle-exit", str(idle_exit)]
    pipe = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen(command, env=env, stdout=pipe, stderr=pipe, cwd=Path(__file__).parent)


@pytest.mark.slow
def test_killed_ingester_loses_nothing_and_stores_nothing_twice(postgres_url, durable_broker):
    host, port = durable_broker  # configured as the docs ask for production (no queue cap)
    engine = _fresh(postgres_url)
    client_id = f"test-kill-{uuid.uuid4().hex[:8]}"
    # the broker queues for us from now on, on the group the ingester process joins
    open_session(host, port, client_id, share_group=os.environ["SHANCHENG_MQTT_SHARE_GROUP"])
    n_messages, per_message = 400, 50
    publisher = MqttPublisher(host, port)
    first = _start_ingester(postgres_url, host, port, client_id, capture=False)
    killed_at = None
    try:
        for m in range(50):
            publisher.publish(*_message(m, per_message))
        deadline = time.monotonic() + 60
        while _counts(engine)[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # the ingester is up and storing
        for m in range(50, n_messages):
            publisher.publish(*_message(m, per_message))
            time.sleep(0.002)
            if m == 150:
                first.send_signal(signal.SIGKILL)  # mid-stream, no goodbye
                first.wait()
                killed_at = _counts(engine)[0]
        acked = publisher.wait()
        for m in range(40):  # duplicates on top: the first 40 messages once more
            publisher.publish(*_message(m, per_message))
        acked += publisher.wait()
    finally:
        publisher.close()
        if first.poll() is None:
            first.kill()
            first.wait()
    assert killed_at is not None
    assert killed_at > 0, "the ingester stored nothing before the kill"
    assert killed_at < n_messages * per_message, "the kill came after the stream had ended"
    second = _start_ingester(postgres_url, host, port, client_id, idle_exit=3)
    try:
        out, err = second.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        second.kill()
        out, err = second.communicate()
    finally:
        forget_session(host, port, client_id)
    assert second.returncode == 0, err.decode()[-2000:]
    assert acked == n_messages + 40
    total, distinct = _counts(engine)
    assert total == distinct == n_messages * per_message
    assert killed_at < total, "nothing was left for the restarted ingester"
    duplicates = int(re.search(r"([\d,]+) duplicates", out.decode()).group(1).replace(",", ""))
    assert duplicates >= 40 * per_message  # the republished messages, maybe redeliveries too
    engine.dispose()


def test_live_scenario_over_the_real_broker(postgres_url, mqtt_broker):
    from shancheng.data.demo import DemoConfig, generate_demo_city
    from shancheng.lifelines.scenario import DemoCaseDesk, run_gas_leak_scenario

    engine = create_db_engine(postgres_url)
    with engine.begin() as conn:
        for table in (
            "lifelines_readings",
            "lifelines_rejections",
            "lifelines_sensors",
            "lifelines_alarms",
        ):
            conn.execute(sa.text(f"DELETE FROM {table}"))
    desk = DemoCaseDesk()
    result = run_gas_leak_scenario(
        generate_demo_city(DemoConfig.small()), engine, desk, mqtt=mqtt_broker, minutes=16
    )
    assert result.transport == "mqtt"
    assert result.alarm.level == 1
    assert result.alarm.case is not None
    assert result.stats.reasons == {"wrong_unit": 1, "future_time": 1, "unknown_sensor": 1}
    (report,) = [r for _, r in desk.reports.values()]
    assert report.attachments["isolation_plan"]["valves_to_close"] == result.plan.valves_to_close
    total, distinct = _counts(engine)
    assert total == distinct == result.stats.stored
    engine.dispose()


def test_ingest_service_raises_and_stores_alarms(postgres_url, mqtt_broker):
    from shancheng.lifelines.service import ingest_from_broker

    host, port = mqtt_broker
    engine = _fresh(postgres_url)
    ch4 = Sensor("CH4-1", "gas", "methane", "%LEL", 0, 100, 106.5, 29.5, element_id="J1")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM lifelines_alarms"))
        register_sensors(conn, [ch4])
    client_id = f"test-alarm-{uuid.uuid4().hex[:8]}"
    open_session(host, port, client_id)
    publisher = MqttPublisher(host, port)
    for minute, value in enumerate([1.0, 2.0, 12.0, 30.0, 55.0]):
        publisher.publish(ch4, [BASE_MS + minute * 60_000], [value])
    assert publisher.wait() == 5
    publisher.close()
    try:
        stats = ingest_from_broker(
            engine, host=host, port=port, client_id=client_id, idle_exit_s=2.0
        )
    finally:
        forget_session(host, port, client_id)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "select rule, level, state, count from lifelines_alarms where sensor_id = 'CH4-1'"
            )
        ).all()
    engine.dispose()
    assert stats.stored == 5
    assert ("threshold", 1, "raised", 3) in rows
