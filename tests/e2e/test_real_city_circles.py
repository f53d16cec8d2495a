"""A real extract through two pillars: `shancheng city import`, then `shancheng circles evaluate`.

OpenStreetMap facilities carry no capacity and an import without population estimates its
residents from the buildings; both must say so clearly, and with a population the evaluation
must run.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from shancheng.cli import main

pytestmark = pytest.mark.data

BBOX = "7.41,43.725,7.435,43.745"  # Monte-Carlo and La Condamine


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("SHANCHENG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHANCHENG_QUIET", "1")
    return tmp_path


def _import(shared_data, out, *extra):
    osm = shared_data / "networks" / "osm" / "monaco_2026-07-10_geofabrik.osm.pbf"
    dem = shared_data / "networks" / "dem" / "srtm3_v21" / "N43E007.hgt"
    args = [
        "city",
        "import",
        "--osm",
        str(osm),
        "--dem",
        str(dem),
        "--bbox",
        BBOX,
        "--out",
        str(out),
        "--name",
        "Monaco",
        *extra,
    ]
    assert main(args) == 0


def test_imported_city_without_population_is_estimated_and_says_so(shared_data, env, capsys):
    """No population input: residents estimated from buildings, loudly, everywhere."""
    _import(shared_data, env / "monaco")
    err = " ".join(capsys.readouterr().err.split())
    assert "no population given" in err and "population estimated from buildings" in err
    manifest = json.loads((env / "monaco" / "manifest.json").read_text())
    note, ages = manifest["data_notes"]
    assert note.startswith("population estimated from buildings")
    assert ages.startswith("no age data: every resident is counted as aged 15-59")
    assert any(note in w for w in manifest["import_warnings"])
    assert manifest["import"]["population_source"] == "estimate"
    assert manifest["import"]["residents"] > 0
    assert (
        main(["circles", "evaluate", "--city", str(env / "monaco"), "--out", str(env / "circles")])
        == 0
    )
    report = (env / "circles" / "report.html").read_text(encoding="utf-8")
    first = report[report.index("<section>") : report.index("</section>")]
    assert "population estimated from buildings" in first


def test_imported_city_with_population_points_is_evaluated(shared_data, env, capsys):
    points = env / "people.csv"
    pd.DataFrame(
        {
            "lon": [7.4203, 7.4245, 7.4268, 7.4190],
            "lat": [43.7380, 43.7394, 43.7420, 43.7330],
            "population": [400, 250, 600, 300],
        }
    ).to_csv(points, index=False)
    _import(shared_data, env / "monaco", "--population-points", str(points))
    assert (
        main(["circles", "evaluate", "--city", str(env / "monaco"), "--out", str(env / "circles")])
        == 0
    )
    assert "Monaco" in json.dumps(json.loads((env / "circles" / "summary.json").read_text()))
    residents = pd.read_parquet(env / "circles" / "residences.parquet")
    people = float(residents["population"].sum())
    assert people > 0
    city = pd.read_parquet(env / "circles" / "coverage.parquet").query("unit_level == 'city'")
    assert len(city) > 0
    everyone = city[city["age_group"] == "all"]
    assert len(everyone) > 0
    assert (everyone["population"] == people).all()
    measured = city[city["population"] > 0]
    assert ((measured["share"] >= 0) & (measured["share"] <= 1)).all()
    assert city.loc[city["population"] == 0, "share"].isna().all()  # 0 / 0 is not 0 %
    assert (city["covered_population"] <= city["population"] + 1e-9).all()
    assert (city["share"] > 0).any()  # Monte-Carlo has bus stops and parks within minutes
    # OSM facilities have no capacity: counted, with the warning, never a crash
    assert "without a known capacity" in capsys.readouterr().err
