"""Buildings and facilities mapped as multipolygon relations (pyosmium area assembly)."""

from __future__ import annotations

import warnings
from pathlib import Path

import osmium
import pytest
import shapely

from shancheng.data.importer import ImportOptions, build_city
from shancheng.data.osm import RESIDENTIAL_BUILDINGS, read_osm
from shancheng.data.osm_tags import load_facility_tags
from shancheng.errors import FlatTerrainWarning

TINY = Path(__file__).resolve().parents[2] / "data" / "tiny_multipolygons.osm"
DEG_M = 111_194.93  # one degree of a great circle on the 6371.0088 km sphere


def test_multipolygon_building_keeps_its_courtyard_and_facility_its_parts():
    extract = read_osm(TINY)
    kinds = sorted((b["osm_type"], b["osm_id"], b["building"]) for b in extract.buildings)
    assert kinds == [("relation", 100, "apartments"), ("way", 54, "house")]
    block = next(b for b in extract.buildings if b["osm_type"] == "relation")
    shape = block["geometry"]
    assert shape.geom_type == "Polygon"
    assert len(shape.interiors) == 1  # the courtyard
    assert shape.area == pytest.approx(0.0009**2 - 0.0002**2, rel=1e-9)  # hand computed
    assert not shape.contains(shapely.Point(0.0005, 0.0005))  # courtyard centre is open air
    assert block["levels"] == 6.0
    # the kindergarten is two separate squares; its point is their joint centroid
    assert [f["osm_ref"] for f in extract.facilities] == ["relation/101"]
    kindergarten = extract.facilities[0]
    assert kindergarten["category"] == "kindergarten"
    assert kindergarten["name"] == "Two Gardens"
    assert kindergarten["lon"] == pytest.approx(0.0006, abs=1e-12)
    assert kindergarten["lat"] == pytest.approx(0.0021, abs=1e-12)
    # the untagged ring ways are not buildings of their own
    assert {b["osm_id"] for b in extract.buildings} == {54, 100}


def test_multipolygon_footprint_reaches_the_city_layer():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FlatTerrainWarning)
        city, _ = build_city(ImportOptions(osm=TINY))
    rows = city.buildings.set_index(["osm_type", "osm_id"])
    # 100 m x 100 m less a 22 m x 22 m courtyard: (0.0009² - 0.0002²) deg² x (111.195 km/deg)²
    expected_m2 = (0.0009**2 - 0.0002**2) * DEG_M**2
    assert rows.loc[("relation", 100), "footprint_m2"] == pytest.approx(expected_m2, rel=0.01)
    assert (city.facilities["category"] == "kindergarten").sum() == 1


def _independent_relation_counts(path: Path) -> tuple[int, int]:
    """Multipolygon relations (residential building, facility) whose member ways all exist.

    Read with osmium directly: relations are counted from their own tags, and one is only
    assemblable when every member way is in the extract.
    """
    mapping = load_facility_tags()
    candidates: dict[int, tuple[bool, bool, list[int]]] = {}
    ways: set[int] = set()
    processor = osmium.FileProcessor(str(path)).with_filter(
        osmium.filter.EntityFilter(osmium.osm.WAY | osmium.osm.RELATION))  # fmt: skip
    for obj in processor:
        if isinstance(obj, osmium.osm.Way):
            ways.add(obj.id)
            continue
        tags = dict(obj.tags)
        if tags.get("type") != "multipolygon":
            continue
        is_building = tags.get("building") in RESIDENTIAL_BUILDINGS
        is_facility = mapping.category(tags) is not None
        if is_building or is_facility:
            members = [m.ref for m in obj.members if m.type == "w"]
            candidates[obj.id] = (is_building, is_facility, members)
    complete = [(b, f) for b, f, members in candidates.values() if set(members) <= ways]
    return sum(b for b, _ in complete), sum(f for _, f in complete)


def test_monaco_2026_relation_buildings_and_facilities(networks):
    path = networks / "osm/monaco_2026-07-10_geofabrik.osm.pbf"
    extract = read_osm(path)
    buildings, facilities = _independent_relation_counts(path)
    got_buildings = [b for b in extract.buildings if b["osm_type"] == "relation"]
    got_facilities = [f for f in extract.facilities if str(f["osm_ref"]).startswith("relation/")]
    # measured: 23 residential-building relations, one (5197022) misses a member way at the
    # extract's edge; 5 facility relations
    assert buildings == 22
    assert len(got_buildings) == buildings
    assert len(got_facilities) == facilities == 5
    assert all(shapely.is_valid(b["geometry"]) for b in got_buildings)
    assert sum(len(getattr(b["geometry"], "interiors", ())) for b in got_buildings) >= 1
    # closed-way buildings are still read once each (no duplicate from the area pass)
    ids = [(b["osm_type"], b["osm_id"]) for b in extract.buildings]
    assert len(ids) == len(set(ids))
