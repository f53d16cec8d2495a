"""Alembic migrations of every pillar, applied by :func:`shancheng.store.upgrade_database`."""
