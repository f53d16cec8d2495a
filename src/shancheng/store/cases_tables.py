"""ORM tables of the cases pillar (the governance center).

``cases`` holds the current state of each case (a projection of its events, kept for fast
queries); ``case_events`` is the append-only history (database triggers refuse UPDATE and
DELETE on it); ``case_blobs`` stores photos content-addressed by their sha256; the jurisdiction
table, the per-district stage limits, the admins' taxonomy edits, users, login tokens and
Open311 API keys complete the pillar. Times are stored in UTC
and always come back timezone-aware, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from shancheng.store.base import Base

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC that is always read back timezone-aware.

    SQLite keeps no time zone; PostgreSQL's ``timestamptz`` does. Converting to UTC on the way
    in and marking UTC on the way out makes both behave the same. Naive values are refused.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC; refuse naive datetimes."""
        del dialect
        if value is None:
            return None
        if value.tzinfo is None:
            msg = f"naive datetime {value.isoformat()} cannot be stored; give a time zone"
            raise ValueError(msg)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Mark values read back as UTC."""
        del dialect
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class CaseRow(Base):
    """Current state of one case (rebuilt from its events; optimistic version counter)."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    reference: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    # queries by category use ix_cases_duplicate (category_code first)
    category_code: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    source: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    address_id: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    lon: Mapped[float] = mapped_column(sa.Float)
    lat: Mapped[float] = mapped_column(sa.Float)
    x_utm: Mapped[float] = mapped_column(sa.Float)
    y_utm: Mapped[float] = mapped_column(sa.Float)
    cell_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    community_code: Mapped[str] = mapped_column(sa.String(16))
    street_code: Mapped[str] = mapped_column(sa.String(16), index=True)
    district_code: Mapped[str] = mapped_column(sa.String(16), index=True)
    department: Mapped[str] = mapped_column(sa.String(32), index=True)
    level: Mapped[str] = mapped_column(sa.String(16))
    unit_code: Mapped[str] = mapped_column(sa.String(16))
    priority: Mapped[int] = mapped_column(sa.Integer)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stage_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stage_limit_s: Mapped[float | None] = mapped_column(sa.Float)
    paused_s: Mapped[float] = mapped_column(sa.Float, default=0.0)
    suspended_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    expected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalations: Mapped[int] = mapped_column(sa.Integer, default=0)
    reworks: Mapped[int] = mapped_column(sa.Integer, default=0)
    closed_on_time: Mapped[bool | None] = mapped_column(sa.Boolean)
    satisfaction: Mapped[int | None] = mapped_column(sa.Integer)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    duplicates: Mapped[int] = mapped_column(sa.Integer, default=0)
    alarm_id: Mapped[str | None] = mapped_column(sa.String(128), unique=True)
    client: Mapped[str] = mapped_column(sa.String(128), default="")
    reporter: Mapped[str] = mapped_column(sa.String(128), default="")
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's API
    __table_args__ = (sa.Index("ix_cases_duplicate", "category_code", "x_utm", "y_utm"),)


class CaseEventRow(Base):
    """One append-only event of a case's history."""

    __tablename__ = "case_events"
    __table_args__ = (sa.UniqueConstraint("case_id", "seq", name="uq_case_events_case_id_seq"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    seq: Mapped[int] = mapped_column(sa.Integer)
    action: Mapped[str] = mapped_column(sa.String(16))
    from_status: Mapped[str] = mapped_column(sa.String(16))
    to_status: Mapped[str] = mapped_column(sa.String(16))
    actor: Mapped[str] = mapped_column(sa.String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class CaseBlobRow(Base):
    """A stored file (photo), addressed by the sha256 of its bytes."""

    __tablename__ = "case_blobs"

    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.Integer)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseAttachmentRow(Base):
    """A photo (by blob) or a structured record attached to a case or one of its events."""

    __tablename__ = "case_attachments"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    event_seq: Mapped[int | None] = mapped_column(sa.Integer)
    kind: Mapped[str] = mapped_column(sa.String(16))
    blob_sha256: Mapped[str | None] = mapped_column(sa.ForeignKey("case_blobs.sha256"))
    data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JurisdictionRuleRow(Base):
    """One row of the jurisdiction table: (category, unit) → department at a level."""

    __tablename__ = "case_jurisdiction"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(16))
    unit: Mapped[str] = mapped_column(sa.String(16))
    department: Mapped[str] = mapped_column(sa.String(32))
    level: Mapped[str] = mapped_column(sa.String(16))


class StageLimitRow(Base):
    """A district's own time limit for one stage of a category (``*``: every category)."""

    __tablename__ = "case_stage_limits"
    __table_args__ = (sa.UniqueConstraint("district_code", "category", "stage"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(sa.String(16))
    category: Mapped[str] = mapped_column(sa.String(16))
    stage: Mapped[str] = mapped_column(sa.String(16))
    limit_h: Mapped[float] = mapped_column(sa.Float)


class TaxonomyEditRow(Base):
    """An admin's edit of the taxonomy: a new category, or fields changed on an existing one.

    One row per category code; a NULL field keeps the value of the seed taxonomy, and
    ``limits_h`` holds only the stages it changes. ``active`` false retires the category.
    """

    __tablename__ = "case_taxonomy"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(8), unique=True)
    kind: Mapped[str | None] = mapped_column(sa.String(16))
    name_zh: Mapped[str | None] = mapped_column(sa.String(100))
    name_en: Mapped[str | None] = mapped_column(sa.String(100))
    group_zh: Mapped[str | None] = mapped_column(sa.String(100))
    group_en: Mapped[str | None] = mapped_column(sa.String(100))
    department: Mapped[str | None] = mapped_column(sa.String(32))
    level: Mapped[str | None] = mapped_column(sa.String(16))
    priority: Mapped[int | None] = mapped_column(sa.Integer)
    limits_h: Mapped[dict[str, float] | None] = mapped_column(sa.JSON)
    clock: Mapped[str | None] = mapped_column(sa.String(16))
    keywords: Mapped[list[str] | None] = mapped_column(sa.JSON)
    active: Mapped[bool | None] = mapped_column(sa.Boolean)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's API


class AuditRow(Base):
    """One change an admin made to the configuration tables (before and after, as JSON)."""

    __tablename__ = "case_audit"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(16))
    table_name: Mapped[str] = mapped_column(sa.String(32))
    row_id: Mapped[int] = mapped_column(sa.Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


class UserRow(Base):
    """An operator or citizen account, with a role scoped to a unit."""

    __tablename__ = "case_users"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[str] = mapped_column(sa.String(16))
    unit_code: Mapped[str] = mapped_column(sa.String(16))
    department: Mapped[str | None] = mapped_column(sa.String(32))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)


class TokenRow(Base):
    """A login token (only its sha256 is stored) and when it expires."""

    __tablename__ = "case_tokens"

    token_sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("case_users.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiKeyRow(Base):
    """An Open311 client's API key (only its sha256 is stored)."""

    __tablename__ = "case_api_keys"

    key_sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # what the key may do, comma-separated: report, ingest, analytics
    scopes: Mapped[str] = mapped_column(sa.String(64), default="report", server_default="report")


class LoginFailureRow(Base):
    """Failed logins of one account (``user:NAME``) or client address (``ip:ADDRESS``)."""

    __tablename__ = "case_login_failures"

    key: Mapped[str] = mapped_column(sa.String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(sa.Integer)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
