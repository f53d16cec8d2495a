"""The public API of participation: campaigns, ideas, moderation, official answers, outcomes.

Each function takes a session and the governance :class:`~shancheng.cases.center.Center`
(its hierarchy places ideas, its calendar counts answer deadlines), checks the actor's verb in
scope (:mod:`~shancheng.ideas.permissions`), writes and commits once; on any error it rolls
back, so a refused request leaves the database as it was. Supports, withdrawals and merges are
in :mod:`~shancheng.ideas.supports`, what people read in :mod:`~shancheng.ideas.views`.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from shancheng.cases.media import clean_photo
from shancheng.cases.service import check_text
from shancheng.errors import (
    CaseInputError,
    ConflictError,
    NotFoundError,
    OutsideCityError,
    PermissionDeniedError,
)
from shancheng.ideas.answers import ANSWERED, AnswerAction, AnswerStatus, next_status
from shancheng.ideas.case_link import IdeaCaseRequest
from shancheng.ideas.permissions import IdeaVerb, check_verb
from shancheng.ideas.phases import Phase, Phases, threshold_of
from shancheng.ideas.similarity import Candidate, Match, similar
from shancheng.store.ideas_tables import (
    CampaignRow,
    CountRow,
    IdeaEventRow,
    IdeaPhotoRow,
    IdeaRow,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import datetime

    from sqlalchemy.orm import Session

    from shancheng.cases.center import Center
    from shancheng.cases.media import Photo
    from shancheng.cases.permissions import Actor
    from shancheng.ideas.case_link import IdeaCaseOpener

logger = logging.getLogger(__name__)
MAX_TITLE_CHARS = 200
MAX_BODY_CHARS = 4000


@contextmanager
def unit_of_work(session: Session) -> Iterator[None]:
    """Commit on success; roll back (and translate lost races) on failure."""
    try:
        yield
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        msg = "the idea changed while this request was processed; reload it and retry"
        raise ConflictError(msg) from exc
    except BaseException:
        session.rollback()
        raise


def begin_write(session: Session) -> None:
    """On SQLite, take the write lock before reading what a write depends on.

    PostgreSQL locks the rows read (``FOR UPDATE``/``FOR SHARE``); SQLite has no row locks, and
    its driver opens a transaction only at the first write, so a check read before it could be
    stale by the time the write runs. A write that changes nothing opens the transaction and
    takes SQLite's one write lock first (waiting for it), so the checks then see the latest
    committed state and nothing commits under them.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sa.update(CampaignRow).where(sa.false()).values(title=CampaignRow.title))


# --- campaigns ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CampaignIn:
    """A campaign as an official defines it.

    ``unit_codes`` are the units it covers (the city, districts or streets); ``categories``
    the kinds of ideas it accepts; give ``threshold_supports`` or ``threshold_share`` (of
    ``covered_population``); ``answer_working_days`` is the answer's deadline once an idea
    reaches the threshold; ``max_supports_per_person`` limits each resident (None: no limit).
    """

    title: str
    topic: str
    unit_codes: tuple[str, ...]
    categories: tuple[str, ...]
    phases: Phases
    threshold_supports: int | None = None
    threshold_share: float | None = None
    covered_population: int = 0
    answer_working_days: int = 10
    max_supports_per_person: int | None = None


def phases_of(row: CampaignRow) -> Phases:
    """Return the phases of a stored campaign."""
    return Phases(
        (row.collecting_start, row.collecting_end),
        (row.supporting_start, row.supporting_end),
        (row.review_start, row.review_end),
        (row.results_start, row.results_end),
    )


def create_campaign(
    session: Session, center: Center, spec: CampaignIn, *, actor: Actor, at: datetime
) -> CampaignRow:
    """Open a campaign over units in the actor's scope; validate everything first."""
    check_verb(actor, IdeaVerb.CAMPAIGN)
    title = check_text(spec.title, field="title", max_chars=MAX_TITLE_CHARS)
    if not title:
        msg = "`title` must not be empty"
        raise CaseInputError(msg, field="title")
    known = center.admin.names
    units = tuple(dict.fromkeys(u.strip() for u in spec.unit_codes))
    if not units:
        msg = "`unit_codes` must name at least one unit (the city, a district or a street)"
        raise CaseInputError(msg, field="unit_codes")
    for unit in units:
        if unit not in known and unit != center.city_code:
            msg = f"`unit_codes`: no unit with code {unit[:20]!r} in this city"
            raise CaseInputError(msg, field="unit_codes")
    categories = tuple(dict.fromkeys(c.strip() for c in spec.categories if c.strip()))
    if not categories:
        msg = "`categories` must name at least one kind of idea"
        raise CaseInputError(msg, field="categories")
    threshold = threshold_of(
        supports=spec.threshold_supports,
        share=spec.threshold_share,
        covered_population=spec.covered_population,
    )
    if spec.answer_working_days < 1:
        msg = f"`answer_working_days` must be >= 1, got {spec.answer_working_days}"
        raise CaseInputError(msg, field="answer_working_days")
    if spec.max_supports_per_person is not None and spec.max_supports_per_person < 1:
        msg = f"`max_supports_per_person` must be >= 1, got {spec.max_supports_per_person}"
        raise CaseInputError(msg, field="max_supports_per_person")
    outside = [u for u in units if not _within(actor.unit_code, u, center.city_code)]
    if outside:
        msg = f"unit {outside[0]} lies outside unit {actor.unit_code} of user {actor.username!r}"
        raise PermissionDeniedError(msg)
    p = spec.phases
    row = CampaignRow(
        title=title,
        topic=check_text(spec.topic, field="topic", max_chars=MAX_BODY_CHARS),
        unit_codes=list(units),
        categories=list(categories),
        collecting_start=p.collecting[0],
        collecting_end=p.collecting[1],
        supporting_start=p.supporting[0],
        supporting_end=p.supporting[1],
        review_start=p.review[0],
        review_end=p.review[1],
        results_start=p.results[0],
        results_end=p.results[1],
        threshold_supports=spec.threshold_supports,
        threshold_share=spec.threshold_share,
        covered_population=spec.covered_population,
        threshold=threshold,
        answer_working_days=spec.answer_working_days,
        max_supports_per_person=spec.max_supports_per_person,
        created_by=actor.username,
        created_at=at,
    )
    with unit_of_work(session):
        session.add(row)
    logger.info("campaign %d %r opened: threshold %d supports", row.id, title, threshold)
    return row


def _within(scope: str, unit: str, city_code: str) -> bool:
    """Tell whether ``unit`` lies in the unit ``scope`` (division codes nest by prefix).

    Examples
    --------
    >>> _within("990101", "990101001", "990100"), _within("990101", "990102", "990100")
    (True, False)
    """
    return scope in {unit, city_code} or (len(unit) > len(scope) and unit.startswith(scope))


def campaign(session: Session, campaign_id: int) -> CampaignRow:
    """Return a campaign by id (NotFoundError naming the field otherwise)."""
    row = session.get(CampaignRow, campaign_id)
    if row is None:
        msg = f"`campaign_id`: no campaign {campaign_id}"
        raise NotFoundError(msg, field="campaign_id")
    return row


def list_campaigns(session: Session) -> list[CampaignRow]:
    """Return every campaign, newest first."""
    return list(session.scalars(sa.select(CampaignRow).order_by(CampaignRow.id.desc())))


# --- ideas -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdeaIn:
    """An idea as a resident writes it: a title, a text, a category, a place, photos."""

    title: str
    body: str
    category: str
    lon: float | None = None
    lat: float | None = None
    unit_code: str = ""
    photos: tuple[Photo, ...] = ()


def idea(session: Session, idea_id: int, *, lock: bool = False) -> IdeaRow:
    """Return an idea by id (``lock``: hold its row until the transaction ends)."""
    stmt = sa.select(IdeaRow).where(IdeaRow.id == idea_id)
    row = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        msg = f"`idea_id`: no idea {idea_id}"
        raise NotFoundError(msg, field="idea_id")
    return row


def units_of(row: IdeaRow, camp: CampaignRow, center: Center) -> tuple[str, ...]:
    """Return the units an idea lies in (its place's, else its campaign's) and the city."""
    own = (row.community_code, row.street_code, row.district_code, row.unit_code)
    units = [u for u in own if u] or list(camp.unit_codes)
    return (*dict.fromkeys(units), center.city_code)


def _place(center: Center, camp: CampaignRow, spec: IdeaIn) -> dict[str, object]:
    """Locate the idea's point or unit; refuse a place outside the campaign's units."""
    covered = set(camp.unit_codes)
    if spec.lon is not None or spec.lat is not None:
        if spec.lon is None or spec.lat is None:
            msg = "give both `lon` and `lat`, or neither"
            raise CaseInputError(msg, field="lon" if spec.lon is None else "lat")
        loc = center.admin.locate(spec.lon, spec.lat)
        held = {loc.community_code, loc.street_code, loc.district_code, loc.city_code}
        if not held & covered:
            msg = (
                f"point lon={spec.lon}, lat={spec.lat} lies in street {loc.street_code}, "
                f"outside the campaign's units {', '.join(sorted(covered))}"
            )
            raise OutsideCityError(msg)
        return {
            "lon": spec.lon,
            "lat": spec.lat,
            "community_code": loc.community_code,
            "street_code": loc.street_code,
            "district_code": loc.district_code,
            "unit_code": loc.street_code,
        }
    unit = spec.unit_code.strip()
    if unit and unit not in center.admin.names and unit != center.city_code:
        msg = f"`unit_code`: no unit with code {unit[:20]!r} in this city"
        raise CaseInputError(msg, field="unit_code")
    return {"unit_code": unit}


def propose(
    session: Session,
    center: Center,
    campaign_id: int,
    spec: IdeaIn,
    *,
    actor: Actor,
    at: datetime,
) -> IdeaRow:
    """Publish a resident's idea in a campaign's collecting phase; photos lose their metadata.

    Raises
    ------
    PhaseClosedError
        The collecting phase is not open at ``at``.
    CaseInputError, OutsideCityError
        A malformed field, a category the campaign does not take, a place outside its units.
    """
    check_verb(actor, IdeaVerb.PROPOSE)
    camp = campaign(session, campaign_id)
    phases_of(camp).require(Phase.COLLECTING, at, doing="propose an idea")
    title = check_text(spec.title, field="title", max_chars=MAX_TITLE_CHARS)
    body = check_text(spec.body, field="body", max_chars=MAX_BODY_CHARS)
    if not title or not body:
        field = "title" if not title else "body"
        msg = f"`{field}` must not be empty"
        raise CaseInputError(msg, field=field)
    if spec.category not in camp.categories:
        msg = (
            f"`category` must be one of {', '.join(camp.categories)} for this campaign, "
            f"got {spec.category[:40]!r}"
        )
        raise CaseInputError(msg, field="category")
    if len(spec.photos) > center.max_photos:
        msg = f"`photos`: at most {center.max_photos} photos, got {len(spec.photos)}"
        raise CaseInputError(msg, field="photos")
    cleaned = [
        clean_photo(p, max_bytes=center.max_photo_bytes, index=i) for i, p in enumerate(spec.photos)
    ]
    place = _place(center, camp, spec)
    row = IdeaRow(
        campaign_id=camp.id,
        title=title,
        body=body,
        category=spec.category,
        author=actor.username,
        created_at=at,
        **place,
    )
    with unit_of_work(session):
        session.add(row)
        session.flush()
        session.add(CountRow(idea_id=row.id, supports=0))
        for photo, mime in cleaned:
            session.add(IdeaPhotoRow(idea_id=row.id, content_type=mime, content=photo.content))
        _event(session, row, "propose", actor=actor.username, at=at)
    return row


def duplicates_of(
    session: Session,
    campaign_id: int,
    text: str,
    *,
    lon: float | None = None,
    lat: float | None = None,
    exclude_id: int | None = None,
    limit: int = 5,
) -> list[Match]:
    """Return the campaign's visible ideas most like ``text`` (and near the place), best first.

    Shown to a resident while they write (so they support an idea rather than repeat it), and
    to moderators as merge proposals.
    """
    rows = session.execute(
        sa.select(IdeaRow.id, IdeaRow.title, IdeaRow.body, IdeaRow.lon, IdeaRow.lat).where(
            IdeaRow.campaign_id == campaign_id, IdeaRow.moderation == "visible"
        )
    ).all()
    candidates = [
        Candidate(r.id, f"{r.title} {r.body}", r.lon, r.lat) for r in rows if r.id != exclude_id
    ]
    return similar(text, candidates, lon=lon, lat=lat, limit=limit)


def _event(
    session: Session,
    row: IdeaRow,
    action: str,
    *,
    actor: str,
    at: datetime,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
) -> None:
    session.add(
        IdeaEventRow(
            idea_id=row.id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            at=at,
            note=note,
        )
    )


# --- moderation --------------------------------------------------------------------------------


def moderate(
    session: Session,
    center: Center,
    idea_id: int,
    *,
    hide: bool,
    reason: str,
    actor: Actor,
    at: datetime,
) -> IdeaRow:
    """Hide an idea with a reason its author reads, or show it again; nothing is deleted."""
    with unit_of_work(session):
        begin_write(session)
        row = idea(session, idea_id, lock=True)
        check_verb(
            actor, IdeaVerb.MODERATE, *units_of(row, campaign(session, row.campaign_id), center)
        )
        reason = check_text(reason, field="reason", max_chars=MAX_BODY_CHARS)
        if hide and not reason:
            msg = "`reason`: hiding an idea needs a reason its author can read"
            raise CaseInputError(msg, field="reason")
        if row.moderation == "merged":
            msg = f"idea {idea_id} was merged into idea {row.merged_into_id}; moderate that one"
            raise ConflictError(msg)
        before = row.moderation
        row.moderation = "hidden" if hide else "visible"
        row.moderation_reason = reason if hide else ""
        _event(
            session,
            row,
            "hide" if hide else "restore",
            actor=actor.username,
            at=at,
            from_status=before,
            to_status=row.moderation,
            note=reason,
        )
    return row


# --- official answers --------------------------------------------------------------------------


def answer(
    session: Session,
    center: Center,
    idea_id: int,
    action: AnswerAction,
    *,
    actor: Actor,
    at: datetime,
    text: str = "",
) -> IdeaRow:
    """Move an idea's official answer one step; a decline's ``text`` is its required reason.

    The verbs are the actions' own (:mod:`~shancheng.ideas.permissions`): a dispatcher
    evaluates and runs the work, a supervisor accepts or declines.
    """
    with unit_of_work(session):
        begin_write(session)
        row = idea(session, idea_id, lock=True)
        camp = campaign(session, row.campaign_id)
        check_verb(actor, IdeaVerb(action.value), *units_of(row, camp, center))
        if row.moderation != "visible":
            msg = f"idea {idea_id} is {row.moderation}; only visible ideas are answered"
            raise ConflictError(msg)
        text = check_text(text, field="text", max_chars=MAX_BODY_CHARS)
        before = AnswerStatus(row.answer_status)
        after = next_status(before, action, reason=text)
        row.answer_status = after.value
        if text:
            row.answer_text = text
        if after in ANSWERED and row.answered_at is None:
            row.answered_at, row.answered_by = at, actor.username
        _event(
            session,
            row,
            action.value,
            actor=actor.username,
            at=at,
            from_status=before.value,
            to_status=after.value,
            note=text,
        )
    return row


def _accepted_with_point(row: IdeaRow) -> tuple[float, float]:
    if row.answer_status not in {AnswerStatus.ACCEPTED, AnswerStatus.IN_PROGRESS}:
        msg = f"idea {row.id} is {row.answer_status}; only an accepted idea becomes a case or site"
        raise ConflictError(msg)
    if row.outcome:
        msg = f"idea {row.id} already became a {row.outcome}"
        raise ConflictError(msg)
    if row.lon is None or row.lat is None:
        msg = f"idea {row.id} has no point; a case or a site needs one"
        raise CaseInputError(msg, field="lon")
    return row.lon, row.lat


def to_case(
    session: Session,
    center: Center,
    idea_id: int,
    *,
    category_code: str,
    opener: IdeaCaseOpener,
    actor: Actor,
    at: datetime,
) -> IdeaRow:
    """Turn an accepted idea into a governance case (a problem to fix), routed like a report.

    The case is opened by ``opener`` (:func:`~shancheng.ideas.case_link.cases_opener`), which
    commits it; the idea then records the case. Everything is checked before the case opens.
    """
    row = idea(session, idea_id)
    check_verb(actor, IdeaVerb.ACCEPT, *units_of(row, campaign(session, row.campaign_id), center))
    lon, lat = _accepted_with_point(row)
    request = IdeaCaseRequest(
        row.id, category_code, lon, lat, row.title, row.body, reporter=row.author
    )
    session.rollback()  # the opener's unit of work starts clean
    opened = opener(request)
    with unit_of_work(session):
        begin_write(session)
        row = idea(session, idea_id, lock=True)
        row.outcome, row.case_id, row.case_reference = "case", opened.case_id, opened.reference
        _event(
            session,
            row,
            "to_case",
            actor=actor.username,
            at=at,
            note=f"case {opened.reference}",
        )
    logger.info("idea %d became case %s", idea_id, opened.reference)
    return row


def to_plan(
    session: Session,
    center: Center,
    idea_id: int,
    *,
    facility_category: str,
    actor: Actor,
    at: datetime,
) -> IdeaRow:
    """Make an accepted idea's point a candidate site for ``facility_category`` in planning.

    ``shancheng circles plan`` then offers it among its candidates
    (:func:`~shancheng.ideas.views.plan_candidates`).
    """
    category = facility_category.strip()
    if not category:
        msg = "`facility_category` must name a facility category of the catalogue"
        raise CaseInputError(msg, field="facility_category")
    with unit_of_work(session):
        begin_write(session)
        row = idea(session, idea_id, lock=True)
        check_verb(
            actor, IdeaVerb.ACCEPT, *units_of(row, campaign(session, row.campaign_id), center)
        )
        _accepted_with_point(row)
        row.outcome, row.plan_category = "plan", category
        _event(
            session,
            row,
            "to_plan",
            actor=actor.username,
            at=at,
            note=f"candidate site for {category}",
        )
    return row


def ideas_of(session: Session, ids: Sequence[int]) -> dict[int, IdeaRow]:
    """Return the ideas with these ids, by id."""
    if not ids:
        return {}
    return {r.id: r for r in session.scalars(sa.select(IdeaRow).where(IdeaRow.id.in_(ids)))}
