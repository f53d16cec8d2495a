"""``/ideas``: the "Golden Ideas" campaigns, ideas, supports, moderation and official answers.

Public reads show what the public may see (personal data masked, hidden ideas left out); a
signed-in author also sees their own hidden idea with the moderators' reason.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import TypeAdapter

from shancheng.api.deps import CenterDep, CurrentUser, NowDep, OptionalUser, SessionDep, StateDep
from shancheng.api.schemas.ideas import (
    AnswerIn,
    CampaignCreate,
    CampaignRead,
    CandidateRead,
    CaseIn,
    FlagRead,
    IdeaCreate,
    IdeaPage,
    IdeaRead,
    MergeIn,
    MergeRead,
    ModerationIn,
    PhasesIn,
    PlanIn,
    SimilarRead,
    SupportRead,
    TimelineRead,
    UnitStatsRead,
    VerificationIn,
)
from shancheng.cases.permissions import Role
from shancheng.cases.privacy import mask_personal
from shancheng.errors import PermissionDeniedError
from shancheng.ideas import photos, service, supports, views
from shancheng.ideas.answers import AnswerAction
from shancheng.ideas.batch import SupportRequest
from shancheng.ideas.case_link import cases_opener
from shancheng.ideas.phases import Phases
from shancheng.ideas.verification import record_verification

if TYPE_CHECKING:
    from shancheng.store.ideas_tables import CampaignRow, FlagRow

RowId = Annotated[int, Path(ge=1, lt=2**31, description="A row id (the database's integer range)")]
CampaignFilter = Annotated[
    int | None, Query(ge=1, lt=2**31, description="Only this campaign's ideas")
]
router = APIRouter(prefix="/ideas", tags=["ideas"])
_IDEA_LIST = TypeAdapter(list[views.IdeaView])


def _campaign(row: CampaignRow, at: NowDep) -> CampaignRead:
    phases = service.phases_of(row)
    return CampaignRead(
        id=row.id,
        title=row.title,
        topic=row.topic,
        unit_codes=row.unit_codes,
        categories=row.categories,
        phases=PhasesIn(
            collecting=phases.collecting,
            supporting=phases.supporting,
            review=phases.review,
            results=phases.results,
        ),
        open_phases=views.phase_now(row, at),
        threshold=row.threshold,
        answer_working_days=row.answer_working_days,
        max_supports_per_person=row.max_supports_per_person,
    )


def _idea(view: views.IdeaView) -> IdeaRead:
    return IdeaRead(**asdict(view))


def _support(result: supports.SupportResult) -> SupportRead:
    return SupportRead(
        idea_id=result.idea_id,
        supported=result.supported,
        changed=result.changed,
        supports=result.supports,
    )


# The supports first: routes are matched in declaration order, and these are the hot path
# under load (no other route of the router has a path of their shape).
@router.post("/{idea_id}/support")
async def support_idea(
    idea_id: RowId,
    center: CenterDep,
    state: StateDep,
    user: CurrentUser,
    at: NowDep,
) -> SupportRead:
    """Support an idea as a verified resident (again: no change).

    Concurrent supports are written together (group commit); each gets its own answer. The
    request waits on the event loop, not in a worker thread.
    """
    request = SupportRequest(idea_id, user, at)
    return _support(await state.ideas_supports.support_async(center, request))


@router.delete("/{idea_id}/support")
async def withdraw_support(
    idea_id: RowId,
    center: CenterDep,
    state: StateDep,
    user: CurrentUser,
    at: NowDep,
) -> SupportRead:
    """Withdraw one's support while the supporting phase is open (in order with supports)."""
    request = SupportRequest(idea_id, user, at)
    return _support(await state.ideas_supports.withdraw_async(center, request))


@router.get("/campaigns")
def list_campaigns(session: SessionDep, at: NowDep) -> list[CampaignRead]:
    """List the campaigns, newest first, with the phases open now."""
    return [_campaign(row, at) for row in service.list_campaigns(session)]


@router.post("/campaigns", status_code=status.HTTP_201_CREATED)
def create_campaign(
    body: CampaignCreate, session: SessionDep, center: CenterDep, user: CurrentUser, at: NowDep
) -> CampaignRead:
    """Open a campaign over units in the official's scope."""
    p = body.phases
    spec = service.CampaignIn(
        body.title,
        body.topic,
        tuple(body.unit_codes),
        tuple(body.categories),
        Phases(p.collecting, p.supporting, p.review, p.results),
        threshold_supports=body.threshold_supports,
        threshold_share=body.threshold_share,
        covered_population=body.covered_population,
        answer_working_days=body.answer_working_days,
        max_supports_per_person=body.max_supports_per_person,
    )
    return _campaign(service.create_campaign(session, center, spec, actor=user, at=at), at)


@router.get("/campaigns/{campaign_id}")
def get_campaign(campaign_id: RowId, session: SessionDep, at: NowDep) -> CampaignRead:
    """Return one campaign."""
    return _campaign(service.campaign(session, campaign_id), at)


@router.get("/campaigns/{campaign_id}/ideas", response_model=list[IdeaRead])
def campaign_ideas(
    campaign_id: RowId,
    session: SessionDep,
    center: CenterDep,
    state: StateDep,
    viewer: OptionalUser,
    sort: Literal["supports", "newest", "answered"] = "supports",
) -> Response:
    """Return the campaign page's list, sorted by supports, newest or answered first.

    The anonymous page is kept for a second per server process (support counts up to that
    much behind; other changes made here show at once): see :mod:`shancheng.api.public_pages`.
    """
    pages = state.public_pages
    key = ("campaign_ideas", campaign_id, sort)
    if viewer is None and (kept := pages.get(key)) is not None:
        return Response(kept, media_type="application/json")
    generation = pages.generation()
    listed = views.campaign_ideas(session, center, campaign_id, viewer=viewer, sort=sort)
    # the views are written as they are (their fields are IdeaRead's, as a test checks):
    # copying hundreds of them into models cost more than reading them from the database
    body = _IDEA_LIST.dump_json(listed)
    if viewer is None:
        pages.put(key, body, generation)
    return Response(body, media_type="application/json")


@router.get("/campaigns/{campaign_id}/similar")
def similar_ideas(
    campaign_id: RowId,
    session: SessionDep,
    text: Annotated[str, Query(min_length=2, max_length=4000)],
    lon: float | None = None,
    lat: float | None = None,
) -> list[SimilarRead]:
    """Return the campaign's ideas like the text being written (and near its place)."""
    found = service.duplicates_of(session, campaign_id, text, lon=lon, lat=lat)
    rows = service.ideas_of(session, [m.key for m in found])
    return [
        SimilarRead(
            id=m.key,
            title=mask_personal(rows[m.key].title),
            text_similarity=m.text_similarity,
            distance_m=m.distance_m,
            score=m.score,
        )
        for m in found
    ]


@router.post("/campaigns/{campaign_id}/ideas", status_code=status.HTTP_201_CREATED)
def propose_idea(
    campaign_id: RowId,
    body: IdeaCreate,
    session: SessionDep,
    center: CenterDep,
    state: StateDep,
    user: CurrentUser,
    at: NowDep,
) -> IdeaRead:
    """Propose an idea while the campaign collects them (photos lose their metadata)."""
    spec = service.IdeaIn(
        body.title,
        body.body,
        body.category,
        lon=body.lon,
        lat=body.lat,
        unit_code=body.unit_code,
        photos=tuple(p.to_photo(i) for i, p in enumerate(body.photos)),
    )
    row = service.propose(session, center, campaign_id, spec, actor=user, at=at)
    state.public_pages.changed()  # committed: the anonymous page shows it
    return _idea(views.idea_view(session, center, row.id, viewer=user))


@router.get("/queue")
def queue(
    session: SessionDep, center: CenterDep, user: CurrentUser, campaign_id: CampaignFilter = None
) -> list[IdeaRead]:
    """Return the staff's moderation and answering queue: ideas in their unit, newest first."""
    return [
        _idea(v)
        for v in views.moderation_queue(session, center, viewer=user, campaign_id=campaign_id)
    ]


@router.get("/flags")
def open_flags(session: SessionDep, user: CurrentUser) -> list[FlagRead]:
    """List the unresolved suspicious support patterns (many new accounts within minutes)."""
    return [_flag(f) for f in views.open_flags(session, viewer=user)]


@router.post("/flags/{flag_id}/resolve")
def resolve_flag(
    flag_id: RowId, session: SessionDep, center: CenterDep, user: CurrentUser
) -> FlagRead:
    """Mark a suspicious-pattern flag as looked at (the idea's moderators)."""
    return _flag(supports.resolve_flag(session, center, flag_id, actor=user))


def _flag(f: FlagRow) -> FlagRead:
    return FlagRead(
        id=f.id,
        idea_id=f.idea_id,
        kind=f.kind,
        window_start=f.window_start,
        supports=f.supports,
        raised_at=f.raised_at,
    )


@router.get("/stats")
def unit_stats(
    session: SessionDep,
    center: CenterDep,
    at: NowDep,
    level: Literal["district", "street"] = "district",
    campaign_id: CampaignFilter = None,
) -> list[UnitStatsRead]:
    """Return per unit: ideas, supports, answers due, answered, overdue, rate, time to answer."""
    stats = views.unit_statistics(session, center, at=at, level=level, campaign_id=campaign_id)
    return [UnitStatsRead(**asdict(s)) for s in stats]


@router.get("/candidates")
def plan_candidates(session: SessionDep) -> list[CandidateRead]:
    """List the accepted ideas that are candidate sites for planning (``circles plan``)."""
    return [CandidateRead.model_validate(row) for row in views.plan_candidates(session)]


@router.post("/residents/{username}/verification")
def verify_resident(
    username: Annotated[str, Path(min_length=1, max_length=64)],
    body: VerificationIn,
    session: SessionDep,
    user: CurrentUser,
    at: NowDep,
) -> dict[str, str]:
    """Record that a resident's account was verified (by phone or an identity provider)."""
    if user.role not in {Role.ADMIN, Role.SUPERVISOR}:
        msg = f"role {user.role.value!r} may not record verifications"
        raise PermissionDeniedError(msg)
    record_verification(
        session, username, method=body.method, at=at, account_created_at=body.account_created_at
    )
    session.commit()
    return {"username": username, "method": body.method}


@router.get("/{idea_id}")
def idea_page(
    idea_id: RowId, session: SessionDep, center: CenterDep, viewer: OptionalUser
) -> IdeaPage:
    """Return an idea's page: supports, answer, timeline (hidden: author and staff only)."""
    view = views.idea_view(session, center, idea_id, viewer=viewer)
    steps = views.timeline(session, center, idea_id, viewer=viewer)
    return IdeaPage(idea=_idea(view), timeline=[TimelineRead(**asdict(s)) for s in steps])


@router.get("/{idea_id}/photos/{index}", response_class=Response)
def idea_photo(
    idea_id: RowId,
    index: Annotated[int, Path(ge=0, lt=100, description="The photo's place, from 0")],
    session: SessionDep,
    center: CenterDep,
    viewer: OptionalUser,
) -> Response:
    """Download an idea's photo (stored re-encoded, without metadata).

    A hidden idea's photos are served to its author and the staff only.
    """
    photo = photos.idea_photo(session, center, idea_id, index, viewer=viewer)
    cache = "public, max-age=60" if photo.public else "private, no-store"
    return Response(
        photo.content,
        media_type=photo.content_type,
        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
    )


@router.post("/{idea_id}/moderation")
def moderate_idea(
    idea_id: RowId,
    body: ModerationIn,
    session: SessionDep,
    center: CenterDep,
    state: StateDep,
    user: CurrentUser,
    at: NowDep,
) -> IdeaRead:
    """Hide an idea with a reason its author reads, or show it again; nothing is deleted."""
    service.moderate(
        session, center, idea_id, hide=body.hide, reason=body.reason, actor=user, at=at
    )
    state.public_pages.changed()  # committed: the anonymous page shows it
    return _idea(views.idea_view(session, center, idea_id, viewer=user))


@router.post("/{idea_id}/merge")
def merge_idea(
    idea_id: RowId,
    body: MergeIn,
    session: SessionDep,
    center: CenterDep,
    state: StateDep,
    user: CurrentUser,
    at: NowDep,
) -> MergeRead:
    """Merge this idea into the one it repeats; nobody's support counts twice."""
    result = supports.merge(session, center, idea_id, body.into_id, actor=user, at=at)
    state.public_pages.changed()  # committed: the anonymous page shows it
    return MergeRead(**asdict(result))


@router.post("/{idea_id}/answer")
def answer_idea(
    idea_id: RowId,
    body: AnswerIn,
    session: SessionDep,
    center: CenterDep,
    state: StateDep,
    user: CurrentUser,
    at: NowDep,
) -> IdeaRead:
    """Move the official answer one step (a decline needs its reason in ``text``)."""
    service.answer(
        session, center, idea_id, AnswerAction(body.action), actor=user, at=at, text=body.text
    )
    state.public_pages.changed()  # committed: the anonymous page shows it
    return _idea(views.idea_view(session, center, idea_id, viewer=user))


@router.post("/{idea_id}/case")
def idea_to_case(
    idea_id: RowId,
    body: CaseIn,
    session: SessionDep,
    center: CenterDep,
    state: StateDep,
    user: CurrentUser,
    at: NowDep,
) -> IdeaRead:
    """Turn an accepted idea into a governance case, routed like any report."""
    opener = cases_opener(session, center, at=at)
    service.to_case(
        session, center, idea_id, category_code=body.category_code, opener=opener, actor=user, at=at
    )
    state.public_pages.changed()  # committed: the anonymous page shows it
    return _idea(views.idea_view(session, center, idea_id, viewer=user))


@router.post("/{idea_id}/plan")
def idea_to_plan(
    idea_id: RowId,
    body: PlanIn,
    session: SessionDep,
    center: CenterDep,
    state: StateDep,
    user: CurrentUser,
    at: NowDep,
) -> IdeaRead:
    """Make an accepted idea a candidate site for planning."""
    service.to_plan(
        session, center, idea_id, facility_category=body.facility_category, actor=user, at=at
    )
    state.public_pages.changed()  # committed: the anonymous page shows it
    return _idea(views.idea_view(session, center, idea_id, viewer=user))
