"""Fixtures of the dashboard API: the small demo city evaluated once, an app on SQLite."""

from __future__ import annotations

from datetime import datetime

import pytest

from shancheng.api.state import state_of
from shancheng.cases.calendar import CHINA_TZ
from shancheng.cases.center import Center
from shancheng.cases.permissions import Actor, Role
from shancheng.cases.routing import AdminIndex
from shancheng.cases.taxonomy import load_taxonomy
from shancheng.data.demo import DemoConfig, generate_demo_city
from shancheng.geo.crs import utm_to_lonlat

MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=CHINA_TZ)


@pytest.fixture(scope="session")
def small_city():
    return generate_demo_city(DemoConfig.small())


@pytest.fixture(scope="session")
def small_metro(small_city, tmp_path_factory):
    """The small demo city's metro feed, as ``write_demo_city`` writes it beside the City."""
    from shancheng.data.demo.metro import write_metro_feed
    from shancheng.data.demo.terrain import Terrain

    folder = tmp_path_factory.mktemp("small-metro")
    return write_metro_feed(small_city, Terrain.from_config(DemoConfig.small()), folder)


@pytest.fixture(scope="session")
def city_state(small_city, small_metro):
    from shancheng.indicators.citystate import build_city_state

    return build_city_state(small_city, gtfs=small_metro)


@pytest.fixture(scope="session")
def center(small_city):
    return Center(load_taxonomy(), AdminIndex.from_city(small_city))


def _lonlat(x, y):
    lon, lat = utm_to_lonlat([x], [y])
    return float(lon[0]), float(lat[0])


@pytest.fixture(scope="session")
def lonlat():
    """lonlat(x_utm, y_utm) -> (lon, lat)."""
    return _lonlat


class Dash:
    """A TestClient on the app with the small city, a settable clock, users and keys."""

    def __init__(self, app, clock):
        from fastapi.testclient import TestClient

        self.app, self.clock = app, clock
        self.client = TestClient(app)

    def user(self, username, role, unit, department=None):
        from shancheng.cases import accounts

        with state_of(self.app).sessions() as s:
            accounts.create_user(
                s,
                username,
                "correct horse battery",
                role=role,
                unit_code=unit,
                department=department,
            )
        r = self.client.post(
            "/auth/token", data={"username": username, "password": "correct horse battery"}
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def staff(self):
        """Headers of a city-level supervisor (the operators' routes are staff-only)."""
        if not hasattr(self, "_staff"):
            self._staff = self.user("operator", Role.SUPERVISOR, "990100")
        return self._staff

    def token(self, headers):
        return headers["Authorization"].split(" ", 1)[1]

    def api_key(self, name="sensors", scopes=("ingest",)):
        """A gateway's key (ingest); pass scopes=("report",) for a citizen app's."""
        from shancheng.cases import accounts

        with state_of(self.app).sessions() as s:
            return accounts.create_api_key(
                s, name, actor=Actor("root", Role.ADMIN, "990100"), at=self.clock[0], scopes=scopes
            )


@pytest.fixture
def make_dash(center, city_state, tmp_path):
    """make_dash(url=None, **settings) -> Dash on a fresh SQLite (or the given database)."""
    from shancheng.api.app import create_app
    from shancheng.api.deps import now
    from shancheng.config import Settings
    from shancheng.store import upgrade_database

    apps = []

    def make(url=None, **overrides):
        if url is None:
            url = f"sqlite:///{tmp_path / f'dash{len(apps)}.sqlite'}"
            upgrade_database(url)
        settings = Settings(
            database_url=url, data_dir=tmp_path, **{"cases_rate_per_min": 0, **overrides}
        )
        app = create_app(settings, center=center, city_state=city_state)
        clock = [MONDAY_9]
        app.dependency_overrides[now] = lambda: clock[0]
        apps.append(app)
        return Dash(app, clock)

    yield make
    for app in apps:
        state_of(app).engine.dispose()


@pytest.fixture
def dash(make_dash):
    return make_dash()
