"""Alembic environment: runs the packaged migrations against the configured URL."""

from __future__ import annotations

from alembic import context

from shancheng.store.db import create_db_engine
from shancheng.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations with a live connection (the only mode shancheng uses)."""
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        msg = "alembic: sqlalchemy.url is not set"
        raise RuntimeError(msg)
    connectable = create_db_engine(url)
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    connectable.dispose()


run_migrations_online()
