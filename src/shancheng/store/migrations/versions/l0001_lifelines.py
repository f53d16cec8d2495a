"""Lifelines: sensor registry, readings keyed by (sensor, time), rejections, alarms.

Revision ID: l0001
Revises: s0000
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "l0001"
down_revision = "s0000"
branch_labels = ("lifelines",)
depends_on = None


def upgrade() -> None:
    """Create the four lifelines tables."""
    op.create_table(
        "lifelines_sensors",
        sa.Column("sensor_id", sa.String(64), primary_key=True),
        sa.Column("network", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("range_min", sa.Float, nullable=False),
        sa.Column("range_max", sa.Float, nullable=False),
        sa.Column("element_kind", sa.String(16), nullable=False),
        sa.Column("element_id", sa.String(64), nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("department", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("sensor_id", name="pk_lifelines_sensors"),
    )
    op.create_table(
        "lifelines_readings",
        sa.Column("sensor_id", sa.String(64), nullable=False),
        sa.Column("observed_at_ms", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("sensor_id", "observed_at_ms", name="pk_lifelines_readings"),
    )
    op.create_table(
        "lifelines_rejections",
        sa.Column("rejection_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("received_at_ms", sa.BigInteger, nullable=False),
        sa.Column("topic", sa.String(256), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("rejection_id", name="pk_lifelines_rejections"),
    )
    op.create_index("ix_lifelines_rejections_reason", "lifelines_rejections", ["reason"])
    op.create_table(
        "lifelines_alarms",
        sa.Column("alarm_id", sa.String(128), nullable=False),
        sa.Column("sensor_id", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("raised_at_ms", sa.BigInteger, nullable=False),
        sa.Column("last_at_ms", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("case_id", sa.Integer, nullable=True),
        sa.Column("case_reference", sa.String(64), nullable=True),
        sa.Column("history", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("alarm_id", name="pk_lifelines_alarms"),
    )
    op.create_index("ix_lifelines_alarms_state", "lifelines_alarms", ["state"])


def downgrade() -> None:
    """Drop the lifelines tables."""
    op.drop_index("ix_lifelines_alarms_state", table_name="lifelines_alarms")
    op.drop_table("lifelines_alarms")
    op.drop_index("ix_lifelines_rejections_reason", table_name="lifelines_rejections")
    op.drop_table("lifelines_rejections")
    op.drop_table("lifelines_readings")
    op.drop_table("lifelines_sensors")
