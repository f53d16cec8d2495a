"""Fixtures of the cases pillar: the small demo city, its hierarchy, a center, sessions."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime

import pytest
import sqlalchemy as sa

from shancheng.api.state import state_of
from shancheng.cases.calendar import CHINA_TZ
from shancheng.cases.center import Center, CenterCache
from shancheng.cases.permissions import Actor, Role
from shancheng.cases.routing import AdminIndex
from shancheng.cases.taxonomy import load_taxonomy
from shancheng.data.demo import DemoConfig, generate_demo_city
from shancheng.geo.crs import utm_to_lonlat
from shancheng.store import create_db_engine, session_factory

CASE_TABLES = (
    "case_attachments",
    "case_events",
    "case_blobs",
    "case_tokens",
    "case_api_keys",
    "case_jurisdiction",
    "cases",
    "case_users",
    "case_stage_limits",
    "case_audit",
    "case_taxonomy",
    "case_login_failures",
)
# Monday 23 November 2026, 09:00 in Chongqing
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=CHINA_TZ)


@pytest.fixture(scope="session")
def small_city():
    return generate_demo_city(DemoConfig.small())


@pytest.fixture(scope="session")
def admin_index(small_city):
    return AdminIndex.from_city(small_city)


@pytest.fixture(scope="session")
def taxonomy():
    return load_taxonomy()


@pytest.fixture
def center(taxonomy, admin_index):
    return Center(taxonomy, admin_index)


@pytest.fixture
def point(admin_index):
    """point(street=..., district=..., skip=k, dx_m=...) -> lon, lat of a cell centre there."""

    def find(**kwargs):
        return _cell_point(admin_index, **kwargs)

    return find


def _cell_point(admin_index, *, street=None, district=None, skip=0, dx_m=0.0):
    found = 0
    for cell, (_community, s, d) in sorted(admin_index.cell_units.items()):
        if (street is None or s == street) and (district is None or d == district):
            if found == skip:
                x, y = admin_index.grid.cell_center([cell])
                lon, lat = utm_to_lonlat(x + dx_m, y)
                return float(lon[0]), float(lat[0])
            found += 1
    raise LookupError((street, district, skip))


@pytest.fixture
def streets(admin_index):
    """Sorted street codes; the first two lie in the first district, the third in another."""
    by_district: dict[str, list[str]] = {}
    for _c, s, d in admin_index.cell_units.values():
        by_district.setdefault(d, [])
        if s not in by_district[d]:
            by_district[d].append(s)
    districts = sorted(by_district)
    first = sorted(by_district[districts[0]])
    second = sorted(by_district[districts[1]])
    return [first[0], first[1], second[0]]


def _clean(engine):
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        conn.execute(sa.text(f"truncate {', '.join(CASE_TABLES)} restart identity cascade"))


def pixels(content):
    """The RGB pixels of an image's bytes (photos are stored re-encoded: compare pictures)."""
    import io

    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(content)) as image:
        return np.asarray(image.convert("RGB")).tolist()


def center_for(session):
    """The current center of a test session: its seed plus the database's tables, read now.

    What the application's :class:`CenterCache` gives, without the cache's delay, so a test
    that writes a configuration table sees it in the next call.
    """
    return session.info["centers"].current(session)


@pytest.fixture
def make_session(db_url):
    """Sessions on the parametrised database for a given seed center; tables emptied first.

    ``center_for(session)`` gives the center to pass to the service.
    """
    engines = []

    def make(center):
        engine = create_db_engine(db_url)
        engines.append(engine)
        if len(engines) == 1:
            _clean(engine)
        factory = session_factory(engine)
        session = factory()
        session.info["centers"] = CenterCache(center, ttl_s=0.0)
        return session

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def session(make_session, center):
    s = make_session(center)
    yield s
    s.close()


@pytest.fixture
def quiet_session(make_session, center):
    """A session whose center never links duplicates (for workflow tests on one spot)."""
    s = make_session(replace(center, duplicate_radius_m=0.0))
    yield s
    s.close()


@pytest.fixture
def admin():
    return Actor("root", Role.ADMIN, "990100")


@pytest.fixture
def monday_9():
    """Monday 23 November 2026, 09:00 in Chongqing."""
    return MONDAY_9


class Api:
    """A TestClient on the app, a settable clock, and helpers to make users and log in."""

    def __init__(self, app, clock):
        from fastapi.testclient import TestClient

        self.app, self.clock = app, clock
        # one event loop for all requests (and the app's start-up and shutdown), as in a server
        self.client = TestClient(app)
        self.client.__enter__()

    def close(self):
        self.client.__exit__(None, None, None)

    def session(self):
        return state_of(self.app).sessions()

    def user(self, username, role, unit, department=None):
        from shancheng.cases import accounts

        with self.session() as s:
            accounts.create_user(
                s,
                username,
                "correct horse battery",
                role=role,
                unit_code=unit,
                department=department,
            )
        response = self.client.post(
            "/auth/token", data={"username": username, "password": "correct horse battery"}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def api_key(self, name="app"):
        from shancheng.cases import accounts

        with self.session() as s:
            return accounts.create_api_key(
                s, name, actor=Actor("root", Role.ADMIN, "990100"), at=self.clock[0]
            )

    def count(self, table="cases"):
        with self.session() as s:
            return s.execute(sa.text(f"select count(*) from {table}")).scalar_one()


@pytest.fixture
def make_api(db_url, center, make_session, monday_9):
    """make_api(**settings) -> Api on the parametrised database with a frozen clock."""
    from shancheng.api.app import create_app
    from shancheng.api.deps import now
    from shancheng.config import Settings

    make_session(center).close()  # empties the PostgreSQL tables
    apps = []

    def make(**overrides):
        settings = Settings(database_url=db_url, **{"cases_rate_per_min": 0, **overrides})
        app = create_app(settings, center=center)
        clock = [monday_9]
        app.dependency_overrides[now] = lambda: clock[0]
        apps.append(Api(app, clock))
        return apps[-1]

    yield make
    for api in apps:
        api.close()
        state_of(api.app).engine.dispose()


@pytest.fixture
def api(make_api):
    return make_api()


REDIS_URL = os.environ.get("SHANCHENG_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url():
    """The Redis for shared rate limits; skipped when absent outside CI, a failure under CI."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is required under CI=true: {exc}")
        pytest.skip(f"Redis unavailable at {REDIS_URL}: {exc}")
    finally:
        client.close()
    return REDIS_URL


def run_loop(coroutine):
    """``asyncio.run`` in a thread of its own.

    Playwright's sync API (the e2e tests' session-wide fixture) keeps an event loop running in
    the main thread of its xdist worker; ``asyncio.run`` there fails in a test that runs after.
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
