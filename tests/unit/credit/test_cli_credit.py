"""The credit commands on a small demo city: the demo month, registry import, a draw."""

import re
import sqlite3

import pandas as pd
import pytest

from shancheng.cli import main
from shancheng.credit.codes import complete_code
from shancheng.data.demo import DemoConfig, write_demo_city

FIRM = complete_code("91990101MA000077")
TRADER = complete_code("92990101L0000088")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("credit_cli")
    write_demo_city(folder / "demo", DemoConfig.small())
    return folder


@pytest.fixture
def env(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SHANCHENG_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SHANCHENG_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.setenv("SHANCHENG_QUIET", "1")
    return tmp_path / "db.sqlite"


def _without_timing(text):
    return re.sub(r"\(\d+\.\d s,", "(t s,", text)


def test_credit_demo_prints_the_month_the_same_for_the_same_seed(env, data_dir, capsys, tmp_path):
    assert main(["credit", "demo", "--seed", "4"]) == 0
    first = capsys.readouterr().out
    assert "published within 7 working days" in first
    assert "entities in tier" in first
    assert "double random draw 1: seed 4" in first
    assert not (data_dir / "credit_demo.sqlite").exists()  # the server's database, none other
    # the month is in the configured database, where `shancheng serve` reads it
    with sqlite3.connect(env) as db:
        traders = db.execute("SELECT count(*) FROM credit_entities").fetchone()[0]
        draws = db.execute("SELECT count(*) FROM credit_draws").fetchone()[0]
    assert traders > 0
    assert draws == 1
    # a second run leaves that database alone and says so
    assert main(["credit", "demo", "--seed", "4"]) == 0
    again = capsys.readouterr().out
    assert f"already holds {traders} credit entities" in again
    with sqlite3.connect(env) as db:
        assert db.execute("SELECT count(*) FROM credit_draws").fetchone()[0] == 1
    # the same seed on another empty database lives the same month
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    assert main(["credit", "demo", "--seed", "4", "--database", other]) == 0
    assert _without_timing(capsys.readouterr().out) == _without_timing(first)


def _registry(path, point, *, code=TRADER, name="老王烧烤"):
    lon, lat = point(street="990101001")
    rows = [
        {"code": FIRM, "name": "重庆江畔餐饮管理有限公司", "address": "南滨路 2 号", "lon": lon,
         "lat": lat},
        {"code": code, "name": name, "address": "夜市 3 号", "lon": lon, "lat": lat},
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _entities(db_file):
    with sqlite3.connect(db_file) as conn:
        return conn.execute("select code, name from credit_entities order by code").fetchall()


def test_import_refuses_a_bad_row_naming_it_and_stores_nothing(env, tmp_path, point, capsys):
    bad = TRADER[:5] + "I" + TRADER[6:]
    path = _registry(tmp_path / "bad.csv", point, code=bad)
    assert main(["credit", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert "bad.csv: 1 problem(s); nothing was imported" in err
    assert "`bad.csv, row 3, code`" in err and "'I' at position 6" in err
    assert not env.exists() or _entities(env) == []


def test_import_then_update_then_draw(env, tmp_path, point, capsys):
    path = _registry(tmp_path / "registry.csv", point)
    assert main(["credit", "import", str(path), "--check"]) == 0
    assert "2 entities, all rows valid" in capsys.readouterr().out
    assert not env.exists()  # a check writes nothing
    assert main(["credit", "import", str(path)]) == 0
    assert "2 created, 0 updated (history kept), 0 unchanged" in capsys.readouterr().out
    renamed = _registry(tmp_path / "registry2.csv", point, name="老王烧烤（新店）")
    assert main(["credit", "import", str(renamed)]) == 0
    assert "0 created, 1 updated (history kept), 1 unchanged" in capsys.readouterr().out
    assert (TRADER, "老王烧烤（新店）") in _entities(env)
    with sqlite3.connect(env) as conn:
        assert conn.execute("select count(*) from credit_entity_history").fetchone() == (1,)
    args = ["credit", "draw", "--seed", "7", "--inspector", "li", "--inspector", "wang",
            "--inspector", "zhao"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "seed 7, 2 entities" in out
    with sqlite3.connect(env) as conn:
        assert conn.execute("select seed, team_size from credit_draws").fetchall() == [(7, 2)]
