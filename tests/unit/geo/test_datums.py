"""GCJ-02 and BD-09 conversions: round trips and the real Chongqing checks of PROVENANCE."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from shancheng.geo.crs import (
    from_wgs84,
    gcj02_to_wgs84,
    geometries_to_wgs84,
    haversine_m,
    to_wgs84,
    wgs84_to_gcj02,
)

china_lon = st.floats(73.0, 135.0)
china_lat = st.floats(3.0, 53.0)


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat, st.sampled_from(["gcj02", "bd09"]))
def test_round_trip_returns_the_point(lon, lat, datum):
    x, y = from_wgs84([lon], [lat], datum)
    back_lon, back_lat = to_wgs84(x, y, datum)
    # both are inverted exactly (iterated): Baidu's published inverse alone errs by 0.2 m
    assert haversine_m(lon, lat, back_lon[0], back_lat[0]) < 1e-3


def test_the_north_east_corner_round_trips_through_bd09():
    """(132.25, 53.0): the published inverse alone came back 0.204 m off (a hypothesis find)."""
    x, y = from_wgs84([132.25], [53.0], "bd09")
    back_lon, back_lat = to_wgs84(x, y, "bd09")
    assert haversine_m(132.25, 53.0, back_lon[0], back_lat[0]) < 1e-3


@settings(max_examples=100, deadline=None)
@given(china_lon, china_lat)
def test_gcj_offset_is_hundreds_of_metres_in_china_and_zero_outside(lon, lat):
    g_lon, g_lat = wgs84_to_gcj02([lon], [lat])
    assert 1.0 < haversine_m(lon, lat, g_lon[0], g_lat[0]) < 1_000.0
    o_lon, o_lat = wgs84_to_gcj02([lon - 180.0], [lat])  # same latitude, far west
    assert (o_lon[0], o_lat[0]) == (lon - 180.0, lat)


def test_central_chongqing_shift_matches_provenance():
    """PROVENANCE: about +0.0037° lon / -0.0028° lat in central Chongqing."""
    g_lon, g_lat = wgs84_to_gcj02([106.55], [29.56])
    assert g_lon[0] - 106.55 == pytest.approx(0.0037, abs=0.0003)
    assert g_lat[0] - 29.56 == pytest.approx(-0.0028, abs=0.0003)


def test_metro_stations_agree_with_the_published_wgs84_columns(shared_data):
    """PROVENANCE 2: independent conversion agrees with the WGS84 columns to <= 1.85 m."""
    frame = pd.read_csv(shared_data / "metro/chongqing_rail_stations_amap_gcj02_wgs84.csv")
    assert len(frame) == 220
    lon, lat = gcj02_to_wgs84(frame["Longitude"], frame["Latitude"])
    error_m = haversine_m(lon, lat, frame["WGS84_Lng"], frame["WGS84_Lat"])
    assert error_m.max() <= 1.86  # PROVENANCE's "<= 1.85 m" is this 1.858 m, rounded
    assert np.median(error_m) < 1.5
    # The published columns are the one-step inverse (subtract the offset at the GCJ point):
    # ours, exact, lands back on the GCJ input; theirs misses it by up to the same 1.85 m.
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert haversine_m(g_lon, g_lat, frame["Longitude"], frame["Latitude"]).max() < 1e-4
    t_lon, t_lat = wgs84_to_gcj02(frame["WGS84_Lng"], frame["WGS84_Lat"])
    assert haversine_m(t_lon, t_lat, frame["Longitude"], frame["Latitude"]).max() > 1.5
    raw_m = haversine_m(
        frame["Longitude"], frame["Latitude"], frame["WGS84_Lng"], frame["WGS84_Lat"]
    )
    assert raw_m.min() > 300  # unconverted, every station is hundreds of metres off


def _iou(a, b):
    return shapely.area(shapely.intersection(a, b)) / shapely.area(shapely.union(a, b))


def test_amap_district_polygons_match_tianditu_after_conversion(shared_data):
    """PROVENANCE 1c: median IoU 0.948 → 0.977; Yuzhong 0.668 → 0.909; Jiangbei 0.835 → 0.946."""
    admin = shared_data / "admin"
    truth = gpd.read_file(admin / "chongqing_districts_fastgeocn_cgcs2000.geojson")
    amap = gpd.read_file(admin / "chongqing_districts_amap_gcj02.geojson")
    truth = truth.set_index(truth["district_code"].astype(str)).to_crs(32648)
    amap = amap.set_index(amap["district_code"].astype(str))
    assert set(truth.index) == set(amap.index)
    amap = amap.loc[truth.index]
    converted = gpd.GeoSeries(
        geometries_to_wgs84(amap.geometry.to_numpy(), "gcj02"), crs=4326, index=amap.index
    ).to_crs(32648)
    before = _iou(truth.geometry.to_numpy(), amap.geometry.to_crs(32648).to_numpy())
    after = _iou(truth.geometry.to_numpy(), converted.to_numpy())
    before = pd.Series(before, index=truth.index)
    after = pd.Series(after, index=truth.index)
    assert before.median() == pytest.approx(0.948, abs=0.005)
    assert after.median() == pytest.approx(0.977, abs=0.005)
    assert before["500103"] == pytest.approx(0.668, abs=0.01)  # 渝中区
    assert after["500103"] == pytest.approx(0.909, abs=0.01)
    assert before["500105"] == pytest.approx(0.835, abs=0.01)  # 江北区
    assert after["500105"] == pytest.approx(0.946, abs=0.01)
    assert (after > before).mean() > 0.9
    assert np.isfinite(after).all()
