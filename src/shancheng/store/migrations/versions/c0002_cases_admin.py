"""Cases pillar: an index for the duplicate check, per-district stage limits, the audit log.

``ix_cases_duplicate`` serves the one query every report runs (open cases of its category in
a box around the point). ``case_stage_limits`` holds a district's own time limits per stage
(cobrand-style data overrides of the taxonomy); ``case_audit`` records every change an admin
makes to the jurisdiction table and the stage limits (who, when, what, before and after).

Revision ID: c0002
Revises: c0001
Create Date: 2026-12-02 05:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0002"
down_revision = "c0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the index and the two tables."""
    op.create_index("ix_cases_duplicate", "cases", ["category_code", "x_utm", "y_utm"])
    op.create_table(
        "case_stage_limits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("limit_h", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_stage_limits")),
        sa.UniqueConstraint(
            "district_code", "category", "stage", name=op.f("uq_case_stage_limits_key")
        ),
    )
    op.create_table(
        "case_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_audit")),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("case_audit")
    op.drop_table("case_stage_limits")
    op.drop_index("ix_cases_duplicate", table_name="cases")
