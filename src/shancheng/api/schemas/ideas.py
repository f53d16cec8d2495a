"""Schemas of ``/ideas``: campaigns, ideas, supports, moderation, answers and statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shancheng.api.schemas.cases import PhotoIn


class PhasesIn(BaseModel):
    """The four phases of a campaign, each ``[start, end)`` (aware times)."""

    collecting: tuple[datetime, datetime]
    supporting: tuple[datetime, datetime]
    review: tuple[datetime, datetime]
    results: tuple[datetime, datetime]


class CampaignCreate(BaseModel):
    """A campaign: its units, categories, phases and threshold (a count or a share)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    topic: str = Field(default="", max_length=4000)
    unit_codes: list[str] = Field(min_length=1, max_length=50)
    categories: list[str] = Field(min_length=1, max_length=30)
    phases: PhasesIn
    threshold_supports: int | None = Field(default=None, ge=1, le=10_000_000)
    threshold_share: float | None = Field(default=None, gt=0, le=1)
    covered_population: int = Field(default=0, ge=0, le=100_000_000)
    answer_working_days: int = Field(default=10, ge=1, le=365)
    max_supports_per_person: int | None = Field(default=None, ge=1, le=10_000)


class CampaignRead(BaseModel):
    """A campaign as everyone sees it, with the phases open now."""

    id: int
    title: str
    topic: str
    unit_codes: list[str]
    categories: list[str]
    phases: PhasesIn
    open_phases: list[str]
    threshold: int
    answer_working_days: int
    max_supports_per_person: int | None


class IdeaCreate(BaseModel):
    """An idea: a title, a text, a category, optionally a point or a unit, and photos."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=4000)
    category: str = Field(max_length=64)
    lon: float | None = None
    lat: float | None = None
    unit_code: str = Field(default="", max_length=16)
    photos: list[PhotoIn] = Field(default_factory=list, max_length=10)


class IdeaRead(BaseModel):
    """An idea as the viewer may see it (``full`` false: personal data masked)."""

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
    actions: list[str] = Field(
        default_factory=list,
        description="The staff actions the signed-in user may take on the idea now (hide, show, "
        "merge, evaluate, accept, decline, start, finish, to_case, to_plan).",
    )


class TimelineRead(BaseModel):
    """One step of an idea's timeline."""

    at: datetime
    action: str
    from_status: str
    to_status: str
    actor: str
    note: str


class IdeaPage(BaseModel):
    """An idea's page: the idea and its timeline."""

    idea: IdeaRead
    timeline: list[TimelineRead]


class SimilarRead(BaseModel):
    """A near-duplicate idea: its id, title, text similarity, distance and score."""

    id: int
    title: str
    text_similarity: float
    distance_m: float | None
    score: float


class SupportRead(BaseModel):
    """The outcome of a support or a withdrawal: whether it changed, and the count now."""

    idea_id: int
    supported: bool
    changed: bool
    supports: int


class ModerationIn(BaseModel):
    """Hide an idea (a reason is required, shown to its author) or show it again."""

    hide: bool
    reason: str = Field(default="", max_length=4000)


class MergeIn(BaseModel):
    """The idea this one repeats (supports move there)."""

    into_id: int = Field(ge=1, lt=2**31)


class MergeRead(BaseModel):
    """A merge: supports moved, folded (their person supported both), and the count now."""

    kept_id: int
    merged_id: int
    moved: int
    folded: int
    supports: int


class AnswerIn(BaseModel):
    """One step of the official answer; a decline's ``text`` is its required reason."""

    action: Literal["evaluate", "accept", "decline", "start", "finish"]
    text: str = Field(default="", max_length=4000)


class CaseIn(BaseModel):
    """Open a case for an accepted idea, in this taxonomy category."""

    category_code: str = Field(max_length=16)


class PlanIn(BaseModel):
    """Make an accepted idea a candidate site for this facility category."""

    facility_category: str = Field(max_length=64)


class CandidateRead(BaseModel):
    """A candidate site for planning from an accepted idea."""

    candidate_id: str
    lon: float
    lat: float
    category: str


class FlagRead(BaseModel):
    """A suspicious support pattern on an idea."""

    id: int
    idea_id: int
    kind: str
    window_start: datetime
    supports: int
    raised_at: datetime


class UnitStatsRead(BaseModel):
    """Participation in one unit (the supervisor's view of overdue answers)."""

    unit_code: str
    ideas: int
    supports: int
    answers_due: int
    answered: int
    overdue: int
    answer_rate: float | None
    median_answer_days: float | None
    overdue_ideas: list[int]


class VerificationIn(BaseModel):
    """How a resident's account was verified."""

    method: Literal["phone", "idp"]
    account_created_at: datetime | None = None
