"""What the public sees (双公示) and the figures per unit.

:func:`public_decisions` gives the published decisions with the fields the double-publicity
rules make public: the decision's number, kind, legal basis, facts (personal data masked),
amount, dates, the deciding unit, and the entity's name and code. A natural person's identity
never leaves this module: no resident ID number, and the name of an individual trader's operator
is masked to its surname. :func:`unit_statistics` counts decisions, publication on time and
the tiers per district or street.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from shancheng.cases.privacy import mask_personal
from shancheng.credit.codes import EntityKind
from shancheng.credit.decisions import PUBLIC_STATUSES
from shancheng.credit.permissions import CreditVerb, check_verb
from shancheng.credit.repository import local_day
from shancheng.store.credit_tables import DecisionRow, DrawRow, EntityRow, LicenceRow

if TYPE_CHECKING:
    from datetime import date, datetime

    from sqlalchemy.orm import Session

    from shancheng.cases.center import Center
    from shancheng.cases.permissions import Actor


@dataclass(frozen=True, slots=True)
class PublicDecision:
    """A published decision as the public page shows it."""

    number: str
    kind: str
    status: str
    entity_name: str
    entity_code: str
    operator: str
    legal_basis: tuple[str, ...]
    facts: str
    amount_yuan: float
    decided_on: date
    published_on: date
    authority_code: str


@dataclass(frozen=True, slots=True)
class PublicLicence:
    """A licence as the public page shows it."""

    number: str
    kind: str
    authority: str
    entity_name: str
    entity_code: str
    decided_on: date
    valid_from: date
    valid_until: date | None


def masked_operator(entity: EntityRow) -> str:
    """Return the operator's name as published: an individual trader's masked to the surname."""
    if not entity.representative:
        return ""
    if entity.kind == EntityKind.INDIVIDUAL:
        return entity.representative[0] + "*" * (len(entity.representative) - 1)
    return entity.representative


def public_decisions(session: Session, *, at: datetime, limit: int = 500) -> list[PublicDecision]:
    """Return the published decisions (published by ``at``), newest first."""
    rows = session.execute(
        sa.select(DecisionRow, EntityRow)
        .join(EntityRow, EntityRow.id == DecisionRow.entity_id)
        .where(
            DecisionRow.status.in_([s.value for s in PUBLIC_STATUSES]),
            DecisionRow.published_at <= at,
        )
        .order_by(DecisionRow.published_at.desc(), DecisionRow.id.desc())
        .limit(limit)
    )
    out = []
    for d, e in rows:
        if d.decided_at is None or d.published_at is None:  # pragma: no cover - by status
            continue
        out.append(
            PublicDecision(
                number=f"CQ-{local_day(d.decided_at).year}-{d.id:05d}", kind=d.kind,
                status=d.status, entity_name=e.name, entity_code=e.code,
                operator=masked_operator(e),
                legal_basis=tuple(f"{b['law']} {b['article']}".strip() for b in d.legal_basis),
                facts=_scrub(mask_personal(d.facts), e), amount_yuan=d.amount_yuan,
                decided_on=local_day(d.decided_at), published_on=local_day(d.published_at),
                authority_code=d.street_code,
            )
        )  # fmt: skip
    return out


def _scrub(text: str, entity: EntityRow) -> str:
    """Remove the operator's ID number and full name from published text."""
    if entity.representative_id:
        text = text.replace(entity.representative_id, "*" * 18)
    if entity.kind == EntityKind.INDIVIDUAL and entity.representative:
        text = text.replace(entity.representative, masked_operator(entity))
    return text


def public_licences(session: Session, *, on: date, limit: int = 500) -> list[PublicLicence]:
    """Return the licences decided by ``on``, newest first."""
    rows = session.execute(
        sa.select(LicenceRow, EntityRow)
        .join(EntityRow, EntityRow.id == LicenceRow.entity_id)
        .where(LicenceRow.decided_on <= on)
        .order_by(LicenceRow.decided_on.desc(), LicenceRow.id.desc())
        .limit(limit)
    )
    return [
        PublicLicence(
            lic.number,
            lic.kind,
            lic.authority,
            e.name,
            e.code,
            lic.decided_on,
            lic.valid_from,
            lic.valid_until,
        )
        for lic, e in rows
    ]


def public_draws(session: Session, *, limit: int = 20) -> list[DrawRow]:
    """Return the latest inspection draws (seed, rates, pool, population: enough to redo them)."""
    return list(session.scalars(sa.select(DrawRow).order_by(DrawRow.id.desc()).limit(limit)))


@dataclass(slots=True)
class UnitFigures:
    """Enforcement figures of one unit."""

    unit_code: str
    decisions: int
    published: int
    published_on_time: int
    overdue_unpublished: int
    tiers: dict[str, int]


def unit_statistics(
    session: Session, center: Center, *, actor: Actor, at: datetime
) -> list[UnitFigures]:
    """Count decisions, publication on time and tiers per street of the actor's scope."""
    check_verb(actor, CreditVerb.VIEW)
    today = local_day(at)
    figures: dict[str, UnitFigures] = {}

    def unit(row: EntityRow | DecisionRow) -> UnitFigures | None:
        units = {getattr(row, "community_code", ""), row.street_code, row.district_code}
        if actor.unit_code not in {*units, center.city_code}:
            return None
        return figures.setdefault(row.street_code, UnitFigures(row.street_code, 0, 0, 0, 0, {}))

    for d in session.scalars(sa.select(DecisionRow).where(DecisionRow.decided_at.is_not(None))):
        f = unit(d)
        if f is None or d.publish_due is None:
            continue
        f.decisions += 1
        if d.published_at is not None:
            f.published += 1
            f.published_on_time += local_day(d.published_at) <= d.publish_due
        elif today > d.publish_due:
            f.overdue_unpublished += 1
    for e in session.scalars(sa.select(EntityRow)):
        f = unit(e)
        if f is not None:
            f.tiers[e.tier] = f.tiers.get(e.tier, 0) + 1
    return [figures[code] for code in sorted(figures)]
