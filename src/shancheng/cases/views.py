"""Read-only views of the cases for the dashboard: counts per unit, the live feed, public status.

Three questions the operations center asks of the cases tables, each answered by one query:
how many cases each admin unit has open, overdue and closed on time (:func:`unit_case_counts`);
which cases changed since the last look, within a user's scope (:func:`changes_after`, the
``case_events`` id is the watermark: ids only grow, unlike clocks); and where a citizen's report
stands, without anyone's personal data (:func:`public_status`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from shancheng.cases.center import center_of
from shancheng.cases.domain import CaseStatus
from shancheng.cases.permissions import Permission, Role, check
from shancheng.cases.repository import OPEN_STATUSES
from shancheng.errors import CaseNotFoundError
from shancheng.store.cases_tables import CaseEventRow, CaseRow

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd
    from sqlalchemy.orm import Session

    from shancheng.cases.permissions import Actor

UnitLevel = Literal["city", "district", "street", "community"]
_UNIT_COLUMN = {
    "district": CaseRow.district_code,
    "street": CaseRow.street_code,
    "community": CaseRow.community_code,
}


def unit_case_counts(session: Session, level: UnitLevel, *, at: datetime) -> pd.DataFrame:
    """Count cases per admin unit of ``level``.

    Returns
    -------
    pandas.DataFrame
        ``code, cases_open, cases_overdue, closed_timed, closed_on_time``: open cases, open
        cases past their stage deadline at ``at`` (clock running), closed cases whose
        punctuality is known, and those of them closed on time.
    """
    import pandas as pd  # noqa: PLC0415 - keeps the module light for the API's import

    if level == "city":
        code: Any = sa.literal(center_of(session).admin.city_code)
    else:
        code = _UNIT_COLUMN[level]
    is_open = CaseRow.status.in_(OPEN_STATUSES)
    overdue = sa.and_(
        is_open,
        CaseRow.deadline_at.is_not(None),
        CaseRow.deadline_at < at,
        CaseRow.suspended_since.is_(None),
    )
    timed = CaseRow.closed_on_time.is_not(None)
    on_time = CaseRow.closed_on_time.is_(True)
    query = sa.select(
        code.label("code"),
        sa.func.sum(sa.case((is_open, 1), else_=0)),
        sa.func.sum(sa.case((overdue, 1), else_=0)),
        sa.func.sum(sa.case((timed, 1), else_=0)),
        sa.func.sum(sa.case((on_time, 1), else_=0)),
    ).group_by(code)
    rows = [tuple(r) for r in session.execute(query).all()]
    columns = ["code", "cases_open", "cases_overdue", "closed_timed", "closed_on_time"]
    frame = pd.DataFrame(rows, columns=columns)
    frame[columns[1:]] = frame[columns[1:]].fillna(0).astype("int64")
    frame["code"] = frame["code"].astype(str)
    return frame


def last_event_id(session: Session) -> int:
    """Return the newest ``case_events`` id (0 when there is none): where a feed starts."""
    return int(session.execute(sa.select(sa.func.max(CaseEventRow.id))).scalar_one() or 0)


def changes_after(
    session: Session, after_id: int, *, actor: Actor, limit: int = 500
) -> tuple[int, list[CaseRow]]:
    """Return the cases in ``actor``'s scope with an event newer than ``after_id``.

    The scope is that of :func:`shancheng.cases.service.list_cases`: citizens see their own
    reports, handlers their department's cases, others their unit's.

    Returns
    -------
    tuple
        The newest event id seen (the next call's ``after_id``) and the changed cases, each
        once, in the order of their latest event.
    """
    center = center_of(session)
    check(actor, Permission.VIEW)
    events = session.execute(
        sa.select(CaseEventRow.id, CaseEventRow.case_id)
        .where(CaseEventRow.id > after_id)
        .order_by(CaseEventRow.id)
        .limit(limit)
    ).all()
    if not events:
        return after_id, []
    order = {int(case_id): int(event_id) for event_id, case_id in events}
    query = sa.select(CaseRow).where(CaseRow.id.in_(list(order)))
    if actor.role is Role.CITIZEN:
        query = query.where(CaseRow.reporter == actor.username)
    elif actor.unit_code != center.admin.city_code:
        unit = actor.unit_code
        query = query.where(
            sa.or_(
                CaseRow.street_code == unit,
                CaseRow.district_code == unit,
                CaseRow.community_code == unit,
            )
        )
    if actor.role is Role.HANDLER:
        query = query.where(CaseRow.department == actor.department)
    rows = sorted(session.execute(query).scalars(), key=lambda row: order[row.id])
    return int(events[-1][0]), rows


@dataclass(frozen=True, slots=True)
class PublicStatus:
    """What anyone holding a case's reference may know: no names, no text, no place."""

    reference: str
    category_code: str
    stage: CaseStatus
    timeline: list[tuple[CaseStatus, datetime]]


def public_status(session: Session, reference: str) -> PublicStatus:
    """Return the stage and the stage changes of the case with this public reference.

    Raises
    ------
    CaseNotFoundError
        No case has that reference.
    """
    row = session.execute(
        sa.select(CaseRow).where(CaseRow.reference == reference.strip().upper()[:32])
    ).scalar_one_or_none()
    if row is None:
        msg = f"no case with reference {reference[:32]!r}"
        raise CaseNotFoundError(msg)
    events = session.execute(
        sa.select(CaseEventRow.from_status, CaseEventRow.to_status, CaseEventRow.at)
        .where(CaseEventRow.case_id == row.id)
        .order_by(CaseEventRow.seq)
    ).all()
    timeline = [
        (CaseStatus(to_status), at)
        for index, (from_status, to_status, at) in enumerate(events)
        if index == 0 or from_status != to_status
    ]
    return PublicStatus(str(row.reference), row.category_code, CaseStatus(row.status), timeline)
