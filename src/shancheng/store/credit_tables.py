"""ORM tables of the enforcement pillar (Credit +): entities, decisions, tiers, draws.

``credit_entities`` holds each business's current record; ``credit_entity_history`` keeps
every earlier version (append-only), ``credit_licences`` its licences. A case names its
responsible entity in ``credit_case_links``. ``credit_decisions`` (penalties and warnings) move
through their workflow, each step an append-only ``credit_decision_events`` row.
``credit_tier_changes`` audits every change of an entity's tier, ``credit_repairs`` keeps the
credit repairs granted with their reason, and ``credit_draws`` / ``credit_draw_picks`` the
"double random" inspection draws with their seed.
"""

from __future__ import annotations

from datetime import date, datetime  # noqa: TC003 - SQLAlchemy reads the annotations
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shancheng.store.base import Base
from shancheng.store.cases_tables import UTCDateTime


class EntityRow(Base):
    """A business or individual trader as registered now (its history in the next table)."""

    __tablename__ = "credit_entities"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(18), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    lon: Mapped[float] = mapped_column(sa.Float)
    lat: Mapped[float] = mapped_column(sa.Float)
    community_code: Mapped[str] = mapped_column(sa.String(16))
    street_code: Mapped[str] = mapped_column(sa.String(16), index=True)
    district_code: Mapped[str] = mapped_column(sa.String(16), index=True)
    representative: Mapped[str] = mapped_column(sa.String(100), default="")
    # a natural person's resident ID number: staff only, never public
    representative_id: Mapped[str] = mapped_column(sa.String(18), default="")
    tier: Mapped[str] = mapped_column(sa.String(4), default="")
    score: Mapped[float] = mapped_column(sa.Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's API


class EntityHistoryRow(Base):
    """One version of an entity's record, as it was replaced (append-only)."""

    __tablename__ = "credit_entity_history"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_entities.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(sa.String(128))
    source: Mapped[str] = mapped_column(sa.String(300), default="")
    record: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


class LicenceRow(Base):
    """An administrative licence held by an entity, with its validity."""

    __tablename__ = "credit_licences"
    __table_args__ = (sa.UniqueConstraint("entity_id", "number", name="uq_credit_licences_number"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_entities.id"), index=True)
    number: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(100))
    authority: Mapped[str] = mapped_column(sa.String(100), default="")
    decided_on: Mapped[date] = mapped_column(sa.Date)
    valid_from: Mapped[date] = mapped_column(sa.Date)
    valid_until: Mapped[date | None] = mapped_column(sa.Date)
    publish_due: Mapped[date] = mapped_column(sa.Date)


class CaseLinkRow(Base):
    """The entity a case names as responsible (one per case; relinking replaces it)."""

    __tablename__ = "credit_case_links"

    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), primary_key=True)
    entity_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_entities.id"), index=True)
    linked_by: Mapped[str] = mapped_column(sa.String(128))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DecisionRow(Base):
    """An administrative penalty or warning on an entity, from a case."""

    __tablename__ = "credit_decisions"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    entity_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_entities.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    legal_basis: Mapped[list[dict[str, str]]] = mapped_column(sa.JSON)
    facts: Mapped[str] = mapped_column(sa.Text, default="")
    amount_yuan: Mapped[float] = mapped_column(sa.Float, default=0.0)
    street_code: Mapped[str] = mapped_column(sa.String(16), index=True)
    district_code: Mapped[str] = mapped_column(sa.String(16), index=True)
    proposed_by: Mapped[str] = mapped_column(sa.String(128))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str] = mapped_column(sa.String(128), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    publish_due: Mapped[date | None] = mapped_column(sa.Date)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's API


class DecisionEventRow(Base):
    """One append-only step of a decision's workflow."""

    __tablename__ = "credit_decision_events"
    __table_args__ = (
        sa.UniqueConstraint("decision_id", "seq", name="uq_credit_decision_events_seq"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_decisions.id"), index=True)
    seq: Mapped[int] = mapped_column(sa.Integer)
    action: Mapped[str] = mapped_column(sa.String(16))
    from_status: Mapped[str] = mapped_column(sa.String(16))
    to_status: Mapped[str] = mapped_column(sa.String(16))
    actor: Mapped[str] = mapped_column(sa.String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(sa.Text, default="")


class RepairRow(Base):
    """A credit repair granted on a decision after its minimum publicity, with the reason."""

    __tablename__ = "credit_repairs"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_decisions.id"), unique=True)
    entity_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_entities.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    granted_by: Mapped[str] = mapped_column(sa.String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class TierChangeRow(Base):
    """An audited change of an entity's credit tier, with the reasons (append-only)."""

    __tablename__ = "credit_tier_changes"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_entities.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(sa.String(128))
    from_tier: Mapped[str] = mapped_column(sa.String(4))
    to_tier: Mapped[str] = mapped_column(sa.String(4))
    score: Mapped[float] = mapped_column(sa.Float)
    # Reason.as_dict() each (rows written before the codes: English sentences)
    reasons: Mapped[list[dict[str, Any] | str]] = mapped_column(sa.JSON)


class DrawRow(Base):
    """A "double random" inspection draw: its plan, seed, rates and who drew it."""

    __tablename__ = "credit_draws"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    plan: Mapped[str] = mapped_column(sa.String(200))
    unit_code: Mapped[str] = mapped_column(sa.String(16), index=True)
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    rates: Mapped[dict[str, float]] = mapped_column(sa.JSON)
    team_size: Mapped[int] = mapped_column(sa.Integer)
    inspectors: Mapped[list[str]] = mapped_column(sa.JSON)
    population: Mapped[list[list[str]]] = mapped_column(sa.JSON)  # [code, tier] of every entity
    drawn_by: Mapped[str] = mapped_column(sa.String(128))
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class DrawPickRow(Base):
    """An entity drawn for inspection, its inspectors, and the result when recorded."""

    __tablename__ = "credit_draw_picks"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    draw_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_draws.id"), index=True)
    entity_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_entities.id"), index=True)
    probability: Mapped[float] = mapped_column(sa.Float)
    inspectors: Mapped[list[str]] = mapped_column(sa.JSON)
    outcome: Mapped[str] = mapped_column(sa.String(16), default="")
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
