"""Imports every pillar's table module so ``Base.metadata`` knows all tables.

Alembic's ``env.py`` and tests that create schemas import this module. A pillar that adds a
``store/<pillar>_tables.py`` adds one import line here.
"""

from __future__ import annotations

from shancheng.store import (
    cases_tables,
    credit_tables,
    ideas_tables,
    lifelines_tables,
    targets_tables,
)
from shancheng.store.base import Base

__all__ = [
    "Base",
    "cases_tables",
    "credit_tables",
    "ideas_tables",
    "lifelines_tables",
    "targets_tables",
]
