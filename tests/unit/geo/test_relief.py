"""Hillshade and contours on hand-built grids whose answers follow from the formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from shancheng.errors import InputError
from shancheng.geo.relief import HeightGrid, contour_interval_m, contour_lines, hillshade


def plane(slope_east: float, slope_north: float, *, n: int = 20, cell: float = 10.0):
    xx, yy = HeightGrid(np.zeros((n, n)), 0.0, n * cell, cell, 32648).cell_centres()
    return HeightGrid(100.0 + slope_east * xx + slope_north * yy, 0.0, n * cell, cell, 32648)


def test_flat_ground_is_uniformly_lit_at_the_sine_of_the_altitude():
    shade = hillshade(plane(0.0, 0.0), altitude_deg=30.0)
    assert np.allclose(shade, 0.5)


@pytest.mark.parametrize(("sx", "sy"), [(0.2, 0.0), (0.0, -0.3), (0.5, 0.5), (-0.4, 0.1)])
def test_a_plane_is_lit_as_its_normal_dot_the_sun(sx, sy):
    # normal (-sx, -sy, 1)/|.|; sun from 315° at 45°: (sin 315 cos 45, cos 315 cos 45, sin 45)
    sun = np.array([-0.5, 0.5, math.sqrt(0.5)])
    expected = max(0.0, float(np.dot([-sx, -sy, 1.0], sun)) / math.sqrt(1 + sx * sx + sy * sy))
    shade = hillshade(plane(sx, sy))
    assert np.allclose(shade, expected)  # Horn is exact on a plane, edges included


def test_a_slope_facing_the_sun_is_brighter_than_one_facing_away():
    facing = hillshade(plane(0.3, -0.3))[5, 5]  # rises to the south-east: faces north-west
    away = hillshade(plane(-0.3, 0.3))[5, 5]
    assert facing > math.sqrt(0.5) > away


def test_contours_of_a_cone_are_circles_at_every_interval_with_index_lines():
    n, cell = 101, 2.0
    grid0 = HeightGrid(np.zeros((n, n)), 0.0, n * cell, cell, 32648)
    xx, yy = grid0.cell_centres()
    r = np.hypot(xx - 101.0, yy - 101.0)
    grid = HeightGrid(200.0 - r, 0.0, n * cell, cell, 32648)  # a cone 200 m high at the centre
    lines, elevation, index = contour_lines(grid, interval_m=10.0, index_every=5)
    # levels from the lowest corner (200 - 141 = 59 m... the rim is cut by the grid edge)
    assert set(elevation.tolist()) == {float(v) for v in range(60, 200, 10)}
    assert index.tolist() == [e % 50 == 0 for e in elevation]
    for line, level in zip(lines, elevation):
        coords = shapely.get_coordinates(line)
        radius = np.hypot(coords[:, 0] - 101.0, coords[:, 1] - 101.0)
        assert np.allclose(radius, 200.0 - level, atol=0.05)
    closed = [line.is_closed for line, level in zip(lines, elevation) if level >= 110]
    assert closed and all(closed)  # radius ≤ 90 m fits inside the grid


def test_contours_of_a_plane_are_straight_lines_at_their_height():
    grid = plane(0.1, 0.0, n=50, cell=10.0)  # 100 m at x = 0 to 150 m at x = 500
    lines, elevation, index = contour_lines(grid, interval_m=5.0, index_every=2)
    assert elevation.tolist() == [105.0, 110.0, 115.0, 120.0, 125.0, 130.0, 135.0, 140.0, 145.0]
    assert index.tolist() == [False, True, False, True, False, True, False, True, False]
    for line, level in zip(lines, elevation):
        xs = shapely.get_coordinates(line)[:, 0]
        assert np.allclose(xs, (level - 100.0) / 0.1)


def test_the_interval_follows_the_relief_and_flat_ground_has_no_contours():
    assert contour_interval_m(40.0) == 2.0
    assert contour_interval_m(275.0) == 10.0
    lines, elevation, index = contour_lines(plane(0.0, 0.0))
    assert len(lines) == len(elevation) == len(index) == 0


def test_nan_cells_are_left_out_of_the_bilinear_sample_and_a_bad_grid_is_refused():
    grid = plane(0.1, 0.0)
    assert grid.sample(grid.heights_m, [105.0], [105.0])[0] == pytest.approx(110.5)
    assert np.isnan(grid.sample(grid.heights_m, [-50.0], [105.0])[0])
    with pytest.raises(InputError, match="cell_m"):
        HeightGrid(np.zeros((3, 3)), 0.0, 0.0, 0.0, 32648)
    with pytest.raises(InputError, match="2 x 2"):
        HeightGrid(np.zeros(3), 0.0, 0.0, 1.0, 32648)
