"""Base of every pillar's migration branch: a table recording the schema's origin.

Revision ID: s0000
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "s0000"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``schema_info``, one row naming the application that owns the database."""
    op.create_table(
        "schema_info",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.bulk_insert(
        sa.table("schema_info", sa.column("key", sa.String), sa.column("value", sa.String)),
        [{"key": "application", "value": "shancheng"}],
    )


def downgrade() -> None:
    """Drop ``schema_info``."""
    op.drop_table("schema_info")
