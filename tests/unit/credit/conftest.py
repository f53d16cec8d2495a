"""Fixtures of the enforcement tests: the cases pillar's city, center, sessions and API."""

import pytest
import sqlalchemy as sa
from tests.unit.cases.conftest import (  # noqa: F401 - fixtures re-used by name
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

CREDIT_TABLES = (
    "credit_repairs", "credit_decision_events", "credit_tier_changes", "credit_licences",
    "credit_entity_history", "credit_draw_picks", "credit_decisions", "credit_case_links",
    "credit_entities", "credit_draws",
)  # fmt: skip


@pytest.fixture
def session(make_session, center):  # noqa: F811 - the re-used fixtures
    s = make_session(center)
    if s.get_bind().dialect.name == "postgresql":
        s.execute(sa.text(f"truncate {', '.join(CREDIT_TABLES)} restart identity cascade"))
        s.commit()
    yield s
    s.close()


@pytest.fixture
def api(make_api):  # noqa: F811 - the re-used fixture
    """The app on the parametrised database, the credit tables emptied first (PostgreSQL)."""
    made = make_api()
    with made.session() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(sa.text(f"truncate {', '.join(CREDIT_TABLES)} restart identity cascade"))
            s.commit()
    return made


@pytest.fixture
def root():
    return Actor("root", Role.ADMIN, "990100")
