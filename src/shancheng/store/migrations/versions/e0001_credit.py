"""Enforcement (Credit +): entities, licences, case links, decisions, tiers, repairs, draws.

Its own branch from ``s0000`` that depends on the cases schema (decisions and links name
cases). The histories (``credit_entity_history``, ``credit_decision_events``,
``credit_tier_changes``) are append-only: UPDATE and DELETE are refused by trigger on SQLite
and PostgreSQL, as for case events.

Revision ID: e0001
Revises: s0000
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "e0001"
down_revision = "s0000"
branch_labels = ("credit",)
depends_on = "c0005"

APPEND_ONLY = ("credit_entity_history", "credit_decision_events", "credit_tier_changes")
_PG_FUNCTION = """
create or replace function credit_append_only() returns trigger as $$
begin
    raise exception '% is append-only: % refused', tg_table_name, tg_op;
end;
$$ language plpgsql
"""


def upgrade() -> None:
    """Create the tables of the enforcement pillar and the append-only triggers."""
    op.create_table(
        "credit_draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(length=200), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("rates", sa.JSON(), nullable=False),
        sa.Column("team_size", sa.Integer(), nullable=False),
        sa.Column("inspectors", sa.JSON(), nullable=False),
        sa.Column("population", sa.JSON(), nullable=False),
        sa.Column("drawn_by", sa.String(length=128), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_draws")),
    )
    op.create_index(op.f("ix_credit_draws_drawn_at"), "credit_draws", ["drawn_at"], unique=False)
    op.create_index(op.f("ix_credit_draws_unit_code"), "credit_draws", ["unit_code"], unique=False)
    op.create_table(
        "credit_entities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("community_code", sa.String(length=16), nullable=False),
        sa.Column("street_code", sa.String(length=16), nullable=False),
        sa.Column("district_code", sa.String(length=16), nullable=False),
        sa.Column("representative", sa.String(length=100), nullable=False),
        sa.Column("representative_id", sa.String(length=18), nullable=False),
        sa.Column("tier", sa.String(length=4), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_entities")),
        sa.UniqueConstraint("code", name=op.f("uq_credit_entities_code")),
    )
    op.create_index(
        op.f("ix_credit_entities_district_code"), "credit_entities", ["district_code"], unique=False
    )
    op.create_index(
        op.f("ix_credit_entities_street_code"), "credit_entities", ["street_code"], unique=False
    )
    op.create_table(
        "credit_case_links",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("linked_by", sa.String(length=128), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_credit_case_links_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["credit_entities.id"],
            name=op.f("fk_credit_case_links_entity_id_credit_entities"),
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_credit_case_links")),
    )
    op.create_index(
        op.f("ix_credit_case_links_entity_id"), "credit_case_links", ["entity_id"], unique=False
    )
    op.create_table(
        "credit_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("legal_basis", sa.JSON(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("amount_yuan", sa.Float(), nullable=False),
        sa.Column("street_code", sa.String(length=16), nullable=False),
        sa.Column("district_code", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.String(length=128), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("publish_due", sa.Date(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_credit_decisions_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["credit_entities.id"],
            name=op.f("fk_credit_decisions_entity_id_credit_entities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_decisions")),
    )
    op.create_index(
        op.f("ix_credit_decisions_case_id"), "credit_decisions", ["case_id"], unique=False
    )
    op.create_index(
        op.f("ix_credit_decisions_district_code"),
        "credit_decisions",
        ["district_code"],
        unique=False,
    )
    op.create_index(
        op.f("ix_credit_decisions_entity_id"), "credit_decisions", ["entity_id"], unique=False
    )
    op.create_index(
        op.f("ix_credit_decisions_status"), "credit_decisions", ["status"], unique=False
    )
    op.create_index(
        op.f("ix_credit_decisions_street_code"), "credit_decisions", ["street_code"], unique=False
    )
    op.create_table(
        "credit_draw_picks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("inspectors", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_credit_draw_picks_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["credit_draws.id"], name=op.f("fk_credit_draw_picks_draw_id_credit_draws")
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["credit_entities.id"],
            name=op.f("fk_credit_draw_picks_entity_id_credit_entities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_draw_picks")),
    )
    op.create_index(
        op.f("ix_credit_draw_picks_draw_id"), "credit_draw_picks", ["draw_id"], unique=False
    )
    op.create_index(
        op.f("ix_credit_draw_picks_entity_id"), "credit_draw_picks", ["entity_id"], unique=False
    )
    op.create_table(
        "credit_entity_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["credit_entities.id"],
            name=op.f("fk_credit_entity_history_entity_id_credit_entities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_entity_history")),
    )
    op.create_index(
        op.f("ix_credit_entity_history_entity_id"),
        "credit_entity_history",
        ["entity_id"],
        unique=False,
    )
    op.create_table(
        "credit_licences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("authority", sa.String(length=100), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("publish_due", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["credit_entities.id"],
            name=op.f("fk_credit_licences_entity_id_credit_entities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_licences")),
        sa.UniqueConstraint("entity_id", "number", name="uq_credit_licences_number"),
    )
    op.create_index(
        op.f("ix_credit_licences_entity_id"), "credit_licences", ["entity_id"], unique=False
    )
    op.create_table(
        "credit_tier_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("from_tier", sa.String(length=4), nullable=False),
        sa.Column("to_tier", sa.String(length=4), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["credit_entities.id"],
            name=op.f("fk_credit_tier_changes_entity_id_credit_entities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_tier_changes")),
    )
    op.create_index(
        op.f("ix_credit_tier_changes_entity_id"), "credit_tier_changes", ["entity_id"], unique=False
    )
    op.create_table(
        "credit_decision_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["credit_decisions.id"],
            name=op.f("fk_credit_decision_events_decision_id_credit_decisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_decision_events")),
        sa.UniqueConstraint("decision_id", "seq", name="uq_credit_decision_events_seq"),
    )
    op.create_index(
        op.f("ix_credit_decision_events_decision_id"),
        "credit_decision_events",
        ["decision_id"],
        unique=False,
    )
    op.create_table(
        "credit_repairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["credit_decisions.id"],
            name=op.f("fk_credit_repairs_decision_id_credit_decisions"),
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["credit_entities.id"],
            name=op.f("fk_credit_repairs_entity_id_credit_entities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_repairs")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_credit_repairs_decision_id")),
    )
    op.create_index(
        op.f("ix_credit_repairs_entity_id"), "credit_repairs", ["entity_id"], unique=False
    )

    _append_only()


def _append_only() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(_PG_FUNCTION)
    for table in APPEND_ONLY:
        for verb in ("update", "delete"):
            if postgres:
                op.execute(
                    f"create trigger {table}_no_{verb} before {verb} on {table} "
                    "for each row execute function credit_append_only()"
                )
            else:
                op.execute(
                    f"create trigger {table}_no_{verb} before {verb} on {table} "
                    f"begin select raise(abort, '{table} is append-only: {verb} refused'); end"
                )


def downgrade() -> None:
    """Drop the triggers and the tables."""
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        for verb in ("update", "delete"):
            op.execute(
                f"drop trigger if exists {table}_no_{verb}" + (f" on {table}" if postgres else "")
            )
    if postgres:
        op.execute("drop function if exists credit_append_only()")
    for table in (
        "credit_repairs",
        "credit_decision_events",
        "credit_tier_changes",
        "credit_licences",
        "credit_entity_history",
        "credit_draw_picks",
        "credit_decisions",
        "credit_case_links",
        "credit_entities",
        "credit_draws",
    ):
        op.drop_table(table)
