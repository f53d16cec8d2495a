"""Admin units from an extract's own boundary=administrative areas (a country never seen)."""

from __future__ import annotations

import json

import pytest
import shapely

from shancheng.cli import main
from shancheng.data.osm_admin import admin_levels_for, parse_admin_levels, read_osm_admin_units
from shancheng.errors import BoundaryError

BBOX = (7.405, 43.724, 7.440, 43.752)


def test_levels_are_data_per_country_with_overrides():
    assert admin_levels_for("MC") == {"city": 8, "street": 10}
    assert admin_levels_for("cn") == {"city": 5, "district": 6, "street": 8}
    assert admin_levels_for("ZZ") == admin_levels_for("default")
    assert admin_levels_for("MC", {"street": 9}) == {"city": 8, "street": 9}
    with pytest.raises(BoundaryError, match="not shancheng levels"):
        admin_levels_for("MC", {"parish": 9})
    with pytest.raises(BoundaryError, match="share one OSM admin_level"):
        admin_levels_for("MC", {"street": 8})
    assert parse_admin_levels("city=8, district=9") == {"city": 8, "district": 9}
    with pytest.raises(BoundaryError, match="'city' is not level=number"):
        parse_admin_levels("city")


@pytest.mark.data
def test_monaco_quartiers_become_streets_under_the_commune(shared_data):
    path = shared_data / "networks/osm/monaco_2026-07-10_geofabrik.osm.pbf"
    units = read_osm_admin_units(path, admin_levels_for("MC"), area=shapely.box(*BBOX))
    again = read_osm_admin_units(path, admin_levels_for("MC"), area=shapely.box(*BBOX))
    assert units["code"].tolist() == again["code"].tolist()  # stable from one read to the next
    city = units[units["level"] == "city"]
    streets = units[units["level"] == "street"]
    assert city["name"].tolist() == ["Monaco"]
    assert len(streets) >= 8 and {"Monte-Carlo", "La Condamine", "Monaco-Ville"} <= set(
        streets["name"]
    )
    assert (streets["parent_code"] == city["code"].iloc[0]).all()
    assert all(code.startswith(("R", "W")) and code[1:].isdigit() for code in units["code"])
    assert units.geometry.is_valid.all()
    with pytest.raises(BoundaryError, match="admin_level district=6"):
        read_osm_admin_units(path, {"district": 6}, area=shapely.box(*BBOX))


@pytest.mark.data
def test_a_city_from_osm_boundaries_alone_evaluates_end_to_end(
    shared_data, tmp_path, capsys, monkeypatch
):
    """The README walk-through: OSM extract + DEM → City with OSM units → circles report."""
    monkeypatch.setenv("SHANCHENG_QUIET", "1")
    monkeypatch.chdir(tmp_path)
    assert (
        main(
            [
                "city",
                "import",
                "--osm",
                str(shared_data / "networks/osm/monaco_2026-07-10_geofabrik.osm.pbf"),
                "--dem",
                str(shared_data / "networks/dem/srtm3_v21/N43E007.hgt"),
                "--bbox",
                ",".join(map(str, BBOX)),
                "--admin-from-osm",
                "MC",
                "--name",
                "Monaco",
                "--out",
                "monaco",
            ]
        )
        == 0
    )
    manifest = json.loads((tmp_path / "monaco" / "manifest.json").read_text())
    assert manifest["import"]["admin_units"] >= 9
    assert manifest["import"]["buildings_with_district_share"] == 0.0  # Monaco has no districts
    capsys.readouterr()
    assert main(["circles", "evaluate", "--city", "monaco", "--out", "circles"]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((tmp_path / "circles" / "summary.json").read_text())
    # OSM facilities carry no capacity: "no data", never a computed 0 %
    assert "kindergarten_5min_capacity" in summary["no_data"]
    assert not any(key.endswith("_capacity") for key in summary["shares"])
    assert "no data" in printed
    report = (tmp_path / "circles" / "report.html").read_text(encoding="utf-8")
    assert "<h2>Coverage by street</h2>" in report and "<h2>Street units</h2>" in report
    assert "Monte-Carlo" in report
    assert "population estimated from buildings" in report
    capsys.readouterr()
