"""Lifelines: a waived gap counts the messages that arrived after all.

Revision ID: l0004
Revises: l0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "l0004"
down_revision = "l0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the count of a waived gap's messages that came late, after the waiver."""
    with op.batch_alter_table("lifelines_telemetry_gaps") as batch:
        batch.add_column(
            sa.Column("arrived_after_waiver", sa.BigInteger, nullable=False, server_default="0")
        )


def downgrade() -> None:
    """Drop the count."""
    with op.batch_alter_table("lifelines_telemetry_gaps") as batch:
        batch.drop_column("arrived_after_waiver")
