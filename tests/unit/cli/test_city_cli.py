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


def test_import_with_codes_polygons_and_population(
    monaco, shared_data, tmp_path, capsys, monkeypatch
):
    import geopandas as gpd
    import shapely

    from shancheng.data.city import read_city

    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text(
        "district_code,district_name,cityCode\n990101,西区,9901\n990102,东区,9901\n"
    )
    (tmp_path / "s.csv").write_text(
        "street_code,street_name,district_code,district_name\n"
        "990101001,Fontvieille街道,990101,西区\n"
        "990102001,Monte-Carlo街道,990102,东区\n"
    )
    gpd.GeoDataFrame(
        {"code": ["990101", "990102"], "name": ["西区", "东区"]},
        geometry=[
            shapely.box(7.405, 43.725, 7.4225, 43.75),
            shapely.box(7.4225, 43.725, 7.44, 43.75),
        ],
        crs=4326,
    ).to_file(tmp_path / "d.geojson")
    (tmp_path / "p.csv").write_text("code,population\n990101001,5000\n990102001,7000\n")
    code = main(
        [
            "city",
            "import",
            "--osm",
            str(monaco),
            "--out",
            str(tmp_path / "c"),
            "--bbox",
            "7.405,43.725,7.44,43.75",
            "--dem",
            str(shared_data / "networks/dem/srtm3_v21/N43E007.hgt"),
            "--codes",
            "d.csv",
            "--codes",
            "s.csv",
            "--district-polygons",
            "d.geojson",
            "--population-counts",
            "p.csv",
            "--population-level",
            "street",
            "--city-code",
            "990100",
            "--city-name",
            "测试市",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "street level: 2 official codes but no polygons" in " ".join(out.split())
    assert "population check: 12,000 given, 12,000 placed" in " ".join(out.split())
    city = read_city(tmp_path / "c")
    assert city.buildings["population"].sum() == 12_000
    assert set(city.buildings["street_code"]) <= {"990101001", "990102001"}
    assert len(city.admin_units) == 5
    # no city code: no Chongqing default, a clear error before the long OSM read
    code = main(
        ["city", "import", "--osm", str(monaco), "--out", str(tmp_path / "d"), "--codes", "d.csv"]
    )
    assert code == 1
    assert "--codes needs --city-code and --city-name" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()
    # a wrong city code is refused before the long OSM read, and nothing is written
    code = main(
        ["city", "import", "--osm", str(monaco), "--out", str(tmp_path / "d"), "--codes", "d.csv",
         "--city-code", "500000", "--city-name", "重庆市"]
    )  # fmt: skip
    assert code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "does not start with its parent's 50" in err and "--code-scheme free" in err
    assert not (tmp_path / "d").exists()


def test_boundary_clip_in_the_wrong_crs_is_refused(monaco, tmp_path, capsys, monkeypatch):
    import geopandas as gpd
    import shapely

    monkeypatch.chdir(tmp_path)
    # a Monaco polygon in UTM 32N metres, mislabelled as lon/lat
    area = gpd.GeoSeries([shapely.box(7.415, 43.728, 7.432, 43.742)], crs=4326).to_crs(32632)
    area.set_crs(4326, allow_override=True).to_file(tmp_path / "area.geojson")
    code = main(
        [
            "city",
            "import",
            "--osm",
            str(monaco),
            "--out",
            str(tmp_path / "x"),
            "--boundary",
            "area.geojson",
        ]
    )
    assert code == 1
    assert "look projected" in capsys.readouterr().err
    area.to_file(tmp_path / "good.gpkg")  # correctly declared metres: reprojected and used
    code = main(
        [
            "city",
            "import",
            "--osm",
            str(monaco),
            "--out",
            str(tmp_path / "y"),
            "--boundary",
            "good.gpkg",
        ]
    )
    assert code == 0
    assert "FLAT" in capsys.readouterr().err


def test_ctrl_c_exits_130_with_a_message(monaco, tmp_path, capsys, monkeypatch):
    import shancheng.cli.city as city_cli

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(city_cli, "import_city", interrupted)
    code = main(["city", "import", "--osm", str(monaco), "--out", str(tmp_path / "m")])
    assert code == 130
    assert "interrupted (Ctrl-C)" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_a_real_sigint_during_an_import_exits_130_and_leaves_nothing(shared_data, tmp_path):
    """The real command on Malta's extract, interrupted once its first log line shows."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).with_name("shancheng")
    out = tmp_path / "malta"
    with subprocess.Popen(
        [
            str(exe),
            "city",
            "import",
            "--osm",
            str(shared_data / "networks/osm/malta_2018-08-27_geofabrik.osm.pbf"),
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        first = process.stdout.readline()  # logged after the OSM read, while the import goes on
        assert first, "the import printed nothing"
        process.send_signal(signal.SIGINT)
        rest = process.stdout.read()
        assert process.wait(timeout=120) == 130, rest
    assert "interrupted (Ctrl-C)" in " ".join(rest.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no City, no hidden staging


def test_import_with_another_countrys_codes(monaco, shared_data, tmp_path, capsys, monkeypatch):
    """Monaco's own quarter names as codes (--code-scheme free): no Chinese code rules."""
    import geopandas as gpd
    import shapely

    from shancheng.data.city import read_city

    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text(
        "district_code,district_name\nMC-W,Fontvieille\nMC-E,Monte-Carlo\n"
    )
    gpd.GeoDataFrame(
        {"code": ["MC-W", "MC-E"], "name": ["Fontvieille", "Monte-Carlo"]},
        geometry=[
            shapely.box(7.405, 43.725, 7.4225, 43.75),
            shapely.box(7.4225, 43.725, 7.44, 43.75),
        ],
        crs=4326,
    ).to_file(tmp_path / "d.geojson")
    (tmp_path / "p.csv").write_text("code,population\nMC-W,5000\nMC-E,7000\n")
    code = main(
        ["city", "import", "--osm", str(monaco), "--out", str(tmp_path / "c"),
         "--bbox", "7.405,43.725,7.44,43.75",
         "--dem", str(shared_data / "networks/dem/srtm3_v21/N43E007.hgt"),
         "--codes", "d.csv", "--district-polygons", "d.geojson", "--code-scheme", "free",
         "--city-code", "MC", "--city-name", "Monaco",
         "--population-counts", "p.csv", "--population-level", "district"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    city = read_city(tmp_path / "c")
    units = city.admin_units.set_index("code")
    assert units["level"].to_dict() == {"MC": "city", "MC-W": "district", "MC-E": "district"}
    assert units.loc["MC-W", "parent_code"] == "MC"
    by_district = city.buildings.groupby("district_code")["population"].sum()
    assert by_district.round().to_dict() == {"": 0, "MC-E": 7000, "MC-W": 5000}
