"""The whole evaluation: layers for QGIS, safe writing, the CLI and its errors."""

import json

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from rich.console import Console

from shancheng.circles.evaluate import LAYERS, evaluate_city, write_evaluation
from shancheng.cli import main
from shancheng.data.city import write_city
from shancheng.errors import InputError


@pytest.fixture(scope="module")
def evaluation(small_city):
    return evaluate_city(small_city)


def test_every_layer_is_a_geodataframe_in_wgs84(evaluation, small_city):
    for name in LAYERS:
        frame = evaluation.layer(name)
        assert isinstance(frame, gpd.GeoDataFrame)
        assert frame.crs.to_epsg() == 4326, name
    assert set(evaluation.units["level"]) == {"city", "district", "street", "community"}
    assert len(evaluation.residences) == (small_city.buildings["population"] > 0).sum()
    assert "kindergarten_walk_min" in evaluation.residences.columns
    assert "complete_15min_share" in evaluation.units.columns
    assert "kindergarten_5min_share_served" in evaluation.units.columns
    assert evaluation.cells["population"].sum() == small_city.buildings["population"].sum()


def test_written_layers_open_as_geopackage_and_geoparquet(evaluation, tmp_path):
    out = write_evaluation(evaluation, tmp_path / "results")
    listed = {name for name, _ in pyogrio.list_layers(out / "circles.gpkg")}
    assert listed == set(LAYERS)
    for name in LAYERS:
        from_gpkg = gpd.read_file(out / "circles.gpkg", layer=name)
        from_parquet = gpd.read_parquet(out / f"{name}.parquet")
        assert len(from_gpkg) == len(from_parquet) == len(evaluation.layer(name))
        assert from_parquet.crs.to_epsg() == 4326
    table = pd.read_parquet(out / "coverage.parquet")
    assert len(table) == len(evaluation.table)
    summary = json.loads((out / "summary.json").read_text())
    assert 0 <= summary["shares"]["kindergarten_5min"] <= 1


def test_a_failed_write_keeps_the_previous_results(evaluation, tmp_path):
    out = write_evaluation(evaluation, tmp_path / "results")
    before = (out / "summary.json").read_text()

    def boom(_staging):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_evaluation(evaluation, out, extra=boom)
    assert (out / "summary.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]  # no staging left


def test_refuses_to_replace_a_folder_that_is_not_a_result(evaluation, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.docx").write_text("precious")
    with pytest.raises(InputError, match="refusing to replace it"):
        write_evaluation(evaluation, tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.docx").read_text() == "precious"


def test_cells_as_residences(small_city):
    cells = evaluate_city(small_city, residences="cells")
    assert cells.residences["population"].sum() == small_city.buildings["population"].sum()
    with pytest.raises(InputError, match="residences"):
        evaluate_city(small_city, residences="flats")


@pytest.fixture(scope="module")
def city_dir(small_city, tmp_path_factory):
    return write_city(small_city, tmp_path_factory.mktemp("city") / "small")


def test_cli_evaluate_writes_results_and_report(city_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert main(["circles", "evaluate", "--city", str(city_dir), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "complete 15min" in printed
    assert (out / "report.html").stat().st_size > 10_000
    assert (out / "circles.gpkg").is_file()


def test_cli_bad_catalogue_is_one_error_line(city_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'format_version = 1\n[age_groups.all]\nlabel = "all"\ncolumns = ["population"]\n'
        '[categories.park]\n[[requirements]]\ncategory = "parc"\nlevel_min = 5\n'
        "threshold_min = 5\n",
        encoding="utf-8",
    )
    code = main(
        [
            "circles",
            "evaluate",
            "--city",
            str(city_dir),
            "--catalogue",
            str(bad),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "requirement 1 (category 'parc', 5-min level)" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_cli_isochrone_writes_wgs84_polygons(city_dir, small_city, tmp_path, capsys, monkeypatch):
    from shancheng.geo.crs import utm_to_lonlat

    monkeypatch.chdir(tmp_path)
    net = small_city.network
    lon, lat = utm_to_lonlat([float(net.node_x_utm[10])], [float(net.node_y_utm[10])])
    out = tmp_path / "iso.gpkg"
    args = [
        "circles",
        "isochrone",
        str(lon[0]),
        str(lat[0]),
        "--city",
        str(city_dir),
        "--direction",
        "to",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    areas = gpd.read_file(out)
    assert areas.crs.to_epsg() == 4326
    assert areas.threshold_min.tolist() == [5.0, 10.0, 15.0]
    assert "15 min" in capsys.readouterr().out
    # an error is one line however narrow the terminal: grep and logs see it whole
    monkeypatch.setattr("shancheng.cli._err", Console(stderr=True, width=40))
    assert main([*args[:-1], str(tmp_path / "iso.txt")]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1
    assert "the suffix must be .gpkg, .geojson or .parquet, got '.txt'" in errors[0]


def test_a_city_without_ages_still_evaluates(small_city):
    from dataclasses import replace

    from shancheng.data.city import AGE_GROUPS

    buildings = small_city.buildings.copy()
    buildings[list(AGE_GROUPS)] = float("nan")
    result = evaluate_city(replace(small_city, buildings=buildings))
    city = result.table[(result.table.unit_level == "city")].set_index(["age_group", "measure"])
    assert city.loc[("elderly", "complete_5min"), "population"] == 0
    assert city.loc[("all", "nursery_5min"), "population"] == buildings["population"].sum()
    assert result.capacity.per_1000.shape[1] == 5  # norms fall back to all residents


def test_unit_supply_by_hand(evaluation, small_city):
    units = evaluation.units.set_index("code")
    fac = small_city.facilities[small_city.facilities["category"] == "nursery"]
    for district in units.index[units["level"] == "district"]:
        places = fac.loc[fac["district_code"] == district, "capacity"].sum()
        residents = small_city.buildings.loc[
            small_city.buildings["district_code"] == district, "population"
        ].sum()
        got = units.loc[district, "nursery_supply_per_1000"]
        assert got == pytest.approx(1000 * places / residents)
        assert units.loc[district, "nursery_supply_met"] == (got >= 4.5)
    city = units[units["level"] == "city"].iloc[0]
    assert city["nursery_supply_per_1000"] == pytest.approx(
        1000 * fac["capacity"].sum() / small_city.buildings["population"].sum()
    )
