"""SQL of the enforcement pillar: reading entities, decisions, links and their histories."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shancheng.cases.calendar import CHINA_TZ
from shancheng.credit.decisions import COUNTING_STATUSES, DecisionKind
from shancheng.credit.tiers import CreditEvent
from shancheng.errors import NotFoundError
from shancheng.store.credit_tables import (
    CaseLinkRow,
    DecisionRow,
    DrawPickRow,
    DrawRow,
    EntityRow,
    RepairRow,
)

if TYPE_CHECKING:
    from datetime import date, datetime

    from sqlalchemy.orm import Session

    from shancheng.credit.tiers import TierRules

RECORD_FIELDS = (
    "code", "name", "kind", "address", "lon", "lat", "community_code", "street_code",
    "district_code", "representative", "representative_id",
)  # fmt: skip
"""The registered fields of an entity (what its history keeps)."""


def local_day(at: datetime) -> date:
    """Return the day in Chongqing of an aware time."""
    return at.astimezone(CHINA_TZ).date()


def record_of(row: EntityRow) -> dict[str, Any]:
    """Return the registered fields of an entity as plain values."""
    return {name: getattr(row, name) for name in RECORD_FIELDS}


def entity_by_code(session: Session, code: str) -> EntityRow:
    """Return the entity with this code (NotFoundError naming the field otherwise)."""
    row = session.scalars(
        sa.select(EntityRow).where(EntityRow.code == code.strip().upper())
    ).first()
    if row is None:
        msg = f"`code`: no entity with code {code[:40]!r}"
        raise NotFoundError(msg, field="code")
    return row


def entity_by_id(session: Session, entity_id: int) -> EntityRow:
    """Return the entity with this id."""
    row = session.get(EntityRow, entity_id)
    if row is None:
        msg = f"`entity_id`: no entity {entity_id}"
        raise NotFoundError(msg, field="entity_id")
    return row


def decision(session: Session, decision_id: int, *, lock: bool = False) -> DecisionRow:
    """Return a decision by id."""
    stmt = sa.select(DecisionRow).where(DecisionRow.id == decision_id)
    row = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        msg = f"`decision_id`: no decision {decision_id}"
        raise NotFoundError(msg, field="decision_id")
    return row


def credit_events(session: Session, entity_id: int, rules: TierRules) -> list[CreditEvent]:
    """Return the entity's credit history: decisions that count, case links, inspections."""
    repairs = {
        r.decision_id: r
        for r in session.scalars(sa.select(RepairRow).where(RepairRow.entity_id == entity_id))
    }
    events: list[CreditEvent] = []
    decisions = session.scalars(
        sa.select(DecisionRow).where(
            DecisionRow.entity_id == entity_id,
            DecisionRow.status.in_([s.value for s in COUNTING_STATUSES]),
        )
    )
    for d in decisions:
        if d.decided_at is None:
            continue
        repair = repairs.get(d.id)
        events.append(
            CreditEvent(
                decision_event_kind(d, rules),
                local_day(d.decided_at),
                f"decision {d.id}",
                local_day(repair.at) if repair else None,
                repair.reason if repair else "",
            )
        )
    links = session.scalars(sa.select(CaseLinkRow).where(CaseLinkRow.entity_id == entity_id))
    events.extend(
        CreditEvent("case_linked", local_day(link.linked_at), f"case {link.case_id}")
        for link in links
    )
    picks = session.scalars(
        sa.select(DrawPickRow).where(DrawPickRow.entity_id == entity_id, DrawPickRow.outcome != "")
    )
    events.extend(
        CreditEvent(f"inspection_{p.outcome}", pick_day(session, p), f"draw pick {p.id}")
        for p in picks
    )
    return events


def pick_day(session: Session, pick: DrawPickRow) -> date:
    """Return the day an inspection result counts from (the draw's day)."""
    draw = session.get(DrawRow, pick.draw_id)
    if draw is None:  # pragma: no cover - the foreign key forbids it
        msg = f"draw {pick.draw_id} is missing"
        raise NotFoundError(msg)
    return local_day(draw.drawn_at)


def decision_event_kind(row: DecisionRow, rules: TierRules) -> str:
    """Return the credit event kind of a decision: warning, penalty, or penalty_severe."""
    if row.kind == DecisionKind.WARNING:
        return "warning"
    return "penalty_severe" if row.amount_yuan >= rules.severe_amount_yuan else "penalty"


def linked_case_ids(session: Session, entity_id: int) -> list[int]:
    """Return the cases naming the entity, newest first."""
    return list(
        session.scalars(
            sa.select(CaseLinkRow.case_id)
            .where(CaseLinkRow.entity_id == entity_id)
            .order_by(CaseLinkRow.case_id.desc())
        )
    )
