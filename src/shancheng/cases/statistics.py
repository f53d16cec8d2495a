"""Statistics use cases: evaluation (综合评价) and hotspots over a period, in the actor's scope.

Part of the pillar's public API beside :mod:`~shancheng.cases.service`: a session in, plain
tables out. The cases read are those in the actor's unit (all of them for the city level).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pandas as pd

from shancheng.cases import repository
from shancheng.cases.evaluation import GroupBy, evaluate
from shancheng.cases.hotspots import cell_counts, emerging_hotspots
from shancheng.cases.permissions import Actor, Permission, check, in_unit
from shancheng.cases.service import scope_of
from shancheng.errors import CaseInputError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.orm import Session

    from shancheng.cases.center import Center
    from shancheng.store.cases_tables import CaseRow

_COLUMNS = (
    "id",
    "category_code",
    "status",
    "department",
    "street_code",
    "district_code",
    "community_code",
    "closed_on_time",
    "reworks",
    "escalations",
    "deadline_at",
    "satisfaction",
    "cell_id",
    "reported_at",
)
MAX_DAYS = 366


def _cases(
    session: Session, center: Center, actor: Actor, *, at: datetime, days: int
) -> pd.DataFrame:
    check(actor, Permission.EVALUATE)
    if not 1 <= days <= MAX_DAYS:
        msg = f"`days` must be in 1..{MAX_DAYS}, got {days}"
        raise CaseInputError(msg, field="days")
    city = center.city_code
    until = at + timedelta(microseconds=1)  # include what arrived at `at` itself
    rows: list[CaseRow] = repository.cases_between(session, at - timedelta(days=days), until)
    return cases_frame([r for r in rows if in_unit(actor, scope_of(r, city))])


def cases_frame(rows: Sequence[CaseRow]) -> pd.DataFrame:
    """Return the columns evaluation and hotspots need, one row per case."""
    columns = list(_COLUMNS)
    return pd.DataFrame([{c: getattr(r, c) for c in columns} for r in rows], columns=columns)


def evaluation_table(
    session: Session,
    center: Center,
    *,
    actor: Actor,
    at: datetime,
    days: int = 30,
    by: GroupBy = "department",
) -> pd.DataFrame:
    """Return the evaluation of the last ``days`` days grouped ``by`` (merged duplicates out)."""
    frame = _cases(session, center, actor, at=at, days=days)
    return evaluate(frame[frame["status"] != "merged"], by=by, at=pd.Timestamp(at))


def hotspot_table(
    session: Session,
    center: Center,
    *,
    actor: Actor,
    at: datetime,
    days: int = 28,
    window: str = "1D",
) -> pd.DataFrame:
    """Return the cells of the latest window with their counts and the emerging flag."""
    if window not in {"1h", "6h", "1D", "7D"}:
        msg = f"`window` must be one of 1h, 6h, 1D, 7D, got {window!r}"
        raise CaseInputError(msg, field="window")
    frame = _cases(session, center, actor, at=at, days=days)
    return emerging_hotspots(cell_counts(frame, window=window))
