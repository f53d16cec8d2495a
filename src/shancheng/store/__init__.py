"""Persistence for what must survive a restart: cases, telemetry, alarms, plans.

SQLAlchemy 2 with Alembic migrations. The embedded default is an SQLite file in the data
directory (``make demo`` needs no server); production and CI use PostgreSQL. Each pillar keeps
its ORM tables in its own module here (``store/<pillar>_tables.py``) and its migrations on its
own Alembic branch (``branch_labels=("<pillar>",)``, ``down_revision="s0000"``), so pillars can
evolve their schemas independently; :func:`upgrade_database` applies every head.
"""

from __future__ import annotations

from shancheng.store.base import Base
from shancheng.store.db import create_db_engine, session_factory, upgrade_database

__all__ = ["Base", "create_db_engine", "session_factory", "upgrade_database"]
