"""Cases pillar: cases, their append-only events, blobs, jurisdiction, users, tokens, API keys.

The events table refuses UPDATE and DELETE by trigger on SQLite and PostgreSQL alike, so the
history of a case cannot be rewritten even by hand-written SQL.

Revision ID: c0001
Revises: s0000
Create Date: 2026-11-23 14:36:25.019308
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0001"
down_revision = "s0000"
branch_labels = ("cases",)
depends_on = None


def upgrade() -> None:
    """Create the cases tables and the append-only triggers."""
    op.create_table(
        "case_api_keys",
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_sha256", name=op.f("pk_case_api_keys")),
    )
    op.create_table(
        "case_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_case_blobs")),
    )
    op.create_table(
        "case_jurisdiction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_jurisdiction")),
    )
    op.create_table(
        "case_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_users")),
        sa.UniqueConstraint("username", name=op.f("uq_case_users_username")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=True),
        sa.Column("category_code", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("x_utm", sa.Float(), nullable=False),
        sa.Column("y_utm", sa.Float(), nullable=False),
        sa.Column("cell_id", sa.Integer(), nullable=False),
        sa.Column("community_code", sa.String(length=16), nullable=False),
        sa.Column("street_code", sa.String(length=16), nullable=False),
        sa.Column("district_code", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage_limit_s", sa.Float(), nullable=True),
        sa.Column("paused_s", sa.Float(), nullable=False),
        sa.Column("suspended_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("reworks", sa.Integer(), nullable=False),
        sa.Column("closed_on_time", sa.Boolean(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.String(length=128), nullable=True),
        sa.Column("client", sa.String(length=128), nullable=False),
        sa.Column("reporter", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["cases.id"], name=op.f("fk_cases_parent_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("alarm_id", name=op.f("uq_cases_alarm_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_cases_reference")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_category_code"), ["category_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_cell_id"), ["cell_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_deadline_at"), ["deadline_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_department"), ["department"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_district_code"), ["district_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_reported_at"), ["reported_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_street_code"), ["street_code"], unique=False)

    op.create_table(
        "case_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("blob_sha256", sa.String(length=64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["blob_sha256"],
            ["case_blobs.sha256"],
            name=op.f("fk_case_attachments_blob_sha256_case_blobs"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_attachments_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachments")),
    )
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_attachments_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
        sa.UniqueConstraint("case_id", "seq", name="uq_case_events_case_id_seq"),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_events_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_tokens",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["case_users.id"], name=op.f("fk_case_tokens_user_id_case_users")
        ),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_case_tokens")),
    )
    with op.batch_alter_table("case_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_tokens_user_id"), ["user_id"], unique=False)

    _append_only()


def downgrade() -> None:
    """Drop the triggers and the cases tables."""
    _drop_append_only()
    with op.batch_alter_table("case_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_tokens_user_id"))

    op.drop_table("case_tokens")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_events_case_id"))
        batch_op.drop_index(batch_op.f("ix_case_events_at"))

    op.drop_table("case_events")
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_attachments_case_id"))

    op.drop_table("case_attachments")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_street_code"))
        batch_op.drop_index(batch_op.f("ix_cases_status"))
        batch_op.drop_index(batch_op.f("ix_cases_reported_at"))
        batch_op.drop_index(batch_op.f("ix_cases_parent_id"))
        batch_op.drop_index(batch_op.f("ix_cases_district_code"))
        batch_op.drop_index(batch_op.f("ix_cases_department"))
        batch_op.drop_index(batch_op.f("ix_cases_deadline_at"))
        batch_op.drop_index(batch_op.f("ix_cases_cell_id"))
        batch_op.drop_index(batch_op.f("ix_cases_category_code"))

    op.drop_table("cases")
    op.drop_table("case_users")
    op.drop_table("case_jurisdiction")
    op.drop_table("case_blobs")
    op.drop_table("case_api_keys")


_PG_FUNCTION = """
create or replace function case_events_append_only() returns trigger as $$
begin
    raise exception 'case_events is append-only: % refused', tg_op;
end;
$$ language plpgsql
"""


def _append_only() -> None:
    """Refuse UPDATE and DELETE on case_events."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for verb in ("update", "delete"):
            op.execute(
                f"create trigger case_events_no_{verb} before {verb} on case_events "
                "for each row execute function case_events_append_only()"
            )
    else:
        for verb in ("update", "delete"):
            op.execute(
                f"create trigger case_events_no_{verb} before {verb} on case_events "
                f"begin select raise(abort, 'case_events is append-only: {verb} refused'); end"
            )


def _drop_append_only() -> None:
    for verb in ("update", "delete"):
        op.execute(
            f"drop trigger if exists case_events_no_{verb}"
            + (" on case_events" if op.get_bind().dialect.name == "postgresql" else "")
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("drop function if exists case_events_append_only()")
