"""Residents into buildings: totals preserved per unit, by floor area, and the check."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from shancheng.data.population import (
    can_be_home,
    distribute_by_unit,
    distribute_points,
    distribute_raster,
    estimate_from_buildings,
    largest_remainder,
)
from shancheng.errors import InputError


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.floats(1, 1e4)), min_size=1, max_size=40),
    st.lists(st.floats(0, 1e5), min_size=5, max_size=5),
)
def test_largest_remainder_preserves_every_unit_total(members, totals):
    unit = np.array([m[0] for m in members])
    weight = np.array([m[1] for m in members])
    totals = np.array(totals)
    out = largest_remainder(totals, unit, weight)
    assert (out >= 0).all()
    placed = np.bincount(unit, weights=out, minlength=5)
    present = np.bincount(unit, minlength=5) > 0
    np.testing.assert_array_equal(placed[present], np.round(totals[present]))
    # nobody gets more than one person above their exact share
    exact = np.round(totals)[unit] * weight / np.bincount(unit, weights=weight, minlength=5)[unit]
    assert np.all(np.abs(out - exact) < 1.0 + 1e-9)


def _buildings():
    return pd.DataFrame(
        {
            "footprint_m2": [100.0, 100.0, 300.0, 50.0, 80.0],
            "levels": [10, np.nan, 1, 4, 2],
            "building": ["apartments", "yes", "house", "yes", "yes"],
        }
    )


def test_counts_per_unit_go_by_floor_area_to_every_home():
    buildings = _buildings()
    # unit A: apartments 1,000 m², yes 100 m² (1 level), house 300 m²: 1,300 people by floor
    # area = 928.57, 92.86, 278.57 -> 929, 93, 278; unit B: yes 200 m², yes 160 m²
    result = distribute_by_unit(
        buildings, ["A", "A", "A", "B", "B"], pd.Series({"A": 1300.0, "B": 360.0, "C": 50.0})
    )
    assert result.population.tolist() == [929, 93, 278, 200, 160]
    check = result.check.set_index("unit")
    assert check.loc["A", "difference"] == 0
    assert check.loc["C", "placed"] == 0  # a unit without buildings is reported, not lost
    assert check.loc["C", "difference"] == 50
    assert "50 unplaced; 1 of 3 units receive nobody (C)" in result.summary()


def test_sheds_and_facilities_get_nobody_unless_their_unit_has_nothing_else():
    buildings = pd.DataFrame(
        {
            "footprint_m2": [100.0, 12.0, 400.0, 20.0, 25.0],
            "levels": [2, 1, 3, 1, 1],
            "building": ["yes", "yes", "yes", "yes", "house"],
        }
    )
    school = np.array([False, False, True, False, False])  # mapped as a facility itself
    home = can_be_home(buildings, not_homes=school)
    assert home.tolist() == [True, False, False, False, False]
    result = distribute_by_unit(
        buildings, ["A", "A", "A", "B", "B"], pd.Series({"A": 90.0, "B": 9.0}), home=home
    )
    # A: only the 200 m² home; B has no home: its small buildings take them (20 : 25)
    assert result.population.tolist() == [90, 0, 0, 4, 5]
    assert result.check["difference"].tolist() == [0, 0]


def test_an_estimate_is_floor_area_times_persons_per_m2():
    buildings = _buildings()  # homes: 1,000 + 100 + 300 + 200 + 160 = 1,760 m²
    result = estimate_from_buildings(buildings, persons_per_m2=0.05)  # 88 people
    assert result.population.sum() == 88
    assert result.population.tolist() == [50, 5, 15, 10, 8]
    with pytest.raises(InputError, match="must be positive"):
        estimate_from_buildings(buildings, persons_per_m2=0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 500), st.floats(0, 300)), min_size=1, max_size=60))
def test_points_keep_their_rounded_total_exactly(points):
    """Fractional counts (from a share of a block) once lost people one rounding at a time."""
    buildings = pd.DataFrame({"x_utm": [0.0, 150.0, 300.0], "y_utm": [0.0, 0.0, 0.0]})
    x = [p[0] for p in points]
    people = [p[1] for p in points]
    result = distribute_points(buildings, x, [0.0] * len(x), people)
    assert result.population.sum() == round(sum(people))  # every point is within 200 m
    assert (result.population >= 0).all()


def test_raster_cells_are_distributed_to_the_buildings_inside_them(tmp_path):
    # 2 x 2 cells of 100 m in UTM 48N; people: [[120, 0], [30, 7]]
    x0, y0 = 600_000.0, 3_270_200.0
    path = tmp_path / "pop.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=2,
        height=2,
        count=1,
        dtype="float32",
        crs="EPSG:32648",
        transform=Affine(100, 0, x0, 0, -100, y0),
    ) as dst:
        dst.write(np.array([[120, 0], [30, 7]], dtype="float32"), 1)
    centres = [(x0 + 20, y0 - 20), (x0 + 70, y0 - 70), (x0 + 50, y0 - 150), (x0 + 150, y0 - 50)]
    buildings = gpd.GeoDataFrame(
        {
            "footprint_m2": [100.0, 100.0, 50.0, 80.0],
            "levels": [1, 2, 1, 1],
            "building": ["residential"] * 4,
        },
        geometry=[shapely.Point(x, y).buffer(3) for x, y in centres],
        crs=32648,
    ).to_crs(4326)
    result = distribute_raster(buildings, path)
    assert result.population.tolist() == [40, 80, 30, 0]
    check = result.check
    assert check["given"].sum() == pytest.approx(157)
    assert check["placed"].sum() == 150
    assert check.loc[check["difference"] != 0, "given"].tolist() == [7]  # cell without building


def test_points_go_to_the_nearest_building_within_reach():
    buildings = pd.DataFrame({"x_utm": [0.0, 100.0], "y_utm": [0.0, 0.0]})
    result = distribute_points(buildings, [5.0, 90.0, 1_000.0], [0.0, 0.0, 0.0], [3, 4, 5])
    assert result.population.tolist() == [3, 4]
    assert result.check["difference"].tolist() == [0, 0, 5]
