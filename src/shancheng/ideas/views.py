"""What people read: the campaign page, an idea's page and timeline, statistics, plan sites.

The public sees an idea as the public sees a case report: phone numbers, ID numbers, e-mails
and plates masked in its text (:func:`~shancheng.cases.privacy.mask_personal`), its point on a
100 m grid, its author as a pseudonym. The author and staff in scope see it as written. A
hidden idea is shown only to its author (with the moderators' reason) and to staff; a merged
idea points at the idea that absorbed it.
"""

from __future__ import annotations

import functools
import hashlib
import statistics
from dataclasses import dataclass, field
from datetime import datetime  # noqa: TC003 - the API writes IdeaView by its annotations
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa

from shancheng.cases.permissions import Role
from shancheng.cases.privacy import mask_personal, public_position
from shancheng.errors import NotFoundError
from shancheng.ideas.actions import idea_actions
from shancheng.ideas.answers import ANSWERED, AnswerStatus
from shancheng.ideas.permissions import IdeaVerb, may
from shancheng.ideas.service import campaign, idea, phases_of, units_of
from shancheng.ideas.supports import count_supports, support_counts, supported_by
from shancheng.store.ideas_tables import (
    DeadlineRow,
    FlagRow,
    IdeaEventRow,
    IdeaPhotoRow,
    IdeaRow,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shancheng.cases.center import Center
    from shancheng.cases.permissions import Actor
    from shancheng.store.ideas_tables import CampaignRow

PUBLIC_PRECISION_M = 100.0
"""Grid of an idea's public point (as for case events)."""
Sort = Literal["supports", "newest", "answered"]

# The public view of the same text and point is the same every time, and the campaign page
# shows every idea at each read: these pure functions are remembered for the texts seen last.
_masked = functools.lru_cache(maxsize=4096)(mask_personal)
_public_point = functools.lru_cache(maxsize=4096)(public_position)


@dataclass(frozen=True, slots=True)
class IdeaView:
    """An idea as one viewer may see it (``full``: as written, else masked)."""

    id: int
    campaign_id: int
    title: str
    body: str
    category: str
    lon: float | None
    lat: float | None
    unit_code: str
    author: str
    created_at: datetime
    supports: int
    moderation: str
    moderation_reason: str
    merged_into_id: int | None
    answer_status: str
    answer_text: str
    answered_at: datetime | None
    due_at: datetime | None
    outcome: str
    case_reference: str
    plan_category: str
    supported_by_me: bool
    photos: int
    full: bool
    actions: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=4096)
def pseudonym(username: str) -> str:
    """Return a stable public name for an author: "居民" and six hex digits of a hash.

    Examples
    --------
    >>> pseudonym("alice") == pseudonym("alice") != pseudonym("bob")
    True
    """
    return "居民" + hashlib.sha256(username.encode()).hexdigest()[:6]


def _sees_full(row: IdeaRow, camp: CampaignRow, center: Center, viewer: Actor | None) -> bool:
    if viewer is None:
        return False
    if viewer.username == row.author:
        return True
    return may(viewer, IdeaVerb.STAFF_VIEW, *units_of(row, camp, center))


def visible_to(row: IdeaRow, camp: CampaignRow, center: Center, viewer: Actor | None) -> bool:
    """Tell whether ``viewer`` may see the idea at all (hidden: its author and staff only)."""
    return row.moderation != "hidden" or _sees_full(row, camp, center, viewer)


def _view(
    row: IdeaRow,
    camp: CampaignRow,
    center: Center,
    viewer: Actor | None,
    *,
    supports: int,
    mine: bool,
    due_at: datetime | None,
    photos: int,
) -> IdeaView:
    full = _sees_full(row, camp, center, viewer)
    lon, lat = row.lon, row.lat
    if not full and lon is not None and lat is not None:
        lon, lat = _public_point(lon, lat, precision_m=PUBLIC_PRECISION_M)
    text = (lambda s: s) if full else _masked
    return IdeaView(
        id=row.id,
        campaign_id=row.campaign_id,
        title=text(row.title),
        body=text(row.body),
        category=row.category,
        lon=lon,
        lat=lat,
        unit_code=row.unit_code,
        author=row.author if full else pseudonym(row.author),
        created_at=row.created_at,
        supports=supports,
        moderation=row.moderation,
        moderation_reason=row.moderation_reason if full else "",
        merged_into_id=row.merged_into_id,
        answer_status=row.answer_status,
        answer_text=row.answer_text if full else _masked(row.answer_text),
        answered_at=row.answered_at,
        due_at=due_at,
        outcome=row.outcome,
        case_reference=row.case_reference,
        plan_category=row.plan_category,
        supported_by_me=mine,
        photos=photos,
        full=full,
        actions=idea_actions(row, camp, center, viewer),
    )


def idea_view(session: Session, center: Center, idea_id: int, *, viewer: Actor | None) -> IdeaView:
    """Return one idea as ``viewer`` may see it (NotFoundError when hidden from them)."""
    row = idea(session, idea_id)
    camp = campaign(session, row.campaign_id)
    if not visible_to(row, camp, center, viewer):
        msg = f"`idea_id`: no idea {idea_id}"
        raise NotFoundError(msg, field="idea_id")
    due = session.get(DeadlineRow, idea_id)
    photos = session.scalar(sa.select(sa.func.count()).where(IdeaPhotoRow.idea_id == idea_id))
    mine = viewer is not None and bool(supported_by(session, viewer.username, [idea_id]))
    return _view(
        row,
        camp,
        center,
        viewer,
        supports=count_supports(session, idea_id),
        mine=mine,
        due_at=due.due_at if due else None,
        photos=int(photos or 0),
    )


def campaign_ideas(
    session: Session,
    center: Center,
    campaign_id: int,
    *,
    viewer: Actor | None,
    sort: Sort = "supports",
    include_merged: bool = False,
) -> list[IdeaView]:
    """Return the campaign page's list: the ideas ``viewer`` may see, sorted.

    ``supports``: most supported first; ``newest``: latest first; ``answered``: answered
    ideas first (latest answer first), then by supports.
    """
    camp = campaign(session, campaign_id)
    rows = [
        r
        for r in session.scalars(sa.select(IdeaRow).where(IdeaRow.campaign_id == campaign_id))
        if visible_to(r, camp, center, viewer) and (include_merged or r.moderation != "merged")
    ]
    counts = support_counts(session, campaign_id)
    # by the campaign, not by a list of hundreds of ids (each a bound parameter to render)
    dues = dict(
        session.execute(
            sa.select(DeadlineRow.idea_id, DeadlineRow.due_at)
            .join(IdeaRow, IdeaRow.id == DeadlineRow.idea_id)
            .where(IdeaRow.campaign_id == campaign_id)
        ).all()
    )
    mine = supported_by(session, viewer.username, [r.id for r in rows]) if viewer else set()
    views = [
        _view(
            r,
            camp,
            center,
            viewer,
            supports=counts.get(r.id, 0),
            mine=r.id in mine,
            due_at=dues.get(r.id),
            photos=0,
        )
        for r in rows
    ]
    if sort == "newest":
        views.sort(key=lambda v: (v.created_at, v.id), reverse=True)
    elif sort == "answered":
        views.sort(
            key=lambda v: (
                v.answered_at is not None,
                v.answered_at.timestamp() if v.answered_at else 0.0,
                v.supports,
            ),
            reverse=True,
        )
    else:
        views.sort(key=lambda v: (-v.supports, v.id))
    return views


@dataclass(frozen=True, slots=True)
class TimelineStep:
    """One step of an idea's public timeline."""

    at: datetime
    action: str
    from_status: str
    to_status: str
    actor: str
    note: str


def timeline(
    session: Session, center: Center, idea_id: int, *, viewer: Actor | None
) -> list[TimelineStep]:
    """Return an idea's steps, oldest first; the public sees roles, not names, of officials.

    Hiding reasons are shown to the author and staff only.
    """
    row = idea(session, idea_id)
    camp = campaign(session, row.campaign_id)
    if not visible_to(row, camp, center, viewer):
        msg = f"`idea_id`: no idea {idea_id}"
        raise NotFoundError(msg, field="idea_id")
    full = _sees_full(row, camp, center, viewer)
    steps = []
    for e in session.scalars(
        sa.select(IdeaEventRow).where(IdeaEventRow.idea_id == idea_id).order_by(IdeaEventRow.id)
    ):
        who = e.actor if full else (pseudonym(e.actor) if e.actor == row.author else "staff")
        note = e.note if full or e.action not in {"hide", "restore"} else ""
        steps.append(
            TimelineStep(e.at, e.action, e.from_status, e.to_status, who, mask_personal(note))
        )
    return steps


def moderation_queue(
    session: Session, center: Center, *, viewer: Actor, campaign_id: int | None = None
) -> list[IdeaView]:
    """Return what moderators and officials work on: newest ideas, hidden ones, flagged ones.

    Every idea in the viewer's scope that is visible or hidden (not merged), newest first.
    """
    stmt = sa.select(IdeaRow).where(IdeaRow.moderation != "merged").order_by(IdeaRow.id.desc())
    if campaign_id is not None:
        stmt = stmt.where(IdeaRow.campaign_id == campaign_id)
    out = []
    camps: dict[int, CampaignRow] = {}
    for row in session.scalars(stmt.limit(500)):
        camp = camps.setdefault(row.campaign_id, campaign(session, row.campaign_id))
        if not may(viewer, IdeaVerb.STAFF_VIEW, *units_of(row, camp, center)):
            continue
        due = session.get(DeadlineRow, row.id)
        out.append(
            _view(
                row,
                camp,
                center,
                viewer,
                supports=count_supports(session, row.id),
                mine=False,
                due_at=due.due_at if due else None,
                photos=0,
            )
        )
    return out


def plan_candidates(session: Session) -> list[dict[str, object]]:
    """Return the accepted ideas turned into planning sites, as candidate rows.

    Each row has ``candidate_id`` (``idea-<id>``), ``lon``, ``lat`` (WGS84) and ``category``
    (the facility category), what :func:`shancheng.circles.candidates.candidate_frame` and
    ``shancheng circles plan`` take.
    """
    rows = session.scalars(
        sa.select(IdeaRow)
        .where(
            IdeaRow.outcome == "plan",
            IdeaRow.answer_status.in_(
                [AnswerStatus.ACCEPTED, AnswerStatus.IN_PROGRESS, AnswerStatus.DONE]
            ),
        )
        .order_by(IdeaRow.id)
    )
    return [
        {"candidate_id": f"idea-{r.id}", "lon": r.lon, "lat": r.lat, "category": r.plan_category}
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class UnitStats:
    """Participation in one unit: ideas, supports, answers due, answered, overdue, time."""

    unit_code: str
    ideas: int
    supports: int
    answers_due: int
    answered: int
    overdue: int
    answer_rate: float | None
    median_answer_days: float | None
    overdue_ideas: list[int] = field(default_factory=list)


def unit_statistics(
    session: Session,
    center: Center,
    *,
    at: datetime,
    level: Literal["street", "district"] = "district",
    campaign_id: int | None = None,
    within: str | None = None,
) -> list[UnitStats]:
    """Return per-unit participation figures; the supervisor's view of overdue answers.

    An answer is *due* once an idea reached its threshold; it is *answered* when the idea was
    accepted or declined; it is *overdue* when unanswered after its due time or answered late.
    ``answer_rate`` = answered / due; ``median_answer_days`` = median calendar days from
    reaching the threshold to the answer. Ideas without a place count under their campaign's
    first unit. ``within`` (a unit code) keeps only the ideas in that street, district or city.
    """
    stmt = sa.select(IdeaRow).where(IdeaRow.moderation == "visible")
    if campaign_id is not None:
        stmt = stmt.where(IdeaRow.campaign_id == campaign_id)
    rows = list(session.scalars(stmt))
    if within is not None and within != center.city_code:
        rows = [r for r in rows if within in {r.street_code, r.district_code, r.unit_code}]
    counts: dict[int, int] = {}
    for cid in {r.campaign_id for r in rows}:
        counts.update(support_counts(session, cid))
    dues = {d.idea_id: d for d in session.scalars(sa.select(DeadlineRow))}
    camps: dict[int, CampaignRow] = {}
    groups: dict[str, list[IdeaRow]] = {}
    for r in rows:
        unit = r.district_code if level == "district" else r.street_code
        if not unit:
            camp = camps.setdefault(r.campaign_id, campaign(session, r.campaign_id))
            unit = r.unit_code or camp.unit_codes[0]
        groups.setdefault(unit, []).append(r)
    out = []
    for unit, members in sorted(groups.items()):
        due = [r for r in members if r.id in dues]
        answered = [r for r in due if AnswerStatus(r.answer_status) in ANSWERED]
        overdue = [
            r.id
            for r in due
            if (r.answered_at is None and dues[r.id].due_at < at)
            or (r.answered_at is not None and r.answered_at > dues[r.id].due_at)
        ]
        days = [
            (r.answered_at - dues[r.id].reached_at).total_seconds() / 86_400
            for r in answered
            if r.answered_at is not None
        ]
        out.append(
            UnitStats(
                unit_code=unit,
                ideas=len(members),
                supports=sum(counts.get(r.id, 0) for r in members),
                answers_due=len(due),
                answered=len(answered),
                overdue=len(overdue),
                answer_rate=len(answered) / len(due) if due else None,
                median_answer_days=round(statistics.median(days), 2) if days else None,
                overdue_ideas=overdue,
            )
        )
    return out


def open_flags(session: Session, *, viewer: Actor) -> list[FlagRow]:
    """Return the unresolved suspicious-pattern flags for staff (citizens get none)."""
    if viewer.role is Role.CITIZEN:
        return []
    return list(
        session.scalars(sa.select(FlagRow).where(FlagRow.resolved_by == "").order_by(FlagRow.id))
    )


def phase_now(row: CampaignRow, at: datetime) -> list[str]:
    """Return the names of the campaign's phases open at ``at``."""
    return [p.value for p in phases_of(row).open_at(at)]
