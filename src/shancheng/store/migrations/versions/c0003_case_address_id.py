"""Cases pillar: keep the Open311 ``address_id`` of a report; drop a redundant index.

``address_id`` is the client's id of the place reported (a unit code, a facility, the
client's own building id); Open311 answers it back with the request. ``ix_cases_category_code``
duplicated the leading column of ``ix_cases_duplicate``, which serves every query by category,
and cost one more index entry per report.

Revision ID: c0003
Revises: c0002
Create Date: 2026-12-02 09:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c0003"
down_revision = "c0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column; drop the index."""
    op.add_column(
        "cases",
        sa.Column("address_id", sa.String(length=64), nullable=False, server_default=""),
    )
    op.drop_index("ix_cases_category_code", table_name="cases")


def downgrade() -> None:
    """Put the index back; drop the column."""
    op.create_index("ix_cases_category_code", "cases", ["category_code"])
    op.drop_column("cases", "address_id")
