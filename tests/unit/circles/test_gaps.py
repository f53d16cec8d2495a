"""Gap areas on a hand-made 4 x 3 grid with known answers."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from shancheng.circles.coverage import residence_coverage
from shancheng.circles.gaps import find_gaps
from shancheng.circles.standard import parse_catalogue
from shancheng.geo.grid import UnitGrid

CATALOGUE = parse_catalogue(
    {
        "format_version": 1,
        "age_groups": {"all": {"label": "all", "columns": ["population"]}},
        "categories": {"kindergarten": {}, "park": {}},
        "requirements": [
            {"category": "kindergarten", "level_min": 5, "threshold_min": 5},
            {"category": "park", "level_min": 5, "threshold_min": 5},
        ],
    }
)


@pytest.fixture
def gaps():
    # cells numbered row by row, 4 columns: row 0 = cells 0-3, row 1 = 4-7, row 2 = 8-11
    homes = pd.DataFrame({
        "cell_id":    [0,   1,   3,    6,   9,      1],
        "population": [100, 50,  30,   20,  10,     40],
        "kg_min":     [7.0, 9.0, 12.0, 3.0, np.inf, 4.0],
        "park_min":   [2.0, 8.0, 1.0,  3.0, 2.0,    6.0],
    })  # fmt: skip
    acc = SimpleNamespace(
        residences=homes,
        categories=("kindergarten", "park"),
        time_s=homes[["kg_min", "park_min"]].to_numpy() * 60.0,
    )
    coverage = residence_coverage(acc, CATALOGUE)
    grid = UnitGrid(0.0, 0.0, 100.0, n_cols=4, n_rows=3)
    return find_gaps(acc, coverage, CATALOGUE, grid, crs_epsg=32648).set_index("gap_id")


def test_complete_circle_gap_areas(gaps):
    complete = gaps[gaps.measure == "complete_5min"]
    assert complete.index.tolist() == [
        "complete_5min-0001",
        "complete_5min-0002",
        "complete_5min-0003",
    ]
    assert complete.population_affected.tolist() == [190.0, 30.0, 10.0]
    assert complete.n_cells.tolist() == [2, 1, 1]
    a = complete.loc["complete_5min-0001"]
    assert a.kindergarten_uncovered == 150.0
    assert a.kindergarten_nearest_min == pytest.approx((100 * 7 + 50 * 9) / 150)
    assert a.park_uncovered == 90.0
    assert a.park_nearest_min == pytest.approx((50 * 8 + 40 * 6) / 90)
    assert a.missing_categories == "kindergarten (150); park (90)"
    assert complete.loc["complete_5min-0003"].kindergarten_nearest_min == np.inf


def test_per_requirement_areas_and_geometry(gaps):
    kg = gaps[gaps.measure == "kindergarten_5min"]
    assert kg.population_affected.tolist() == [150.0, 30.0, 10.0]
    park = gaps[gaps.measure == "park_5min"]
    assert park.population_affected.tolist() == [90.0]
    assert park.n_cells.tolist() == [1]
    area = gaps.to_crs(32648).loc["complete_5min-0001"].geometry
    assert area.area == pytest.approx(20_000.0)  # two 100 m cells, merged into one polygon
    assert area.geom_type == "Polygon"


def test_diagonal_cells_join_one_area():
    homes = pd.DataFrame({"cell_id": [0, 5], "population": [1, 1], "t": [np.inf, np.inf]})
    acc = SimpleNamespace(
        residences=homes,
        categories=("kindergarten", "park"),
        time_s=np.column_stack([homes.t, homes.t]),
    )
    grid = UnitGrid(0.0, 0.0, 100.0, n_cols=4, n_rows=3)
    gaps = find_gaps(acc, residence_coverage(acc, CATALOGUE), CATALOGUE, grid, crs_epsg=32648)
    assert (gaps.measure == "complete_5min").sum() == 1  # cells 0 and 5 touch at a corner
