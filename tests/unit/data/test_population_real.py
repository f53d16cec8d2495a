"""Residents on a real extract (Monaco, OSM 2026): only where people can live, totals exact."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer

from shancheng.data.assign import PopulationSource
from shancheng.data.importer import ImportOptions, build_city
from shancheng.data.population import PERSONS_PER_M2, can_be_home, floor_area_m2

pytestmark = pytest.mark.data
BBOX = (7.405, 43.724, 7.440, 43.752)


def _build(shared_data, population=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_city(
            ImportOptions(
                osm=shared_data / "networks/osm/monaco_2026-07-10_geofabrik.osm.pbf",
                area=shapely.box(*BBOX),
                population=population,
            )
        )


def test_an_import_without_population_estimates_it_loudly(shared_data):
    city, report = _build(shared_data)
    b = city.buildings
    home = can_be_home(b, not_homes=np.zeros(len(b), bool))
    populated = b["population"].to_numpy() > 0
    assert populated.sum() > 0.5 * home.sum()
    assert not (populated & ~home).any()  # nobody in sheds, retail-tagged or facility buildings
    assert (b.loc[populated, "building"].isin(["yes"])).mean() > 0.5  # most homes are plain yes
    # the importer also leaves out buildings mapped as a facility: at most all "homes" here
    assert report.figures["buildings_that_can_be_homes"] <= home.sum()
    assert b["population"].sum() <= round(floor_area_m2(b[home]).sum() * PERSONS_PER_M2)
    assert report.figures["residents"] == b["population"].sum()
    assert report.figures["population_source"] == "estimate"
    note, ages = city.metadata["data_notes"]
    assert "no age data" in ages
    assert note.startswith("population estimated from buildings")
    assert f"{report.figures['residents']:,} residents" in note
    assert any("no population given" in w for w in report.warnings)


def test_the_estimate_adds_up_exactly_to_floor_area_times_the_rate(shared_data):
    city, report = _build(shared_data, PopulationSource(persons_per_m2=0.03, min_home_m2=50))
    b = city.buildings
    home = can_be_home(b, min_home_m2=50, not_homes=np.zeros(len(b), bool))
    # facility buildings excluded by the importer are a subset of those "home" here
    expected_max = round(float(floor_area_m2(b[home]).sum()) * 0.03)
    assert 0 < b["population"].sum() <= expected_max
    assert not ((b["population"] > 0) & (b["footprint_m2"] < 50)).any()
    assert report.figures["residents"] == b["population"].sum()


def test_a_population_raster_in_another_crs_keeps_every_cell_total(shared_data, tmp_path):
    """A LAEA (EPSG:3035) grid of 100 m cells, 40 people each, over the clip."""
    to_laea = Transformer.from_crs(4326, 3035, always_xy=True)
    x0, y0 = to_laea.transform(BBOX[0], BBOX[3])
    x1, y1 = to_laea.transform(BBOX[2], BBOX[1])
    cols, rows = int((x1 - x0) // 100) + 1, int((y0 - y1) // 100) + 1
    path = tmp_path / "people_laea.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        with rasterio.open(
            path,
            "w",
            driver="GTiff",
            width=cols,
            height=rows,
            count=1,
            dtype="float32",
            crs="EPSG:3035",
            transform=Affine(100, 0, x0, 0, -100, y0),
        ) as dst:
            dst.write(np.full((rows, cols), 40.0, dtype="float32"), 1)
    city, report = _build(shared_data, PopulationSource(raster=path))
    b = city.buildings
    check_line = next(line for line in report.lines if line.startswith("population check"))
    given = 40 * rows * cols
    placed = int(b["population"].sum())
    assert f"{given:,} given, {placed:,} placed" in check_line
    nobody = int(check_line.split("; ")[1].split(" of ")[0].replace(",", ""))
    assert placed == given - 40 * nobody  # cells without a building: named, never hidden
    assert nobody > 0 and "receive nobody (" in check_line
