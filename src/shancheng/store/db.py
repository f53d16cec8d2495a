"""Engine, sessions and migrations for the store.

One function per job: :func:`create_db_engine` turns a URL into an engine (SQLite gets foreign
keys switched on and its folder created), :func:`session_factory` makes sessions that do not
expire objects on commit, and :func:`upgrade_database` brings any database to the newest schema
by running the Alembic migrations packaged with shancheng.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from shancheng.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for ``url`` (``sqlite:///...`` or ``postgresql+psycopg://...``).

    Parameters
    ----------
    url
        SQLAlchemy URL. ``postgresql://`` is read as ``postgresql+psycopg://`` (psycopg 3).
    echo
        Log every SQL statement (debugging).

    Raises
    ------
    ConfigError
        The URL cannot be parsed or names a backend shancheng does not support.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:
        msg = f"setting `database_url`: cannot parse {url!r} ({exc})"
        raise ConfigError(msg) from exc
    backend = parsed.get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        msg = (
            f"setting `database_url`: backend {backend!r} is not supported; "
            "use sqlite or postgresql"
        )
        raise ConfigError(msg)
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and parsed.database not in {None, "", ":memory:"}:
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, echo=echo)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:  # noqa: ANN401 - DB-API object
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """Build an Alembic configuration pointing at the packaged migrations and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(url: str) -> None:
    """Apply every pending migration of every pillar (``alembic upgrade heads``)."""
    create_db_engine(url).dispose()  # validates the URL and creates an SQLite folder
    command.upgrade(alembic_config(url), "heads")
