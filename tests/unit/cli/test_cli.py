import json

from shancheng import __version__
from shancheng.cli import main


def test_version(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


def test_demo_small_writes_a_city_and_prints_its_summary(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--small", "--out", str(tmp_path / "city")]) == 0
    out = capsys.readouterr().out
    manifest = json.loads((tmp_path / "city" / "manifest.json").read_text())
    assert "residents" in out
    assert f"{manifest['summary']['residents']:,}" in out
    assert "kindergarten" in out  # walking-time table per category


def test_bad_setting_is_one_line_and_exit_1(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHANCHENG_WALK_SPEED_KM_H", "0")
    assert main(["version"]) == 1
    err = capsys.readouterr().err
    assert "walk_speed_km_h" in err


def test_domain_error_is_printed_not_a_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--small", "--seed", "-5", "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "error:" in err
    assert "seed" in err
    assert not (tmp_path / "x").exists()
