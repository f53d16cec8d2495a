"""Read-only views of the cases for the dashboard: counts per unit, the live feed, public status.

Three questions the operations center asks of the cases tables, each answered by one query:
how many cases each admin unit has open, overdue and closed on time (:func:`unit_case_counts`);
which cases changed since the last look, within a user's scope (:class:`CaseFeed`, on the
``case_events`` ids, with a look back for transactions that commit out of id order); and where a
citizen's report
stands, without anyone's personal data (:func:`public_status`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa

from shancheng.cases.domain import CaseStatus
from shancheng.cases.permissions import Permission, Role, check
from shancheng.cases.repository import OPEN_STATUSES, overdue_clause
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


def unit_case_counts(
    session: Session, level: UnitLevel, *, at: datetime, city_code: str
) -> pd.DataFrame:
    """Count cases per admin unit of ``level`` (``city_code`` names the one city-level unit).

    Returns
    -------
    pandas.DataFrame
        ``code, cases_open, cases_overdue, closed_timed, closed_on_time``: open cases, open
        cases past their stage deadline at ``at`` (clock running), closed cases whose
        punctuality is known, and those of them closed on time.
    """
    import pandas as pd  # noqa: PLC0415 - keeps the module light for the API's import

    if level == "city":
        code: Any = sa.literal(city_code)
    else:
        code = _UNIT_COLUMN[level]
    is_open = CaseRow.status.in_(OPEN_STATUSES)
    overdue = overdue_clause(at)
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


@dataclass(slots=True)
class CaseFeed:
    """Where one client's feed of case changes stands.

    Event ids are handed out when an event is written, but transactions commit in their own
    order: with two server processes and batched intake, an event can become visible after
    one with a higher id was already delivered. The feed therefore looks back over the last
    ``lookback`` ids at every poll and delivers what it has not delivered yet, instead of
    only what lies above the newest id seen.
    """

    after_id: int
    lookback: int = 1000
    delivered: set[int] = field(default_factory=set)

    @classmethod
    def start(cls, session: Session, *, lookback: int = 1000) -> CaseFeed:
        """Return a feed of what happens from now on."""
        newest = int(session.execute(sa.select(sa.func.max(CaseEventRow.id))).scalar_one() or 0)
        window = sa.select(CaseEventRow.id).where(CaseEventRow.id > newest - lookback)
        return cls(newest, lookback, set(session.execute(window).scalars()))

    def poll(
        self, session: Session, *, actor: Actor, city_code: str, limit: int = 500
    ) -> list[CaseRow]:
        """Return the cases in ``actor``'s scope with an event not delivered yet.

        The scope is that of :func:`shancheng.cases.service.list_cases`: citizens see their
        own reports, handlers their department's cases, others their unit's. Each case comes
        once, in the order of its latest new event.
        """
        check(actor, Permission.VIEW)
        events = [
            (int(event_id), int(case_id))
            for event_id, case_id in session.execute(
                sa.select(CaseEventRow.id, CaseEventRow.case_id)
                .where(CaseEventRow.id > self.after_id - self.lookback)
                .order_by(CaseEventRow.id)
                .limit(limit + len(self.delivered))
            )
            if event_id not in self.delivered
        ][:limit]
        if not events:
            return []
        self.delivered.update(event_id for event_id, _ in events)
        self.after_id = max(self.after_id, events[-1][0])
        floor = self.after_id - self.lookback
        self.delivered = {i for i in self.delivered if i > floor}
        order = {case_id: event_id for event_id, case_id in events}
        return _in_scope(session, actor, order, city_code)


def _in_scope(
    session: Session, actor: Actor, order: dict[int, int], city_code: str
) -> list[CaseRow]:
    query = sa.select(CaseRow).where(CaseRow.id.in_(list(order)))
    if actor.role is Role.CITIZEN:
        query = query.where(CaseRow.reporter == actor.username)
    elif actor.unit_code != city_code:
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
    return sorted(session.execute(query).scalars(), key=lambda row: order[row.id])


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
