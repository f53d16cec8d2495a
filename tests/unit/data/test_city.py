"""The City format: round trip, validation naming the file and column, safe writes."""

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pytest

from shancheng.data import City, read_city, summarize_city, write_city
from shancheng.data.city import LAYERS, OPTIONAL_LAYERS, read_manifest
from shancheng.data.demo import DemoConfig, generate_demo_city
from shancheng.errors import CityFormatError, CRSMismatchError, MissingColumnError

DATA = Path(__file__).parents[2] / "data"


@pytest.fixture(scope="module")
def city():
    return generate_demo_city(DemoConfig.small())


@pytest.fixture(scope="module")
def written(city, tmp_path_factory):
    directory = tmp_path_factory.mktemp("written") / "city"
    write_city(city, directory)
    return directory


@pytest.fixture
def copy(written, tmp_path):
    """A private copy of the written City that a test may damage."""
    target = tmp_path / "city"
    shutil.copytree(written, target)
    return target


def test_round_trip_keeps_every_layer(city, written):
    back = read_city(written)
    assert isinstance(back, City)
    assert back.name == city.name
    for name in LAYERS:
        original, read = city.layer(name), back.layer(name)
        assert list(read.columns) == list(original.columns), name
        assert len(read) == len(original), name
        assert read.crs.to_epsg() == 4326
    assert back.network.n_edges == city.network.n_edges
    assert back.grid == city.grid
    assert back.metadata["seed"] == DemoConfig.small().seed


def test_manifest_counts_rows_and_summarises(city, written):
    manifest = read_manifest(written)
    assert manifest["crs"] == {"storage": "EPSG:4326", "compute": "EPSG:32648"}
    for name in LAYERS:
        assert manifest["layers"][name]["rows"] == len(city.layer(name))
    assert manifest["summary"] == summarize_city(city)


def test_summary_has_the_numbers_the_cli_prints(city):
    summary = summarize_city(city)
    assert summary["residents"] == DemoConfig.small().target_population
    assert summary["walk_nodes"] == city.network.n_nodes
    assert summary["districts"] == 4
    assert summary["communities"] == 16
    assert summary["water_pipes_km"] > 0
    assert summary["gas_pipes_km"] > 0
    assert summary["sensors"] == len(city.sensors)
    assert summary["facilities_nursery"] >= 1


def test_missing_layer_names_the_file(copy):
    (copy / "facilities.parquet").unlink()
    with pytest.raises(
        CityFormatError, match=r"facilities\.parquet: layer `facilities` is missing"
    ):
        read_city(copy)


def test_missing_column_names_the_file_and_the_column(copy):
    path = copy / "buildings.parquet"
    gpd.read_parquet(path).drop(columns="population").to_parquet(path)
    with pytest.raises(
        MissingColumnError, match=r"buildings\.parquet: required column `population`"
    ):
        read_city(copy)


def test_changed_file_is_detected_by_its_hash(copy):
    path = copy / "facilities.parquet"
    frame = gpd.read_parquet(path)
    frame.loc[0, "capacity"] = 1
    frame.to_parquet(path)
    with pytest.raises(CityFormatError, match=r"facilities\.parquet: sha256 differs"):
        read_city(copy)
    assert read_city(copy, verify=False).facilities.loc[0, "capacity"] == 1


def test_layer_in_the_wrong_crs_is_refused(copy):
    path = copy / "sensors.parquet"
    gpd.read_parquet(path).to_crs(32648).to_parquet(path)
    with pytest.raises(
        CRSMismatchError, match=r"sensors\.parquet: geometry must be stored in EPSG:4326"
    ):
        read_city(copy, verify=False)


def test_unreadable_layer_names_the_file(copy):
    (copy / "walk_nodes.parquet").write_bytes(b"not parquet")
    with pytest.raises(CityFormatError, match=r"walk_nodes\.parquet: not a readable GeoParquet"):
        read_city(copy)


def test_missing_or_broken_manifest(copy, tmp_path):
    with pytest.raises(CityFormatError, match="no such City directory"):
        read_city(tmp_path / "nowhere")
    (copy / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(CityFormatError, match=r"manifest\.json: not readable JSON"):
        read_city(copy)
    (copy / "manifest.json").unlink()
    with pytest.raises(CityFormatError, match=r"manifest\.json: missing"):
        read_city(copy)


def test_manifest_of_another_format_version_is_refused():
    with pytest.raises(CityFormatError, match=r"`format_version` must be 1 or 2, got 99"):
        read_city(DATA / "bad_city_version")


def test_write_refuses_to_overwrite_a_directory_that_is_not_a_city(city, tmp_path):
    target = tmp_path / "precious"
    target.mkdir()
    (target / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(
        CityFormatError, match="holds no City \\(manifest.json\\); refusing to replace it"
    ):
        write_city(city, target)
    assert (target / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_write_replaces_an_existing_city(city, copy):
    (copy / "stale.txt").write_text("old", encoding="utf-8")
    write_city(city, copy)
    assert not (copy / "stale.txt").exists()
    assert read_city(copy).name == city.name
    assert sorted(p.name for p in copy.parent.iterdir()) == ["city"]  # no staging left


def test_failed_write_leaves_the_previous_city_untouched(city, copy, monkeypatch):
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    calls = []
    original = gpd.GeoDataFrame.to_parquet

    def failing(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            msg = "disk full"
            raise OSError(msg)
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", failing)
    with pytest.raises(OSError, match="disk full"):
        write_city(city, copy)
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before
    assert sorted(p.name for p in copy.parent.iterdir()) == ["city"]


def test_unknown_layer_name_is_refused(city):
    with pytest.raises(CityFormatError, match="unknown City layer 'roads'"):
        city.layer("roads")


def test_manifest_is_plain_sorted_json(written):
    text = (written / "manifest.json").read_text(encoding="utf-8")
    manifest = json.loads(text)
    assert text == json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert manifest["source"] == "demo"


def test_round_trip_keeps_the_base_map_layers_and_the_terrain_grid(city, written):
    back = read_city(written)
    assert back.turn_restrictions is None  # the demo has none; real imports do (test_osm_traffic)
    for name in ("water", "green"):
        original, read = getattr(city, name), getattr(back, name)
        assert list(read.columns) == list(original.columns), name
        assert len(read) == len(original) > 0, name
    assert back.terrain.shape == city.terrain.shape
    assert back.terrain.crs_epsg == 32648
    assert (back.terrain.west_m, back.terrain.north_m, back.terrain.cell_m) == (
        city.terrain.west_m,
        city.terrain.north_m,
        city.terrain.cell_m,
    )
    assert abs(back.terrain.heights_m - city.terrain.heights_m).max() < 1e-3  # float32
    for column in ("road_class", "name", "name_en"):
        assert back.walk_segments[column].tolist() == city.walk_segments[column].tolist()


def test_a_version_1_city_without_base_map_layers_still_reads(copy):
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 1
    for name in OPTIONAL_LAYERS:
        if name in manifest["layers"]:
            del manifest["layers"][name]
            (copy / f"{name}.parquet").unlink()
    del manifest["terrain"]
    (copy / "terrain.tif").unlink()
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    old = read_city(copy)
    assert old.water is None and old.green is None and old.terrain is None


def test_a_changed_terrain_grid_is_refused_naming_it(copy):
    with (copy / "terrain.tif").open("ab") as handle:
        handle.write(b"x")
    with pytest.raises(CityFormatError, match=r"terrain.tif: sha256 differs"):
        read_city(copy)
