"""ORM tables of the participation pillar ("Golden Ideas" 金点子): campaigns, ideas, supports.

``ideas_campaigns`` holds each participatory process with its four phases and its threshold;
``ideas`` the proposals (never deleted: moderation hides them with a reason, a merge points
them at the idea they repeat), ``ideas_photos`` their photos without metadata. One row of
``ideas_supports`` per person and idea (a unique constraint keeps it so under concurrency);
``ideas_counts`` the number of standing supports of each idea,
``ideas_quotas`` counts each person's standing supports per campaign (for its limit),
``ideas_support_log`` records every support, withdrawal and merge move (append-only).
``ideas_residents`` holds the verification of each resident who may support,
``ideas_deadlines`` the moment an idea reached its campaign's threshold and the answer's due
time (one row per idea, written once), ``ideas_events`` each idea's timeline (append-only),
and ``ideas_flags`` the suspicious support patterns raised for the moderators.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - SQLAlchemy reads the annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shancheng.store.base import Base
from shancheng.store.cases_tables import UTCDateTime


class CampaignRow(Base):
    """A participatory process: its topic, units, categories, phases and threshold."""

    __tablename__ = "ideas_campaigns"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    topic: Mapped[str] = mapped_column(sa.Text, default="")
    unit_codes: Mapped[list[str]] = mapped_column(sa.JSON)
    categories: Mapped[list[str]] = mapped_column(sa.JSON)
    collecting_start: Mapped[datetime] = mapped_column(UTCDateTime)
    collecting_end: Mapped[datetime] = mapped_column(UTCDateTime)
    supporting_start: Mapped[datetime] = mapped_column(UTCDateTime)
    supporting_end: Mapped[datetime] = mapped_column(UTCDateTime)
    review_start: Mapped[datetime] = mapped_column(UTCDateTime)
    review_end: Mapped[datetime] = mapped_column(UTCDateTime)
    results_start: Mapped[datetime] = mapped_column(UTCDateTime)
    results_end: Mapped[datetime] = mapped_column(UTCDateTime)
    threshold_supports: Mapped[int | None] = mapped_column(sa.Integer)
    threshold_share: Mapped[float | None] = mapped_column(sa.Float)
    covered_population: Mapped[int] = mapped_column(sa.Integer, default=0)
    threshold: Mapped[int] = mapped_column(sa.Integer)
    answer_working_days: Mapped[int] = mapped_column(sa.Integer)
    max_supports_per_person: Mapped[int | None] = mapped_column(sa.Integer)
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdeaRow(Base):
    """A resident's idea, its moderation state and its official answer."""

    __tablename__ = "ideas"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("ideas_campaigns.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    category: Mapped[str] = mapped_column(sa.String(64))
    lon: Mapped[float | None] = mapped_column(sa.Float)
    lat: Mapped[float | None] = mapped_column(sa.Float)
    unit_code: Mapped[str] = mapped_column(sa.String(16), default="")
    community_code: Mapped[str] = mapped_column(sa.String(16), default="")
    street_code: Mapped[str] = mapped_column(sa.String(16), default="", index=True)
    district_code: Mapped[str] = mapped_column(sa.String(16), default="", index=True)
    author: Mapped[str] = mapped_column(sa.String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    moderation: Mapped[str] = mapped_column(sa.String(16), default="visible")
    moderation_reason: Mapped[str] = mapped_column(sa.Text, default="")
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ideas.id"))
    answer_status: Mapped[str] = mapped_column(sa.String(16), default="pending", index=True)
    answer_text: Mapped[str] = mapped_column(sa.Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str] = mapped_column(sa.String(128), default="")
    outcome: Mapped[str] = mapped_column(sa.String(16), default="")
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    case_reference: Mapped[str] = mapped_column(sa.String(32), default="")
    plan_category: Mapped[str] = mapped_column(sa.String(64), default="")
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's API


class IdeaPhotoRow(Base):
    """A photo of an idea, re-encoded without its metadata."""

    __tablename__ = "ideas_photos"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    idea_id: Mapped[int] = mapped_column(sa.ForeignKey("ideas.id"), index=True)
    content_type: Mapped[str] = mapped_column(sa.String(32))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)


class SupportRow(Base):
    """One resident's standing support of one idea (at most one: the unique constraint)."""

    __tablename__ = "ideas_supports"
    __table_args__ = (
        sa.UniqueConstraint("idea_id", "username", name="uq_ideas_supports_person"),
        sa.Index("ix_ideas_supports_campaign_user", "campaign_id", "username"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    idea_id: Mapped[int] = mapped_column(sa.ForeignKey("ideas.id"), index=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("ideas_campaigns.id"))
    username: Mapped[str] = mapped_column(sa.String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    new_account: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class QuotaRow(Base):
    """How many standing supports a person holds in a campaign (for its per-person limit)."""

    __tablename__ = "ideas_quotas"

    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("ideas_campaigns.id"), primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    used: Mapped[int] = mapped_column(sa.Integer)


class CountRow(Base):
    """An idea's number of standing supports, kept with them in the same transactions.

    Raised and lowered by ``UPDATE ... SET supports = supports + 1`` next to the insert or
    delete of the support, so it equals ``count(*)`` of the idea's ``ideas_supports`` rows at
    every commit, and the one transaction that takes it to the threshold knows it.
    """

    __tablename__ = "ideas_counts"

    idea_id: Mapped[int] = mapped_column(sa.ForeignKey("ideas.id"), primary_key=True)
    supports: Mapped[int] = mapped_column(sa.Integer)


class SupportLogRow(Base):
    """A support given, withdrawn, or moved or folded by a merge (append-only)."""

    __tablename__ = "ideas_support_log"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    idea_id: Mapped[int] = mapped_column(sa.ForeignKey("ideas.id"), index=True)
    username: Mapped[str] = mapped_column(sa.String(128))
    action: Mapped[str] = mapped_column(sa.String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ResidentRow(Base):
    """How and when a resident's account was verified (phone or identity provider)."""

    __tablename__ = "ideas_residents"

    username: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    method: Mapped[str] = mapped_column(sa.String(16))
    unit_code: Mapped[str] = mapped_column(sa.String(16), default="")
    account_created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DeadlineRow(Base):
    """When an idea reached its campaign's threshold, and when its official answer is due."""

    __tablename__ = "ideas_deadlines"

    idea_id: Mapped[int] = mapped_column(sa.ForeignKey("ideas.id"), primary_key=True)
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class IdeaEventRow(Base):
    """One step of an idea's timeline (append-only): proposed, hidden, merged, answered..."""

    __tablename__ = "ideas_events"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    idea_id: Mapped[int] = mapped_column(sa.ForeignKey("ideas.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(16))
    from_status: Mapped[str] = mapped_column(sa.String(16), default="")
    to_status: Mapped[str] = mapped_column(sa.String(16), default="")
    actor: Mapped[str] = mapped_column(sa.String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(sa.Text, default="")


class FlagRow(Base):
    """A suspicious support pattern on an idea, for the moderators (supports are kept)."""

    __tablename__ = "ideas_flags"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    idea_id: Mapped[int] = mapped_column(sa.ForeignKey("ideas.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    supports: Mapped[int] = mapped_column(sa.Integer)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str] = mapped_column(sa.String(128), default="")
