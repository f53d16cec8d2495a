"""The public API of the governance center: every use case, one function, the only way in.

Each function takes a session (or, for Open311 intake on the event loop, an asynchronous
store) and the :class:`~shancheng.cases.center.Center` to work with, checks the actor's
permission, does its work through the pure workflow, intake planning and a store, and commits
once; on any error it rolls back, so a refused request leaves the database as it was. Every
report, from any source, is planned by :func:`~shancheng.cases.intake.plan` and written by a
store of :mod:`~shancheng.cases.store`. Other pillars use only this module and
:mod:`~shancheng.cases.sensor_intake`.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, timedelta
from typing import TYPE_CHECKING, TypedDict, Unpack

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from shancheng.cases import engine, intake, repository, workflow
from shancheng.cases.domain import Action, CaseStatus, Level
from shancheng.cases.intake import Intake, ReportIn, Source, check_text
from shancheng.cases.media import clean_photo
from shancheng.cases.permissions import Actor, CaseScope, Permission, Role, allowed, check
from shancheng.cases.repository.views import CaseFeed, public_status, unit_case_counts
from shancheng.cases.routing import Assignment, distance_m, escalate
from shancheng.cases.sensor_intake import CaseRef, SensorReport
from shancheng.cases.store import SessionCaseStore, StoredRequest
from shancheng.errors import (
    CaseInputError,
    CaseNotFoundError,
    ConflictError,
    PermissionDeniedError,
    RateLimitedError,
    TransitionNotAllowedError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import datetime

    import pandas as pd
    from sqlalchemy.orm import Session

    from shancheng.cases.center import Center
    from shancheng.cases.media import Photo
    from shancheng.cases.open311 import RequestQuery
    from shancheng.cases.store import AsyncCaseStore, CaseStore, Stored
    from shancheng.store.cases_tables import (
        CaseAttachmentRow,
        CaseBlobRow,
        CaseEventRow,
        CaseRow,
    )

__all__ = [
    "CaseFeed",
    "Intake",
    "ReportIn",
    "Source",
    "act",
    "allowed_actions",
    "case_events",
    "case_history",
    "check_text",
    "escalate_overdue",
    "get_blob",
    "get_case",
    "list_cases",
    "open_sensor_case",
    "public_status",
    "rate_case",
    "request_by_reference",
    "scope_of",
    "search_requests",
    "submit_report",
    "submit_report_async",
    "unit_case_counts",
]

SYSTEM = Actor("system", Role.ADMIN, "")


@contextmanager
def _unit_of_work(session: Session) -> Iterator[None]:
    """Commit on success; roll back and translate lost races on failure."""
    try:
        yield
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        msg = "the case changed while this request was processed; reload it and retry"
        raise ConflictError(msg) from exc
    except BaseException:
        session.rollback()
        raise


def scope_of(row: CaseRow, city_code: str) -> CaseScope:
    """Return what the permission policy needs to know about a case."""
    return CaseScope(
        row.community_code,
        row.street_code,
        row.district_code,
        city_code,
        row.department,
        row.reporter,
    )


def submit_report(
    session: Session,
    center: Center,
    report: ReportIn,
    *,
    at: datetime,
    actor: Actor | None = None,
) -> Intake:
    """Take a report in: validate, route, link to the open case it repeats, store; commit.

    Parameters
    ----------
    report
        The report; ``reporter`` is replaced by the actor's name when an actor is given.
    at
        Time of receipt (timezone-aware).
    actor
        The authenticated user, if any (anonymous Open311 clients have none).

    Raises
    ------
    UnknownCategoryError, CaseInputError, OutsideCityError, PermissionDeniedError
        The report is refused; nothing is written.
    """
    report = _as_actor(report, actor)
    with _unit_of_work(session):
        if actor is None and report.photos:
            _check_photo_quota(session, center, report, at=at)
        return _take_in(SessionCaseStore(session), center, report, at=at)


def _check_photo_quota(session: Session, center: Center, report: ReportIn, *, at: datetime) -> None:
    """Refuse an anonymous report whose photos would pass its client's daily storage."""
    used = repository.photo_bytes_since(session, report.client, at - timedelta(days=1))
    new = sum(len(photo.content) for photo in report.photos)
    quota = center.anonymous_photo_bytes_per_day
    if used + new > quota:
        msg = (
            f"`photos`: this address stored {used:,} bytes of photos in the last 24 hours; "
            f"{new:,} more would pass the {quota:,}-byte daily limit of anonymous reports "
            "(log in, or send the report without photos)"
        )
        raise RateLimitedError(msg, retry_after_s=3600.0)


async def submit_report_async(
    store: AsyncCaseStore,
    center: Center,
    report: ReportIn,
    *,
    at: datetime,
    actor: Actor | None = None,
) -> Stored:
    """:func:`submit_report` on the event loop, through an asynchronous store.

    The case is committed when this returns. Reports that arrive within the same few
    milliseconds do not see each other as duplicates (the stores write them together);
    inspectors merge them.
    """
    report = _as_actor(report, actor)
    planned = intake.plan(center, report, at=at)
    search = intake.duplicate_search(center, planned, at=at)
    master = await store.find_duplicate(search) if search is not None else None
    if master is not None:
        intake.link_duplicate(center, planned, master, at=at)
    return await store.insert(planned, at=at)


def _take_in(store: CaseStore, center: Center, report: ReportIn, *, at: datetime) -> Intake:
    """Plan, link and store a report in the caller's transaction (the synchronous twin)."""
    planned = intake.plan(center, report, at=at)
    search = intake.duplicate_search(center, planned, at=at)
    master = store.find_duplicate(search) if search is not None else None
    if master is not None:
        intake.link_duplicate(center, planned, master, at=at)
    row = store.insert(planned, at=at)
    if master is None:
        return Intake(row)
    return Intake(row, master.id, master.reference)


def _as_actor(report: ReportIn, actor: Actor | None) -> ReportIn:
    if actor is None:
        return report
    check(actor, Permission.SUBMIT)
    return replace(report, reporter=actor.username)


def open_sensor_case(
    session: Session, center: Center, report: SensorReport, *, at: datetime
) -> CaseRef:
    """Open (or find) the case for a confirmed lifeline alarm; idempotent on ``alarm_id``.

    The case takes the report's category when the taxonomy knows it and it is not retired,
    else the pipeline-alarm category of ``report.network``; it goes to
    ``report.department_hint`` when that names a known department, else to the department
    the jurisdiction table gives. It is registered (立案) at once by the system, and the
    report's ``attachments`` are stored with it.

    Raises
    ------
    CaseInputError
        Empty ``alarm_id`` or malformed coordinates.
    OutsideCityError
        The alarm's point lies outside the city's unit grid (the caller keeps the alarm).
    UnknownCategoryError
        Neither the category code nor the network has a category in the taxonomy.
    """
    if not report.alarm_id:
        msg = "SensorReport.alarm_id must be a non-empty string"
        raise CaseInputError(msg, field="alarm_id")
    existing = repository.find_by_alarm(session, report.alarm_id)
    if existing is not None:
        return CaseRef(existing.id, str(existing.reference), created=False)
    taxonomy = center.taxonomy
    category = taxonomy.categories.get(report.category_code)
    if category is None or not category.active:
        category = taxonomy.pipeline_alarm_category(report.network)
    text = ReportIn(
        category.code,
        report.lon,
        report.lat,
        title=_plain(report.title, 200),
        description=_plain(report.description, center.max_description_chars),
        source="sensor",
        reporter=f"sensor:{report.sensor_id}",
        client="lifelines",
    )
    try:
        with _unit_of_work(session):
            store = SessionCaseStore(session)
            row = _take_in(store, center.without_duplicates(), text, at=at).case
            row.alarm_id = report.alarm_id
            if report.level == 1:
                row.priority = 1
            if report.department_hint in taxonomy.departments:
                row.department = str(report.department_hint)
            alarm = {
                "alarm_id": report.alarm_id,
                "network": report.network,
                "level": report.level,
                "sensor_id": report.sensor_id,
            }
            repository.attach(
                session,
                row.id,
                at=at,
                event_seq=1,
                data={"alarm": alarm, **dict(report.attachments)},
            )
            engine.transition(
                session,
                center,
                row,
                Action.REGISTER,
                actor="system",
                at=at,
                note=f"lifeline alarm {report.alarm_id} confirmed",
            )
    except IntegrityError:
        found = repository.find_by_alarm(session, report.alarm_id)
        if found is None:
            raise
        return CaseRef(found.id, str(found.reference), created=False)
    return CaseRef(row.id, str(row.reference), created=True)


def _plain(text: str, limit: int) -> str:
    return text.replace("<", "\u2039").replace(">", "\u203a")[:limit]  # angle quotes: plain text


def act(
    session: Session,
    center: Center,
    case_id: int,
    action: Action,
    *,
    actor: Actor,
    at: datetime,
    note: str = "",
    department: str | None = None,
    into: int | None = None,
    photos: Sequence[Photo] = (),
) -> CaseRow:
    """Do ``action`` to case ``case_id`` as ``actor``; commit.

    Parameters
    ----------
    department
        Target department of a dispatch (optional) or a reassignment (required).
    into
        For a merge: the open case this one duplicates.
    photos
        Photos kept with the event (e.g. the after-photo of a response).

    Raises
    ------
    CaseNotFoundError, PermissionDeniedError, TransitionNotAllowedError, CaseInputError
        Refused; nothing changes.
    """
    with _unit_of_work(session):
        row = _visible(session, center, case_id, actor, lock=True)
        check(actor, action, scope_of(row, center.city_code), case_id=case_id)
        note = intake.check_text(note, field="note", max_chars=center.max_description_chars)
        assignment = _assignment_for(center, row, action, department)
        data: dict[str, object] = {}
        if action in {Action.MERGE, Action.UNMERGE}:
            data = _merge_links(session, center, actor, row, action, into)
        event = engine.transition(
            session,
            center,
            row,
            action,
            actor=actor.username,
            at=at,
            note=note,
            data=data,
            assignment=assignment,
        )
        for i, photo in enumerate(photos):
            clean, mime = clean_photo(photo, max_bytes=center.max_photo_bytes, index=i)
            digest = repository.put_blob(session, clean.content, mime, at=at)
            repository.attach(session, row.id, at=at, event_seq=event.seq, blob_sha256=digest)
    return row


def _assignment_for(
    center: Center, row: CaseRow, action: Action, department: str | None
) -> Assignment | None:
    if action is Action.ESCALATE:
        current = Assignment(row.department, Level(row.level), row.unit_code)
        if current.level.up is None:
            return None  # the workflow refuses it with a clear message
        return escalate(current, engine.location_of(row, center.admin.city_code))
    if action not in {Action.DISPATCH, Action.REASSIGN}:
        return None
    if department is None:
        if action is Action.REASSIGN:
            msg = "reassign needs `department`: the department that takes the case over"
            raise CaseInputError(msg, field="department")
        return None
    if department not in center.taxonomy.departments:
        known = ", ".join(sorted(center.taxonomy.departments))
        msg = f"`department` {department!r} is not a known department; known: {known}"
        raise CaseInputError(msg, field="department")
    return Assignment(department, Level(row.level), row.unit_code)


def _visible(
    session: Session, center: Center, case_id: int, actor: Actor, *, lock: bool = False
) -> CaseRow:
    """Return a case the actor may see; to anyone else it does not exist (no hint of its state).

    Raises
    ------
    CaseNotFoundError
        No such case, or one outside the actor's unit, department or own reports.
    """
    row = repository.get_case(session, case_id, lock=lock)
    if not allowed(actor, Permission.VIEW, scope_of(row, center.city_code)):
        msg = f"no case with id {case_id}"
        raise CaseNotFoundError(msg)
    return row


def _merge_links(
    session: Session,
    center: Center,
    actor: Actor,
    row: CaseRow,
    action: Action,
    into: int | None,
) -> dict[str, object]:
    if action is Action.UNMERGE:
        parent = repository.get_case(session, row.parent_id) if row.parent_id else None
        if parent is not None:
            parent.duplicates = max(0, parent.duplicates - 1)
        row.parent_id = None
        return {"from": parent.id if parent else None}
    if into is None:
        msg = "merge needs `into`: the id of the open case this one duplicates"
        raise CaseInputError(msg, field="into")
    if into == row.id:
        msg = f"`into` must be another case, got the case itself ({into})"
        raise CaseInputError(msg, field="into")
    try:
        target = _visible(session, center, into, actor, lock=True)
        check(actor, Action.MERGE, scope_of(target, center.city_code), case_id=into)
    except (CaseNotFoundError, PermissionDeniedError) as exc:
        msg = f"`into`: no case with id {into} that you may merge into"
        raise CaseInputError(msg, field="into") from exc
    if not CaseStatus(target.status).is_open:
        msg = f"`into` case {into} is {target.status}; merge only into an open case"
        raise CaseInputError(msg, field="into")
    if target.category_code != row.category_code:
        msg = (
            f"`into` case {into} is of category {target.category_code}, this one of "
            f"{row.category_code}; merge only duplicates of the same problem"
        )
        raise CaseInputError(msg, field="into")
    gap_m = distance_m(row.x_utm, row.y_utm, target.x_utm, target.y_utm)
    if gap_m > center.merge_radius_m:
        msg = (
            f"`into` case {into} is {gap_m:,.0f} m away; a duplicate lies within "
            f"{center.merge_radius_m:,.0f} m"
        )
        raise CaseInputError(msg, field="into")
    target.duplicates += 1
    row.parent_id = target.id
    return {"into": target.id}


def get_case(session: Session, center: Center, case_id: int, *, actor: Actor) -> CaseRow:
    """Return one case the actor may see (others do not exist for them)."""
    return _visible(session, center, case_id, actor)


def case_history(
    session: Session, center: Center, case_id: int, *, actor: Actor
) -> list[CaseEventRow]:
    """Return the events of a case the actor may see, oldest first."""
    get_case(session, center, case_id, actor=actor)
    return repository.events_of(session, case_id)


def case_attachments(
    session: Session, center: Center, case_id: int, *, actor: Actor
) -> list[CaseAttachmentRow]:
    """Return the photos and records attached to a case the actor may see, oldest first."""
    get_case(session, center, case_id, actor=actor)
    return repository.attachments_of(session, case_id)


class ChosenFilters(TypedDict, total=False):
    """The filters a reader chooses; their scope is added by the service."""

    statuses: Sequence[str] | None
    categories: Sequence[str] | None
    within: str | None
    overdue_at: datetime | None


def list_cases(
    session: Session,
    center: Center,
    *,
    actor: Actor,
    limit: int = 100,
    offset: int = 0,
    **chosen: Unpack[ChosenFilters],
) -> list[CaseRow]:
    """Return the cases in the actor's scope (newest first).

    ``within`` keeps those of one unit (district, street or community), ``overdue_at`` those
    open and past their stage deadline at that time.
    """
    filters = _scoped_filters(center, actor, **chosen)
    return repository.list_cases(session, **filters, limit=limit, offset=offset)


def count_cases(
    session: Session, center: Center, *, actor: Actor, **chosen: Unpack[ChosenFilters]
) -> int:
    """Count the cases :func:`list_cases` would list with the same filters (for paging)."""
    return repository.count_cases(session, **_scoped_filters(center, actor, **chosen))


@dataclass(frozen=True, slots=True)
class CaseTrends:
    """Cases per day and on-time closing per week, in a reader's scope, up to ``until``.

    ``daily``: ``(day, reported, closed)`` for each of the last days (UTC dates, oldest
    first, days without cases included); ``weekly``: ``(monday, closed_timed, closed_on_time)``
    for each ISO week of the window, closings whose punctuality is known.
    """

    until: datetime
    daily: list[tuple[str, int, int]]
    weekly: list[tuple[str, int, int]]


def case_trends(
    session: Session, center: Center, *, actor: Actor, at: datetime, days: int = 56
) -> CaseTrends:
    """Count the cases reported and closed per day, and closed on time per week (merged out)."""
    import pandas as pd  # noqa: PLC0415 - the service stays light for the event loop's import

    if not MIN_TREND_DAYS <= days <= MAX_TREND_DAYS:
        msg = f"`days` must be in {MIN_TREND_DAYS}..{MAX_TREND_DAYS}, got {days}"
        raise CaseInputError(msg, field="days")
    at = at.astimezone(UTC)  # the days are UTC dates, as the rows' times are
    start = (at - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    reported_in: repository.CaseFilters = {**_scoped_filters(center, actor), "start": start}
    reported_in["end"] = at
    closed_in: repository.CaseFilters = {**_scoped_filters(center, actor), "closed_from": start}
    reported = repository.list_cases(session, **reported_in, limit=10**7)
    closed = repository.list_cases(session, **closed_in, limit=10**7)
    day = pd.date_range(start.date(), at.date(), freq="D")
    closings = [
        (r.closed_at.replace(tzinfo=None), r.closed_on_time)
        for r in closed
        if r.status != "merged" and r.closed_at is not None and r.closed_at <= at
    ]
    reported_n = _per_day([r.reported_at for r in reported if r.status != "merged"], day)
    closed_n = _per_day([t for t, _ in closings], day)
    timed = [(t, bool(ok)) for t, ok in closings if ok is not None]
    weeks = pd.DataFrame(
        {
            "week": pd.DatetimeIndex([t for t, _ in timed], dtype="datetime64[ns]")
            .normalize()
            .to_period("W-SUN")
            .start_time,
            "on_time": pd.Series([ok for _, ok in timed], dtype=bool),
        }
    )
    mondays = pd.date_range(day[0] - pd.Timedelta(days=day[0].weekday()), day[-1], freq="W-MON")
    weekly = weeks.groupby("week")["on_time"].agg(["count", "sum"]).reindex(mondays, fill_value=0)
    return CaseTrends(
        until=at,
        daily=[
            (d.date().isoformat(), int(a), int(b))
            for d, a, b in zip(day, reported_n.to_numpy(), closed_n.to_numpy(), strict=True)
        ],
        weekly=[
            (w.date().isoformat(), int(n), int(k))
            for w, n, k in zip(weekly.index, weekly["count"], weekly["sum"], strict=True)
        ],
    )


MIN_TREND_DAYS, MAX_TREND_DAYS = 7, 366


def _per_day(stamps: Sequence[datetime], days: pd.DatetimeIndex) -> pd.Series:
    """Count timestamps (UTC) per day of ``days`` (days without any: 0)."""
    import pandas as pd  # noqa: PLC0415

    index = pd.DatetimeIndex([s.replace(tzinfo=None) for s in stamps], dtype="datetime64[ns]")
    return pd.Series(1, index=index.normalize()).groupby(level=0).sum().reindex(days, fill_value=0)


def _scoped_filters(
    center: Center, actor: Actor, **chosen: Unpack[ChosenFilters]
) -> repository.CaseFilters:
    """Return the reader's own filters plus their scope: unit, department, own reports."""
    check(actor, Permission.VIEW)
    unit = None if actor.unit_code == center.admin.city_code else actor.unit_code
    return {
        **chosen,  # type: ignore[typeddict-item]  # a subset of the keys
        "unit_code": None if actor.role is Role.CITIZEN else unit,
        "department": actor.department if actor.role is Role.HANDLER else None,
        "reporter": actor.username if actor.role is Role.CITIZEN else None,
    }


def escalate_overdue(session: Session, center: Center, *, at: datetime) -> list[int]:
    """Escalate every overdue case one level (street → district → city); return their ids.

    Cases already at city level stay and are reported in the log by the caller.
    """
    escalated: list[int] = []
    with _unit_of_work(session):
        for row in repository.overdue_cases(session, at):
            assignment = _assignment_for(center, row, Action.ESCALATE, None)
            if assignment is None:
                continue
            engine.transition(
                session,
                center,
                row,
                Action.ESCALATE,
                actor="system",
                at=at,
                note="overdue",
                data={"reason": "overdue"},
                assignment=assignment,
            )
            escalated.append(row.id)
    return escalated


def rate_case(
    session: Session, center: Center, case_id: int, satisfaction: int, *, actor: Actor
) -> CaseRow:
    """Record the reporter's satisfaction (1-5) with a closed case."""
    if isinstance(satisfaction, bool) or satisfaction not in range(1, 6):
        msg = f"`satisfaction` must be an integer 1..5, got {satisfaction!r}"
        raise CaseInputError(msg, field="satisfaction")
    with _unit_of_work(session):
        row = _visible(session, center, case_id, actor, lock=True)
        check(actor, Permission.RATE, scope_of(row, center.city_code), case_id=case_id)
        if row.status != CaseStatus.CLOSED.value:
            msg = f"case {case_id} is {row.status}; only closed cases can be rated"
            raise CaseInputError(msg, field="satisfaction")
        row.satisfaction = satisfaction
    return row


def report_locations(session: Session, category_codes: Sequence[str]) -> pd.DataFrame:
    """Where and when the cases of these categories were reported (no personal data).

    Columns ``category, x_utm, y_utm, reported_at``: what the bottleneck analysis counts
    near school gates and junctions (:mod:`shancheng.mobility.evidence`).
    """
    import pandas as pd  # noqa: PLC0415 - the service stays light for the event loop's import

    rows = repository.report_points(session, category_codes)
    frame = pd.DataFrame(rows, columns=["category", "x_utm", "y_utm", "reported_at"])
    frame["reported_at"] = pd.to_datetime(frame["reported_at"], utc=True)
    return frame


def report_locations_version(session: Session, category_codes: Sequence[str]) -> tuple[int, int]:
    """Return a token that changes when a case of these categories is added (count, newest id)."""
    return repository.report_fingerprint(session, category_codes)


def search_requests(session: Session, query: RequestQuery) -> list[StoredRequest]:
    """Return the cases of an Open311 search (public: no actor), newest first.

    Each comes with the reference of the case it duplicates and its first photo;
    :func:`case_events` gives a case's events (the Open311 extensions).
    """
    rows = repository.search_requests(session, query)
    photos = repository.first_photos(session, [row.id for row in rows])
    parents = repository.references_of(
        session, sorted({row.parent_id for row in rows if row.parent_id})
    )
    return [
        StoredRequest(
            row,
            parents.get(row.parent_id) if row.parent_id else None,
            *photos.get(row.id, (None, None)),
        )
        for row in rows
    ]


def request_by_reference(session: Session, reference: str) -> StoredRequest | None:
    """Return the case with this public reference (Open311 lookup), or ``None``."""
    return SessionCaseStore(session).by_reference(reference)


def case_events(session: Session, case_id: int) -> list[CaseEventRow]:
    """Return the history of a case for its public Open311 record, oldest first."""
    return repository.events_of(session, case_id)


def get_blob(
    session: Session, center: Center, sha256: str, *, actor: Actor | None
) -> tuple[CaseBlobRow, bool]:
    """Return a stored photo by the sha256 of its content, and whether it is public.

    A photo a reporter sent with a report is public (without metadata, see
    :mod:`~shancheng.cases.media`); one added later (a handler's after-photo) only for users
    who may view a case it belongs to. To anyone else it does not exist.

    Raises
    ------
    CaseNotFoundError
        No photo has this hash, or the actor may not see it.
    """
    uses = repository.blob_uses(session, sha256)
    public = any(seq == 1 for _row, seq in uses)
    visible = public or (
        actor is not None
        and any(allowed(actor, Permission.VIEW, scope_of(row, center.city_code)) for row, _ in uses)
    )
    if not visible:
        msg = f"no stored file with sha256 {sha256!r}"
        raise CaseNotFoundError(msg)
    return repository.get_blob(session, sha256), public


def allowed_actions(center: Center, row: CaseRow, *, actor: Actor) -> list[Action]:
    """Return the workflow actions ``actor`` may take on the case now, in workflow order.

    An action is offered when the workflow allows it from the case's status (and level and
    suspension), and the actor's role and scope allow it on this case; what the dashboard
    shows is this list, never a copy of the rules.
    """
    scope = scope_of(row, center.city_code)
    state = engine.snapshot(row)
    offered: list[Action] = []
    for action in Action:
        if action is Action.REPORT or not allowed(actor, action, scope):
            continue
        try:
            workflow.apply(state, action, actor=actor.username, at=row.updated_at)
        except TransitionNotAllowedError:
            continue
        offered.append(action)
    return offered
