"""Import with official codes, polygons for one level only, and population counts."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from shancheng.data.assign import AdminSource, BoundarySource, PopulationSource
from shancheng.data.importer import ImportOptions, build_city

WEST = shapely.box(7.405, 43.725, 7.4225, 43.75)
EAST = shapely.box(7.4225, 43.725, 7.44, 43.75)


@pytest.fixture
def admin_files(tmp_path):
    (tmp_path / "districts.csv").write_text(
        "district_code,district_name,cityCode\n990101,西区,9901\n990102,东区,9901\n"
    )
    (tmp_path / "streets.csv").write_text(
        "street_code,street_name,district_code,district_name\n"
        "990101001,Fontvieille街道,990101,西区\n990101002,Monaco-Ville街道,990101,西区\n"
        "990102001,Monte-Carlo街道,990102,东区\n990102002,Larvotto街道,990102,东区\n"
    )
    gpd.GeoDataFrame(
        {"code": ["990101", "990102"], "name": ["西区", "东区"]}, geometry=[WEST, EAST], crs=4326
    ).to_file(tmp_path / "districts.geojson")
    (tmp_path / "people.csv").write_text("code,population\n990101,12000\n990102,25000.4\n")
    return tmp_path


def test_codes_polygons_fallback_and_population_totals(networks, admin_files):
    options = ImportOptions(
        osm=networks / "osm/monaco_2026-07-10_geofabrik.osm.pbf",
        area=shapely.box(7.405, 43.725, 7.44, 43.75),
        dem=networks / "dem/srtm3_v21/N43E007.hgt",
        admin=AdminSource(
            districts=admin_files / "districts.csv",
            streets=admin_files / "streets.csv",
            city_code="990100",
            city_name="测试市",
            polygons=(
                BoundarySource("district", admin_files / "districts.geojson", "code", "name"),
            ),
        ),
        population=PopulationSource(counts=admin_files / "people.csv", level="district"),
    )
    city, report = build_city(options)
    units = city.admin_units
    assert units["level"].value_counts().to_dict() == {"street": 4, "district": 2, "city": 1}
    assert units.loc[units["level"] == "district", "geometry"].notna().all()
    assert units.loc[units["level"] == "street", "geometry"].isna().all()
    assert any(
        line.startswith("street level: 4 official codes but no polygons") for line in report.lines
    )
    b = city.buildings
    centre = shapely.centroid(b.geometry.to_numpy())
    cx, cy = shapely.get_x(centre), shapely.get_y(centre)
    west = shapely.contains_xy(WEST, cx, cy)
    assert (b.loc[west, "district_code"] == "990101").mean() > 0.95
    assert (b.loc[~west, "district_code"] == "990102").mean() > 0.95
    # streets by the nearest named place: a building near the Casino is in Monte-Carlo
    casino = np.argmin(np.hypot(cx - 7.4279, cy - 43.7394))
    assert b["street_code"].iloc[casino] == "990102001"
    # totals preserved per unit, and the check reported
    per_district = b.groupby("district_code")["population"].sum()
    assert per_district["990101"] == 12_000
    assert per_district["990102"] == 25_000
    assert report.figures["residents"] == 37_000
    assert any(
        line.startswith("population check: 37,000 given, 37,000 placed") for line in report.lines
    )
    assert city.facilities["district_code"].isin(["990101", "990102"]).mean() > 0.95


def test_population_points_in_gcj02_go_to_the_nearest_building(networks, tmp_path):
    from shancheng.geo.crs import from_wgs84

    # Monaco is outside China, so GCJ-02 leaves it unchanged: the datum path is exercised,
    # the positions are the WGS84 ones.
    lon, lat = from_wgs84([7.4279, 7.4200, 20.0], [43.7394, 43.7310, 20.0], "gcj02")
    (tmp_path / "addr.csv").write_text(
        "lon,lat,population\n"
        + "\n".join(f"{x},{y},{p}" for x, y, p in zip(lon, lat, [120, 80, 5], strict=True))
        + "\n"
    )
    city, report = build_city(
        ImportOptions(
            osm=networks / "osm/monaco_2026-07-10_geofabrik.osm.pbf",
            area=shapely.box(7.405, 43.725, 7.44, 43.75),
            dem=networks / "dem/srtm3_v21/N43E007.hgt",
            population=PopulationSource(points=tmp_path / "addr.csv", datum="gcj02"),
        )
    )
    assert city.buildings["population"].sum() == 200
    assert (city.buildings["population"] > 0).sum() <= 2
    assert any(line.startswith("population check: 205 given, 200 placed") for line in report.lines)


def test_every_country_row_of_the_admin_level_table_is_a_hierarchy():
    """Each row parses, names only shancheng levels, and goes finer as admin_level grows."""
    import tomllib
    from importlib import resources

    from shancheng.data.osm_admin import LEVELS, admin_levels_for

    table = tomllib.loads(
        (resources.files("shancheng.data") / "mappings" / "admin_levels.toml").read_text("utf-8")
    )
    assert {"AD", "CH", "DE", "JP", "CN", "default"} <= set(table)
    for country in table:
        levels = admin_levels_for(country)
        assert levels, country
        numbers = [levels[level] for level in LEVELS if level in levels]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), country
        assert all(2 <= n <= 11 for n in numbers), country
    # an unknown country takes the default row; an override replaces one level only
    assert admin_levels_for("ZZ") == admin_levels_for("default")
    assert admin_levels_for("AD", {"street": 8}) == {"city": 2, "district": 7, "street": 8}
