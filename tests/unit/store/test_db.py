import pytest
import sqlalchemy as sa

from shancheng.errors import ConfigError
from shancheng.store import create_db_engine, upgrade_database


def test_sqlite_migrates_to_base_schema(sqlite_url):
    engine = create_db_engine(sqlite_url)
    with engine.connect() as conn:
        value = conn.execute(
            sa.text("select value from schema_info where key = 'application'")
        ).scalar_one()
        fk = conn.execute(sa.text("pragma foreign_keys")).scalar_one()
    engine.dispose()
    assert value == "shancheng"
    assert fk == 1


def test_upgrade_is_idempotent(sqlite_url):
    upgrade_database(sqlite_url)  # already at head: nothing to do, nothing lost
    engine = create_db_engine(sqlite_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select count(*) from schema_info")).scalar_one()
    engine.dispose()
    assert rows == 1


def test_sqlite_folder_is_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'deep' / 'er' / 'db.sqlite'}"
    upgrade_database(url)
    assert (tmp_path / "deep" / "er" / "db.sqlite").is_file()


@pytest.mark.parametrize(
    ("url", "needle"),
    [("mysql://root@localhost/x", "backend 'mysql'"), ("::not a url::", "cannot parse")],
)
def test_bad_database_url_names_the_setting(url, needle):
    with pytest.raises(ConfigError, match="database_url") as info:
        create_db_engine(url)
    assert needle in str(info.value)


@pytest.mark.services
def test_postgresql_migrates_to_base_schema(postgres_url):
    engine = create_db_engine(postgres_url)
    with engine.connect() as conn:
        assert conn.dialect.name == "postgresql"
        value = conn.execute(
            sa.text("select value from schema_info where key = 'application'")
        ).scalar_one()
    engine.dispose()
    assert value == "shancheng"
