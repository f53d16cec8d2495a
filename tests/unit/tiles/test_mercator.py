"""Tile math against hand-computed tiles and the slippy-map formula of the OSM wiki."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shancheng.errors import TileRequestError
from shancheng.tiles.mercator import (
    HALF_WORLD_M,
    MAX_LAT_DEG,
    lonlat_to_mercator,
    mercator_to_lonlat,
    tile_bounds,
    tile_of,
    to_tile_units,
)


def slippy(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Fractional tile x, y from wiki.openstreetmap.org/wiki/Slippy_map_tilenames."""
    n = 2**z
    rad = math.radians(lat)
    return (lon + 180.0) / 360.0 * n, (1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n


def test_zoom_zero_is_the_whole_world():
    assert tile_bounds(0, 0, 0) == (-HALF_WORLD_M, -HALF_WORLD_M, HALF_WORLD_M, HALF_WORLD_M)


def test_zoom_one_quarters():
    h = HALF_WORLD_M
    assert tile_bounds(1, 0, 0) == (-h, 0.0, 0.0, h)  # north-west
    assert tile_bounds(1, 1, 1) == (0.0, -h, h, 0.0)  # south-east


def test_zoom_two_tile_is_a_quarter_world_wide():
    w, s, e, n = tile_bounds(2, 1, 2)
    assert (w, n) == (-HALF_WORLD_M / 2, 0.0)
    assert e - w == pytest.approx(HALF_WORLD_M / 2)
    assert n - s == pytest.approx(HALF_WORLD_M / 2)


def test_null_island_lands_on_the_corner_of_the_south_east_quarter():
    assert tile_of(0.0, 0.0, 1) == (1, 1)
    x, y = lonlat_to_mercator([0.0], [0.0])
    px, py = to_tile_units(x, y, tile_bounds(1, 1, 1))
    assert px[0] == pytest.approx(0.0, abs=1e-9)
    assert py[0] == pytest.approx(0.0, abs=1e-9)


def test_ninety_west_on_the_equator_is_mid_tile():
    assert tile_of(-90.0, 0.0, 1) == (0, 1)
    x, y = lonlat_to_mercator([-90.0], [0.0])
    px, py = to_tile_units(x, y, tile_bounds(1, 0, 1))
    assert px[0] == pytest.approx(2048.0)
    assert py[0] == pytest.approx(0.0, abs=1e-9)


def test_jiefangbei_tile_and_pixel_by_hand():
    # 106.5770 E, 29.5576 N: slippy x = 286.577 / 360 * 2**14 = 13042.44, y = 6782.83
    lon, lat, z = 106.5770, 29.5576, 14
    fx, fy = slippy(lon, lat, z)
    assert tile_of(lon, lat, z) == (13042, 6782) == (math.floor(fx), math.floor(fy))
    x, y = lonlat_to_mercator([lon], [lat])
    px, py = to_tile_units(x, y, tile_bounds(z, 13042, 6782))
    assert px[0] == pytest.approx((fx - 13042) * 4096, abs=1e-6)
    assert py[0] == pytest.approx((fy - 6782) * 4096, abs=1e-6)


@given(
    st.floats(-179.999, 179.999),
    st.floats(-MAX_LAT_DEG + 1e-6, MAX_LAT_DEG - 1e-6),
    st.integers(0, 20),
)
def test_tile_of_agrees_with_the_slippy_formula(lon, lat, z):
    fx, fy = slippy(lon, lat, z)
    x, y = tile_of(lon, lat, z)
    # the two formulas may differ in the last bits right on a tile edge
    assert abs(x - math.floor(fx)) <= (1 if abs(fx - round(fx)) < 1e-6 else 0)
    assert abs(y - math.floor(fy)) <= (1 if abs(fy - round(fy)) < 1e-6 else 0)
    mx, my = lonlat_to_mercator([lon], [lat])
    px, py = to_tile_units(mx, my, tile_bounds(z, x, y))
    assert -1e-6 <= px[0] <= 4096 + 1e-6
    assert -1e-6 <= py[0] <= 4096 + 1e-6


@given(st.floats(-180, 180), st.floats(-MAX_LAT_DEG, MAX_LAT_DEG))
def test_mercator_round_trip(lon, lat):
    back_lon, back_lat = mercator_to_lonlat(*lonlat_to_mercator([lon], [lat]))
    assert np.allclose([back_lon[0], back_lat[0]], [lon, lat], atol=1e-9)


@pytest.mark.parametrize(
    ("z", "x", "y", "field"),
    [(-1, 0, 0, "z"), (25, 0, 0, "z"), (3, 8, 0, "x"), (3, 0, 8, "y"), (3, -1, 0, "x")],
)
def test_addresses_outside_the_pyramid_are_refused(z, x, y, field):
    with pytest.raises(TileRequestError, match=f"`{field}`"):
        tile_bounds(z, x, y)
