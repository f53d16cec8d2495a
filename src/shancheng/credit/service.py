"""The public API of enforcement: registry, case links, decisions, tiers, repairs.

Each function takes a session and the governance :class:`~shancheng.cases.center.Center`
(its hierarchy places entities, its calendar counts publicity deadlines), checks the actor's
credit verb in scope (:mod:`~shancheng.credit.permissions`), writes and commits once; on any
error it rolls back. Cases are read only through :mod:`shancheng.cases.service`, which also
hides from an actor the cases outside their scope. The inspection draw is in
:mod:`~shancheng.credit.inspections`, the public view in :mod:`~shancheng.credit.publicity`.
"""

from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from shancheng.cases import service as cases
from shancheng.cases.permissions import Actor, Role
from shancheng.credit import repository
from shancheng.credit.decisions import (
    COUNTING_STATUSES,
    TRANSITIONS,
    DecisionAction,
    DecisionKind,
    DecisionStatus,
    next_status,
    publish_due,
)
from shancheng.credit.permissions import ROLE_VERBS, CreditVerb, check_verb, in_scope
from shancheng.credit.tiers import Assessment, assess, load_rules, repair_possible_on
from shancheng.errors import (
    CaseError,
    CaseInputError,
    ConflictError,
    NotFoundError,
    RegistryImportError,
    TransitionNotAllowedError,
)
from shancheng.geo.crs import lonlat_to_utm
from shancheng.store.credit_tables import (
    CaseLinkRow,
    DecisionEventRow,
    DecisionRow,
    EntityHistoryRow,
    EntityRow,
    LicenceRow,
    RepairRow,
    TierChangeRow,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import datetime

    from sqlalchemy.orm import Session

    from shancheng.cases.center import Center
    from shancheng.credit.registry import EntityIn
    from shancheng.credit.tiers import TierRules

logger = logging.getLogger(__name__)
SYSTEM = Actor("system", Role.ADMIN, "")
"""The actor of scheduled work (tier reassessment after an event)."""


@functools.cache
def default_rules() -> TierRules:
    """Return the packaged rule set (read once)."""
    return load_rules()


@contextmanager
def unit_of_work(session: Session) -> Iterator[None]:
    """Commit on success; roll back (and translate lost races) on failure."""
    try:
        yield
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        msg = "the record changed while this request was processed; reload it and retry"
        raise ConflictError(msg) from exc
    except BaseException:
        session.rollback()
        raise


def units_of(row: EntityRow | DecisionRow, center: Center) -> tuple[str, ...]:
    """Return the codes of the units holding an entity or decision (for scope checks)."""
    community = getattr(row, "community_code", "")
    return tuple(u for u in (community, row.street_code, row.district_code, center.city_code) if u)


# --- registry ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: codes created, updated (history kept), unchanged."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]


def import_entities(
    session: Session,
    center: Center,
    entities: Sequence[EntityIn],
    *,
    actor: Actor,
    at: datetime,
    source: str = "",
) -> ImportResult:
    """Create or update entities and their licences; an update keeps the old record.

    Every entity is placed in the city and checked against the actor's scope first; a bad
    one refuses the whole import (:class:`RegistryImportError` naming each row), nothing
    written.
    """
    check_verb(actor, CreditVerb.REGISTER)
    located, problems = [], []
    for entity in entities:
        where = entity.row or entity.code
        try:
            location = center.admin.locate(entity.lon, entity.lat)
        except CaseError as exc:
            problems.append(f"`{where}, lon/lat`: {exc}")
            continue
        units = (location.community_code, location.street_code, location.district_code)
        if not in_scope(actor, *units, center.city_code):
            problems.append(f"`{where}`: lies outside unit {actor.unit_code} of {actor.username!r}")
        located.append((entity, location))
    if problems:
        msg = f"{len(problems)} problem(s); nothing was imported:\n" + "\n".join(problems)
        raise RegistryImportError(msg, problems=tuple(problems))
    created, updated, unchanged = [], [], []
    with unit_of_work(session):
        for entity, location in located:
            row = session.scalars(sa.select(EntityRow).where(EntityRow.code == entity.code)).first()
            record = {
                "code": entity.code, "name": entity.name, "kind": entity.kind.value,
                "address": entity.address, "lon": entity.lon, "lat": entity.lat,
                "community_code": location.community_code, "street_code": location.street_code,
                "district_code": location.district_code, "representative": entity.representative,
                "representative_id": entity.representative_id,
            }  # fmt: skip
            if row is None:
                row = EntityRow(**record, tier="", score=0.0, updated_at=at)
                session.add(row)
                session.flush()
                created.append(entity.code)
            elif repository.record_of(row) != record:
                session.add(
                    EntityHistoryRow(
                        entity_id=row.id, at=at, actor=actor.username, source=source[:300],
                        record=repository.record_of(row),
                    )
                )  # fmt: skip
                for name, value in record.items():
                    setattr(row, name, value)
                row.updated_at = at
                updated.append(entity.code)
            else:
                unchanged.append(entity.code)
            _add_licences(session, center, row, entity)
        for code in created:
            reassess_entity(session, repository.entity_by_code(session, code), at=at, actor=actor)
    logger.info("imported entities: %d new, %d updated", len(created), len(updated))
    return ImportResult(tuple(created), tuple(updated), tuple(unchanged))


def _add_licences(session: Session, center: Center, row: EntityRow, entity: EntityIn) -> None:
    known = set(session.scalars(sa.select(LicenceRow.number).where(LicenceRow.entity_id == row.id)))
    for licence in entity.licences:
        if licence.number in known:
            continue
        session.add(
            LicenceRow(
                entity_id=row.id, number=licence.number, kind=licence.kind,
                authority=licence.authority, decided_on=licence.decided_on,
                valid_from=licence.valid_from, valid_until=licence.valid_until,
                publish_due=publish_due(licence.decided_on, center.calendar),
            )
        )  # fmt: skip


def count_entities(session: Session) -> int:
    """Return how many entities the registry holds (all units; for the command line)."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(EntityRow)) or 0)


def entity_code(session: Session, entity_id: int) -> str:
    """Return the code of an entity by its id."""
    return repository.entity_by_id(session, entity_id).code


def get_entity(session: Session, center: Center, code: str, *, actor: Actor) -> EntityRow:
    """Return an entity in the actor's scope (others do not exist for them)."""
    check_verb(actor, CreditVerb.VIEW)
    row = repository.entity_by_code(session, code)
    if not in_scope(actor, *units_of(row, center)):
        msg = f"`code`: no entity with code {code[:40]!r}"
        raise NotFoundError(msg, field="code")
    return row


def list_entities(
    session: Session, center: Center, *, actor: Actor, tier: str | None = None, limit: int = 500
) -> list[EntityRow]:
    """Return the entities in the actor's scope, by name."""
    check_verb(actor, CreditVerb.VIEW)
    stmt = sa.select(EntityRow).order_by(EntityRow.name, EntityRow.code).limit(limit)
    if actor.unit_code != center.city_code:
        stmt = stmt.where(
            sa.or_(
                EntityRow.community_code == actor.unit_code,
                EntityRow.street_code == actor.unit_code,
                EntityRow.district_code == actor.unit_code,
            )
        )
    if tier is not None:
        stmt = stmt.where(EntityRow.tier == tier)
    return list(session.scalars(stmt))


# --- links between cases and entities ---------------------------------------------------------


def link_case(
    session: Session, center: Center, case_id: int, code: str, *, actor: Actor, at: datetime
) -> CaseLinkRow:
    """Name ``code`` as the entity responsible for case ``case_id`` (replacing a link)."""
    check_verb(actor, CreditVerb.LINK)
    with unit_of_work(session):
        cases.get_case(session, center, case_id, actor=actor)
        entity = get_entity(session, center, code, actor=actor)
        link = session.get(CaseLinkRow, case_id)
        before = None if link is None else link.entity_id
        if link is None:
            link = CaseLinkRow(
                case_id=case_id, entity_id=entity.id, linked_by=actor.username, linked_at=at
            )
            session.add(link)
        else:
            link.entity_id, link.linked_by, link.linked_at = entity.id, actor.username, at
        session.flush()
        reassess_entity(session, entity, at=at, actor=actor)
        if before is not None and before != entity.id:
            reassess_entity(session, repository.entity_by_id(session, before), at=at, actor=actor)
    return link


@dataclass(frozen=True, slots=True)
class Suggestion:
    """An entity that may be responsible for a case, and why."""

    entity: EntityRow
    distance_m: float
    named_in_text: bool


def suggest_entities(
    session: Session, center: Center, case_id: int, *, actor: Actor, radius_m: float = 150.0
) -> list[Suggestion]:
    """Suggest entities for a case: those near its place and those its text names.

    Named entities come first, then by distance; at most 10.
    """
    check_verb(actor, CreditVerb.LINK)
    case = cases.get_case(session, center, case_id, actor=actor)
    text = f"{case.title} {case.description} {case.address}"
    rows = list_entities(session, center, actor=actor, limit=100_000)
    if not rows:
        return []
    x, y = lonlat_to_utm([r.lon for r in rows], [r.lat for r in rows], epsg=center.admin.crs_epsg)
    found = []
    for row, ex, ey in zip(rows, x, y, strict=True):
        distance = float(((ex - case.x_utm) ** 2 + (ey - case.y_utm) ** 2) ** 0.5)
        named = bool(row.name) and (row.name in text or row.code in text)
        if named or distance <= radius_m:
            found.append(Suggestion(row, round(distance, 1), named))
    found.sort(key=lambda s: (not s.named_in_text, s.distance_m, s.entity.code))
    return found[:10]


def entity_cases(session: Session, center: Center, code: str, *, actor: Actor) -> list[int]:
    """Return the ids of the cases naming an entity that the actor may see, newest first."""
    entity = get_entity(session, center, code, actor=actor)
    visible = []
    for case_id in repository.linked_case_ids(session, entity.id):
        try:
            cases.get_case(session, center, case_id, actor=actor)
        except CaseError:
            continue
        visible.append(case_id)
    return visible


# --- decisions --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DecisionIn:
    """A proposed penalty or warning."""

    case_id: int
    code: str
    kind: DecisionKind
    legal_basis: tuple[tuple[str, str], ...]  # (law, article)
    facts: str
    amount_yuan: float = 0.0


def propose_decision(
    session: Session, center: Center, proposal: DecisionIn, *, actor: Actor, at: datetime
) -> DecisionRow:
    """Propose a decision on the entity of a case (linking them if not yet linked)."""
    check_verb(actor, CreditVerb.PROPOSE)
    if not proposal.legal_basis or any(not law.strip() for law, _ in proposal.legal_basis):
        msg = "`legal_basis`: give at least one law and article the decision rests on"
        raise CaseInputError(msg, field="legal_basis")
    if not 0.0 <= proposal.amount_yuan <= 1e8:  # noqa: PLR2004 - a sanity bound
        msg = f"`amount_yuan`: must be between 0 and 100,000,000, got {proposal.amount_yuan}"
        raise CaseInputError(msg, field="amount_yuan")
    if proposal.kind is DecisionKind.WARNING and proposal.amount_yuan:
        msg = "`amount_yuan`: a warning carries no fine; give 0 or propose a penalty"
        raise CaseInputError(msg, field="amount_yuan")
    with unit_of_work(session):
        cases.get_case(session, center, proposal.case_id, actor=actor)
        entity = get_entity(session, center, proposal.code, actor=actor)
        if session.get(CaseLinkRow, proposal.case_id) is None:
            session.add(
                CaseLinkRow(
                    case_id=proposal.case_id,
                    entity_id=entity.id,
                    linked_by=actor.username,
                    linked_at=at,
                )
            )
        row = DecisionRow(
            case_id=proposal.case_id, entity_id=entity.id, kind=proposal.kind.value,
            status=DecisionStatus.PROPOSED.value,
            legal_basis=[{"law": law, "article": art} for law, art in proposal.legal_basis],
            facts=proposal.facts[:4000], amount_yuan=float(proposal.amount_yuan),
            street_code=entity.street_code, district_code=entity.district_code,
            proposed_by=actor.username, proposed_at=at, decided_by="",
        )  # fmt: skip
        session.add(row)
        session.flush()
        _event(session, row, "propose", "", DecisionStatus.PROPOSED, actor, at, "")
        reassess_entity(session, entity, at=at, actor=actor)
    return row


def act_on_decision(
    session: Session,
    center: Center,
    decision_id: int,
    action: DecisionAction,
    *,
    actor: Actor,
    at: datetime,
    note: str = "",
) -> DecisionRow:
    """Take a workflow step on a decision (decide, publish, appeal, uphold, revoke, close)."""
    check_verb(actor, CreditVerb(action.value))
    with unit_of_work(session):
        row = repository.decision(session, decision_id, lock=True)
        if not in_scope(actor, *units_of(row, center)):
            msg = f"`decision_id`: no decision {decision_id}"
            raise NotFoundError(msg, field="decision_id")
        _step(session, center, row, action, actor=actor, at=at, note=note)
    return row


def decision_actions(center: Center, row: DecisionRow, *, actor: Actor) -> list[DecisionAction]:
    """Return the workflow steps ``actor`` may take on the decision now, in workflow order.

    A step is offered when the workflow leads somewhere from the decision's status
    (:data:`~shancheng.credit.decisions.TRANSITIONS`) and the actor's role has its verb in the
    decision's unit; what the dashboard shows is this list, never a copy of the rules.
    """
    if not in_scope(actor, *units_of(row, center)):
        return []
    status = DecisionStatus(row.status)
    return [
        action
        for action in DecisionAction
        if (status, action) in TRANSITIONS and CreditVerb(action.value) in ROLE_VERBS[actor.role]
    ]


CaseCreditAction = Literal["link", "propose"]
"""What may be done about a case in enforcement: name its entity, propose a decision."""


def case_actions(session: Session, center: Center, case_id: int, *, actor: Actor) -> list[str]:
    """Return the enforcement steps ``actor`` may take on case ``case_id`` (one they can see).

    ``link`` for the roles that name entities, ``propose`` for those that propose decisions;
    nothing for a case the actor cannot see (:class:`~shancheng.errors.CaseError` is raised).
    """
    cases.get_case(session, center, case_id, actor=actor)
    verbs = ROLE_VERBS[actor.role]
    offered: list[CaseCreditAction] = ["link", "propose"]
    return [a for a in offered if CreditVerb(a) in verbs]


def case_entity(
    session: Session, center: Center, case_id: int, *, actor: Actor
) -> EntityRow | None:
    """Return the entity linked to a case the actor may see (None: not linked or out of scope)."""
    cases.get_case(session, center, case_id, actor=actor)
    link = session.get(CaseLinkRow, case_id)
    if link is None:
        return None
    row = repository.entity_by_id(session, link.entity_id)
    return row if in_scope(actor, *units_of(row, center)) else None


def case_decisions(
    session: Session, center: Center, case_id: int, *, actor: Actor
) -> list[DecisionRow]:
    """Return the decisions proposed on a case, in the actor's scope, newest first."""
    check_verb(actor, CreditVerb.VIEW)
    cases.get_case(session, center, case_id, actor=actor)
    stmt = (
        sa.select(DecisionRow).where(DecisionRow.case_id == case_id).order_by(DecisionRow.id.desc())
    )
    return [r for r in session.scalars(stmt) if in_scope(actor, *units_of(r, center))]


def _step(
    session: Session,
    center: Center,
    row: DecisionRow,
    action: DecisionAction,
    *,
    actor: Actor,
    at: datetime,
    note: str,
) -> None:
    before = DecisionStatus(row.status)
    after = next_status(before, action, decision_id=row.id)
    if action is DecisionAction.DECIDE:
        row.decided_by, row.decided_at = actor.username, at
        row.publish_due = publish_due(repository.local_day(at), center.calendar)
    elif action is DecisionAction.PUBLISH and row.published_at is None:
        row.published_at = at
    elif action is DecisionAction.CLOSE:
        row.closed_at = at
    row.status = after.value
    _event(session, row, action.value, before, after, actor, at, note)
    if (before in COUNTING_STATUSES) != (after in COUNTING_STATUSES):
        reassess_entity(
            session, repository.entity_by_id(session, row.entity_id), at=at, actor=actor
        )


def publish_due_decisions(
    session: Session, center: Center, *, at: datetime, actor: Actor = SYSTEM
) -> list[int]:
    """Publish every decided decision in the actor's scope (the daily publicity run)."""
    check_verb(actor, CreditVerb.PUBLISH)
    done = []
    with unit_of_work(session):
        rows = session.scalars(
            sa.select(DecisionRow)
            .where(DecisionRow.status == DecisionStatus.DECIDED.value)
            .order_by(DecisionRow.id)
        )
        for row in rows:
            if actor.unit_code and not in_scope(actor, *units_of(row, center)):
                continue
            _step(session, center, row, DecisionAction.PUBLISH, actor=actor, at=at, note="")
            done.append(row.id)
    return done


def list_decisions(
    session: Session, center: Center, *, actor: Actor, code: str | None = None
) -> list[DecisionRow]:
    """Return the decisions in the actor's scope (of one entity if ``code``), newest first."""
    check_verb(actor, CreditVerb.VIEW)
    stmt = sa.select(DecisionRow).order_by(DecisionRow.id.desc())
    if code is not None:
        stmt = stmt.where(
            DecisionRow.entity_id == get_entity(session, center, code, actor=actor).id
        )
    return [r for r in session.scalars(stmt) if in_scope(actor, *units_of(r, center))]


def decision_events(
    session: Session, center: Center, decision_id: int, *, actor: Actor
) -> list[DecisionEventRow]:
    """Return the workflow steps of a decision in the actor's scope, oldest first."""
    check_verb(actor, CreditVerb.VIEW)
    row = repository.decision(session, decision_id)
    if not in_scope(actor, *units_of(row, center)):
        msg = f"`decision_id`: no decision {decision_id}"
        raise NotFoundError(msg, field="decision_id")
    return list(
        session.scalars(
            sa.select(DecisionEventRow)
            .where(DecisionEventRow.decision_id == decision_id)
            .order_by(DecisionEventRow.seq)
        )
    )


def _event(
    session: Session,
    row: DecisionRow,
    action: str,
    before: DecisionStatus | str,
    after: DecisionStatus,
    actor: Actor,
    at: datetime,
    note: str,
) -> None:
    seq = session.scalar(sa.select(sa.func.count()).where(DecisionEventRow.decision_id == row.id))
    session.add(
        DecisionEventRow(
            decision_id=row.id, seq=int(seq or 0) + 1, action=action, from_status=str(before),
            to_status=after.value, actor=actor.username, at=at, note=note[:2000],
        )
    )  # fmt: skip


# --- tiers and repair -------------------------------------------------------------------------


def assessment(
    session: Session, entity: EntityRow, *, at: datetime, rules: TierRules | None = None
) -> Assessment:
    """Return an entity's credit assessment on the day of ``at`` (nothing written)."""
    rules = rules or default_rules()
    events = repository.credit_events(session, entity.id, rules)
    return assess(events, rules, on=repository.local_day(at))


def reassess_entity(
    session: Session,
    entity: EntityRow,
    *,
    at: datetime,
    actor: Actor,
    rules: TierRules | None = None,
) -> None:
    """Assess an entity now; audit a change of tier (in the caller's transaction)."""
    session.flush()
    result = assessment(session, entity, at=at, rules=rules)
    if result.tier != entity.tier:
        session.add(
            TierChangeRow(
                entity_id=entity.id, at=at, actor=actor.username, from_tier=entity.tier,
                to_tier=result.tier, score=result.score,
                reasons=[r.as_dict() for r in result.reasons],
            )
        )  # fmt: skip
    entity.tier, entity.score = result.tier, result.score


def reassess_all(
    session: Session, *, at: datetime, rules: TierRules | None = None, actor: Actor = SYSTEM
) -> int:
    """Reassess every entity (records age, leave their publicity); return tiers changed."""
    changed = 0
    with unit_of_work(session):
        for entity in session.scalars(sa.select(EntityRow).order_by(EntityRow.id)):
            before = entity.tier
            reassess_entity(session, entity, at=at, actor=actor, rules=rules)
            changed += entity.tier != before
    return changed


def tier_changes(
    session: Session, center: Center, code: str, *, actor: Actor
) -> list[TierChangeRow]:
    """Return the audited tier changes of an entity, oldest first."""
    entity = get_entity(session, center, code, actor=actor)
    return list(
        session.scalars(
            sa.select(TierChangeRow)
            .where(TierChangeRow.entity_id == entity.id)
            .order_by(TierChangeRow.id)
        )
    )


def entity_history(
    session: Session, center: Center, code: str, *, actor: Actor
) -> list[EntityHistoryRow]:
    """Return the earlier versions of an entity's record, oldest first."""
    entity = get_entity(session, center, code, actor=actor)
    return list(
        session.scalars(
            sa.select(EntityHistoryRow)
            .where(EntityHistoryRow.entity_id == entity.id)
            .order_by(EntityHistoryRow.id)
        )
    )


def licences_of(session: Session, center: Center, code: str, *, actor: Actor) -> list[LicenceRow]:
    """Return an entity's licences, by decision day."""
    entity = get_entity(session, center, code, actor=actor)
    return list(
        session.scalars(
            sa.select(LicenceRow)
            .where(LicenceRow.entity_id == entity.id)
            .order_by(LicenceRow.decided_on, LicenceRow.number)
        )
    )


def repair_record(
    session: Session,
    center: Center,
    decision_id: int,
    *,
    reason: str,
    actor: Actor,
    at: datetime,
    rules: TierRules | None = None,
) -> RepairRow:
    """Grant a credit repair on a decision after its minimum publicity, keeping the reason.

    Raises
    ------
    TransitionNotAllowedError
        The decision does not count in credit, is already repaired, cannot be repaired
        (warnings), or its minimum publicity has not passed (the message gives the first day).
    """
    check_verb(actor, CreditVerb.REPAIR)
    rules = rules or default_rules()
    if not reason.strip():
        msg = "`reason`: a repair keeps its reason; give one"
        raise CaseInputError(msg, field="reason")
    with unit_of_work(session):
        row = repository.decision(session, decision_id, lock=True)
        if not in_scope(actor, *units_of(row, center)):
            msg = f"`decision_id`: no decision {decision_id}"
            raise NotFoundError(msg, field="decision_id")
        event = next(
            (
                e
                for e in repository.credit_events(session, row.entity_id, rules)
                if e.ref == f"decision {row.id}"
            ),
            None,
        )
        if event is None or event.repaired_on is not None:
            why = "is already repaired" if event else f"does not count in credit ({row.status})"
            msg = f"decision {decision_id} {why}; nothing to repair"
            raise TransitionNotAllowedError(msg, status=row.status, action="repair")
        first = repair_possible_on(event, rules)
        today = repository.local_day(at)
        if first is None or today < first:
            when = "never: it runs its publicity out" if first is None else f"from {first}"
            msg = f"decision {decision_id} ({event.kind}) may be repaired {when}; today is {today}"
            raise TransitionNotAllowedError(msg, status=row.status, action="repair")
        repair = RepairRow(
            decision_id=row.id, entity_id=row.entity_id, reason=reason[:2000],
            granted_by=actor.username, at=at,
        )  # fmt: skip
        session.add(repair)
        reassess_entity(
            session,
            repository.entity_by_id(session, row.entity_id),
            at=at,
            actor=actor,
            rules=rules,
        )
    return repair
