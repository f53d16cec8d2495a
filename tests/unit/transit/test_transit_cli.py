"""``shancheng transit`` and ``shancheng circles evaluate --gtfs`` from the command line."""

from __future__ import annotations

import json
import zipfile

import pytest

from shancheng.cli import main


@pytest.mark.data
def test_check_prints_the_service_day_and_problems_exit_1(transit_data, tmp_path, capsys):
    assert main(["transit", "check", str(transit_data / "nyc_subway_gtfs.zip")]) == 0
    out = capsys.readouterr().out
    assert "no problems; on 2024-12-16" in out
    assert "786 trips" in out
    broken = tmp_path / "feed"
    with zipfile.ZipFile(transit_data / "sample_gtfs.zip") as archive:
        archive.extractall(broken)
    (broken / "routes.txt").unlink()
    assert main(["transit", "check", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "routes.txt: required file is missing" in err


@pytest.mark.data
def test_lines_prints_each_route_and_the_network(transit_data, capsys):
    assert main(["transit", "lines", str(transit_data / "nyc_subway_gtfs.zip")]) == 0
    out = capsys.readouterr().out
    assert "metro network:" in out
    assert "shapes" in out


def test_evaluate_with_the_demo_metro_writes_transit_layers(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--small", "--out", str(tmp_path / "city")]) == 0
    feed = tmp_path / "city" / "transit" / "metro_gtfs.zip"
    args = ["circles", "evaluate", "--city", str(tmp_path / "city"), "--out",
            str(tmp_path / "out"), "--no-report", "--gtfs", str(feed)]  # fmt: skip
    assert main([*args, "--window", "9:00-7:00"]) == 1
    assert "the window ends before it starts" in capsys.readouterr().err
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "metro network:" in out
    assert "residents within a 10-minute walk of a station" in out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["transit"]["stations"] > 0
    assert (tmp_path / "out" / "catchments.parquet").is_file()
