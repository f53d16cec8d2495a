"""The base map from OpenStreetMap: road classes and names, water and green areas, terrain."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from shancheng.data.importer import ImportOptions, build_city
from shancheng.data.osm import read_osm
from shancheng.errors import FlatTerrainWarning

TINY = Path(__file__).resolve().parents[2] / "data" / "tiny_basemap.osm"


def test_water_and_green_areas_are_read_with_their_kind_and_names():
    areas = {a["name"]: a for a in read_osm(TINY).base_areas}
    assert set(areas) == {"月亮湖", "鹅岭公园", "长江"}
    assert (areas["月亮湖"]["layer"], areas["月亮湖"]["kind"], areas["月亮湖"]["name_en"]) == (
        "water",
        "lake",
        "",
    )
    assert (areas["鹅岭公园"]["layer"], areas["鹅岭公园"]["kind"]) == ("green", "park")
    assert areas["鹅岭公园"]["name_en"] == "Eling Park"
    river = areas["长江"]
    assert (river["layer"], river["kind"], river["name_en"]) == ("water", "river", "Yangtze River")
    assert river["geometry"].area == pytest.approx(0.0018 * 0.0005)


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    dem = tmp_path_factory.mktemp("dem") / "plane.tif"
    heights = 100.0 + np.arange(60, dtype=np.float32)[None, :].repeat(60, axis=0)  # rises east
    with rasterio.open(
        dem,
        "w",
        driver="GTiff",
        width=60,
        height=60,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=Affine(0.0001, 0, -0.002, 0, -0.0001, 0.004),
    ) as out:
        out.write(heights, 1)
    return build_city(ImportOptions(osm=TINY, dem=dem, smoothing_window_m=0))[0]


def test_walk_segments_carry_road_classes_and_both_names(city):
    roads = city.walk_segments
    by_way = roads.groupby("osm_way_id").first()
    assert by_way.loc[1, ["road_class", "name", "name_en"]].tolist() == [
        "primary",
        "长江路",
        "Changjiang Road",
    ]
    assert by_way.loc[2, ["road_class", "name", "name_en"]].tolist() == [
        "residential",
        "石板坡",
        "",
    ]
    assert by_way.loc[3, "road_class"] == "steps"
    assert by_way.loc[4, "road_class"] == "lift"  # an escalator
    assert by_way.loc[5, "road_class"] == "service"


def test_the_import_keeps_water_green_and_the_dem_as_a_metric_grid(city):
    assert sorted(city.water["kind"]) == ["lake", "river"]
    assert city.green["name_en"].tolist() == ["Eling Park"]
    grid = city.terrain
    assert grid.crs_epsg == 32631 and grid.cell_m == 25.0
    assert np.isfinite(grid.heights_m).all()
    # the DEM rises 1 m per 0.0001° (≈ 11 m) eastwards: about 0.09 m per metre
    assert np.allclose(np.diff(grid.heights_m, axis=1) / 25.0, 1 / 11.13, rtol=0.05)


def test_without_a_dem_the_city_has_no_terrain_grid():
    with pytest.warns(FlatTerrainWarning):
        city, _ = build_city(ImportOptions(osm=TINY))
    assert city.terrain is None and len(city.water) == 2


def test_a_self_crossing_ring_is_repaired_and_clipped_to_the_area():
    from types import SimpleNamespace

    import shapely

    from shancheng.data.import_layers import base_area_layer

    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])  # invalid: crosses itself
    lake = shapely.box(10, 10, 11, 11)  # outside the area: dropped
    extract = SimpleNamespace(base_areas=[
        {"layer": "water", "kind": "lake", "name": "a", "name_en": "", "geometry": bowtie},
        {"layer": "water", "kind": "lake", "name": "b", "name_en": "", "geometry": lake},
    ])  # fmt: skip
    water = base_area_layer(extract, "water", shapely.box(0, 0, 2, 1))
    assert water["name"].tolist() == ["a"]
    assert water.geometry.iloc[0].is_valid
    assert water.geometry.iloc[0].area == pytest.approx(1.0)  # two triangles below y = 1
