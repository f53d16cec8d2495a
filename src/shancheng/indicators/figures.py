"""Figures of the manual targets: appended with who entered them, when and why; never rewritten.

The table refuses UPDATE and DELETE by trigger (migration ``t0001``), so the history shown on
the dashboard is the history entered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from shancheng.errors import QueryError
from shancheng.store.targets_tables import TargetFigureRow

if TYPE_CHECKING:
    from datetime import date, datetime

    from sqlalchemy.orm import Session

MAX_NOTE_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Figure:
    """One entered figure."""

    target_id: str
    value: float
    as_of: date
    note: str
    entered_by: str
    entered_at: datetime


def append_figure(
    session: Session,
    target_id: str,
    value: float,
    *,
    as_of: date,
    note: str,
    entered_by: str,
    at: datetime,
) -> Figure:
    """Append one figure of ``target_id`` and commit.

    Raises
    ------
    QueryError
        ``value`` is not a finite number >= 0, or ``note`` is too long (names the field).
    """
    if not (math.isfinite(value) and value >= 0):
        msg = f"`value` must be a finite number >= 0, got {value!r}"
        raise QueryError(msg, field="value")
    if len(note) > MAX_NOTE_CHARS:
        msg = f"`note` is {len(note)} characters long; at most {MAX_NOTE_CHARS}"
        raise QueryError(msg, field="note")
    row = TargetFigureRow(
        target_id=target_id, value=float(value), as_of=as_of, note=note, entered_by=entered_by,
        entered_at=at,
    )  # fmt: skip
    session.add(row)
    session.commit()
    return _figure(row)


def figure_history(session: Session, target_ids: list[str]) -> dict[str, list[Figure]]:
    """Return the figures of each target, oldest entry first."""
    rows = session.execute(
        sa.select(TargetFigureRow)
        .where(TargetFigureRow.target_id.in_(target_ids))
        .order_by(TargetFigureRow.id)
    ).scalars()
    history: dict[str, list[Figure]] = {t: [] for t in target_ids}
    for row in rows:
        history[row.target_id].append(_figure(row))
    return history


def _figure(row: TargetFigureRow) -> Figure:
    return Figure(row.target_id, row.value, row.as_of, row.note, row.entered_by, row.entered_at)
