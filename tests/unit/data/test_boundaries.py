"""Division codes, boundary polygons, their checks, and the nearest-place fallback."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from shancheng.data.boundaries import (
    assign_by_nearest_place,
    check_boundaries,
    missing_polygon_levels,
    read_boundaries,
    read_division_codes,
)
from shancheng.errors import BoundaryError, CRSMismatchError
from shancheng.geo.crs import lonlat_to_utm


@pytest.fixture
def admin(shared_data):
    return shared_data / "admin"


def test_four_levels_of_chongqing_codes(admin):
    codes = read_division_codes(
        admin / "chongqing_districts_nbs2023.csv",
        admin / "chongqing_streets_towns_nbs2023.csv",
        admin / "chongqing_communities_villages_nbs2023.csv",
        city_code="500000",
        city_name="重庆市",
    )
    counts = codes["level"].value_counts()
    assert counts.to_dict() == {"community": 11_270, "street": 1_031, "district": 38, "city": 1}
    yuzhong = codes[codes["parent_code"] == "500103"]
    assert len(yuzhong) == 11  # PROVENANCE: 渝中区 has 11 streets
    assert "解放碑街道" in set(yuzhong["name"])
    streets = set(yuzhong["code"])
    assert codes["parent_code"].isin(streets).sum() == 80  # and 80 communities
    assert codes["code"].is_unique


def test_a_code_that_does_not_chain_is_named(tmp_path, admin):
    bad = tmp_path / "streets.csv"
    bad.write_text(
        "street_code,street_name,district_code,district_name\n"
        "500103001,七星岗街道,500103,渝中区\n500104001,错街道,500103,渝中区\n"
    )
    with pytest.raises(BoundaryError, match=r"streets.csv: row 3: code 500104001 does not start"):
        read_division_codes(
            admin / "chongqing_districts_nbs2023.csv", bad, city_code="500000", city_name="重庆市"
        )


def test_another_countrys_codes_with_the_free_scheme(tmp_path):
    """Andorra-like parishes and their quarters: text codes, checked for keys and parents."""
    parishes = tmp_path / "parishes.csv"
    parishes.write_text("district_code,district_name\nAD-07,Andorra la Vella\nAD-08,Escaldes\n")
    quarters = tmp_path / "quarters.csv"
    quarters.write_text(
        "street_code,street_name,district_code\nALV-1,Centre,AD-07\nESC-1,Engordany,AD-08\n"
    )
    codes = read_division_codes(parishes, quarters, city_code="AD", city_name="Andorra",
                                scheme="free")  # fmt: skip
    assert codes[["code", "level", "parent_code"]].values.tolist() == [
        ["AD", "city", ""],
        ["AD-07", "district", "AD"],
        ["AD-08", "district", "AD"],
        ["ALV-1", "street", "AD-07"],
        ["ESC-1", "street", "AD-08"],
    ]
    # the same lists under China's rules are refused, and the message says what to use
    with pytest.raises(BoundaryError, match=r"parishes.csv: row 2: .*--code-scheme free"):
        read_division_codes(parishes, city_code="AD", city_name="Andorra")
    for text, problem in (
        ("street_code,street_name,district_code\nX-1,a,AD-07\nX-1,b,AD-08\n", "row 3: street code 'X-1' is used twice"),
        ("street_code,street_name,district_code\nAD-07,a,AD-07\n", "row 2: street code 'AD-07' is used twice"),
        ("street_code,street_name,district_code\nX-1,a,AD-09\n", "row 2: parent code 'AD-09' of X-1 is not in the level above"),
        ("street_code,street_name,district_code\n ,a,AD-07\n", "row 2: the street code is blank"),
    ):  # fmt: skip
        quarters.write_text(text)
        with pytest.raises(BoundaryError, match=re.escape(f"quarters.csv: {problem}")):
            read_division_codes(parishes, quarters, city_code="AD", city_name="Andorra",
                                scheme="free")  # fmt: skip


def test_district_polygons_read_and_checked(admin):
    districts = read_boundaries(
        admin / "chongqing_districts_fastgeocn_cgcs2000.geojson",
        level="district",
        code_column="district_code",
        name_column="district_name",
    )
    assert len(districts) == 38
    city = gpd.GeoDataFrame(
        {"code": ["500000"], "name": ["重庆市"]},
        geometry=[shapely.union_all(districts.geometry.to_numpy())],
        crs=4326,
    )
    check = check_boundaries(districts, city, parent_of=pd.Series(["500000"] * 38))
    assert (check.issues["kind"] != "outside_parent").all()
    area_km2 = districts.to_crs(32648).area.sum() / 1e6
    assert area_km2 == pytest.approx(82_539, rel=0.002)  # PROVENANCE: 82,539 km²
    overlap = check.issues.loc[check.issues["kind"] == "overlap", "area_m2"].sum()
    assert overlap / 1e6 < 0.001 * area_km2  # generalised polygons: slivers at most


def test_gcj02_polygons_are_converted_when_declared(admin):
    truth = read_boundaries(
        admin / "chongqing_districts_fastgeocn_cgcs2000.geojson",
        level="district",
        code_column="district_code",
        name_column="district_name",
    ).set_index("code")
    amap = read_boundaries(
        admin / "chongqing_districts_amap_gcj02.geojson",
        level="district",
        code_column="district_code",
        name_column="district_name",
        datum="gcj02",
    ).set_index("code")
    a, b = truth.loc["500103"].geometry, amap.loc["500103"].geometry
    iou = shapely.area(shapely.intersection(a, b)) / shapely.area(shapely.union(a, b))
    assert iou == pytest.approx(0.909, abs=0.01)  # PROVENANCE: 渝中区 after conversion


def _square(x0, y0, size):
    return shapely.box(x0, y0, x0 + size, y0 + size)


def _metres_frame(codes, names, geometries, epsg=32648):
    return gpd.GeoDataFrame({"code": codes, "name": names}, geometry=geometries, crs=epsg).to_crs(
        4326
    )


def test_overlaps_gaps_and_escapes_are_reported_with_names_and_areas():
    x0, y0 = lonlat_to_utm([106.5], [29.5])
    x0, y0 = float(x0[0]), float(y0[0])
    parent = _metres_frame(["500103"], ["渝中区"], [_square(x0, y0, 1_000)])
    kids = _metres_frame(
        ["500103001", "500103002", "500103003"],
        ["甲街道", "乙街道", "丙街道"],
        [
            shapely.box(x0, y0, x0 + 600, y0 + 1_000),  # 600 x 1000
            shapely.box(x0 + 500, y0, x0 + 1_000, y0 + 500),  # overlaps 甲 by 100 x 500
            shapely.box(x0 + 900, y0 + 800, x0 + 1_100, y0 + 1_000),
        ],  # 100 x 200 outside
    )
    check = check_boundaries(kids, parent, parent_of=pd.Series(["500103"] * 3))
    issues = {(r.kind, r.code, r.other_code): r.area_m2 for r in check.issues.itertuples()}
    assert issues[("overlap", "500103001", "500103002")] == pytest.approx(50_000, rel=0.01)
    assert issues[("outside_parent", "500103003", "500103")] == pytest.approx(20_000, rel=0.01)
    # parent 1,000,000 m² minus union (600,000 + 200,000 + 20,000 inside) = 180,000 m²
    assert issues[("gap", "500103", "")] == pytest.approx(180_000, rel=0.01)
    assert any("乙街道" in line and "m²" in line for line in check.lines())


def test_boundary_file_in_the_wrong_crs_is_refused(tmp_path):
    x0, y0 = lonlat_to_utm([106.5], [29.5])
    metres = gpd.GeoDataFrame(
        {"code": ["500103"], "name": ["渝中区"]},
        geometry=[_square(float(x0[0]), float(y0[0]), 1000)],
        crs=32648,
    )
    lying = metres.set_crs(4326, allow_override=True)
    lying.to_file(tmp_path / "bad_crs.geojson")
    with pytest.raises(
        CRSMismatchError,
        match=r"bad_crs.geojson: declares EPSG:4326 .* look "
        r"projected",
    ):
        read_boundaries(
            tmp_path / "bad_crs.geojson", level="district", code_column="code", name_column="name"
        )
    degrees = metres.to_crs(4326).set_crs(32648, allow_override=True)
    degrees.to_file(tmp_path / "bad_deg.gpkg")
    with pytest.raises(CRSMismatchError, match="look like lon/lat degrees"):
        read_boundaries(
            tmp_path / "bad_deg.gpkg", level="district", code_column="code", name_column="name"
        )
    metres.to_file(tmp_path / "good.shp")  # a correctly declared projected file is reprojected
    good = read_boundaries(
        tmp_path / "good.shp", level="district", code_column="code", name_column="name"
    )
    assert good.crs.to_epsg() == 4326
    assert good.total_bounds[0] == pytest.approx(106.5, abs=1e-6)


def test_levels_without_polygons_are_named_with_the_fallback():
    codes = pd.DataFrame({"level": ["city", "district", "street", "street"]})
    lines = missing_polygon_levels(codes, {"district": gpd.GeoDataFrame()})
    assert len(lines) == 1
    assert lines[0].startswith("street level: 2 official codes but no polygons")
    assert "nearest named place" in lines[0]


def test_nearest_place_fallback_on_unmatched_names():
    units = pd.DataFrame({"code": ["1"], "name": ["甲街道"]})
    places = pd.DataFrame({"name": ["Somewhere"], "lon": [0.0], "lat": [0.0]})
    codes, matched = assign_by_nearest_place([0.1], [0.1], units, places)
    assert codes.tolist() == [""]
    assert matched == 0
    assert np.asarray(codes).shape == (1,)
