"""SQLAlchemy queries for cases, and nothing else: the service decides, this reads and writes.

Every function takes an open session and leaves committing to the caller (the service).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict, Unpack, cast

import sqlalchemy as sa

from shancheng.cases.domain import FINAL_STATUS_VALUES, OPEN_STATUS_VALUES, Level
from shancheng.cases.duplicates import DUPLICATE_QUERY, DuplicateSearch, Nearby, found
from shancheng.cases.routing import JurisdictionRule
from shancheng.cases.stage_limits import StageLimit
from shancheng.cases.taxonomy import EDITABLE_FIELDS
from shancheng.errors import CaseNotFoundError
from shancheng.store.cases_tables import (
    CaseAttachmentRow,
    CaseBlobRow,
    CaseEventRow,
    CaseRow,
    JurisdictionRuleRow,
    StageLimitRow,
    TaxonomyEditRow,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy.orm import Session

    from shancheng.cases.domain import CaseEvent
    from shancheng.cases.open311 import RequestQuery
    from shancheng.cases.taxonomy import StageName

OPEN_STATUSES = OPEN_STATUS_VALUES


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


# built once (building a statement costs more than running it on one id)
_PHOTOS = (
    sa.select(CaseAttachmentRow.case_id, CaseAttachmentRow.blob_sha256, CaseAttachmentRow.data)
    .where(
        CaseAttachmentRow.case_id.in_(sa.bindparam("ids", expanding=True)),
        CaseAttachmentRow.kind.in_(("photo", "photo_url")),
        CaseAttachmentRow.event_seq == 1,  # the reporter's photos, not the handlers'
    )
    .order_by(CaseAttachmentRow.id)
)


def first_photos(
    session: Session, case_ids: Sequence[int]
) -> dict[int, tuple[str | None, str | None]]:
    """Return the first photo of each case: ``{id: (blob sha256, None) or (None, media_url)}``."""
    photos: dict[int, tuple[str | None, str | None]] = {}
    if not case_ids:
        return photos
    for case_id, sha, data in session.execute(_PHOTOS, {"ids": list(case_ids)}):
        url = None if sha else (data or {}).get("media_url")
        if sha or url:
            photos.setdefault(case_id, (sha, url))
    return photos


def references_of(session: Session, case_ids: Sequence[int]) -> dict[int, str]:
    """Return the public references of the given cases."""
    if not case_ids:
        return {}
    query = sa.select(CaseRow.id, CaseRow.reference).where(CaseRow.id.in_(list(case_ids)))
    return {case_id: str(ref) for case_id, ref in session.execute(query).all()}


def report_points(
    session: Session, category_codes: Sequence[str]
) -> list[tuple[str, float, float, datetime]]:
    """Return ``(category, x_utm, y_utm, reported_at)`` of every case of these categories."""
    if not category_codes:
        return []
    query = sa.select(
        CaseRow.category_code, CaseRow.x_utm, CaseRow.y_utm, CaseRow.reported_at
    ).where(CaseRow.category_code.in_(list(category_codes)))
    return [(str(c), float(x), float(y), at) for c, x, y, at in session.execute(query).all()]


def report_fingerprint(session: Session, category_codes: Sequence[str]) -> tuple[int, int]:
    """Return ``(count, newest id)`` of these categories' cases: it changes when one is added."""
    if not category_codes:
        return (0, 0)
    count, newest = session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(CaseRow.id), 0)).where(
            CaseRow.category_code.in_(list(category_codes))
        )
    ).one()
    return int(count), int(newest)


def search_requests(session: Session, query: RequestQuery) -> list[CaseRow]:
    """Return the cases of an Open311 search, newest first.

    Ids (references) alone pick cases; otherwise the service codes, the reporting window and
    one status (``open`` or ``closed``, the spec's two) filter. One page of the results.
    """
    stmt = sa.select(CaseRow)
    if query.ids:
        stmt = stmt.where(CaseRow.reference.in_(query.ids))
    else:
        if query.service_codes:
            stmt = stmt.where(CaseRow.category_code.in_(query.service_codes))
        if query.start is not None:
            stmt = stmt.where(CaseRow.reported_at >= query.start)
        if query.end is not None:
            stmt = stmt.where(CaseRow.reported_at <= query.end)
        if len(query.statuses) == 1:
            final = CaseRow.status.in_(FINAL_STATUS_VALUES)
            stmt = stmt.where(final if query.statuses[0] == "closed" else sa.not_(final))
    stmt = stmt.order_by(CaseRow.reported_at.desc(), CaseRow.id.desc())
    page = stmt.limit(query.page_size).offset((query.page - 1) * query.page_size)
    return list(session.execute(page).scalars())


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


def photo_bytes_since(session: Session, client: str, since: datetime) -> int:
    """Return the bytes of the photos stored with the reports of ``client`` since ``since``."""
    query = (
        sa.select(sa.func.coalesce(sa.func.sum(CaseBlobRow.size_bytes), 0))
        .select_from(CaseAttachmentRow)
        .join(CaseBlobRow, CaseBlobRow.sha256 == CaseAttachmentRow.blob_sha256)
        .join(CaseRow, CaseRow.id == CaseAttachmentRow.case_id)
        .where(CaseRow.client == client, CaseRow.reported_at >= since)
    )
    return int(session.execute(query).scalar_one())


def blob_uses(session: Session, sha256: str) -> list[tuple[CaseRow, int | None]]:
    """Return the cases a stored file is attached to, each with the event it came with."""
    query = (
        sa.select(CaseRow, CaseAttachmentRow.event_seq)
        .join(CaseAttachmentRow, CaseAttachmentRow.case_id == CaseRow.id)
        .where(CaseAttachmentRow.blob_sha256 == sha256)
    )
    return [(row, seq) for row, seq in session.execute(query).all()]


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


def find_duplicate(
    session: Session, search: DuplicateSearch, *, exclude_id: int | None = None
) -> Nearby | None:
    """Return the open case ``search`` finds (:data:`~shancheng.cases.duplicates.DUPLICATE_QUERY`).

    ``exclude_id`` leaves one case out (the case itself, when checking a stored one).
    """
    return found(session.execute(DUPLICATE_QUERY, search.params(exclude_id=exclude_id)).first())


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


def jurisdiction(session: Session) -> list[JurisdictionRule]:
    """Return the jurisdiction table as routing reads it, in insertion order."""
    return [
        JurisdictionRule(r.category, r.unit, r.department, Level(r.level))
        for r in jurisdiction_rules(session)
    ]


def stage_limits(session: Session) -> list[StageLimit]:
    """Return the per-district stage limits as the deadline computation reads them."""
    return [
        StageLimit(r.district_code, r.category, cast("StageName", r.stage), r.limit_h)
        for r in stage_limit_rows(session)
    ]


_EDIT_NAMES = ("code", *EDITABLE_FIELDS)
# built once (building a statement costs more than running it on a small table)
_EDITS = sa.select(*(getattr(TaxonomyEditRow, name) for name in _EDIT_NAMES)).order_by(
    TaxonomyEditRow.id
)


def taxonomy_edits(session: Session) -> list[dict[str, Any]]:
    """Read the admins' taxonomy edits: one ``{code, field: value}`` per row, oldest first.

    Fields left NULL (unchanged from the seed) are not in the mapping.
    """
    return [
        {name: value for name, value in zip(_EDIT_NAMES, row, strict=True) if value is not None}
        for row in session.execute(_EDITS)
    ]


class CaseFilters(TypedDict, total=False):
    """Filters of the case list; every one given must hold (see :func:`case_filters`)."""

    ids: Sequence[int] | None
    categories: Sequence[str] | None
    statuses: Sequence[str] | None
    start: datetime | None
    end: datetime | None
    unit_code: str | None
    department: str | None
    reporter: str | None
    within: str | None
    overdue_at: datetime | None
    closed_from: datetime | None


def list_cases(
    session: Session, *, limit: int = 1000, offset: int = 0, **filters: Unpack[CaseFilters]
) -> list[CaseRow]:
    """Return cases matching every given filter (:class:`CaseFilters`), newest first."""
    query = sa.select(CaseRow).where(*case_filters(**filters))
    query = query.order_by(CaseRow.reported_at.desc(), CaseRow.id.desc())
    return list(session.execute(query.limit(limit).offset(offset)).scalars())


def count_cases(session: Session, **filters: Unpack[CaseFilters]) -> int:
    """Count the cases :func:`list_cases` would return with the same filters and no limit."""
    query = sa.select(sa.func.count()).select_from(CaseRow).where(*case_filters(**filters))
    return int(session.execute(query).scalar_one())


def _in_unit(code: str) -> sa.ColumnElement[bool]:
    return sa.or_(
        CaseRow.street_code == code,
        CaseRow.district_code == code,
        CaseRow.community_code == code,
    )


def overdue_clause(at: datetime) -> sa.ColumnElement[bool]:
    """Open, clock running, and past the stage deadline at ``at``."""
    return sa.and_(
        CaseRow.status.in_(OPEN_STATUSES),
        CaseRow.deadline_at.is_not(None),
        CaseRow.deadline_at < at,
        CaseRow.suspended_since.is_(None),
    )


def case_filters(**given: Unpack[CaseFilters]) -> list[sa.ColumnElement[bool]]:
    """Return the WHERE clauses of the case filters.

    ``unit_code`` is the reader's scope and ``within`` a unit the reader chose (both any of
    district, street or community); ``overdue_at`` keeps the open cases whose stage deadline
    had passed at that time (clock running); ``closed_from`` those closed since then.
    """
    ids, categories, statuses = given.get("ids"), given.get("categories"), given.get("statuses")
    start, end, closed_from = given.get("start"), given.get("end"), given.get("closed_from")
    unit_code, within, overdue_at = (
        given.get("unit_code"),
        given.get("within"),
        given.get("overdue_at"),
    )
    department, reporter = given.get("department"), given.get("reporter")
    clauses: list[tuple[object, Callable[[], sa.ColumnElement[bool]]]] = [
        (ids, lambda: CaseRow.id.in_(list(ids or ()))),
        (categories or None, lambda: CaseRow.category_code.in_(list(categories or ()))),
        (statuses or None, lambda: CaseRow.status.in_(list(statuses or ()))),
        (start, lambda: CaseRow.reported_at >= start),
        (end, lambda: CaseRow.reported_at <= end),
        (unit_code, lambda: _in_unit(str(unit_code))),
        (within, lambda: _in_unit(str(within))),
        (department, lambda: CaseRow.department == department),
        (reporter, lambda: CaseRow.reporter == reporter),
        (overdue_at, lambda: overdue_clause(overdue_at)),  # type: ignore[arg-type]
        (closed_from, lambda: CaseRow.closed_at >= closed_from),
    ]
    return [make() for given, make in clauses if given is not None]


def overdue_cases(session: Session, at: datetime) -> list[CaseRow]:
    """Return open, running-clock cases whose stage deadline has passed by ``at``."""
    return list(
        session.execute(sa.select(CaseRow).where(overdue_clause(at)).order_by(CaseRow.id)).scalars()
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
