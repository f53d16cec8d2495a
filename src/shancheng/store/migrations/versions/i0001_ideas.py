"""Participation ("Golden Ideas" 金点子): campaigns, ideas, photos, supports, answers, flags.

Its own branch from ``s0000`` that depends on the cases schema (an accepted idea names the
case it became). ``ideas_supports`` holds one row per person and idea (unique constraint); the
histories (``ideas_events``, ``ideas_support_log``) are append-only: UPDATE and DELETE are
refused by trigger on SQLite and PostgreSQL, as for case events.

Revision ID: i0001
Revises: s0000
Create Date: 2026-12-07 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "i0001"
down_revision = "s0000"
branch_labels = ("ideas",)
depends_on = "c0005"

APPEND_ONLY = ("ideas_events", "ideas_support_log")
_PG_FUNCTION = """
create or replace function ideas_append_only() returns trigger as $$
begin
    raise exception '% is append-only: % refused', tg_table_name, tg_op;
end;
$$ language plpgsql
"""


def _append_only() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(_PG_FUNCTION)
    for table in APPEND_ONLY:
        for verb in ("update", "delete"):
            if postgres:
                op.execute(
                    f"create trigger {table}_no_{verb} before {verb} on {table} "
                    "for each row execute function ideas_append_only()"
                )
            else:
                op.execute(
                    f"create trigger {table}_no_{verb} before {verb} on {table} "
                    f"begin select raise(abort, '{table} is append-only: {verb} refused'); end"
                )


def _drop_append_only() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        for verb in ("update", "delete"):
            op.execute(
                f"drop trigger if exists {table}_no_{verb}" + (f" on {table}" if postgres else "")
            )
    if postgres:
        op.execute("drop function if exists ideas_append_only()")


def upgrade() -> None:
    """Create the tables of the participation pillar and the append-only triggers."""
    op.create_table(
        "ideas_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("unit_codes", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("collecting_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("collecting_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("supporting_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("supporting_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("results_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("results_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("threshold_supports", sa.Integer(), nullable=True),
        sa.Column("threshold_share", sa.Float(), nullable=True),
        sa.Column("covered_population", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("answer_working_days", sa.Integer(), nullable=False),
        sa.Column("max_supports_per_person", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ideas_campaigns")),
    )
    op.create_table(
        "ideas_residents",
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("account_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_ideas_residents")),
    )
    op.create_table(
        "ideas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("community_code", sa.String(length=16), nullable=False),
        sa.Column("street_code", sa.String(length=16), nullable=False),
        sa.Column("district_code", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("moderation", sa.String(length=16), nullable=False),
        sa.Column("moderation_reason", sa.Text(), nullable=False),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("answer_status", sa.String(length=16), nullable=False),
        sa.Column("answer_text", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=128), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("case_reference", sa.String(length=32), nullable=False),
        sa.Column("plan_category", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["ideas_campaigns.id"],
            name=op.f("fk_ideas_campaign_id_ideas_campaigns"),
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_ideas_case_id_cases")),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["ideas.id"], name=op.f("fk_ideas_merged_into_id_ideas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ideas")),
    )
    with op.batch_alter_table("ideas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ideas_answer_status"), ["answer_status"], unique=False)
        batch_op.create_index(batch_op.f("ix_ideas_author"), ["author"], unique=False)
        batch_op.create_index(batch_op.f("ix_ideas_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ideas_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ideas_district_code"), ["district_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_ideas_street_code"), ["street_code"], unique=False)

    op.create_table(
        "ideas_counts",
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("supports", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_ideas_counts_idea_id_ideas")
        ),
        sa.PrimaryKeyConstraint("idea_id", name=op.f("pk_ideas_counts")),
    )
    op.create_table(
        "ideas_quotas",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["ideas_campaigns.id"],
            name=op.f("fk_ideas_quotas_campaign_id_ideas_campaigns"),
        ),
        sa.PrimaryKeyConstraint("campaign_id", "username", name=op.f("pk_ideas_quotas")),
    )
    op.create_table(
        "ideas_deadlines",
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_ideas_deadlines_idea_id_ideas")
        ),
        sa.PrimaryKeyConstraint("idea_id", name=op.f("pk_ideas_deadlines")),
    )
    with op.batch_alter_table("ideas_deadlines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ideas_deadlines_due_at"), ["due_at"], unique=False)

    op.create_table(
        "ideas_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_ideas_events_idea_id_ideas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ideas_events")),
    )
    with op.batch_alter_table("ideas_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ideas_events_idea_id"), ["idea_id"], unique=False)

    op.create_table(
        "ideas_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("supports", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_ideas_flags_idea_id_ideas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ideas_flags")),
    )
    with op.batch_alter_table("ideas_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ideas_flags_idea_id"), ["idea_id"], unique=False)

    op.create_table(
        "ideas_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_ideas_photos_idea_id_ideas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ideas_photos")),
    )
    with op.batch_alter_table("ideas_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ideas_photos_idea_id"), ["idea_id"], unique=False)

    op.create_table(
        "ideas_support_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_ideas_support_log_idea_id_ideas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ideas_support_log")),
    )
    with op.batch_alter_table("ideas_support_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ideas_support_log_idea_id"), ["idea_id"], unique=False)

    op.create_table(
        "ideas_supports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idea_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("new_account", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["ideas_campaigns.id"],
            name=op.f("fk_ideas_supports_campaign_id_ideas_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["idea_id"], ["ideas.id"], name=op.f("fk_ideas_supports_idea_id_ideas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ideas_supports")),
        sa.UniqueConstraint("idea_id", "username", name="uq_ideas_supports_person"),
    )
    with op.batch_alter_table("ideas_supports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ideas_supports_campaign_user", ["campaign_id", "username"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ideas_supports_idea_id"), ["idea_id"], unique=False)

    _append_only()


def downgrade() -> None:
    """Drop the triggers and the tables."""
    _drop_append_only()
    for table in (
        "ideas_supports",
        "ideas_support_log",
        "ideas_quotas",
        "ideas_counts",
        "ideas_photos",
        "ideas_flags",
        "ideas_events",
        "ideas_deadlines",
        "ideas",
        "ideas_residents",
        "ideas_campaigns",
    ):
        op.drop_table(table)
