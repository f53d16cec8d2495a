"""Cases pillar: scoped API keys and the login throttle.

``case_api_keys.scopes`` says what a key may do (``report``: Open311 reports; ``ingest``:
sensor readings; ``analytics``: read-only staff data), comma-separated; keys issued before
keep ``report``, what they were for. ``case_login_failures`` counts the failed logins of an
account or a client address, shared by every server process.

Revision ID: c0005
Revises: c0004
Create Date: 2026-12-07 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0005"
down_revision = "c0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the scopes column and the failures table."""
    with op.batch_alter_table("case_api_keys") as batch:
        batch.add_column(
            sa.Column("scopes", sa.String(length=64), nullable=False, server_default="report")
        )
    op.create_table(
        "case_login_failures",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_case_login_failures")),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("case_login_failures")
    with op.batch_alter_table("case_api_keys") as batch:
        batch.drop_column("scopes")
