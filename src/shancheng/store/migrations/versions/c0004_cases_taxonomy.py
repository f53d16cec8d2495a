"""Cases pillar: the admins' edits of the taxonomy (new categories, changed or retired ones).

``case_taxonomy`` holds one row per category code an admin added or changed; a NULL field
keeps the packaged seed's value. Changes are audit-logged in ``case_audit``.

Revision ID: c0004
Revises: c0003
Create Date: 2026-12-02 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0004"
down_revision = "c0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table."""
    op.create_table(
        "case_taxonomy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("name_zh", sa.String(length=100), nullable=True),
        sa.Column("name_en", sa.String(length=100), nullable=True),
        sa.Column("group_zh", sa.String(length=100), nullable=True),
        sa.Column("group_en", sa.String(length=100), nullable=True),
        sa.Column("department", sa.String(length=32), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("limits_h", sa.JSON(), nullable=True),
        sa.Column("clock", sa.String(length=16), nullable=True),
        sa.Column("keywords", sa.JSON(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_taxonomy")),
        sa.UniqueConstraint("code", name=op.f("uq_case_taxonomy_code")),
    )


def downgrade() -> None:
    """Drop it again."""
    op.drop_table("case_taxonomy")
