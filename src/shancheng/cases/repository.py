"""SQLAlchemy queries for cases, and nothing else: the service decides, this reads and writes.

Every function takes an open session and leaves committing to the caller (the service).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shancheng.errors import CaseNotFoundError
from shancheng.store.cases_tables import (
    CaseAttachmentRow,
    CaseBlobRow,
    CaseEventRow,
    CaseRow,
    JurisdictionRuleRow,
    StageLimitRow,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from shancheng.cases.domain import CaseEvent

OPEN_STATUSES = (
    "reported",
    "registered",
    "dispatched",
    "in_progress",
    "responded",
    "verified",
)


def get_case(session: Session, case_id: int, *, lock: bool = False) -> CaseRow:
    """Return the case row, locked for update when ``lock`` (PostgreSQL; SQLite locks the file).

    Raises
    ------
    CaseNotFoundError
        No case has this id.
    """
    query = sa.select(CaseRow).where(CaseRow.id == case_id)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        msg = f"no case with id {case_id}"
        raise CaseNotFoundError(msg)
    return row


_BY_REFERENCE = sa.select(CaseRow).where(CaseRow.reference == sa.bindparam("reference"))


def find_by_reference(session: Session, reference: str) -> CaseRow | None:
    """Return the case with this public reference, if any."""
    return session.execute(_BY_REFERENCE, {"reference": reference}).scalar_one_or_none()


def find_by_alarm(session: Session, alarm_id: str) -> CaseRow | None:
    """Return the case opened for this lifeline alarm, if any."""
    return session.execute(
        sa.select(CaseRow).where(CaseRow.alarm_id == alarm_id)
    ).scalar_one_or_none()


def append_event(
    session: Session, case_id: int, event: CaseEvent, *, seq: int | None = None
) -> CaseEventRow:
    """Append ``event`` to the history of case ``case_id``.

    ``seq`` is the event's number in the history; by default the next one (one more query).
    The unique (case_id, seq) constraint refuses two writers giving the same number.
    """
    if seq is None:
        last = session.execute(
            sa.select(sa.func.max(CaseEventRow.seq)).where(CaseEventRow.case_id == case_id)
        ).scalar_one()
        seq = (last or 0) + 1
    row = CaseEventRow(
        case_id=case_id,
        seq=seq,
        action=event.action.value,
        from_status=event.from_status.value,
        to_status=event.to_status.value,
        actor=event.actor,
        at=event.at,
        note=event.note,
        data=jsonable(event.data),
    )
    session.add(row)
    return row


def jsonable(data: dict[str, Any]) -> dict[str, Any]:
    """Return event data as stored in JSON: datetimes as ISO 8601 text."""
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in data.items()
    }


def events_of(session: Session, case_id: int) -> list[CaseEventRow]:
    """Return the history of a case, oldest first."""
    return list(
        session.execute(
            sa.select(CaseEventRow)
            .where(CaseEventRow.case_id == case_id)
            .order_by(CaseEventRow.seq)
        ).scalars()
    )


def put_blob(session: Session, content: bytes, content_type: str, *, at: datetime) -> str:
    """Store ``content`` under its sha256 (once, however often it is sent); return the hash."""
    digest = hashlib.sha256(content).hexdigest()
    if session.get(CaseBlobRow, digest) is None:
        session.add(
            CaseBlobRow(
                sha256=digest,
                content_type=content_type,
                size_bytes=len(content),
                content=content,
                created_at=at,
            )
        )
        session.flush()
    return digest


def get_blob(session: Session, sha256: str) -> CaseBlobRow:
    """Return a stored blob by hash.

    Raises
    ------
    CaseNotFoundError
        No blob has this hash.
    """
    row = session.get(CaseBlobRow, sha256)
    if row is None:
        msg = f"no stored file with sha256 {sha256!r}"
        raise CaseNotFoundError(msg)
    return row


def attach(
    session: Session,
    case_id: int,
    *,
    at: datetime,
    event_seq: int | None = None,
    blob_sha256: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Attach a stored blob (a photo) or a structured record to a case.

    A record ``{"media_url": url}`` is a photo the client hosts (kind ``photo_url``).
    """
    kind = "photo" if blob_sha256 else "photo_url" if data and "media_url" in data else "data"
    session.add(
        CaseAttachmentRow(
            case_id=case_id,
            event_seq=event_seq,
            kind=kind,
            blob_sha256=blob_sha256,
            data=data,
            created_at=at,
        )
    )


def attachments_of(session: Session, case_id: int) -> list[CaseAttachmentRow]:
    """Return the attachments of a case, oldest first."""
    return list(
        session.execute(
            sa.select(CaseAttachmentRow)
            .where(CaseAttachmentRow.case_id == case_id)
            .order_by(CaseAttachmentRow.id)
        ).scalars()
    )


@dataclass(frozen=True, slots=True)
class Nearby:
    """An open case found near a new report: what linking to it needs."""

    id: int
    reference: str
    x_utm: float
    y_utm: float


# Built once: every report runs it, and building the expression costs more than running it.
_X = sa.bindparam("x", type_=sa.Float)
_Y = sa.bindparam("y", type_=sa.Float)
_R = sa.bindparam("r", type_=sa.Float)
_D2 = (CaseRow.x_utm - _X) * (CaseRow.x_utm - _X) + (CaseRow.y_utm - _Y) * (CaseRow.y_utm - _Y)
_DUPLICATE = (
    sa.select(CaseRow.id, CaseRow.reference, CaseRow.x_utm, CaseRow.y_utm)
    .where(
        CaseRow.category_code == sa.bindparam("category"),
        CaseRow.x_utm.between(_X - _R, _X + _R),
        CaseRow.y_utm.between(_Y - _R, _Y + _R),
        CaseRow.status.in_(OPEN_STATUSES),
        CaseRow.reported_at >= sa.bindparam("since", type_=CaseRow.reported_at.type),
        CaseRow.id != sa.bindparam("exclude"),
        _D2 <= _R * _R,
    )
    .order_by(_D2, CaseRow.id)
    .limit(1)
)


def find_duplicate(
    session: Session,
    *,
    category_code: str,
    x_utm: float,
    y_utm: float,
    radius_m: float,
    since: datetime,
    exclude_id: int | None = None,
) -> Nearby | None:
    """Return the nearest open case of the category within ``radius_m`` reported since ``since``.

    Merged cases are never returned (a duplicate links to the case it was merged into). One
    query on the ``(category_code, x_utm, y_utm)`` index, reading four columns; ties in
    distance go to the oldest case.
    """
    found = session.execute(
        _DUPLICATE,
        {
            "category": category_code,
            "x": float(x_utm),
            "y": float(y_utm),
            "r": float(radius_m),
            "since": since,
            "exclude": exclude_id if exclude_id is not None else -1,
        },
    ).first()
    if found is None:
        return None
    return Nearby(found.id, str(found.reference), found.x_utm, found.y_utm)


def count_duplicate(session: Session, case_id: int) -> None:
    """Add one to the duplicates of case ``case_id`` in one UPDATE (and bump its version).

    Atomic in the database, so concurrent duplicates of one case all count; bumping the
    version makes a request holding the case from before fail its own write as a conflict.
    """
    session.execute(
        sa.update(CaseRow)
        .where(CaseRow.id == case_id)
        .values(duplicates=CaseRow.duplicates + 1, version=CaseRow.version + 1)
        .execution_options(synchronize_session="fetch")
    )


def jurisdiction_rules(session: Session) -> list[JurisdictionRuleRow]:
    """Return the jurisdiction table in insertion order."""
    return list(
        session.execute(sa.select(JurisdictionRuleRow).order_by(JurisdictionRuleRow.id)).scalars()
    )


def stage_limit_rows(session: Session) -> list[StageLimitRow]:
    """Return the per-district stage limits in insertion order."""
    return list(session.execute(sa.select(StageLimitRow).order_by(StageLimitRow.id)).scalars())


def list_cases(
    session: Session,
    *,
    ids: Sequence[int] | None = None,
    categories: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    unit_code: str | None = None,
    department: str | None = None,
    reporter: str | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> list[CaseRow]:
    """Return cases matching every given filter, newest first."""
    query = sa.select(CaseRow)
    if ids is not None:
        query = query.where(CaseRow.id.in_(list(ids)))
    if categories:
        query = query.where(CaseRow.category_code.in_(list(categories)))
    if statuses:
        query = query.where(CaseRow.status.in_(list(statuses)))
    if start is not None:
        query = query.where(CaseRow.reported_at >= start)
    if end is not None:
        query = query.where(CaseRow.reported_at <= end)
    if unit_code is not None:
        query = query.where(
            sa.or_(
                CaseRow.street_code == unit_code,
                CaseRow.district_code == unit_code,
                CaseRow.community_code == unit_code,
            )
        )
    if department is not None:
        query = query.where(CaseRow.department == department)
    if reporter is not None:
        query = query.where(CaseRow.reporter == reporter)
    query = query.order_by(CaseRow.reported_at.desc(), CaseRow.id.desc())
    return list(session.execute(query.limit(limit).offset(offset)).scalars())


def overdue_cases(session: Session, at: datetime) -> list[CaseRow]:
    """Return open, running-clock cases whose stage deadline has passed by ``at``."""
    return list(
        session.execute(
            sa.select(CaseRow)
            .where(
                CaseRow.status.in_(OPEN_STATUSES),
                CaseRow.deadline_at.is_not(None),
                CaseRow.deadline_at < at,
                CaseRow.suspended_since.is_(None),
            )
            .order_by(CaseRow.id)
        ).scalars()
    )


def recent_client_reports(session: Session, client: str, *, since: datetime) -> int:
    """Count reports a client made since ``since`` (a cross-process backstop for rate limits)."""
    return int(
        session.execute(
            sa.select(sa.func.count())
            .select_from(CaseRow)
            .where(CaseRow.client == client, CaseRow.reported_at >= since)
        ).scalar_one()
    )


def cases_between(session: Session, start: datetime, end: datetime) -> list[CaseRow]:
    """Return every case reported in ``[start, end)``."""
    return list(
        session.execute(
            sa.select(CaseRow)
            .where(CaseRow.reported_at >= start, CaseRow.reported_at < end)
            .order_by(CaseRow.id)
        ).scalars()
    )


def window(at: datetime, seconds: float) -> datetime:
    """Return ``at`` minus ``seconds``."""
    return at - timedelta(seconds=seconds)
