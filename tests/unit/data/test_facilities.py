"""Agencies' facility lists: row-level reports, datums, provenance, wrongly declared datums."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from shancheng.data.facilities import check_datum, read_column_mapping, read_facility_list
from shancheng.errors import DatumMismatchError, InputError, MissingColumnError
from shancheng.geo.crs import from_wgs84, haversine_m

DATA = Path(__file__).resolve().parents[2] / "data" / "facilities"
YUZHONG = shapely.box(106.50, 29.50, 106.60, 29.60)


def test_bad_rows_are_reported_by_row_number_and_the_rest_import():
    result = read_facility_list(
        DATA / "bad_facilities.csv", DATA / "health_gcj02.toml", area=YUZHONG
    )
    assert result.facilities["row"].tolist() == [2, 3]
    assert result.facilities["category"].tolist() == ["health_station", "kindergarten"]
    problems = {(p.row, p.field): p for p in result.problems}
    assert set(problems) == {(4, "lon"), (5, "lon"), (6, "lon"), (7, "lon/lat"), (8, "category")}
    assert problems[4, "lon"].reason == "missing"
    assert problems[5, "lon"].value == "106.5x"
    assert "outside -180..180" in problems[6, "lon"].reason
    assert problems[7, "lon/lat"].reason == "outside the study area"
    assert "宠物店" in str(problems[8, "category"])
    assert str(problems[5, "lon"]).startswith(f"{DATA / 'bad_facilities.csv'}: row 5: field `lon`")


def test_gcj02_rows_are_converted_and_keep_their_provenance():
    result = read_facility_list(DATA / "bad_facilities.csv", DATA / "health_gcj02.toml")
    first = result.facilities.iloc[0]
    # converted back to GCJ-02 it is the file's value again
    g_lon, g_lat = from_wgs84([first["lon"]], [first["lat"]], "gcj02")
    assert haversine_m(g_lon, g_lat, 106.5616, 29.5580)[0] < 0.01
    assert haversine_m(first["lon"], first["lat"], 106.5616, 29.5580) > 300
    assert first["source"] == "渝中区卫健委 社区卫生服务站名录 (bad_facilities.csv row 2)"
    assert first["source_date"] == "2026-05-01"
    assert first["capacity"] == 40


def test_bd09_list_lands_where_the_wgs84_truth_is(tmp_path):
    lon = np.array([106.5516, 106.58, 106.49])
    lat = np.array([29.5630, 29.55, 29.53])
    b_lon, b_lat = from_wgs84(lon, lat, "bd09")
    pd.DataFrame({"n": ["a", "b", "c"], "x": b_lon, "y": b_lat}).to_excel(
        tmp_path / "list.xlsx", index=False
    )
    (tmp_path / "map.toml").write_text(
        '[source]\ndatum = "bd09"\ncategory = "park"\n[columns]\nname = "n"\nlon = "x"\nlat = "y"\n'
    )
    result = read_facility_list(tmp_path / "list.xlsx", tmp_path / "map.toml")
    error = haversine_m(result.facilities["lon"], result.facilities["lat"], lon, lat)
    assert error.max() < 0.2


def test_a_gcj02_list_declared_wgs84_is_detected_by_its_offset(shared_data):
    stations = shared_data / "metro/chongqing_rail_stations_amap_gcj02_wgs84.csv"
    frame = pd.read_csv(stations)
    # stand-in for a Chongqing walk network: points along the true (WGS84) station sites
    rng = np.random.default_rng(5)
    ref = np.column_stack([frame["WGS84_Lng"], frame["WGS84_Lat"]])
    ref = np.concatenate([ref + rng.normal(0, 0.0003, ref.shape) for _ in range(5)])
    with pytest.raises(DatumMismatchError, match=r"declared wgs84 but look like gcj02"):
        read_facility_list(stations, DATA / "metro_declared_wgs84.toml", reference_lonlat=ref)
    good = read_facility_list(stations, DATA / "metro_gcj02.toml", reference_lonlat=ref)
    assert len(good.facilities) == 220
    medians = check_datum(
        frame["Longitude"].to_numpy(), frame["Latitude"].to_numpy(), "gcj02", ref, source="x"
    )
    assert medians["wgs84"] > 300
    assert medians["gcj02"] < 60


def test_datum_check_stays_quiet_outside_china():
    lon, lat = np.array([7.42, 7.43]), np.array([43.73, 43.74])
    assert check_datum(lon, lat, "wgs84", np.column_stack([lon, lat]), source="x") == {}


def test_mapping_and_column_errors_name_the_field(tmp_path):
    (tmp_path / "m.toml").write_text('[source]\ndatum = "gcj-03"\n[columns]\nlon="x"\nlat="y"\n')
    with pytest.raises(InputError, match=r"m.toml: \[source\] datum must be one of"):
        read_column_mapping(tmp_path / "m.toml")
    (tmp_path / "c.toml").write_text(
        '[source]\ndatum = "wgs84"\ncategory = "zoo"\n[columns]\nlon="x"\nlat="y"\n'
    )
    with pytest.raises(InputError, match="'zoo', not a catalogue category"):
        read_column_mapping(tmp_path / "c.toml")
    (tmp_path / "ok.toml").write_text(
        '[source]\ndatum = "wgs84"\ncategory = "park"\n[columns]\nlon="经度"\nlat="lat"\n'
    )
    (tmp_path / "list.csv").write_text("name,lon,lat\na,1,2\n")
    with pytest.raises(MissingColumnError, match=r"column '经度' \(mapped as `lon`\) is missing"):
        read_facility_list(tmp_path / "list.csv", tmp_path / "ok.toml")
