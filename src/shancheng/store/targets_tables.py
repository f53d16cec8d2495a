"""ORM table of the plan targets: figures entered by hand, append-only."""

from __future__ import annotations

from datetime import date, datetime  # noqa: TC003 - SQLAlchemy reads the annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shancheng.store.base import Base
from shancheng.store.cases_tables import UTCDateTime


class TargetFigureRow(Base):
    """One figure of a target as of ``as_of``, who entered it and when; never rewritten."""

    __tablename__ = "target_figures"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    target_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    value: Mapped[float] = mapped_column(sa.Float)
    as_of: Mapped[date] = mapped_column(sa.Date)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    entered_by: Mapped[str] = mapped_column(sa.String(128))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
