"""The live case stream across server processes, with the real clock, on PostgreSQL.

Two ``shancheng serve`` processes (one with two workers) share one PostgreSQL database, as a
city's servers behind a load balancer would. An operator streams ``/stream/cases`` from one;
reports are posted to the other; each must reach the operator within 2 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.servers import free_port

pytestmark = [pytest.mark.services, pytest.mark.slow]

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
    command = [
        str(Path(sys.executable).with_name("shancheng")),
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    return subprocess.Popen(command, env=env, cwd=tmp_path), f"http://127.0.0.1:{port}"


def _wait(httpx2, base, process):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            if httpx2.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{base} did not start")


def test_a_report_to_one_server_reaches_an_operator_on_another_within_2_s(postgres_url, tmp_path):
    import httpx2

    from shancheng.cases import accounts
    from shancheng.cases.permissions import Role
    from shancheng.data.demo import DemoConfig, write_demo_city
    from shancheng.geo.crs import utm_to_lonlat
    from shancheng.store import create_db_engine, session_factory

    city = write_demo_city(tmp_path / "demo", DemoConfig.small())
    engine = create_db_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "truncate cases, case_events, case_attachments, case_blobs, "
                "case_users, case_tokens restart identity cascade"
            )
        )
    with session_factory(engine)() as s:
        accounts.create_user(s, "city-op", PASSWORD, role=Role.DISPATCHER, unit_code="990100")
    engine.dispose()
    cells = city.grid_cells.cell_id.to_numpy()[::37][:6]
    lons, lats = utm_to_lonlat(*city.grid.cell_center(cells))
    streaming, base_a = _serve(tmp_path, postgres_url, workers=2)
    posting, base_b = _serve(tmp_path, postgres_url, workers=1)
    arrived: dict[str, float] = {}
    opened = threading.Event()
    try:
        _wait(httpx2, base_a, streaming)
        _wait(httpx2, base_b, posting)
        token = httpx2.post(
            f"{base_a}/auth/token", data={"username": "city-op", "password": PASSWORD}
        ).json()["access_token"]

        def listen():
            with (
                httpx2.Client(timeout=30) as client,
                client.stream("GET", f"{base_a}/stream/cases", params={"access_token": token}) as r,
            ):
                assert r.status_code == 200, r.read()
                event = None
                for line in r.iter_lines():
                    if line.startswith(": stream open"):
                        opened.set()
                    elif line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "case":
                        arrived.setdefault(json.loads(line[6:])["reference"], time.monotonic())
                        if len(arrived) >= len(lons):
                            return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert opened.wait(30), "the stream did not open"
        sent: dict[str, float] = {}
        for lon, lat in zip(lons, lats, strict=True):
            answer = httpx2.post(
                f"{base_b}/cases",
                json={"category_code": "E0404", "lon": float(lon), "lat": float(lat)},
            )
            assert answer.status_code == 201, answer.text
            sent[answer.json()["case"]["reference"]] = time.monotonic()
            time.sleep(0.3)
        listener.join(10)
    finally:
        for process in (streaming, posting):
            process.terminate()
        for process in (streaming, posting):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
    assert set(arrived) == set(sent), "a report never reached the operator"
    delays = {ref: arrived[ref] - sent[ref] for ref in sent}
    assert max(delays.values()) < 2.0, delays


def test_an_alarm_raised_by_one_server_reaches_an_operator_on_another_within_2_s(
    postgres_url, tmp_path
):
    import httpx2

    from shancheng.cases import accounts
    from shancheng.cases.permissions import Actor, Role
    from shancheng.data.demo import DemoConfig, write_demo_city
    from shancheng.store import create_db_engine, session_factory

    write_demo_city(tmp_path / "demo", DemoConfig.small())
    engine = create_db_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "truncate case_users, case_tokens, case_api_keys, lifelines_alarms, "
                "lifelines_readings restart identity cascade"
            )
        )
    with session_factory(engine)() as s:
        accounts.create_user(s, "watch", PASSWORD, role=Role.SUPERVISOR, unit_code="990100")
        gateway = accounts.create_api_key(
            s, "gateway", actor=Actor("t", Role.ADMIN, ""), at=datetime.now(UTC), scopes=("ingest",)
        )
    engine.dispose()
    streaming, base_a = _serve(tmp_path, postgres_url, workers=1)
    ingesting, base_b = _serve(tmp_path, postgres_url, workers=1)
    found: dict[str, float] = {}
    opened = threading.Event()
    try:
        _wait(httpx2, base_a, streaming)
        _wait(httpx2, base_b, ingesting)
        token = httpx2.post(
            f"{base_a}/auth/token", data={"username": "watch", "password": PASSWORD}
        ).json()["access_token"]

        def listen():
            with (
                httpx2.Client(timeout=30) as client,
                client.stream(
                    "GET", f"{base_a}/stream/lifelines", params={"access_token": token}
                ) as r,
            ):
                assert r.status_code == 200, r.read()
                event = None
                for line in r.iter_lines():
                    if line.startswith(": stream open"):
                        opened.set()
                    elif line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "alarm":
                        found.setdefault(json.loads(line[6:])["sensor_id"], time.monotonic())
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert opened.wait(30), "the stream did not open"
        time.sleep(1.5)  # the stream has taken stock of the alarms already there
        now = datetime.now(UTC)
        sent = time.monotonic()
        answer = httpx2.post(
            f"{base_b}/lifelines/readings",
            headers={"X-API-Key": gateway},
            json={"sensor_id": "W00000", "time": now.isoformat(), "value": 20.0, "unit": "kPa"},
        )  # far below: level 1
        assert answer.status_code == 200 and answer.json()["alarms"], answer.text
        listener.join(10)
    finally:
        for process in (streaming, ingesting):
            process.terminate()
        for process in (streaming, ingesting):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
    assert "W00000" in found, "the alarm never reached the operator on the other server"
    assert found["W00000"] - sent < 2.0
