"""Fixtures of the participation tests: the cases pillar's city and center, sessions, actors."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.unit.cases.conftest import (  # noqa: F401 - fixtures re-used by name
    CASE_TABLES,
    admin_index,
    center,
    make_api,
    make_session,
    monday_9,
    point,
    small_city,
    streets,
    taxonomy,
)

from shancheng.cases.permissions import Actor, Role
from shancheng.ideas import service
from shancheng.ideas.phases import Phases
from shancheng.store import create_db_engine, session_factory

IDEAS_TABLES = (
    "ideas_supports", "ideas_support_log", "ideas_quotas", "ideas_counts", "ideas_photos", "ideas_flags",
    "ideas_events", "ideas_deadlines", "ideas", "ideas_residents", "ideas_campaigns",
)  # fmt: skip
STREET = "990101001"
DISTRICT = "990101"
CITY = "990100"


def empty_tables(engine):
    """Empty the ideas and cases tables of a PostgreSQL database shared by the session."""
    if engine.dialect.name != "postgresql":
        return
    tables = ", ".join((*IDEAS_TABLES, *CASE_TABLES))
    with engine.begin() as conn:
        conn.execute(sa.text(f"truncate {tables} restart identity cascade"))


@pytest.fixture
def engine(db_url):
    made = create_db_engine(db_url)
    empty_tables(made)
    yield made
    made.dispose()


@pytest.fixture
def sessions(engine):
    return session_factory(engine)


@pytest.fixture
def session(sessions):
    s = sessions()
    yield s
    s.close()


@pytest.fixture
def supervisor():
    return Actor("official", Role.SUPERVISOR, DISTRICT)


@pytest.fixture
def dispatcher():
    return Actor("dispatcher", Role.DISPATCHER, STREET)


@pytest.fixture
def moderator():
    return Actor("moderator", Role.INSPECTOR, STREET)


def resident(name):
    return Actor(name, Role.CITIZEN, "")


def phases_from(start, *, collect_days=10, support_from_day=0, support_days=20):
    """Phases starting at ``start``: collecting, supporting (may overlap), review, results."""
    d = timedelta(days=1)
    s_start = start + support_from_day * d
    s_end = s_start + support_days * d
    return Phases(
        (start, start + collect_days * d), (s_start, s_end), (s_end, s_end + 10 * d),
        (s_end + 10 * d, s_end + 40 * d),
    )  # fmt: skip


@pytest.fixture
def make_campaign(session, center, supervisor, monday_9):  # noqa: F811 - the re-used fixtures
    """make_campaign(**overrides) -> CampaignRow opened at Monday 09:00, covering the district."""

    def make(**overrides):
        spec = {
            "title": "金点子：老旧小区怎么改",
            "topic": "城市更新",
            "unit_codes": (DISTRICT,),
            "categories": ("环境", "交通", "设施"),
            "phases": phases_from(monday_9),
            "threshold_supports": 5,
            "answer_working_days": 10,
            **overrides,
        }
        return service.create_campaign(
            session, center, service.CampaignIn(**spec), actor=supervisor, at=monday_9
        )

    return make
