"""Walkable-way rules, the facility tag mapping, and reading real extracts with pyosmium."""

from __future__ import annotations

import collections

import numpy as np
import osmium
import pytest
import shapely

from shancheng.data.osm import read_osm, walk_way
from shancheng.data.osm_network import ELEVATOR_RIDE_S, build_pieces
from shancheng.data.osm_tags import load_facility_tags
from shancheng.errors import InputError, OsmInputError
from shancheng.geo.crs import haversine_m
from shancheng.network.speed import EdgeKind


@pytest.mark.parametrize(
    ("tags", "kind"),
    [
        ({"highway": "footway"}, EdgeKind.FOOTWAY),
        ({"highway": "footway", "footway": "crossing"}, EdgeKind.CROSSING),
        ({"highway": "steps"}, EdgeKind.STEPS),
        ({"highway": "steps", "bridge": "yes"}, EdgeKind.STEPS),
        ({"highway": "path"}, EdgeKind.PATH),
        ({"highway": "residential"}, EdgeKind.STREET),
        ({"highway": "primary", "bridge": "viaduct"}, EdgeKind.BRIDGE),
        ({"highway": "service", "tunnel": "yes"}, EdgeKind.TUNNEL),
        ({"highway": "service", "tunnel": "building_passage"}, EdgeKind.STREET),
        ({"highway": "trunk", "sidewalk": "both"}, EdgeKind.STREET),
        ({"highway": "motorway", "foot": "yes"}, EdgeKind.STREET),
        ({"highway": "elevator"}, EdgeKind.ELEVATOR),
        ({"highway": "steps", "conveying": "forward"}, EdgeKind.ESCALATOR),
        ({"highway": "footway", "access": "private", "foot": "yes"}, EdgeKind.FOOTWAY),
    ],
)
def test_walkable_ways_and_their_kind(tags, kind):
    way = walk_way(tags)
    assert way is not None
    assert way.kind == kind


@pytest.mark.parametrize(
    "tags",
    [
        {"highway": "motorway"},
        {"highway": "trunk"},
        {"highway": "trunk_link", "sidewalk": "no"},
        {"highway": "footway", "foot": "no"},
        {"highway": "residential", "access": "private"},
        {"highway": "pedestrian", "area": "yes"},
        {"highway": "construction"},
        {"building": "yes"},
    ],
)
def test_ways_people_cannot_walk_are_left_out(tags):
    assert walk_way(tags) is None


def test_escalator_direction_and_bridge_flags():
    assert walk_way({"highway": "steps", "conveying": "forward"}).direction == 1
    assert walk_way({"highway": "steps", "conveying": "backward"}).direction == -1
    assert walk_way({"highway": "steps", "conveying": "reversible"}).direction == 0
    steps_bridge = walk_way({"highway": "steps", "bridge": "yes"})
    assert steps_bridge.bridge
    assert walk_way({"highway": "footway", "tunnel": "yes"}).tunnel


def test_default_facility_mapping_covers_the_catalogue_and_first_match_wins():
    from shancheng.data.demo.facilities import CATEGORY_IDS

    mapping = load_facility_tags()
    # subway entrances are no catalogue category: they lead transit riders into GTFS stations
    assert {rule.category for rule in mapping.rules} == {*CATEGORY_IDS, "subway_entrance"}
    assert mapping.category({"amenity": "school", "isced:level": "2"}) == "middle_school"
    assert mapping.category({"amenity": "school"}) == "primary_school"
    assert mapping.category({"amenity": "kindergarten", "nursery": "yes"}) == "nursery"
    assert (
        mapping.category({"amenity": "social_facility", "social_facility": "nursing_home"})
        == "nursing_home"
    )
    assert mapping.category({"shop": "kiosk"}) == "convenience_store"
    assert mapping.category({"amenity": "bench"}) is None


def test_an_edited_mapping_file_is_used_and_bad_rules_are_named(tmp_path):
    good = tmp_path / "tags.toml"
    good.write_text('[[rule]]\ncategory = "park"\nmatch = ["leisure=garden & !access", "x=*"]\n')
    mapping = load_facility_tags(good)
    assert mapping.category({"leisure": "garden"}) == "park"
    assert mapping.category({"leisure": "garden", "access": "private"}) is None
    assert mapping.category({"x": "anything"}) == "park"
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\ncategory = "park"\nmatch = ["leisure"]\n')
    with pytest.raises(InputError, match=r"bad.toml: rule 1: test 'leisure' must be key=value"):
        load_facility_tags(bad)


def test_truncated_pbf_is_a_clear_error(networks, tmp_path):
    whole = (networks / "osm/monaco_2026-07-10_geofabrik.osm.pbf").read_bytes()
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(OsmInputError, match=r"cut.osm.pbf: cannot read .* truncated"):
        read_osm(cut)
    with pytest.raises(OsmInputError, match="no such OpenStreetMap file"):
        read_osm(tmp_path / "missing.osm.pbf")


@pytest.fixture(scope="module")
def monaco_2026(networks):
    return read_osm(networks / "osm/monaco_2026-07-10_geofabrik.osm.pbf")


def _steps_excluded_with_reason(path):
    """Independent pyosmium pass: steps ways and the ones tagged so nobody may walk them."""
    total, denied = 0, 0
    for way in osmium.FileProcessor(str(path), osmium.osm.WAY):
        if way.tags.get("highway") == "steps":
            total += 1
            foot, access = way.tags.get("foot"), way.tags.get("access")
            if foot in ("no", "private") or (
                access in ("private", "no") and foot not in ("yes", "designated", "permissive")
            ):
                denied += 1
    return total, denied


def test_monaco_2026_keeps_every_walkable_stair_and_every_lift(networks, monaco_2026):
    total, denied = _steps_excluded_with_reason(
        networks / "osm/monaco_2026-07-10_geofabrik.osm.pbf"
    )
    assert total == 467  # PROVENANCE 5a
    highways = collections.Counter(tags["highway"] for tags in monaco_2026.way_tags)
    assert highways["steps"] == total - denied
    assert len(monaco_2026.elevator_nodes) == 64  # PROVENANCE: 64 public-lift nodes
    assert sum("step_count" in tags for tags in monaco_2026.way_tags) >= 70  # 78 tagged in all
    categories = collections.Counter(f["category"] for f in monaco_2026.facilities)
    assert categories["bus_stop"] > 100
    assert categories["primary_school"] + categories["kindergarten"] > 5
    assert all(-90 <= f["lat"] <= 90 for f in monaco_2026.facilities)
    assert len(monaco_2026.buildings) > 1000
    assert np.isfinite([b["levels"] for b in monaco_2026.buildings]).sum() > 100


def test_pieces_keep_the_polyline_length_and_respect_the_spacing(monaco_2026):
    area = shapely.box(7.405, 43.725, 7.44, 43.75)
    pieces = build_pieces(monaco_2026, area, max_piece_m=25.0)
    walking = ~np.isin(pieces.kind, [EdgeKind.ELEVATOR, EdgeKind.ESCALATOR])  # one piece each
    assert pieces.length_m[walking].max() <= 25.0 + 1e-6
    coords, index = shapely.get_coordinates(pieces.geometry, return_index=True)
    same = index[1:] == index[:-1]
    step = haversine_m(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])
    along = np.bincount(index[1:][same], weights=step[same], minlength=len(pieces.geometry))
    np.testing.assert_allclose(along, pieces.length_m, atol=1e-3)  # breaks interpolate in degrees
    # every node is inside the area; ends of each piece are its geometry's ends
    assert shapely.contains_xy(area, pieces.node_lon, pieces.node_lat).all()
    first = shapely.get_point(pieces.geometry, 0)
    oriented = ~pieces.oneway | (pieces.kind != EdgeKind.ESCALATOR)
    np.testing.assert_allclose(
        shapely.get_x(first)[oriented], pieces.node_lon[pieces.tail][oriented], atol=1e-9
    )
    # each lift is a hub reached by ELEVATOR half-rides
    lift = pieces.way_index < 0
    assert lift.sum() >= 2 * 20
    assert np.all(pieces.kind[lift] == EdgeKind.ELEVATOR)
    assert np.all(pieces.fixed_time_s[lift] == ELEVATOR_RIDE_S / 2)
    assert np.all(pieces.length_m[lift] == 0)


def test_clipping_to_an_empty_area_is_an_error(monaco_2026):
    with pytest.raises(InputError, match="no walkable way lies inside the study area"):
        build_pieces(monaco_2026, shapely.box(0.0, 0.0, 0.1, 0.1))


def test_hand_made_osm_xml_gives_the_known_network():
    """.osm XML works too; lengths are haversine (0.001° of latitude = 111.195 m)."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "data" / "tiny_hill.osm"
    extract = read_osm(path)
    assert extract.way_id == [10, 11]  # the motorway and the private service road are out
    assert extract.elevator_nodes == {2}
    assert [f["category"] for f in extract.facilities] == ["kindergarten"]
    pieces = build_pieces(extract, None, max_piece_m=1_000.0)
    # footway 1-2 and 2-3 (split at the shared node 2), steps 2-4, and 3 lift half-rides
    walking = pieces.way_index >= 0
    assert sorted(np.round(pieces.length_m[walking], 3).tolist()) == [111.195, 111.195, 111.195]
    assert (pieces.kind == EdgeKind.ELEVATOR).sum() == 3
    hub = int(np.flatnonzero(pieces.node_osm_id == 2)[0])
    assert set(pieces.head[~walking].tolist()) == {hub}
    assert not np.isin(hub, np.concatenate([pieces.tail[walking], pieces.head[walking]]))
