"""Car tags through the real OSM import: one-ways, speeds, signals, crossings, turn bans.

A hand-tagged sample (OSM XML, read by pyosmium like any extract): an east-bound one-way
primary road 1-8-2-3 at 40 km/h (two ways, split at the junction as OSM asks) with a zebra at node 8 and signals at junction 2; a two-way
residential street 4-2 north of it at 30 mph; a residential street 2-5 south of it, one-way
towards the junction (``oneway=-1``); a footway 7-8-9 crossing the primary at the zebra; and
``no_left_turn`` from the primary via node 2 into the street 4-2.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from shancheng.data.city import read_city, write_city
from shancheng.data.importer import ImportOptions, build_city
from shancheng.errors import FlatTerrainWarning
from shancheng.mobility.drive import build_drive_network, drive_route

NODES = {  # id: (lon, lat, tags)
    1: (106.5500, 29.5600, {}),
    8: (106.5505, 29.5600, {"highway": "crossing", "crossing": "zebra"}),
    2: (106.5510, 29.5600, {"highway": "traffic_signals"}),
    3: (106.5520, 29.5600, {}),
    4: (106.5510, 29.5610, {}),
    5: (106.5510, 29.5590, {}),
    7: (106.5505, 29.5605, {}),
    9: (106.5505, 29.5595, {}),
}
WAYS = {  # id: (nodes, tags)
    10: ([1, 8, 2], {"highway": "primary", "oneway": "yes", "maxspeed": "40", "name": "Main"}),
    14: ([2, 3], {"highway": "primary", "oneway": "yes", "maxspeed": "40", "name": "Main"}),
    11: ([4, 2], {"highway": "residential", "maxspeed": "30 mph"}),
    12: ([2, 5], {"highway": "residential", "oneway": "-1"}),
    13: ([7, 8, 9], {"highway": "footway"}),
}
RESTRICTION = {"type": "restriction", "restriction": "no_left_turn"}


def _xml(*, restrictions=True):
    def tags(t):
        return "".join(f'<tag k="{k}" v="{v}"/>' for k, v in t.items())

    parts = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for i, (lon, lat, t) in sorted(NODES.items()):  # OSM files list ids in order
        parts.append(f'<node id="{i}" version="1" lat="{lat}" lon="{lon}">{tags(t)}</node>')
    for i, (refs, t) in sorted(WAYS.items()):
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        parts.append(f'<way id="{i}" version="1">{nds}{tags(t)}</way>')
    if restrictions:
        parts.append(
            '<relation id="100" version="1"><member type="way" ref="10" role="from"/>'
            '<member type="node" ref="2" role="via"/><member type="way" ref="11" role="to"/>'
            f"{tags(RESTRICTION)}</relation>"
        )
        parts.append(  # through a via way: not read, and said so
            '<relation id="101" version="1"><member type="way" ref="12" role="from"/>'
            '<member type="way" ref="10" role="via"/><member type="way" ref="11" role="to"/>'
            f"{tags({'type': 'restriction', 'restriction': 'no_u_turn'})}</relation>"
        )
    parts.append("</osm>")
    return "\n".join(parts)


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    path = tmp_path_factory.mktemp("osm") / "tagged.osm"
    path.write_text(_xml())
    with pytest.warns(FlatTerrainWarning):  # no DEM: a flat sample, as intended here
        city, report = build_city(ImportOptions(osm=path, name="tagged"))
    return city, report


def _walk_node(city, osm_id):
    (node,) = city.walk_nodes.index[city.walk_nodes["osm_id"] == osm_id]
    return int(city.walk_nodes.loc[node, "node_id"])


def test_way_tags_become_car_directions_and_speeds(tagged):
    city, report = tagged
    seg = city.walk_segments
    by_way = {w: seg[seg["osm_way_id"] == w] for w in WAYS}
    assert set(by_way[10]["car_oneway"]) == set(by_way[14]["car_oneway"]) == {1}
    assert set(by_way[11]["car_oneway"]) == {0}
    assert set(by_way[12]["car_oneway"]) == {-1}
    assert set(by_way[10]["maxspeed_kmh"]) == {40.0}
    assert set(by_way[11]["maxspeed_kmh"]) == {48.28}  # 30 mph
    assert all(math.isnan(v) for v in by_way[12]["maxspeed_kmh"])  # the class default stands
    # every piece of the one-way primary runs west to east, the way's own direction
    x = city.walk_nodes.set_index("node_id")["x_utm"]
    main = pd.concat([by_way[10], by_way[14]])
    assert (x[main["head"]].to_numpy() > x[main["tail"]].to_numpy()).all()
    assert report.figures["oneway_car_segments"] == len(main) + len(by_way[12])


def test_signals_and_crossings_on_the_junction_nodes(tagged):
    city, report = tagged
    nodes = city.walk_nodes.set_index("osm_id")
    assert bool(nodes.loc[2, "traffic_signals"]) and not nodes.loc[8, "traffic_signals"]
    assert nodes.loc[8, "crossing"] == "marked"  # crossing=zebra
    assert (nodes.drop(index=[8])["crossing"] == "").all()
    assert (report.figures["signal_nodes"], report.figures["crossing_nodes"]) == (1, 1)


def test_the_turn_restriction_is_read_and_the_via_way_one_is_left_out(tagged):
    city, report = tagged
    (row,) = city.turn_restrictions.itertuples()
    seg = city.walk_segments.set_index("segment_id")
    via = _walk_node(city, 2)
    assert (row.via_node, row.restriction, row.osm_id) == (via, "no_left_turn", 100)
    assert (
        seg.loc[row.from_segment, "osm_way_id"] == 10 and seg.loc[row.from_segment, "head"] == via
    )
    assert seg.loc[row.to_segment, "osm_way_id"] == 11
    assert via in (seg.loc[row.to_segment, "tail"], seg.loc[row.to_segment, "head"])
    assert (report.figures["turn_restrictions"], report.figures["turn_restrictions_left_out"]) == (
        1,
        1,
    )


def test_the_drive_network_keeps_the_one_ways_and_the_ban(tagged, tmp_path):
    city, _ = tagged
    city = read_city(write_city(city, tmp_path / "tagged"))  # the layer survives the format
    net = build_drive_network(
        city.walk_nodes, city.walk_segments, turn_restrictions=city.turn_restrictions
    )
    free = build_drive_network(city.walk_nodes, city.walk_segments)
    drive = net.drive_id_of_walk(len(city.walk_nodes))
    one, three, four, five = (drive[_walk_node(city, i)] for i in (1, 3, 4, 5))
    assert drive_route(free, one, four) != []  # without the ban: left at the signals
    assert drive_route(net, one, four) == []  # banned, and no way round on these streets
    assert drive_route(net, one, three) != []  # straight on is allowed
    assert drive_route(net, three, one) == []  # against the one-way primary
    assert drive_route(net, one, five) == []  # the southern street is one-way towards 2
    route = drive_route(net, five, four)  # from the south, across the junction, north
    assert route != [] and int(net.edge_head[route[-1]]) == four
    assert np.all(free.edge_speed_kmh[free.edge_speed_kmh > 0] <= 60.0)


def test_without_relations_there_is_no_ban(tmp_path):
    path = tmp_path / "plain.osm"
    path.write_text(_xml(restrictions=False))
    with pytest.warns(FlatTerrainWarning):
        city, report = build_city(ImportOptions(osm=path, name="plain"))
    assert len(city.turn_restrictions) == 0 and report.figures["turn_restrictions"] == 0


def test_a_city_without_schools_gets_a_clear_error_not_a_key_error(tagged):
    from shancheng.errors import InputError
    from shancheng.mobility.bottlenecks import analyse_bottlenecks

    city, _ = tagged
    with pytest.raises(InputError, match="no school of the categories .* no school zones"):
        analyse_bottlenecks(city)
