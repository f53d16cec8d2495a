import numpy as np
import shapely
from pyproj import Geod

from shancheng.geo.crs import geometries_to_lonlat, lonlat_to_utm, utm_to_lonlat


def test_central_meridian_on_the_equator_is_the_false_easting():
    x, y = lonlat_to_utm([105.0], [0.0])
    assert np.allclose([x[0], y[0]], [500_000.0, 0.0], atol=1e-6)


def test_round_trip_is_exact_to_a_millimetre():
    lon = np.array([106.55, 106.48, 106.62])
    lat = np.array([29.56, 29.50, 29.61])
    x, y = lonlat_to_utm(lon, lat)
    back_lon, back_lat = utm_to_lonlat(x, y)
    assert np.allclose(back_lon, lon, atol=1e-8)
    assert np.allclose(back_lat, lat, atol=1e-8)


def test_order_is_lon_lat_and_chongqing_is_east_of_the_meridian():
    x, y = lonlat_to_utm([106.55], [29.56])
    assert 640_000 < x[0] < 660_000  # about 150 km east of 105°E
    assert 3_260_000 < y[0] < 3_280_000  # about 29.56° north
    lon, lat = utm_to_lonlat(x, y)
    assert 106 < lon[0] < 107
    assert 29 < lat[0] < 30


def test_a_utm_kilometre_is_a_kilometre_on_the_ground():
    x, y = lonlat_to_utm([106.55], [29.56])
    lon, lat = utm_to_lonlat([x[0], x[0] + 1000.0], [y[0], y[0]])
    _, _, distance_m = Geod(ellps="WGS84").inv(lon[0], lat[0], lon[1], lat[1])
    assert abs(distance_m - 1000.0) < 1.0


def test_geometries_are_reprojected_vertex_by_vertex():
    x, y = lonlat_to_utm([106.55, 106.56], [29.56, 29.57])
    line = shapely.LineString([(x[0], y[0]), (x[1], y[1])])
    (projected,) = geometries_to_lonlat(np.array([line]))
    assert projected.geom_type == "LineString"
    assert np.allclose(shapely.get_coordinates(projected), [[106.55, 29.56], [106.56, 29.57]])
