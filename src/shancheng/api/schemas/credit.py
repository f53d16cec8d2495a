"""Schemas of ``/credit``: entities, links, decisions, tiers, draws and the public page."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class LicenceRead(BaseModel):
    """A licence of an entity."""

    number: str
    kind: str
    authority: str
    decided_on: date
    valid_from: date
    valid_until: date | None
    publish_due: date | None = None


class EntityCreate(BaseModel):
    """An entity to register or update (its code checked, GB 32100)."""

    code: str = Field(max_length=40)
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(default="", max_length=300)
    lon: float
    lat: float
    representative: str = Field(default="", max_length=100)
    representative_id: str = Field(default="", max_length=18)


class EntityRead(BaseModel):
    """An entity as staff see it (the operator's ID number is never sent)."""

    code: str
    name: str
    kind: str
    address: str
    lon: float
    lat: float
    street_code: str
    district_code: str
    representative: str
    tier: str
    score: float


class ReasonRead(BaseModel):
    """Why one event weighs what it does, in no language (the dashboard words it).

    ``ref`` is ``decision <id>``, ``case <id>`` or ``draw pick <id>``. ``params`` per code:
    ``counted``: ``weight``, ``factor``, ``age_days``, ``half_life_days``, ``change``;
    ``expired``: ``publicity_days``; ``repaired``: ``repaired_on``, ``repair_reason``;
    ``text`` (a record kept before the codes): ``text``, an English sentence.
    """

    code: Literal["counted", "expired", "repaired", "text"]
    kind: str
    ref: str
    on: date | None
    params: dict[str, float | str]
    english: str = Field(description="The reason as an English sentence (logs, scripts).")


class TierChangeRead(BaseModel):
    """An audited change of tier."""

    at: datetime
    actor: str
    from_tier: str
    to_tier: str
    score: float
    reasons: list[ReasonRead]


class EntityPage(BaseModel):
    """Everything staff see of an entity: record, licences, cases, decisions, tier history."""

    entity: EntityRead
    licences: list[LicenceRead]
    case_ids: list[int]
    decisions: list[DecisionRead]
    tier_changes: list[TierChangeRead]
    reasons: list[ReasonRead]
    versions: int


class LinkIn(BaseModel):
    """Name the entity responsible for a case."""

    code: str = Field(max_length=40)


class SuggestionRead(BaseModel):
    """An entity that may be responsible for a case."""

    code: str
    name: str
    distance_m: float
    named_in_text: bool


class LegalBasis(BaseModel):
    """A law and article a decision rests on."""

    law: str = Field(min_length=1, max_length=200)
    article: str = Field(default="", max_length=100)


DecisionStep = Literal["decide", "withdraw", "publish", "appeal", "uphold", "revoke", "close"]
"""A workflow step on a decision (``shancheng.credit.decisions.DecisionAction``)."""


class DecisionCreate(BaseModel):
    """A proposed penalty or warning."""

    case_id: int
    code: str = Field(max_length=40)
    kind: Literal["penalty", "warning"]
    legal_basis: list[LegalBasis] = Field(min_length=1, max_length=10)
    facts: str = Field(default="", max_length=4000)
    amount_yuan: float = 0.0


class DecisionActionIn(BaseModel):
    """A workflow step on a decision."""

    action: DecisionStep
    note: str = Field(default="", max_length=2000)


class DecisionRead(BaseModel):
    """A decision as staff see it."""

    id: int
    case_id: int
    entity_code: str
    kind: str
    status: str
    legal_basis: list[LegalBasis]
    facts: str
    amount_yuan: float
    proposed_by: str
    decided_by: str
    decided_at: datetime | None
    publish_due: date | None
    published_at: datetime | None
    actions: list[DecisionStep] = Field(
        description="The workflow steps the signed-in user may take on the decision now."
    )


class RepairIn(BaseModel):
    """A credit repair request granted on a decision."""

    reason: str = Field(min_length=1, max_length=2000)


class DrawCreate(BaseModel):
    """An inspection plan to draw."""

    plan: str = Field(min_length=1, max_length=200)
    inspectors: list[str] = Field(min_length=1, max_length=500)
    seed: int = Field(ge=0, le=2**62)
    team_size: int = Field(default=2, ge=1, le=10)


class PickRead(BaseModel):
    """An entity drawn, its probability, inspectors and result."""

    id: int
    code: str
    probability: float
    inspectors: list[str]
    outcome: str
    case_id: int | None


class DrawRead(BaseModel):
    """A draw with what is needed to redo it."""

    id: int
    plan: str
    unit_code: str
    seed: int
    rates: dict[str, float]
    team_size: int
    inspectors: list[str]
    population: list[list[str]]
    drawn_at: datetime
    picks: list[PickRead]


class ResultIn(BaseModel):
    """An inspection's outcome."""

    outcome: Literal["passed", "failed"]
    note: str = Field(default="", max_length=2000)


class PublicDecisionRead(BaseModel):
    """A published decision (双公示): no personal data beyond the rules' fields."""

    number: str
    kind: str
    status: str
    entity_name: str
    entity_code: str
    operator: str
    legal_basis: list[str]
    facts: str
    amount_yuan: float
    decided_on: date
    published_on: date
    authority_code: str


class PublicLicenceRead(BaseModel):
    """A licence on the public page."""

    number: str
    kind: str
    authority: str
    entity_name: str
    entity_code: str
    decided_on: date
    valid_from: date
    valid_until: date | None


class PublicDrawRead(BaseModel):
    """A draw as published: seed, rates, pool size and population, enough to redo it."""

    id: int
    plan: str
    seed: int
    rates: dict[str, float]
    team_size: int
    inspectors: list[str]
    population: list[list[str]]
    drawn_at: datetime


class DisclosureRead(BaseModel):
    """The public disclosure page."""

    decisions: list[PublicDecisionRead]
    licences: list[PublicLicenceRead]
    draws: list[PublicDrawRead]


class UnitFiguresRead(BaseModel):
    """Enforcement figures of a street."""

    unit_code: str
    decisions: int
    published: int
    published_on_time: int
    overdue_unpublished: int
    tiers: dict[str, int]


EntityPage.model_rebuild()


class CaseCreditRead(BaseModel):
    """A case as enforcement sees it: its entity, the suggestions, its decisions, and the steps.

    The dashboard offers linking and proposing on the case's page only when ``actions`` holds
    ``link`` or ``propose``, and a decision's buttons from that decision's ``actions``.
    """

    case_id: int
    entity: EntityRead | None
    suggestions: list[SuggestionRead]
    decisions: list[DecisionRead]
    actions: list[Literal["link", "propose"]] = Field(
        description="The enforcement steps the signed-in user may take on the case now."
    )
