"""Lifelines: a telemetry gap can be waived by staff (a known loss, closed with a reason).

Revision ID: l0003
Revises: l0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "l0003"
down_revision = "l0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add who waived a gap and why."""
    with op.batch_alter_table("lifelines_telemetry_gaps") as batch:
        batch.add_column(sa.Column("waived_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("waived_reason", sa.String(500), nullable=True))


def downgrade() -> None:
    """Drop the waiver columns."""
    with op.batch_alter_table("lifelines_telemetry_gaps") as batch:
        batch.drop_column("waived_reason")
        batch.drop_column("waived_by")
