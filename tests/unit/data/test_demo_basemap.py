"""The demo city's base map: named main roads, rivers under water, woods, parks, terrain."""

import numpy as np
import pytest
import shapely

from shancheng.data.city import ROAD_CLASSES
from shancheng.data.demo import DemoConfig, Terrain, generate_demo_city
from shancheng.geo.crs import geometries_to_lonlat
from shancheng.geo.relief import contour_lines
from shancheng.network.speed import EdgeKind


@pytest.fixture(scope="module")
def small():
    return generate_demo_city(DemoConfig.small())


def test_main_roads_have_classes_and_names_in_both_languages(small):
    roads = small.walk_segments
    assert set(roads["road_class"]) <= set(ROAD_CLASSES)
    primary = roads[roads["road_class"] == "primary"]
    named = primary[primary["name"] != ""]
    assert len(named["name"].unique()) >= 3  # riverside roads and bridges
    assert (named["name_en"] != "").all()
    assert {"南滨路", "Nanbin Road"} <= set(named["name"]) | set(named["name_en"])
    secondary = roads[roads["road_class"] == "secondary"]
    assert (secondary["name"] != "").all() and (secondary["name_en"] != "").all()
    bridges = roads[roads["kind"] == EdgeKind.BRIDGE]
    assert (bridges["road_class"] == "primary").all()
    assert bridges["name_en"].str.endswith("Bridge").all()
    steps = roads[roads["kind"] == EdgeKind.STEPS]
    assert (steps["road_class"] == "steps").all()


def test_a_riverside_road_is_one_continuous_line(small):
    roads = small.walk_segments
    nanbin = roads[roads["name"] == "南滨路"]
    merged = shapely.line_merge(shapely.union_all(nanbin.geometry.to_numpy()))
    assert merged.geom_type == "LineString"


def test_water_covers_both_river_centre_lines(small):
    terrain = Terrain.from_config(DemoConfig.small())
    water = small.water
    assert set(water["name"]) == {"长江", "嘉陵江"}
    assert set(water["name_en"]) == {"Yangtze River", "Jialing River"}
    assert (water["kind"] == "river").all()
    extent = shapely.box(terrain.origin_x_utm, terrain.origin_y_utm,
                         terrain.origin_x_utm + terrain.width_m,
                         terrain.origin_y_utm + terrain.height_m)  # fmt: skip
    for line in (terrain.yangtze_xy, terrain.jialing_xy):
        inside = shapely.intersection(shapely.LineString(line), extent)
        (centre,) = geometries_to_lonlat(np.array([inside]))
        points = shapely.line_interpolate_point(centre, np.linspace(0, 1, 50), normalized=True)
        assert shapely.union_all(water.geometry.to_numpy()).buffer(1e-7).contains(points).all()


def test_woods_lie_on_high_ground_and_parks_are_named(small):
    green = small.green
    assert set(green["kind"]) <= {"park", "forest", "grass"}
    parks = green[green["kind"] == "park"]
    assert len(parks) == (small.facilities["category"] == "park").sum()
    assert parks["name"].str.endswith("公园").all() and parks["name_en"].str.endswith(" Park").all()
    woods = green[green["kind"] == "forest"]
    assert len(woods) >= 1 and (woods["name_en"] != "").all()


def test_terrain_grid_samples_the_terrain_and_has_ten_metre_contours(small):
    grid = small.terrain
    assert grid.cell_m == 25.0 and grid.crs_epsg == 32648
    xx, yy = grid.cell_centres()
    terrain = Terrain.from_config(DemoConfig.small())
    pick = (slice(None, None, 17), slice(None, None, 13))
    assert np.allclose(grid.heights_m[pick], terrain.height_at(xx[pick], yy[pick]), atol=0.01)
    assert grid.heights_m.min() == 175.0
    lines, elevation, index = contour_lines(grid)
    assert len(lines) > 10
    assert set(np.unique(elevation % 10)) == {0.0}
    assert index.any() and (elevation[index] % 50 == 0).all()
