"""Shared fixtures: small hand-made networks with known answers, and the shared data folder."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
import pytest
from tests.shared import shared_or_skip

from shancheng.network.speed import EdgeKind, WalkSpeeds
from shancheng.network.walk import WalkNetwork, build_walk_network

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(autouse=True)
def _reset_shancheng_logging() -> Iterator[None]:
    """Undo the handlers a CLI entry point installs, so no test sees another's log set-up."""
    import logging

    logger = logging.getLogger("shancheng")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[None]:
    """Hash the tests' passwords with argon2's cheapest parameters, in this process.

    A user made by a test cost two full argon2 hashes (~0.2 s each: the hash, then the login's
    verify), a third of a typical API test's set-up. A hash carries its own parameters, so
    servers started by the tests verify these cheaply too; what the product hashes with is
    unchanged (and ``accounts``' dummy hash for unknown users keeps the full cost).
    """
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from shancheng.cases import accounts

    saved = accounts._HASHER
    accounts._HASHER = PasswordHasher.from_parameters(CHEAPEST)
    yield
    accounts._HASHER = saved


@pytest.fixture
def shared_data() -> Path:
    """The ../shared/data folder; skipped with a reason when absent, a failure under CI."""
    return shared_or_skip()


@pytest.fixture
def one_m_s() -> WalkSpeeds:
    """A walker at exactly 1 m/s on the flat, so times equal metres."""
    return WalkSpeeds(flat_speed_km_h=3.6)


@pytest.fixture
def hill_path(one_m_s: WalkSpeeds) -> WalkNetwork:
    """0 —100 m street, climbs 10 m— 1 —20 m of steps, climbs 10 m— 2; all two-way."""
    return build_walk_network(
        [0.0, 100.0, 120.0],
        [0.0, 0.0, 0.0],
        [0.0, 10.0, 20.0],
        [0, 1],
        [1, 2],
        [100.0, 20.0],
        [EdgeKind.STREET, EdgeKind.STEPS],
        speeds=one_m_s,
    )


def arcs_network(n_nodes: int, arcs: list[tuple[int, int, float]]) -> WalkNetwork:
    """A network of one-way arcs with the given times (speed model bypassed)."""
    tail = np.array([a[0] for a in arcs], dtype=np.int64)
    head = np.array([a[1] for a in arcs], dtype=np.int64)
    time = np.array([a[2] for a in arcs], dtype=np.float64)
    return build_walk_network(
        np.arange(n_nodes, dtype=np.float64),
        np.zeros(n_nodes),
        None,
        tail,
        head,
        np.ones(len(arcs)),
        np.zeros(len(arcs), dtype=np.int64),
        oneway=np.ones(len(arcs), dtype=bool),
        fixed_time_s=time,
    )


# --- services: PostgreSQL and Mosquitto ------------------------------------------------------

POSTGRES_ADMIN_URL = os.environ.get(
    "SHANCHENG_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
# Ingester processes the tests start join a shared subscription group of this test process
# only: on the machine's one broker, another run's (or a stale session's) ingesters in the
# default group would otherwise take a share of this run's messages.
os.environ.setdefault("SHANCHENG_MQTT_SHARE_GROUP", f"test-{os.getpid()}")


def _service_missing(what: str, why: str) -> None:
    """Fail under CI=true (a missing service is a broken CI), skip with the reason otherwise."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required under CI=true but unavailable: {why}")
    pytest.skip(f"{what} unavailable: {why}")


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this test worker, migrated to the newest schema.

    Dropped at the end of the session. Tests that write should use ``pg_session`` (rolled back)
    or clean up after themselves.
    """
    import sqlalchemy as sa

    from shancheng.store import upgrade_database

    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        _service_missing(f"PostgreSQL at {POSTGRES_ADMIN_URL}", str(exc).splitlines()[0])
    name = f"shancheng_test_{worker_id}_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'drop database if exists "{name}"'))
        conn.execute(sa.text(f'create database "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade_database(url)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'drop database if exists "{name}" with (force)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to the newest schema once per test worker: the template."""
    from shancheng.store import upgrade_database

    path = tmp_path_factory.mktemp("sqlite-template") / "shancheng.sqlite"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, _sqlite_migrated: Path) -> str:
    """A migrated SQLite database file in a temporary folder (the embedded default).

    A copy of the worker's migrated template (SQLite's backup API: the file as committed),
    rather than the migrations run again for every test.
    """
    import sqlite3

    path = tmp_path / "shancheng.sqlite"
    with sqlite3.connect(_sqlite_migrated) as source, sqlite3.connect(path) as target:
        source.backup(target)
    source.close()
    target.close()
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using it runs twice: on the embedded SQLite and on the real PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def mqtt_broker() -> tuple[str, int]:
    """Host and port of the Mosquitto broker; skipped (failed under CI) when it is down."""
    import socket

    try:
        with socket.create_connection((MQTT_HOST, MQTT_PORT), timeout=2):
            pass
    except OSError as exc:
        _service_missing(f"Mosquitto at {MQTT_HOST}:{MQTT_PORT}", str(exc))
    return MQTT_HOST, MQTT_PORT
