"""``/credit``: the entity registry, case links, decisions, tiers, draws and the public page."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, status

from shancheng.api.deps import CenterDep, CurrentUser, NowDep, SessionDep
from shancheng.api.schemas.credit import (
    CaseCreditRead,
    DecisionActionIn,
    DecisionCreate,
    DecisionRead,
    DisclosureRead,
    DrawCreate,
    DrawRead,
    EntityCreate,
    EntityPage,
    EntityRead,
    LegalBasis,
    LicenceRead,
    LinkIn,
    PickRead,
    PublicDecisionRead,
    PublicDrawRead,
    PublicLicenceRead,
    ReasonRead,
    RepairIn,
    ResultIn,
    SuggestionRead,
    TierChangeRead,
    UnitFiguresRead,
)
from shancheng.cases.calendar import CHINA_TZ
from shancheng.credit import inspections, publicity, service
from shancheng.credit.codes import parse_code
from shancheng.credit.decisions import DecisionAction, DecisionKind
from shancheng.credit.registry import EntityIn, parse_row
from shancheng.credit.tiers import Reason

if TYPE_CHECKING:
    from shancheng.cases.center import Center
    from shancheng.cases.permissions import Actor
    from shancheng.store.credit_tables import DecisionRow, DrawRow, EntityRow

RowId = Annotated[int, Path(ge=1, lt=2**31, description="A row id (the database's integer range)")]
"""Path ids beyond the database's integer range are refused (422), not sent to the database."""

router = APIRouter(prefix="/credit", tags=["credit"])


def _entity(row: EntityRow) -> EntityRead:
    return EntityRead(
        code=row.code, name=row.name, kind=row.kind, address=row.address, lon=row.lon,
        lat=row.lat, street_code=row.street_code, district_code=row.district_code,
        representative=row.representative, tier=row.tier, score=row.score,
    )  # fmt: skip


def _reason(reason: Reason | dict[str, Any] | str) -> ReasonRead:
    """Return a reason as the API gives it (a stored one: a dict, or an old English text)."""
    if isinstance(reason, str):
        return ReasonRead(code="text", kind="", ref="", on=None, params={"text": reason},
                          english=reason)  # fmt: skip
    if isinstance(reason, dict):
        reason = Reason.from_dict(reason)
    return ReasonRead(
        code=reason.code, kind=reason.kind, ref=reason.ref, on=reason.on,
        params=dict(reason.params), english=reason.english(),
    )  # fmt: skip


def _decision(row: DecisionRow, code: str, center: Center, user: Actor) -> DecisionRead:
    """Return a decision with the steps ``user`` may take on it now."""
    actions = [a.value for a in service.decision_actions(center, row, actor=user)]
    return DecisionRead(
        actions=actions,
        id=row.id, case_id=row.case_id, entity_code=code, kind=row.kind, status=row.status,
        legal_basis=[LegalBasis(**b) for b in row.legal_basis], facts=row.facts,
        amount_yuan=row.amount_yuan, proposed_by=row.proposed_by, decided_by=row.decided_by,
        decided_at=row.decided_at, publish_due=row.publish_due, published_at=row.published_at,
    )  # fmt: skip


@router.get("/entities")
def list_entities(
    session: SessionDep, center: CenterDep, user: CurrentUser, tier: str | None = None
) -> list[EntityRead]:
    """List the entities in the user's unit (optionally of one tier)."""
    return [_entity(r) for r in service.list_entities(session, center, actor=user, tier=tier)]


@router.post("/entities", status_code=status.HTTP_201_CREATED)
def register_entity(
    body: EntityCreate, session: SessionDep, center: CenterDep, user: CurrentUser, at: NowDep
) -> EntityRead:
    """Register an entity or update its record (the earlier version is kept)."""
    record = {k: str(v) for k, v in body.model_dump().items()}
    entity: EntityIn = parse_row(record, "body")
    service.import_entities(session, center, [entity], actor=user, at=at, source="api")
    return _entity(service.get_entity(session, center, entity.code, actor=user))


@router.get("/entities/{code}")
def entity_page(
    code: str, session: SessionDep, center: CenterDep, user: CurrentUser, at: NowDep
) -> EntityPage:
    """Return an entity's page: record, licences, its cases, decisions, tier and its reasons."""
    row = service.get_entity(session, center, code, actor=user)
    return EntityPage(
        entity=_entity(row),
        licences=[
            LicenceRead(
                number=x.number,
                kind=x.kind,
                authority=x.authority,
                decided_on=x.decided_on,
                valid_from=x.valid_from,
                valid_until=x.valid_until,
                publish_due=x.publish_due,
            )
            for x in service.licences_of(session, center, code, actor=user)
        ],
        case_ids=service.entity_cases(session, center, code, actor=user),
        decisions=[
            _decision(d, row.code, center, user)
            for d in service.list_decisions(session, center, actor=user, code=code)
        ],
        tier_changes=[
            TierChangeRead(
                at=t.at,
                actor=t.actor,
                from_tier=t.from_tier,
                to_tier=t.to_tier,
                score=t.score,
                reasons=[_reason(r) for r in t.reasons],
            )
            for t in service.tier_changes(session, center, code, actor=user)
        ],
        reasons=[_reason(r) for r in service.assessment(session, row, at=at).reasons],
        versions=len(service.entity_history(session, center, code, actor=user)) + 1,
    )


@router.get("/cases/{case_id}/suggestions")
def suggestions(
    case_id: RowId, session: SessionDep, center: CenterDep, user: CurrentUser
) -> list[SuggestionRead]:
    """Entities that may be responsible for a case: near its place, or named in its text."""
    return _suggestions(session, center, case_id, user)


def _suggestions(
    session: SessionDep, center: Center, case_id: int, user: Actor
) -> list[SuggestionRead]:
    return [
        SuggestionRead(
            code=s.entity.code,
            name=s.entity.name,
            distance_m=s.distance_m,
            named_in_text=s.named_in_text,
        )
        for s in service.suggest_entities(session, center, case_id, actor=user)
    ]


@router.get("/cases/{case_id}")
def case_credit(
    case_id: RowId, session: SessionDep, center: CenterDep, user: CurrentUser
) -> CaseCreditRead:
    """Return a case in enforcement: its entity, suggestions, decisions and the steps."""
    actions = service.case_actions(session, center, case_id, actor=user)
    entity = service.case_entity(session, center, case_id, actor=user)
    return CaseCreditRead(
        case_id=case_id,
        entity=None if entity is None else _entity(entity),
        suggestions=_suggestions(session, center, case_id, user) if "link" in actions else [],
        decisions=[
            _decision(d, _code_of(session, d), center, user)
            for d in service.case_decisions(session, center, case_id, actor=user)
        ],
        actions=actions,
    )


@router.post("/cases/{case_id}/link")
def link_case(
    case_id: RowId, body: LinkIn, session: SessionDep, center: CenterDep, user: CurrentUser,
    at: NowDep,
) -> EntityRead:  # fmt: skip
    """Name the entity responsible for a case."""
    service.link_case(session, center, case_id, body.code, actor=user, at=at)
    return _entity(service.get_entity(session, center, body.code, actor=user))


@router.get("/decisions")
def list_decisions(session: SessionDep, center: CenterDep, user: CurrentUser) -> list[DecisionRead]:
    """List the decisions in the user's unit, newest first."""
    rows = service.list_decisions(session, center, actor=user)
    codes = {r.id: r.code for r in service.list_entities(session, center, actor=user, limit=10**6)}
    return [_decision(d, codes.get(d.entity_id, ""), center, user) for d in rows]


@router.post("/decisions", status_code=status.HTTP_201_CREATED)
def propose(
    body: DecisionCreate, session: SessionDep, center: CenterDep, user: CurrentUser, at: NowDep
) -> DecisionRead:
    """Propose a penalty or warning on the entity of a case."""
    code = parse_code(body.code).code
    proposal = service.DecisionIn(
        body.case_id, code, DecisionKind(body.kind),
        tuple((b.law, b.article) for b in body.legal_basis), body.facts, body.amount_yuan,
    )  # fmt: skip
    row = service.propose_decision(session, center, proposal, actor=user, at=at)
    return _decision(row, code, center, user)


@router.post("/decisions/{decision_id}/actions")
def act(
    decision_id: RowId, body: DecisionActionIn, session: SessionDep, center: CenterDep,
    user: CurrentUser, at: NowDep,
) -> DecisionRead:  # fmt: skip
    """Take a workflow step: decide, withdraw, publish, appeal, uphold, revoke, close."""
    row = service.act_on_decision(
        session, center, decision_id, DecisionAction(body.action), actor=user, at=at,
        note=body.note,
    )  # fmt: skip
    return _decision(row, _code_of(session, row), center, user)


def _code_of(session: SessionDep, row: DecisionRow) -> str:
    return service.entity_code(session, row.entity_id)


@router.post("/decisions/{decision_id}/repair", status_code=status.HTTP_201_CREATED)
def repair(
    decision_id: RowId, body: RepairIn, session: SessionDep, center: CenterDep, user: CurrentUser,
    at: NowDep,
) -> EntityRead:  # fmt: skip
    """Grant a credit repair on a decision after its minimum publicity (reason kept)."""
    done = service.repair_record(
        session, center, decision_id, reason=body.reason, actor=user, at=at
    )
    return _entity(
        service.get_entity(
            session, center, service.entity_code(session, done.entity_id), actor=user
        )
    )


def _draw(session: SessionDep, row: DrawRow) -> DrawRead:
    return DrawRead(
        id=row.id, plan=row.plan, unit_code=row.unit_code, seed=row.seed, rates=row.rates,
        team_size=row.team_size, inspectors=row.inspectors, population=row.population,
        drawn_at=row.drawn_at,
        picks=[
            PickRead(
                id=p.id, code=code, probability=p.probability, inspectors=p.inspectors,
                outcome=p.outcome, case_id=p.case_id,
            )
            for p, code in inspections.draw_picks(session, row.id)
        ],
    )  # fmt: skip


@router.post("/draws", status_code=status.HTTP_201_CREATED)
def draw(
    body: DrawCreate, session: SessionDep, center: CenterDep, user: CurrentUser, at: NowDep
) -> DrawRead:
    """Draw an inspection plan "double random" in the user's unit (seed recorded)."""
    row = inspections.run_draw(
        session, center, plan=body.plan, inspectors=body.inspectors, seed=body.seed,
        actor=user, at=at, team_size=body.team_size,
    )  # fmt: skip
    return _draw(session, row)


@router.post("/picks/{pick_id}/result")
def record_result(
    pick_id: RowId, body: ResultIn, session: SessionDep, center: CenterDep, user: CurrentUser,
    at: NowDep,
) -> PickRead:  # fmt: skip
    """Record an inspection's result; a failure opens a case linked to the entity."""
    pick = inspections.record_result(
        session, center, pick_id, body.outcome, actor=user, at=at, note=body.note
    )
    return PickRead(
        id=pick.id, code=service.entity_code(session, pick.entity_id), probability=pick.probability,
        inspectors=pick.inspectors, outcome=pick.outcome, case_id=pick.case_id,
    )  # fmt: skip


@router.get("/stats")
def stats(
    session: SessionDep, center: CenterDep, user: CurrentUser, at: NowDep
) -> list[UnitFiguresRead]:
    """Decisions, publication on time and tiers per street of the user's unit."""
    return [
        UnitFiguresRead(**vars_of(f))
        for f in publicity.unit_statistics(session, center, actor=user, at=at)
    ]


def vars_of(figures: publicity.UnitFigures) -> dict[str, object]:
    """Return the fields of a figures record."""
    return {name: getattr(figures, name) for name in UnitFiguresRead.model_fields}


@router.get("/public")
def disclosure(session: SessionDep, at: NowDep) -> DisclosureRead:
    """Return the public page (双公示): published decisions, licences, inspection draws."""
    return DisclosureRead(
        decisions=[
            PublicDecisionRead(
                number=d.number,
                kind=d.kind,
                status=d.status,
                entity_name=d.entity_name,
                entity_code=d.entity_code,
                operator=d.operator,
                legal_basis=list(d.legal_basis),
                facts=d.facts,
                amount_yuan=d.amount_yuan,
                decided_on=d.decided_on,
                published_on=d.published_on,
                authority_code=d.authority_code,
            )
            for d in publicity.public_decisions(session, at=at)
        ],
        licences=[
            PublicLicenceRead(
                number=x.number,
                kind=x.kind,
                authority=x.authority,
                entity_name=x.entity_name,
                entity_code=x.entity_code,
                decided_on=x.decided_on,
                valid_from=x.valid_from,
                valid_until=x.valid_until,
            )
            for x in publicity.public_licences(session, on=at.astimezone(CHINA_TZ).date())
        ],
        draws=[
            PublicDrawRead(
                id=d.id,
                plan=d.plan,
                seed=d.seed,
                rates=d.rates,
                team_size=d.team_size,
                inspectors=d.inspectors,
                population=d.population,
                drawn_at=d.drawn_at,
            )
            for d in publicity.public_draws(session)
        ],
    )
