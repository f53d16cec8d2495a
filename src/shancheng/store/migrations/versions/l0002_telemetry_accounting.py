"""Lifelines: per-source message accounting (sequence numbers, gaps on record).

Revision ID: l0002
Revises: l0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "l0002"
down_revision = "l0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the sources, received-sequence and gap tables."""
    op.create_table(
        "lifelines_telemetry_sources",
        sa.Column("gateway", sa.String(64), nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("accounted_through", sa.BigInteger, nullable=False),
        sa.Column("highest_seq", sa.BigInteger, nullable=False),
        sa.Column("messages", sa.BigInteger, nullable=False),
        sa.Column("duplicates", sa.BigInteger, nullable=False),
        sa.Column("first_seen_ms", sa.BigInteger, nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger, nullable=False),
        sa.Column("announced_seq", sa.BigInteger, nullable=False),
        sa.Column("announced_at_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("gateway", "epoch", name="pk_lifelines_telemetry_sources"),
    )
    op.create_table(
        "lifelines_telemetry_seqs",
        sa.Column("gateway", sa.String(64), nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("received_at_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("gateway", "epoch", "seq", name="pk_lifelines_telemetry_seqs"),
    )
    op.create_table(
        "lifelines_telemetry_gaps",
        sa.Column("gap_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("gateway", sa.String(64), nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("first_seq", sa.BigInteger, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("missing", sa.BigInteger, nullable=False),
        sa.Column("filled_by_backfill", sa.BigInteger, nullable=False),
        sa.Column("filled_late", sa.BigInteger, nullable=False),
        sa.Column("detected_at_ms", sa.BigInteger, nullable=False),
        sa.Column("closed_at_ms", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("gap_id", name="pk_lifelines_telemetry_gaps"),
    )
    op.create_index(
        "ix_lifelines_telemetry_gaps_open",
        "lifelines_telemetry_gaps",
        ["gateway", "closed_at_ms"],
    )


def downgrade() -> None:
    """Drop the accounting tables."""
    op.drop_index("ix_lifelines_telemetry_gaps_open", table_name="lifelines_telemetry_gaps")
    op.drop_table("lifelines_telemetry_gaps")
    op.drop_table("lifelines_telemetry_seqs")
    op.drop_table("lifelines_telemetry_sources")
