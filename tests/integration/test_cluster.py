"""The scaled-out recipe (deploy/cluster/run.py), started as a user would and driven end to end.

Two API servers behind HAProxy, two ingesters on one shared subscription, a broker with the
shipped settings, one PostgreSQL, Redis: a report posted to one API server reaches an operator
streaming from the other; readings sent through the two ingesters are stored exactly once, each
ingester doing a share; the proxy spreads requests over both servers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.servers import StreamListener, free_port

pytestmark = [pytest.mark.services, pytest.mark.slow]

ROOT = Path(__file__).parents[2]
PASSWORD = "correct horse battery"
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BASE_MS = 1_790_000_000_000


@pytest.fixture
def cluster_database():
    """A database of its own for the cluster (the recipe migrates it)."""
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"shancheng_cluster_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'create database "{name}"'))
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true: {exc}")
        pytest.skip(f"PostgreSQL is not running: {exc}")
    yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
    admin.dispose()


def _redis_or_fail():
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0").ping()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required under CI=true: {exc}")
        pytest.skip(f"Redis is not running: {exc}")


def test_the_cluster_recipe_serves_streams_and_ingests_once(tmp_path, cluster_database):
    import httpx2

    from shancheng.cases import accounts
    from shancheng.cases.permissions import Role
    from shancheng.data.demo import DemoConfig, write_demo_city
    from shancheng.geo.crs import utm_to_lonlat
    from shancheng.lifelines.gateway import Gateway
    from shancheng.lifelines.mqtt import MqttPublisher, parse_mqtt_url
    from shancheng.lifelines.sensors import sensors_from_city
    from shancheng.store import create_db_engine, session_factory, upgrade_database

    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("haproxy is required under CI=true (make setup installs it)")
        pytest.skip("haproxy is not installed (make setup installs it)")
    _redis_or_fail()
    city = write_demo_city(tmp_path / "demo", DemoConfig.small())
    upgrade_database(cluster_database)
    engine = create_db_engine(cluster_database)
    with session_factory(engine)() as session:
        accounts.create_user(session, "city-op", PASSWORD, role=Role.DISPATCHER, unit_code="990100")
        session.commit()
    state_file = tmp_path / "cluster.json"
    recipe_log = tmp_path / "recipe.log"
    with recipe_log.open("wb") as sink:
        recipe = subprocess.Popen(
            [sys.executable, str(ROOT / "deploy" / "cluster" / "run.py"), "--data-dir", str(tmp_path),
         "--database-url", cluster_database, "--proxy-port", str(free_port()),
         "--state", str(state_file), "--logs", str(tmp_path / "logs")],
        stdout=sink, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not state_file.exists():
            if recipe.poll() is not None:
                pytest.fail(f"the recipe exited: {recipe_log.read_text()[-2000:]}")
            assert time.monotonic() < deadline, "the cluster did not come up within 300 s"
            time.sleep(0.5)
        state = json.loads(state_file.read_text())
        proxy, (api1, api2) = state["proxy"], state["apis"]

        # the proxy spreads requests over both servers
        served_by = {httpx2.get(f"{proxy}/health").headers["X-Shancheng-Server"] for _ in range(6)}
        assert served_by == {"api1", "api2"}

        # a report posted to one server reaches an operator streaming from the other
        token = httpx2.post(
            f"{api2}/auth/token", data={"username": "city-op", "password": PASSWORD}
        ).json()["access_token"]
        cells = city.grid_cells.cell_id.to_numpy()[::41][:3]
        lons, lats = utm_to_lonlat(*city.grid.cell_center(cells))
        listener = StreamListener(
            f"{api2}/stream/cases", token, "case", "reference", until=len(lons)
        )
        sent = {}
        for lon, lat in zip(lons, lats, strict=True):
            answer = httpx2.post(
                f"{api1}/cases",
                json={"category_code": "E0404", "lon": float(lon), "lat": float(lat)},
            )
            assert answer.status_code == 201, answer.text
            sent[answer.json()["case"]["reference"]] = time.monotonic()
        listener.join()
        assert set(listener.arrived) == set(sent), "a report never reached the other server"
        assert max(listener.arrived[r] - sent[r] for r in sent) < 3.0

        # readings through the two ingesters, stored exactly once
        sensors = [s for s in sensors_from_city(city).values() if s.unit == "kPa"][:10]
        logs = [Path(state["logs"]) / f"ingester{n}.log" for n in (1, 2)]
        deadline = time.monotonic() + 120
        while not all("subscribed to" in log.read_text() for log in logs):
            assert time.monotonic() < deadline, "the ingesters did not subscribe"
            time.sleep(0.2)
        host, port = parse_mqtt_url(state["mqtt"])
        publisher = MqttPublisher(host, port, gateway=Gateway("GW-CLUSTER"))
        n_messages, per_message = 400, 5
        mid = (sensors[0].range_min + sensors[0].range_max) / 2
        for m in range(n_messages):
            sensor = sensors[m % len(sensors)]
            t0 = BASE_MS + (m // len(sensors)) * per_message * 60_000
            publisher.publish(
                sensor, [t0 + k * 60_000 for k in range(per_message)], [mid] * per_message
            )
        assert publisher.wait() == n_messages
        publisher.close()
        expected = n_messages * per_message
        deadline = time.monotonic() + 120
        while True:
            with engine.connect() as conn:
                stored = conn.execute(sa.text("select count(*) from lifelines_readings")).scalar()
            if stored >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        with engine.connect() as conn:
            distinct = conn.execute(
                sa.text(
                    "select count(distinct (sensor_id, observed_at_ms)) from lifelines_readings"
                )
            ).scalar()
        assert stored == distinct == expected
        with session_factory(engine)() as session:
            accounts.create_user(session, "sup", PASSWORD, role=Role.SUPERVISOR, unit_code="990100")
            session.commit()
        sup = httpx2.post(f"{proxy}/auth/token", data={"username": "sup", "password": PASSWORD})
        staff = {"Authorization": f"Bearer {sup.json()['access_token']}"}
        (source,) = httpx2.get(f"{proxy}/lifelines/telemetry/sources", headers=staff).json()
        assert (source["messages"], source["duplicates"], source["open_gaps"]) == (n_messages, 0, 0)
        time.sleep(1.5)  # the ingesters' batch logs are written as they commit
        recipe.send_signal(signal.SIGTERM)  # the ingesters print their totals as they stop
        recipe.wait(timeout=60)
        shares = []
        for log in logs:
            text = log.read_text()
            totals = [
                line for line in text.splitlines() if " messages, " in line and "stored" in line
            ]
            assert totals, text[-2000:]
            shares.append(int(totals[-1].split(" messages,")[0].split()[-1].replace(",", "")))
        assert sum(shares) == n_messages and min(shares) > 0, shares
    finally:
        if recipe.poll() is None:
            recipe.send_signal(signal.SIGTERM)
            try:
                recipe.wait(timeout=60)
            except subprocess.TimeoutExpired:
                recipe.kill()
        engine.dispose()
