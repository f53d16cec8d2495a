"""`shancheng city import` end to end on a small clip of Monaco, and its error lines."""

from __future__ import annotations

import json

import pytest

from shancheng.cli import main


@pytest.fixture
def monaco(shared_data):
    return shared_data / "networks/osm/monaco_2026-07-10_geofabrik.osm.pbf"


def test_import_writes_a_city_and_prints_its_figures(
    monaco, shared_data, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "monaco"
    code = main(
        [
            "city",
            "import",
            "--osm",
            str(monaco),
            "--out",
            str(out),
            "--name",
            "monaco",
            "--bbox",
            "7.415,43.728,7.432,43.742",
            "--dem",
            str(shared_data / "networks/dem/srtm3_v21/N43E007.hgt"),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert "largest scc share" in text
    assert f"{manifest['import']['walk_nodes']:,}" in text
    assert manifest["import"]["z_max_m"] > 40


def test_import_without_dem_warns_loudly(monaco, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(
        [
            "city",
            "import",
            "--osm",
            str(monaco),
            "--out",
            str(tmp_path / "flat"),
            "--bbox",
            "7.415,43.728,7.432,43.742",
        ]
    )
    assert code == 0
    assert "WARNING" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bbox", "7.4,43.7"], "--bbox must be west,south,east,north"),
        (["--bbox", "7.5,43.7,7.4,43.8"], "west < east"),
        (["--dem", "/nonexistent.tif"], "not a readable DEM"),
    ],
)
def test_bad_arguments_are_one_error_line(monaco, tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code = main(["city", "import", "--osm", str(monaco), "--out", str(tmp_path / "x"), *args])
    assert code == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
