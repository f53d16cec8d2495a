"""REST endpoints of the governance center: log in, report, act on, read and rate cases."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import Response
from fastapi.security import OAuth2PasswordRequestForm

from shancheng.api.deps import (
    BearerCredentials,
    CenterDep,
    CentersDep,
    CurrentUser,
    NowDep,
    OptionalUser,
    SessionDep,
    SettingsDep,
    client_address,
    rate_limit,
)
from shancheng.api.policy import admitted_routes
from shancheng.api.schemas.cases import (
    ActionIn,
    AttachmentRead,
    AuditRead,
    CaseCategoryRead,
    CaseCreate,
    CaseRead,
    ClassifyIn,
    DepartmentRead,
    EventRead,
    IntakeRead,
    MeRead,
    ProposalRead,
    RatingIn,
    RuleIn,
    RulePatch,
    RuleRead,
    StageLimitIn,
    StageLimitPatch,
    StageLimitRead,
    StatusRead,
    TaxonomyCategoryIn,
    TaxonomyCategoryPatch,
    TaxonomyCategoryRead,
    TokenRead,
    TrendDay,
    TrendsRead,
    TrendWeek,
    WorkflowRead,
)
from shancheng.api.state import app_state
from shancheng.cases import accounts, admin, service, statistics
from shancheng.cases.center import Center
from shancheng.cases.domain import CaseStatus
from shancheng.cases.permissions import Actor
from shancheng.cases.service import ReportIn, Source
from shancheng.cases.taxonomy import Category, Taxonomy
from shancheng.ideas import views as idea_views

if TYPE_CHECKING:
    from shancheng.store.cases_tables import CaseRow

router = APIRouter()


@router.post("/auth/token", tags=["auth"])
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    at: NowDep,
) -> TokenRead:
    """Exchange a user name and password for a bearer token that expires.

    Throttled: after five failed attempts for an account or from an address, each further
    attempt waits twice as long (429 with ``Retry-After``).
    """
    token = accounts.login(
        session,
        form.username,
        form.password,
        at=at,
        ttl_h=settings.cases_token_ttl_h,
        client=client_address(request),
    )
    return TokenRead(
        access_token=token, expires_at=at + timedelta(hours=settings.cases_token_ttl_h)
    )


@router.delete("/auth/token", status_code=status.HTTP_204_NO_CONTENT, tags=["auth"])
def logout(
    request: Request, user: CurrentUser, credentials: BearerCredentials, session: SessionDep
) -> Response:
    """Log out: revoke the bearer token of this request at once.

    This server process refuses the token from the answer on; other server processes of the
    same database within 5 s (each trusts a token it found valid for that long).
    """
    del user  # the token is valid: checked by the access policy, then here
    assert credentials is not None  # noqa: S101 - CurrentUser refused the request without one
    token = credentials.credentials[:256]  # as the policy looked it up
    accounts.logout(session, token)
    app_state(request).token_cache.forget(accounts.token_digest(token))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/health", tags=["meta"])
def health() -> dict[str, str]:
    """Tell that the server is up."""
    return {"status": "ok"}


@router.post("/cases", status_code=status.HTTP_201_CREATED, tags=["cases"])
def report_case(
    body: CaseCreate,
    request: Request,
    session: SessionDep,
    center: CenterDep,
    user: OptionalUser,
    at: NowDep,
) -> IntakeRead:
    """Report a problem (citizens, inspectors, or anyone without logging in, limited per address).

    Validated, routed, linked to duplicates; the answer's ``case.reference`` lets an anonymous
    reporter follow the case at ``GET /cases/public/{reference}``.
    """
    client = f"user:{user.username}" if user else f"ip:{client_address(request)}"
    rate_limit(request, client)
    photos = tuple(p.to_photo(i) for i, p in enumerate(body.photos))
    source: Source = "inspector" if user and user.role.value == "inspector" else "web"
    report = ReportIn(
        body.category_code,
        body.lon,
        body.lat,
        address=body.address,
        description=body.description,
        title=body.title,
        source=source,
        client=client,
        photos=photos,
        extra_points=tuple(body.extra_points),
    )
    result = service.submit_report(session, center, report, at=at, actor=user)
    return IntakeRead(case=CaseRead.model_validate(result.case), linked_to=result.linked_to)


@router.post("/cases/classify", tags=["cases"])
def classify(
    body: ClassifyIn, request: Request, user: CurrentUser, center: CenterDep
) -> list[ProposalRead]:
    """Propose the 3 likeliest active categories for a text (Chinese or English)."""
    del user  # any signed-in user may ask
    model, taxonomy = app_state(request).classifier(center.taxonomy)
    ranked = model.propose(body.text, k=len(model.labels))
    proposals = [p for p in ranked if _reportable(taxonomy, p.label)][:3]
    return [
        ProposalRead(
            category_code=p.label,
            name_zh=taxonomy.category(p.label).name_zh,
            name_en=taxonomy.category(p.label).name_en,
            confidence=p.confidence,
        )
        for p in proposals
    ]


def _read(center: Center, row: CaseRow, user: Actor) -> CaseRead:
    """Return the case as ``user`` sees it, with the actions they may take on it now."""
    actions = service.allowed_actions(center, row, actor=user)
    return CaseRead.model_validate(row).model_copy(update={"actions": actions})


@router.get("/cases/workflow", tags=["cases"])
def workflow() -> WorkflowRead:
    """List the workflow's stages in order, their Chinese names and which are open (public)."""
    return WorkflowRead(
        statuses=[StatusRead(value=s, name_zh=s.name_zh, is_open=s.is_open) for s in CaseStatus]
    )


def _reportable(taxonomy: Taxonomy, code: str) -> bool:
    category = taxonomy.categories.get(code)
    return category is not None and category.active


@router.get("/cases", tags=["cases"])
def list_cases(
    session: SessionDep,
    center: CenterDep,
    user: CurrentUser,
    at: NowDep,
    response: Response,
    status_: Annotated[list[CaseStatus] | None, Query(alias="status")] = None,
    category: Annotated[list[str] | None, Query(max_length=20)] = None,
    unit: Annotated[
        str | None, Query(max_length=16, description="Only the cases of this unit (any level)")
    ] = None,
    overdue: Annotated[  # noqa: FBT002 - a query parameter, named in every call
        bool, Query(description="Only open cases past their stage deadline now")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[CaseRead]:
    """List the cases in the user's scope, newest first, one page at a time.

    The ``X-Total-Count`` header holds how many cases match the filters in all pages.
    """
    filters: dict[str, Any] = {
        "statuses": [s.value for s in status_] if status_ else None,
        "categories": category,
        "within": unit,
        "overdue_at": at if overdue else None,
    }
    rows = service.list_cases(session, center, actor=user, **filters, limit=limit, offset=offset)
    total = service.count_cases(session, center, actor=user, **filters)
    response.headers["X-Total-Count"] = str(total)
    return [_read(center, row, user) for row in rows]


@router.get("/cases/{case_id}", tags=["cases"])
def get_case(case_id: int, session: SessionDep, center: CenterDep, user: CurrentUser) -> CaseRead:
    """Read one case."""
    return _read(center, service.get_case(session, center, _id(case_id), actor=user), user)


@router.get("/cases/{case_id}/events", tags=["cases"])
def case_events(
    case_id: int, session: SessionDep, center: CenterDep, user: CurrentUser
) -> list[EventRead]:
    """Read the history of a case, oldest first."""
    rows = service.case_history(session, center, _id(case_id), actor=user)
    return [EventRead.model_validate(row) for row in rows]


@router.get("/cases/{case_id}/attachments", tags=["cases"])
def case_attachments(
    case_id: int, session: SessionDep, center: CenterDep, user: CurrentUser
) -> list[AttachmentRead]:
    """List the photos and records attached to a case, oldest first (bytes under ``url``)."""
    rows = service.case_attachments(session, center, _id(case_id), actor=user)
    return [AttachmentRead.model_validate(row) for row in rows]


@router.post("/cases/{case_id}/actions", tags=["cases"])
def act_on_case(
    case_id: int,
    body: ActionIn,
    session: SessionDep,
    center: CenterDep,
    user: CurrentUser,
    at: NowDep,
) -> CaseRead:
    """Do a workflow action (register, dispatch, respond, verify, close, escalate...)."""
    photos = [p.to_photo(i) for i, p in enumerate(body.photos)]
    row = service.act(
        session,
        center,
        _id(case_id),
        body.action,
        actor=user,
        at=at,
        note=body.note,
        department=body.department,
        into=body.into,
        photos=photos,
    )
    return _read(center, row, user)


@router.post("/cases/{case_id}/rating", tags=["cases"])
def rate_case(
    case_id: int, body: RatingIn, session: SessionDep, center: CenterDep, user: CurrentUser
) -> CaseRead:
    """Rate a closed case (the reporter's satisfaction, 1..5)."""
    row = service.rate_case(session, center, _id(case_id), body.satisfaction, actor=user)
    return _read(center, row, user)


@router.get("/stats/evaluation", tags=["statistics"])
def evaluation(
    session: SessionDep,
    center: CenterDep,
    user: CurrentUser,
    at: NowDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    by: Literal["department", "street_code", "district_code"] = "department",
) -> list[dict[str, Any]]:
    """综合评价: volume, on-time and rework rates, overdue, satisfaction per group.

    Grouped by street or district, each unit also has the official answers to its Golden Ideas
    (金点子) due, and those overdue now (unanswered past their working-day deadline, or
    answered late), with the overdue ideas' ids, in the user's unit.
    """
    table = statistics.evaluation_table(session, center, actor=user, at=at, days=days, by=by)
    records = _records(table.reset_index())
    if by == "department":
        return records
    level: Literal["street", "district"] = "street" if by == "street_code" else "district"
    ideas = idea_views.unit_statistics(session, center, at=at, level=level, within=user.unit_code)
    return _with_idea_answers(records, ideas, by=by, columns=list(table.columns))


def _with_idea_answers(
    records: list[dict[str, Any]],
    ideas: list[idea_views.UnitStats],
    *,
    by: str,
    columns: list[str],
) -> list[dict[str, Any]]:
    """Add the ideas' answers due and overdue to the evaluation rows of the same unit.

    A unit with ideas but no cases gets a row of its own (no cases, the rest empty).
    """
    per_unit = {s.unit_code: s for s in ideas}
    out = []
    for record in records:
        found = per_unit.pop(str(record[by]), None)
        out.append({**record, **_idea_answers(found)})
    for unit, found in sorted(per_unit.items()):
        empty = dict.fromkeys(columns, None) | {"cases": 0}
        out.append({by: unit, **empty, **_idea_answers(found)})
    return out


def _idea_answers(found: idea_views.UnitStats | None) -> dict[str, Any]:
    if found is None:
        return {"ideas_answers_due": 0, "ideas_overdue": 0, "ideas_overdue_ids": []}
    return {
        "ideas_answers_due": found.answers_due,
        "ideas_overdue": found.overdue,
        "ideas_overdue_ids": found.overdue_ideas,
    }


@router.get("/stats/trends", tags=["statistics"])
def trends(
    session: SessionDep,
    center: CenterDep,
    user: CurrentUser,
    at: NowDep,
    days: Annotated[int, Query(ge=7, le=366)] = 56,
) -> TrendsRead:
    """Cases reported and closed per day, and the on-time share of closings per week.

    In the user's scope, for the last ``days`` days up to now (merged duplicates left out).
    """
    found = service.case_trends(session, center, actor=user, at=at, days=days)
    return TrendsRead(
        until=found.until,
        daily=[TrendDay(day=d, reported=r, closed=c) for d, r, c in found.daily],
        weekly=[
            TrendWeek(
                week=w, closed_timed=n, closed_on_time=k, on_time_share=(k / n if n else None)
            )
            for w, n, k in found.weekly
        ],
    )


@router.get("/auth/me", tags=["auth"])
def me(user: CurrentUser, center: CenterDep) -> MeRead:
    """Who the signed-in user is, with names, and which routes are open to them."""
    zh, en = center.admin.names.get(user.unit_code, (user.unit_code, ""))
    unit = (zh, en or zh)
    department = center.taxonomy.departments.get(user.department or "")
    return MeRead(
        username=user.username,
        role=user.role.value,
        unit_code=user.unit_code,
        unit_name=unit[0],
        unit_name_en=unit[1],
        department=user.department,
        department_name=department.name_zh if department else None,
        department_name_en=department.name_en if department else None,
        routes=admitted_routes(user),
    )


@router.get("/departments", tags=["cases"])
def departments(center: CenterDep) -> list[DepartmentRead]:
    """List the departments that handle cases, by code, with their names."""
    found = center.taxonomy.departments
    return [
        DepartmentRead(code=c, name_zh=d.name_zh, name_en=d.name_en)
        for c, d in sorted(found.items())
    ]


@router.get("/stats/hotspots", tags=["statistics"])
def hotspots(
    session: SessionDep,
    center: CenterDep,
    user: CurrentUser,
    at: NowDep,
    days: Annotated[int, Query(ge=1, le=366)] = 28,
    window: Literal["1h", "6h", "1D", "7D"] = "1D",
) -> list[dict[str, Any]]:
    """Count reports per unit-grid cell in the latest window; flag emerging hotspots."""
    table = statistics.hotspot_table(session, center, actor=user, at=at, days=days, window=window)
    return _records(table)


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe rows: NaN becomes null, numpy scalars become Python numbers."""
    clean = table.astype(object).where(table.notna(), None)
    return [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in clean.to_dict("records")
    ]


@router.get("/blobs/{sha256}", tags=["cases"], response_class=Response)
def get_blob(sha256: str, session: SessionDep, center: CenterDep, user: OptionalUser) -> Response:
    """Download a stored photo by the sha256 of its content.

    Reporters' photos are public; handlers' photos only for staff who may view their case.
    """
    blob, public = service.get_blob(session, center, sha256.lower()[:64], actor=user)
    cache = "public, max-age=31536000, immutable" if public else "private, no-store"
    return Response(
        blob.content,
        media_type=blob.content_type,
        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
    )


def _id(case_id: int) -> int:
    """Map ids beyond the database's integer range to 'not found' instead of an overflow."""
    return case_id if 0 < case_id < 2**31 else 0


@router.get("/admin/jurisdiction", tags=["admin"])
def list_rules(session: SessionDep, user: CurrentUser) -> list[RuleRead]:
    """List the jurisdiction table: (category, unit) → department and level (admins only)."""
    return [RuleRead.model_validate(r) for r in admin.list_rules(session, actor=user)]


@router.post("/admin/jurisdiction", status_code=status.HTTP_201_CREATED, tags=["admin"])
def create_rule(
    body: RuleIn, session: SessionDep, centers: CentersDep, user: CurrentUser, at: NowDep
) -> RuleRead:
    """Add a jurisdiction rule; validated against the taxonomy and the city; audit-logged."""
    row = admin.create_rule(session, centers, body.model_dump(), actor=user, at=at)
    return RuleRead.model_validate(row)


@router.patch("/admin/jurisdiction/{rule_id}", tags=["admin"])
def update_rule(
    rule_id: int,
    body: RulePatch,
    session: SessionDep,
    centers: CentersDep,
    user: CurrentUser,
    at: NowDep,
) -> RuleRead:
    """Change a jurisdiction rule; the audit log keeps the version before."""
    changes = body.model_dump(exclude_none=True)
    row = admin.update_rule(session, centers, rule_id, changes, actor=user, at=at)
    return RuleRead.model_validate(row)


@router.get("/admin/stage-limits", tags=["admin"])
def list_stage_limits(session: SessionDep, user: CurrentUser) -> list[StageLimitRead]:
    """List the per-district stage time limits overriding the taxonomy's (admins only)."""
    rows = admin.list_stage_limits(session, actor=user)
    return [StageLimitRead.model_validate(r) for r in rows]


@router.post("/admin/stage-limits", status_code=status.HTTP_201_CREATED, tags=["admin"])
def create_stage_limit(
    body: StageLimitIn, session: SessionDep, centers: CentersDep, user: CurrentUser, at: NowDep
) -> StageLimitRead:
    """Give a district its own limit for one stage (of one category, or ``*``); audit-logged."""
    row = admin.create_stage_limit(session, centers, body.model_dump(), actor=user, at=at)
    return StageLimitRead.model_validate(row)


@router.patch("/admin/stage-limits/{limit_id}", tags=["admin"])
def update_stage_limit(
    limit_id: int,
    body: StageLimitPatch,
    session: SessionDep,
    centers: CentersDep,
    user: CurrentUser,
    at: NowDep,
) -> StageLimitRead:
    """Change a stage limit; applies to stages started from now on; audit-logged."""
    changes = body.model_dump(exclude_none=True)
    row = admin.update_stage_limit(session, centers, limit_id, changes, actor=user, at=at)
    return StageLimitRead.model_validate(row)


@router.get("/categories", tags=["cases"])
def list_categories(center: CenterDep) -> list[CaseCategoryRead]:
    """List every case category by code, retired ones too (``active`` false).

    Public, as the Open311 service list is; that list names the active categories only,
    which new reports take, while old cases of a retired category still need its name.
    """
    taxonomy = center.taxonomy
    return [
        CaseCategoryRead.model_validate(taxonomy.categories[c].as_dict())
        for c in sorted(taxonomy.categories)
    ]


@router.get("/admin/taxonomy", tags=["admin"])
def list_taxonomy(
    session: SessionDep, centers: CentersDep, user: CurrentUser
) -> list[TaxonomyCategoryRead]:
    """List every category, retired ones too, with its default handling (admins only).

    Each with its department, level, priority and stage limits, and whether it is packaged
    as is (``seed``), changed (``edited``) or added by an admin.
    """
    found = admin.list_categories(session, centers, actor=user)
    return [_category_read(c, origin) for c, origin in found]


@router.post("/admin/taxonomy", status_code=status.HTTP_201_CREATED, tags=["admin"])
def create_category(
    body: TaxonomyCategoryIn,
    session: SessionDep,
    centers: CentersDep,
    user: CurrentUser,
    at: NowDep,
) -> TaxonomyCategoryRead:
    """Add a category (new GB/T 30428-style code, known department); audit-logged."""
    values = body.model_dump(exclude_none=True)
    category = admin.create_category(session, centers, values, actor=user, at=at)
    return _category_read(category, "added")


@router.patch("/admin/taxonomy/{code}", tags=["admin"])
def update_category(
    code: str,
    body: TaxonomyCategoryPatch,
    session: SessionDep,
    centers: CentersDep,
    user: CurrentUser,
    at: NowDep,
) -> TaxonomyCategoryRead:
    """Change a category's names, handling or limits; ``active: false`` retires it.

    A retired category takes no new reports; its cases keep it. The audit log keeps the
    version before. No category is ever deleted.
    """
    changes = body.model_dump(exclude_none=True)
    category = admin.update_category(session, centers, code[:16], changes, actor=user, at=at)
    return _category_read(category, admin.category_origin(session, centers, category.code))


def _category_read(category: Category, origin: str) -> TaxonomyCategoryRead:
    return TaxonomyCategoryRead.model_validate({**category.as_dict(), "origin": origin})


@router.get("/admin/audit", tags=["admin"])
def audit(
    session: SessionDep, user: CurrentUser, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[AuditRead]:
    """List the latest changes to the jurisdiction table and stage limits, newest first."""
    return [AuditRead.model_validate(r) for r in admin.audit_log(session, actor=user, limit=limit)]
