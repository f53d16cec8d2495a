"""Inspection plans drawn "double random" and their results, recorded as cases.

:func:`run_draw` draws from the entities of a unit (their current tiers, the rates of the rule
set) and the given inspector pool, and stores the draw with everything needed to redo it: the
seed, the rates, the pool and the population with its tiers (published on the disclosure page).
:func:`record_result` records an inspection's outcome; a failed inspection opens a case at the
entity's place (through :func:`shancheng.cases.service.submit_report`) linked to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa

from shancheng.cases import service as cases
from shancheng.credit import repository
from shancheng.credit.draw import draw_inspections
from shancheng.credit.permissions import CreditVerb, check_verb
from shancheng.credit.service import (
    default_rules,
    list_entities,
    reassess_entity,
    unit_of_work,
)
from shancheng.errors import NotFoundError, PermissionDeniedError, TransitionNotAllowedError
from shancheng.store.credit_tables import CaseLinkRow, DrawPickRow, DrawRow, EntityRow

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.orm import Session

    from shancheng.cases.center import Center
    from shancheng.cases.permissions import Actor
    from shancheng.credit.tiers import TierRules

Outcome = Literal["passed", "failed"]
INSPECTION_CATEGORY = "E0506"
"""Category of the case a failed inspection opens by default (夜市秩序)."""


def run_draw(
    session: Session,
    center: Center,
    *,
    plan: str,
    inspectors: Sequence[str],
    seed: int,
    actor: Actor,
    at: datetime,
    team_size: int = 2,
    rules: TierRules | None = None,
) -> DrawRow:
    """Draw entities of the actor's unit and inspectors for them; store the draw and picks."""
    check_verb(actor, CreditVerb.DRAW)
    rules = rules or default_rules()
    with unit_of_work(session):
        entities = list_entities(session, center, actor=actor, limit=1_000_000)
        by_code = {e.code: e for e in entities}
        population = sorted((e.code, e.tier) for e in entities)
        picks = draw_inspections(
            population, inspectors, rate_of=rules.rate_of, seed=seed, team_size=team_size,
            previous=_last_teams(session, [e.id for e in entities]),
        )  # fmt: skip
        draw = DrawRow(
            plan=plan[:200], unit_code=actor.unit_code or center.city_code, seed=seed,
            rates=dict(rules.draw_rates), team_size=team_size, inspectors=sorted(set(inspectors)),
            population=[list(p) for p in population], drawn_by=actor.username, drawn_at=at,
        )  # fmt: skip
        session.add(draw)
        session.flush()
        for pick in picks:
            session.add(
                DrawPickRow(
                    draw_id=draw.id, entity_id=by_code[pick.code].id, probability=pick.probability,
                    inspectors=list(pick.inspectors), outcome="",
                )
            )  # fmt: skip
    return draw


def _last_teams(session: Session, entity_ids: list[int]) -> dict[str, frozenset[str]]:
    """Return, per entity code, the team of its latest drawn inspection."""
    rows = session.execute(
        sa.select(DrawPickRow, EntityRow.code)
        .join(EntityRow, EntityRow.id == DrawPickRow.entity_id)
        .where(DrawPickRow.entity_id.in_(entity_ids))
        .order_by(DrawPickRow.draw_id)
    )
    return {code: frozenset(pick.inspectors) for pick, code in rows}


def draw_picks(session: Session, draw_id: int) -> list[tuple[DrawPickRow, str]]:
    """Return a draw's picks with the entities' codes, in code order."""
    return [
        (pick, code)
        for pick, code in session.execute(
            sa.select(DrawPickRow, EntityRow.code)
            .join(EntityRow, EntityRow.id == DrawPickRow.entity_id)
            .where(DrawPickRow.draw_id == draw_id)
            .order_by(EntityRow.code)
        )
    ]


def record_result(
    session: Session,
    center: Center,
    pick_id: int,
    outcome: Outcome,
    *,
    actor: Actor,
    at: datetime,
    note: str = "",
    category_code: str = INSPECTION_CATEGORY,
) -> DrawPickRow:
    """Record an inspection's outcome; a failure opens a case at the entity, linked to it.

    Only an inspector of the pick's team (or an administrator) records it, once.
    """
    check_verb(actor, CreditVerb.INSPECT)
    pick = session.get(DrawPickRow, pick_id)
    if pick is None:
        msg = f"`pick_id`: no inspection {pick_id}"
        raise NotFoundError(msg, field="pick_id")
    if actor.username not in pick.inspectors and actor.role.value != "admin":
        team = ", ".join(pick.inspectors)
        msg = f"inspection {pick_id} was drawn for {team}, not {actor.username!r}"
        raise PermissionDeniedError(msg)
    if pick.outcome:
        msg = f"inspection {pick_id} already has its result ({pick.outcome})"
        raise TransitionNotAllowedError(msg, status=pick.outcome, action="inspect")
    entity = repository.entity_by_id(session, pick.entity_id)
    if outcome == "failed":
        report = cases.ReportIn(
            category_code, lon=entity.lon, lat=entity.lat, address=entity.address,
            title=f"双随机检查不合格 {entity.name}"[:200],
            description=f"Inspection {pick_id} of {entity.name} ({entity.code}): {note}"[:4000],
            source="inspector",
        )  # fmt: skip
        intake = cases.submit_report(
            session, center.without_duplicates(), report, at=at, actor=actor
        )
        pick.case_id = intake.case.id
    with unit_of_work(session):
        pick.outcome = outcome
        if pick.case_id is not None:
            session.add(
                CaseLinkRow(
                    case_id=pick.case_id,
                    entity_id=entity.id,
                    linked_by=actor.username,
                    linked_at=at,
                )
            )
        reassess_entity(session, entity, at=at, actor=actor)
    return pick
