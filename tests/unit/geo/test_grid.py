import math

import numpy as np
import pytest
import shapely

from shancheng.errors import ConfigError
from shancheng.geo.admin import AdminLevel, is_child_code
from shancheng.geo.grid import UnitGrid


@pytest.fixture
def grid():
    return UnitGrid(600_000.0, 3_270_000.0, 100.0, n_cols=4, n_rows=3)


def test_cell_id_and_row_col_round_trip(grid):
    ids = np.arange(grid.n_cells)
    rows, cols = grid.row_col(ids)
    assert grid.n_cells == 12
    assert rows.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    assert cols.tolist() == [0, 1, 2, 3] * 3
    assert grid.cell_id(rows, cols).tolist() == ids.tolist()


def test_cell_of_hand_computed_points(grid):
    x = np.array([600_050.0, 600_399.9, 600_100.0, 600_000.0, 600_250.0])
    y = np.array([3_270_050.0, 3_270_299.9, 3_270_100.0, 3_270_000.0, 3_270_150.0])
    # a point on a shared edge belongs to the cell to its north/east
    assert grid.cell_of(x, y).tolist() == [0, 11, 5, 0, 6]


def test_points_outside_or_nan_get_minus_one(grid):
    x = np.array([599_999.0, 600_400.0, 600_050.0, np.nan])
    y = np.array([3_270_050.0, 3_270_050.0, 3_270_300.0, 3_270_050.0])
    assert grid.cell_of(x, y).tolist() == [-1, -1, -1, -1]


def test_every_point_is_in_the_polygon_of_its_cell(grid):
    rng = np.random.default_rng(1)
    x = 600_000.0 + rng.random(200) * 400.0
    y = 3_270_000.0 + rng.random(200) * 300.0
    ids = grid.cell_of(x, y)
    polygons = grid.cell_polygons(ids)
    assert shapely.contains_xy(polygons, x, y).all()
    cx, cy = grid.cell_center(ids)
    assert np.all(np.abs(cx - x) <= 50.0)
    assert np.all(np.abs(cy - y) <= 50.0)


def test_cells_are_squares_of_the_given_size(grid):
    areas = shapely.area(grid.cell_polygons(np.arange(grid.n_cells)))
    assert np.allclose(areas, 10_000.0)
    union = shapely.union_all(grid.cell_polygons(np.arange(grid.n_cells)))
    assert math.isclose(union.area, 400.0 * 300.0)


def test_covering_grid_holds_the_rectangle():
    grid = UnitGrid.covering(0.0, 0.0, 1050.0, 200.0, cell_size_m=100.0)
    assert (grid.n_cols, grid.n_rows) == (11, 2)


def test_bad_cell_id_names_the_range(grid):
    with pytest.raises(ConfigError, match=r"cell_id must be in \[0, 12\), got 12"):
        grid.row_col([12])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cell_size_m": 0.0}, "cell_size_m"),
        ({"cell_size_m": math.nan}, "cell_size_m"),
        ({"n_cols": 0}, "n_cols"),
        ({"n_rows": -1}, "n_rows"),
    ],
)
def test_impossible_grids_are_refused(kwargs, field):
    values = {"cell_size_m": 100.0, "n_cols": 2, "n_rows": 2} | kwargs
    with pytest.raises(ConfigError, match=field):
        UnitGrid(0.0, 0.0, **values)


def test_admin_levels_chain_codes():
    assert [level.code_length for level in AdminLevel] == [6, 6, 9, 12]
    assert AdminLevel.COMMUNITY.parent is AdminLevel.STREET
    assert AdminLevel.CITY.parent is None
    assert is_child_code("990101", "990100", AdminLevel.DISTRICT)
    assert is_child_code("990101002003", "990101002", AdminLevel.COMMUNITY)
    assert not is_child_code("990101003003", "990101002", AdminLevel.COMMUNITY)
    assert not is_child_code("99010100", "990101", AdminLevel.STREET)
