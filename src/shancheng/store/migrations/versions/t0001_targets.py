"""Plan targets: the append-only table of figures entered by hand, with who and when.

UPDATE and DELETE are refused by trigger (SQLite and PostgreSQL), as for case events: a
figure once entered stays in the history; a correction is a new figure with a note.

Revision ID: t0001
Revises: s0000
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "t0001"
down_revision = "s0000"
branch_labels = ("targets",)
depends_on = None

_PG_FUNCTION = """
create or replace function target_figures_append_only() returns trigger as $$
begin
    raise exception 'target_figures is append-only: % refused', tg_op;
end;
$$ language plpgsql
"""


def upgrade() -> None:
    """Create ``target_figures`` and its append-only triggers."""
    op.create_table(
        "target_figures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("entered_by", sa.String(128), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_target_figures_target_id", "target_figures", ["target_id"])
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(_PG_FUNCTION)
    for verb in ("update", "delete"):
        if postgres:
            op.execute(
                f"create trigger target_figures_no_{verb} before {verb} on target_figures "
                "for each row execute function target_figures_append_only()"
            )
        else:
            op.execute(
                f"create trigger target_figures_no_{verb} before {verb} on target_figures "
                f"begin select raise(abort, 'target_figures is append-only: {verb} refused'); end"
            )


def downgrade() -> None:
    """Drop the triggers and the table."""
    postgres = op.get_bind().dialect.name == "postgresql"
    for verb in ("update", "delete"):
        op.execute(
            f"drop trigger if exists target_figures_no_{verb}"
            + (" on target_figures" if postgres else "")
        )
    if postgres:
        op.execute("drop function if exists target_figures_append_only()")
    op.drop_index("ix_target_figures_target_id", table_name="target_figures")
    op.drop_table("target_figures")
