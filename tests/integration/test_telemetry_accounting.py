"""Every reading accounted for, end to end: real Mosquitto, real ingester processes, real server.

* With Mosquitto's default settings, an ingester killed mid-stream comes back to a queue the
  broker capped at 1,000 messages: the rest were dropped after the broker had acknowledged them
  to the gateway. The restarted ingester puts the holes on record (with a data-gap alarm), and
  the gateway's backfill over HTTP to a real ``shancheng serve`` closes them: every reading is
  then stored exactly once.
* Two ingesters on one shared subscription store everything exactly once, each doing a share.
* A gateway's own key, a loss its buffer cannot fill, and a supervisor's waiver, on a real server.
* The broker check tells the default settings from the shipped ones.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.servers import free_port

from shancheng.lifelines.accounting import list_gaps, list_sources
from shancheng.lifelines.broker_check import check_broker
from shancheng.lifelines.gateway import Gateway
from shancheng.lifelines.mqtt import MqttPublisher, forget_session, open_session
from shancheng.lifelines.repository import list_alarms, register_sensors
from shancheng.lifelines.sensors import Sensor
from shancheng.store import create_db_engine

pytestmark = [pytest.mark.services, pytest.mark.slow]

SENSORS = {
    f"Q{i:03d}": Sensor(f"Q{i:03d}", "water", "pressure", "kPa", 0, 1000, 106.5, 29.5)
    for i in range(20)
}
BASE_MS = 1_790_000_000_000
PER_MESSAGE = 10
SHANCHENG = str(Path(sys.executable).with_name("shancheng"))
GROUP = os.environ["SHANCHENG_MQTT_SHARE_GROUP"]  # the ingesters' group in this test run


def _fresh(url):
    engine = create_db_engine(url)
    with engine.begin() as conn:
        for table in (
            "lifelines_readings", "lifelines_rejections", "lifelines_sensors", "lifelines_alarms",
            "lifelines_telemetry_sources", "lifelines_telemetry_seqs", "lifelines_telemetry_gaps",
        ):  # fmt: skip
            conn.execute(sa.text(f"DELETE FROM {table}"))
        register_sensors(conn, SENSORS.values())
    return engine


def _send(publisher, m):
    """Message ``m``: ten readings of one sensor at times no other message uses."""
    sensor = SENSORS[f"Q{m % 20:03d}"]
    t0 = BASE_MS + (m // 20) * PER_MESSAGE * 1000
    publisher.publish(sensor, [t0 + k * 1000 for k in range(PER_MESSAGE)], [300.0] * PER_MESSAGE)


def _stored(engine):
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "select count(*), count(distinct (sensor_id, observed_at_ms)) "
                "from lifelines_readings"
            )
        ).one()


def _env(db_url, host, port):
    return {
        **os.environ,
        "SHANCHENG_DATABASE_URL": db_url,
        "SHANCHENG_MQTT_URL": f"mqtt://{host}:{port}",
        "SHANCHENG_QUIET": "1",
    }


def _ingester(db_url, host, port, client_id, *, idle_exit=None, log=None, grace=1):
    command = [SHANCHENG, "lifelines", "ingest", "--client-id", client_id, "--grace", str(grace)]
    if idle_exit is not None:
        command += ["--idle-exit", str(idle_exit)]
    if log is None:
        return subprocess.Popen(
            command, env=_env(db_url, host, port), stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    with log.open("wb") as sink:  # the child keeps its own descriptor
        return subprocess.Popen(
            command, env=_env(db_url, host, port), stdout=sink, stderr=subprocess.STDOUT
        )


def _serve(tmp_path, db_url):
    """A real server on the same database; returns (process, base URL, ingest key)."""
    from shancheng.cases import accounts
    from shancheng.cases.permissions import Actor, Role
    from shancheng.data.demo import DemoConfig, write_demo_city
    from shancheng.store import session_factory

    write_demo_city(tmp_path / "demo", DemoConfig.small())
    engine = create_db_engine(db_url)
    with session_factory(engine)() as session:
        key = accounts.create_api_key(
            session, f"gateway {uuid.uuid4().hex[:6]}", actor=Actor("t", Role.ADMIN, "500000"),
            at=datetime.now(UTC), scopes=("ingest",),
        )  # fmt: skip
        session.commit()
    engine.dispose()
    port = free_port()
    env = {
        **_env(db_url, "127.0.0.1", 1),
        "SHANCHENG_DATA_DIR": str(tmp_path),
        "SHANCHENG_CASES_CLASSIFIER_WARMUP": "false",
    }
    process = subprocess.Popen(
        [SHANCHENG, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return process, base, key
        except OSError:
            time.sleep(0.3)
    process.kill()
    pytest.fail("the server did not answer /health within 120 s")
    return None


def test_killed_ingester_on_a_default_broker_gaps_on_record_then_closed_by_backfill(
    tmp_path, postgres_url, default_broker
):
    host, port = default_broker
    engine = _fresh(postgres_url)
    client_id = f"test-gap-{uuid.uuid4().hex[:8]}"
    open_session(host, port, client_id, share_group=GROUP)
    gateway = Gateway("GW-TEST", buffer_size=20_000)
    publisher = MqttPublisher(host, port, gateway=gateway)
    n_messages = 4_000
    first = _ingester(postgres_url, host, port, client_id)
    server = None
    try:
        for m in range(200):
            _send(publisher, m)
        deadline = time.monotonic() + 60
        while _stored(engine)[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)  # mid-stream, no goodbye
        first.wait()
        killed_at = _stored(engine)[0]
        for m in range(200, n_messages):  # 3,800 while nobody listens; the queue holds 1,000
            _send(publisher, m)
        second_log = tmp_path / "second.log"
        second = _ingester(postgres_url, host, port, client_id, idle_exit=3, log=second_log)
        deadline = time.monotonic() + 120
        while _stored(engine)[0] == killed_at and time.monotonic() < deadline:
            time.sleep(0.05)  # the restarted ingester is taking its queue
        # the stream goes on: the broker kept the oldest 1,000 and dropped the newest, so
        # the loss shows when the gateway's next messages arrive after the hole
        for m in range(n_messages, n_messages + 200):
            _send(publisher, m)
        n_messages += 200
        acked = publisher.wait()
        assert second.wait(timeout=300) == 0, second_log.read_text()[-2000:]
        output = second_log.read_text()
        assert "broker warning" in output  # its start-up check saw the capped queue
        with engine.connect() as conn:
            gaps = list_gaps(conn, gateway="GW-TEST")
            alarms = [a for a in list_alarms(conn) if a.sensor_id == "GW-TEST"]
        missing = sum(g.missing for g in gaps)
        total, distinct = _stored(engine)
        assert acked == n_messages  # the broker acknowledged every message to the gateway ...
        assert 0 < killed_at <= 200 * PER_MESSAGE  # it was storing when it died
        assert missing > 0, output  # ... and dropped some: now on record, not lost silently
        assert total == distinct == (n_messages - missing) * PER_MESSAGE
        (alarm,) = alarms
        assert (alarm.rule.value, alarm.state.value, alarm.value) == (
            "data_gap",
            "raised",
            float(missing),
        )

        # a second outage at the very end of the stream: nothing follows the lost messages
        for m in range(n_messages, n_messages + 1_500):  # the queue keeps 1,000, drops 500
            _send(publisher, m)
        n_messages += 1_500
        assert publisher.wait() == 1_500
        third_log = tmp_path / "third.log"
        third = _ingester(postgres_url, host, port, client_id, idle_exit=3, log=third_log)
        assert third.wait(timeout=300) == 0, third_log.read_text()[-2000:]
        with engine.connect() as conn:  # the tail loss is invisible to the ingester
            assert sum(g.missing for g in list_gaps(conn, gateway="GW-TEST")) == missing
        process, base, key = _serve(tmp_path, postgres_url)
        server = process
        gateway.heartbeat(base, api_key=key)  # over HTTP: "the last one I sent is n"
        time.sleep(5.5)  # the server's grace period, for messages still on their way
        tail = gateway.heartbeat(base, api_key=key) - missing
        assert tail == 500
        missing += tail
        report = gateway.backfill(base, api_key=key)
        assert (report.posted, report.unavailable) == (missing, 0)
        assert report.stored_readings == missing * PER_MESSAGE
        total, distinct = _stored(engine)
        assert total == distinct == n_messages * PER_MESSAGE  # every reading, once
        with engine.connect() as conn:
            assert list_gaps(conn, gateway="GW-TEST") == []
            closed = list_gaps(conn, gateway="GW-TEST", state="closed")
            (source,) = list_sources(conn)
            (alarm,) = [a for a in list_alarms(conn) if a.sensor_id == "GW-TEST"]
        assert sum(g.filled_by_backfill for g in closed) == missing
        assert (source["messages"], source["open_gaps"]) == (n_messages, 0)
        assert alarm.state.value == "cleared"
        again = gateway.backfill(base, api_key=key)  # nothing left to send
        assert (again.posted, again.stored_readings) == (0, 0)
    finally:
        publisher.close()
        for process in (first, server):  # (the later ingesters exited on their own)
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        forget_session(host, port, client_id)
        engine.dispose()


def test_a_gateway_key_and_a_supervisors_waiver_on_a_real_server(tmp_path, postgres_url):
    """A gateway's own key over HTTP, a loss its buffer cannot fill, a supervisor's waiver.

    Real ``shancheng serve`` on PostgreSQL with the real clock: the gateway (its key bound to
    it) announces what it sent, its backfill fills what its buffer still holds, the rest stays
    open with the data-gap alarm until a supervisor waives it; a message that turns up after
    the waiver is stored and counted on the gap, once.
    """
    from shancheng.cases import accounts
    from shancheng.cases.permissions import Actor, Role
    from shancheng.lifelines.mqtt import Message, ingest_messages
    from shancheng.lifelines.telemetry import (
        ReadingParser,
        encode_observations,
        observation_topic,
    )
    from shancheng.store import session_factory

    engine = _fresh(postgres_url)
    gateway = Gateway(f"GW-W{uuid.uuid4().hex[:4]}", buffer_size=3)  # keeps the newest 3
    sensor = SENSORS["Q000"]
    messages = []
    for m in range(10):
        times = [BASE_MS + (m * PER_MESSAGE + k) * 1000 for k in range(PER_MESSAGE)]
        payload = encode_observations(sensor, times, [300.0] * PER_MESSAGE)
        topic = observation_topic(sensor.sensor_id)
        messages.append(Message(topic, payload, gateway.number(topic, payload)))
    ingest_messages(engine, ReadingParser(SENSORS), messages[:4])  # 5-10 never arrive
    process, base, _ = _serve(tmp_path, postgres_url)
    try:
        with session_factory(engine)() as session:
            key = accounts.create_api_key(
                session, gateway.gateway_id, actor=Actor("t", Role.ADMIN, "990100"),
                at=datetime.now(UTC), scopes=("gateway",),
            )  # fmt: skip
            accounts.create_user(session, "sup-w", "correct horse battery",
                                 role=Role.SUPERVISOR, unit_code="990100")  # fmt: skip
        form = urllib.parse.urlencode(
            {"username": "sup-w", "password": "correct horse battery"}
        ).encode()
        with urllib.request.urlopen(f"{base}/auth/token", data=form, timeout=10) as answer:  # noqa: S310
            staff = {"Authorization": f"Bearer {json.loads(answer.read())['access_token']}"}

        def call(method, path, body=None, headers=None):
            request = urllib.request.Request(  # noqa: S310 - the test's own server
                f"{base}{path}", method=method,
                data=None if body is None else json.dumps(body).encode(),
                headers={"Content-Type": "application/json", **(headers or {})},
            )  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                    return answer.status, json.loads(answer.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())

        gateway.heartbeat(base, api_key=key)  # "the last one I sent is 10"
        time.sleep(5.5)  # the server's grace period
        assert gateway.heartbeat(base, api_key=key) == 6  # 5-10 on record
        report = gateway.backfill(base, api_key=key)  # the buffer holds 8-10 only
        assert (report.posted, report.unavailable) == (3, 3)
        own = {"X-API-Key": key}
        status, gaps = call("GET", "/lifelines/telemetry/gaps", headers=own)
        assert status == 200
        (gap,) = gaps
        assert (gap["first_seq"], gap["last_seq"], gap["missing"]) == (5, 10, 3)
        status, body = call("GET", "/lifelines/telemetry/gaps?gateway=GW-ELSE", headers=own)
        assert status == 403 and "GW-ELSE" in json.dumps(body)  # another gateway's: refused

        def gap_alarm():
            status, alarms = call("GET", "/lifelines/alarms", headers=staff)
            assert status == 200
            return [a["state"] for a in alarms
                    if a["rule"] == "data_gap" and gateway.gateway_id in a["message"]]  # fmt: skip

        assert gap_alarm() == ["raised"]
        waive = f"/lifelines/telemetry/gaps/{gap['gap_id']}/waive"
        reason = {"reason": "gateway buffer overwritten (3 messages)"}
        assert call("POST", waive, reason, headers=own)[0] in {401, 403}  # not the gateway's call
        status, waived = call("POST", waive, reason, headers=staff)
        assert status == 200, waived
        assert (waived["missing"], waived["waived_by"]) == (3, "sup-w")
        assert gap_alarm() == ["cleared"]
        assert call("GET", "/lifelines/telemetry/gaps", headers=own) == (200, [])

        ingest_messages(engine, ReadingParser(SENSORS), [messages[4], messages[4]])  # late
        status, closed = call("GET", "/lifelines/telemetry/gaps?state=closed", headers=staff)
        (after,) = [g for g in closed if g["gap_id"] == gap["gap_id"]]
        assert (after["missing"], after["arrived_after_waiver"]) == (3, 1)
        total, distinct = _stored(engine)
        assert total == distinct == 8 * PER_MESSAGE  # 1-5 and 8-10, each once
        with engine.connect() as conn:
            (source,) = [s for s in list_sources(conn) if s["gateway"] == gateway.gateway_id]
        assert (source["messages"], source["duplicates"]) == (8, 1)
    finally:
        process.terminate()
        process.wait(timeout=30)
        engine.dispose()


def test_two_ingesters_on_one_shared_subscription_store_everything_once(
    tmp_path, postgres_url, durable_broker
):
    host, port = durable_broker
    engine = _fresh(postgres_url)
    ids = [f"test-share-{k}-{uuid.uuid4().hex[:6]}" for k in range(2)]
    for client_id in ids:
        open_session(host, port, client_id, share_group=GROUP)
    logs = [tmp_path / f"ingester{k}.log" for k in range(2)]
    ingesters = [
        _ingester(postgres_url, host, port, cid, idle_exit=4, log=log, grace=5)
        for cid, log in zip(ids, logs, strict=True)
    ]
    gateway = Gateway("GW-SHARED")
    publisher = MqttPublisher(host, port, gateway=gateway)
    n_messages = 3_000
    try:
        _share_the_stream(engine, ingesters, logs, publisher, n_messages)
    finally:
        publisher.close()
        for process in ingesters:
            if process.poll() is None:
                process.kill()
                process.wait()
        for client_id in ids:
            forget_session(host, port, client_id)
        engine.dispose()


def _share_the_stream(engine, ingesters, logs, publisher, n_messages):
    deadline = time.monotonic() + 120
    while not all("subscribed to" in log.read_text() for log in logs):
        assert time.monotonic() < deadline, "the ingesters did not subscribe"
        time.sleep(0.1)  # the broker queues a share for each session until it connects
    for m in range(n_messages):
        _send(publisher, m)
    assert publisher.wait() == n_messages
    for process, log in zip(ingesters, logs, strict=True):
        assert process.wait(timeout=300) == 0, log.read_text()[-2000:]
    total, distinct = _stored(engine)
    assert total == distinct == n_messages * PER_MESSAGE
    shares = [
        int(re.search(r"([\d,]+) messages, [\d,]+ readings", log.read_text())[1].replace(",", ""))
        for log in logs
    ]
    assert sum(shares) == n_messages and min(shares) > 0, shares  # both took part
    with engine.connect() as conn:
        (source,) = list_sources(conn)
        assert list_gaps(conn, state="all") == []
    assert (source["messages"], source["duplicates"]) == (n_messages, 0)


def test_broker_check_tells_default_settings_from_the_shipped_ones(default_broker, durable_broker):
    capped = check_broker(*default_broker)
    shipped = check_broker(*durable_broker)
    assert capped.problems == [] and shipped.problems == []
    (warning,) = capped.warnings
    assert warning.startswith("the broker kept 1,000 of 2,000 messages for an absent session")
    assert shipped.ok, shipped.warnings


def _session_present(host, port, client_id):
    """Whether the broker still holds a session for ``client_id`` (then leave it as it was)."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    found = {}
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=paho.MQTTv5)  # fmt: skip
    client.on_connect = lambda _c, _u, flags, *_: found.setdefault("present", flags.session_present)
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = 3600  # keep it if it is there
    client.connect(host, port, keepalive=10, clean_start=False, properties=properties)
    client.loop_start()
    deadline = time.monotonic() + 10
    while "present" not in found and time.monotonic() < deadline:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    return found["present"]


def test_a_retired_ingester_hands_its_share_over_and_its_session_goes(
    tmp_path, postgres_url, durable_broker
):
    """Two sessions in a group, both away: each queues a share. Retiring one stores its share
    and ends its session; from then on the other takes everything; nothing is lost or twice."""
    host, port = durable_broker
    engine = _fresh(postgres_url)
    retired, staying = (f"test-retire-{k}-{uuid.uuid4().hex[:6]}" for k in range(2))
    for client_id in (retired, staying):
        open_session(host, port, client_id, share_group=GROUP)
    probe = f"test-probe-{uuid.uuid4().hex[:6]}"  # the probe tells a session from none
    assert _session_present(host, port, probe) is False
    assert _session_present(host, port, probe) is True  # the first call left one
    forget_session(host, port, probe)
    publisher = MqttPublisher(host, port, gateway=Gateway("GW-RETIRE"))
    first, then = 600, 400
    try:
        for m in range(first):
            _send(publisher, m)
        assert publisher.wait() == first  # both sessions hold a share, queued
        log = tmp_path / "retire.log"
        with log.open("wb") as sink:
            done = subprocess.run(
                [SHANCHENG, "lifelines", "ingest", "--client-id", retired, "--grace", "5",
                 "--retire"], env=_env(postgres_url, host, port), stdout=sink,
                stderr=subprocess.STDOUT, timeout=180, check=False,
            )  # fmt: skip
        text = log.read_text()
        assert done.returncode == 0, text[-2000:]
        share = int(re.search(r"([\d,]+) messages, [\d,]+ readings", text)[1].replace(",", ""))
        assert 0 < share < first, text[-2000:]  # it held a share of the first messages
        assert "retired" in text
        assert _session_present(host, port, retired) is False
        forget_session(host, port, retired)  # the probe above opened one: close it again
        for m in range(first, first + then):
            _send(publisher, m)
        assert publisher.wait() == then
        rest = _ingester(postgres_url, host, port, staying, idle_exit=4, log=tmp_path / "s.log",
                         grace=5)  # fmt: skip
        assert rest.wait(timeout=300) == 0, (tmp_path / "s.log").read_text()[-2000:]
        total, distinct = _stored(engine)
        assert total == distinct == (first + then) * PER_MESSAGE
        with engine.connect() as conn:
            (source,) = list_sources(conn)
            # the retired one stored its share while the other's waited past the grace period:
            # those holes went on record and closed when the rest arrived; none is open
            assert list_gaps(conn, state="open") == []
            assert all(g.missing == 0 for g in list_gaps(conn, state="all", limit=1000))
        assert (source["messages"], source["duplicates"]) == (first + then, 0)
    finally:
        publisher.close()
        for client_id in (retired, staying):
            forget_session(host, port, client_id)
        engine.dispose()
