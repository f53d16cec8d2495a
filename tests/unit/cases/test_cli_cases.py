"""The cases commands: replay a day on a small city, refuse a missing city clearly."""

import pytest

from shancheng.cli import main
from shancheng.data.demo import DemoConfig, write_demo_city


@pytest.mark.slow
def test_replay_prints_the_days_statistics(tmp_path, monkeypatch, capsys):
    write_demo_city(tmp_path / "demo", DemoConfig.small())
    monkeypatch.setenv("SHANCHENG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHANCHENG_QUIET", "1")
    assert main(["cases", "replay", "--reports", "40", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "citizen/inspector/Open311 reports" in out and "40" in out
    assert "综合评价 evaluation by department" in out
    assert (tmp_path / "replay.sqlite").is_file()


def test_missing_city_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SHANCHENG_DATA_DIR", str(tmp_path))
    assert main(["cases", "replay"]) == 1
    err = capsys.readouterr().err
    assert "no City at" in err and "shancheng demo --out" in err
