"""The live streams across server processes, with the real clock, on PostgreSQL.

Two ``shancheng serve`` processes (one with two workers) share one PostgreSQL database, as a
city's servers behind a load balancer would. An operator streams from one; reports and sensor
readings are posted to the other; each case and each alarm must reach the operator within 2 s.
A time budget: `make test` runs these alone after the parallel run, as it does the dashboard's
first render, so that the other worker's browsers do not starve the three server processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.servers import StreamListener, free_port

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.budget]

PASSWORD = "correct horse battery"


def _serve(tmp_path, postgres_url, workers):
    port = free_port()
    env = {
        **os.environ,
        "SHANCHENG_DATA_DIR": str(tmp_path),
        "SHANCHENG_DATABASE_URL": postgres_url,
        "SHANCHENG_CASES_RATE_PER_MIN": "0",
        "SHANCHENG_QUIET": "1",
        "SHANCHENG_CASES_CLASSIFIER_WARMUP": "false",
    }
    command = [str(Path(sys.executable).with_name("shancheng")), "serve", "--port", str(port),
               "--workers", str(workers)]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=tmp_path), f"http://127.0.0.1:{port}"


def _started(httpx2, tmp_path, postgres_url, workers):
    """Start a server and wait for it; a new port when another process took the free one
    between the pick and the bind (parallel test workers), up to three times."""
    for attempt in range(3):
        process, base = _serve(tmp_path, postgres_url, workers=workers)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx2.get(f"{base}/health", timeout=2).status_code == 200:
                    return process, base
            except httpx2.TransportError:
                pass
            time.sleep(0.2)
        if process.poll() is None:
            process.kill()
            pytest.fail(f"{base} did not start")
        assert attempt < 2, f"the server exited with status {process.returncode} three times"
    raise AssertionError  # unreachable


@contextmanager
def _two_servers(tmp_path, postgres_url):
    """Yield the URLs of a streaming server (two workers) and another one, on one database."""
    import httpx2

    started = []
    try:
        for workers in (2, 1):
            # one at a time: a second that fails leaves the first in the list to stop
            started.append(_started(httpx2, tmp_path, postgres_url, workers))  # noqa: PERF401
        (_, base_a), (_, base_b) = started
        yield base_a, base_b
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def _setup(postgres_url, tmp_path, tables, user, role):
    """Write the demo city, empty ``tables``, add ``user`` with ``role``; return the City."""
    from shancheng.cases import accounts
    from shancheng.data.demo import DemoConfig, write_demo_city
    from shancheng.store import create_db_engine, session_factory

    city = write_demo_city(tmp_path / "demo", DemoConfig.small())
    engine = create_db_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"truncate {', '.join(tables)} restart identity cascade"))
    with session_factory(engine)() as s:
        accounts.create_user(s, user, PASSWORD, role=role, unit_code="990100")
    engine.dispose()
    return city


def _token(httpx2, base, user):
    answer = httpx2.post(f"{base}/auth/token", data={"username": user, "password": PASSWORD})
    return answer.json()["access_token"]


def test_reports_and_an_alarm_sent_to_one_server_reach_operators_on_another_within_2_s(
    postgres_url, tmp_path
):
    """Reports posted to one server reach a dispatcher streaming from the other; a reading
    posted there raises an alarm that reaches a supervisor streaming from the first."""
    import httpx2

    from shancheng.cases import accounts
    from shancheng.cases.permissions import Actor, Role
    from shancheng.geo.crs import utm_to_lonlat
    from shancheng.store import create_db_engine, session_factory

    tables = ["cases", "case_events", "case_attachments", "case_blobs", "case_users",
              "case_tokens", "case_api_keys", "lifelines_alarms", "lifelines_readings"]  # fmt: skip
    city = _setup(postgres_url, tmp_path, tables, "city-op", Role.DISPATCHER)
    engine = create_db_engine(postgres_url)
    with session_factory(engine)() as s:
        accounts.create_user(s, "watch", PASSWORD, role=Role.SUPERVISOR, unit_code="990100")
        gateway = accounts.create_api_key(s, "gateway", actor=Actor("t", Role.ADMIN, ""),
                                          at=datetime.now(UTC), scopes=("ingest",))  # fmt: skip
    engine.dispose()
    cells = city.grid_cells.cell_id.to_numpy()[::37][:6]
    lons, lats = utm_to_lonlat(*city.grid.cell_center(cells))
    sent: dict[str, float] = {}
    with _two_servers(tmp_path, postgres_url) as (base_a, base_b):
        cases = StreamListener(f"{base_a}/stream/cases", _token(httpx2, base_a, "city-op"),
                               "case", "reference", until=len(lons))  # fmt: skip
        alarms = StreamListener(f"{base_a}/stream/lifelines", _token(httpx2, base_a, "watch"),
                                "alarm", "sensor_id", until=1)  # fmt: skip
        time.sleep(1.5)  # the streams have taken stock of what is already there
        for lon, lat in zip(lons, lats, strict=True):
            answer = httpx2.post(f"{base_b}/cases", json={
                "category_code": "E0404", "lon": float(lon), "lat": float(lat)})  # fmt: skip
            assert answer.status_code == 201, answer.text
            sent[answer.json()["case"]["reference"]] = time.monotonic()
            time.sleep(0.3)
        cases.join()
        posted = time.monotonic()
        answer = httpx2.post(f"{base_b}/lifelines/readings", headers={"X-API-Key": gateway},
                             json={"sensor_id": "W00000", "time": datetime.now(UTC).isoformat(),
                                   "value": 20.0, "unit": "kPa"})  # far below: level 1 # fmt: skip
        answered = time.monotonic()
        assert answer.status_code == 200, answer.text
        assert answer.json()["alarms"], answer.text
        alarms.join()
    assert set(cases.arrived) == set(sent), "a report never reached the operator"
    delays = {ref: cases.arrived[ref] - sent[ref] for ref in sent}
    assert max(delays.values()) < 2.0, delays
    assert "W00000" in alarms.arrived, "the alarm never reached the operator on the other server"
    alarm = alarms.events["W00000"]
    assert (alarm["level"], alarm["unit"], alarm["value"]) == (1, "kPa", 20.0), alarm
    delay = alarms.arrived["W00000"] - posted
    assert delay < 2.0, f"{delay:.2f} s, of which the reading's POST {answered - posted:.2f} s"
