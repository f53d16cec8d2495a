from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from shancheng.data.demo import DemoConfig, generate_demo_city
from shancheng.errors import ConfigError
from shancheng.lifelines.monitoring import (
    cell_density,
    compute_coverage,
    place_sensors,
    sensor_nodes_of,
    watched_links,
)
from shancheng.lifelines.pipes import PipeNetwork, build_network, from_city
from shancheng.lifelines.segments import segment_network
from shancheng.lifelines.sensors import sensors_from_city


def _links(net, mask):
    return sorted(net.links["link_id"][mask])


def test_sensor_watches_its_segment_and_its_radius_by_hand(tree):
    seg = segment_network(tree)
    c2 = np.array([6])  # node C2
    assert _links(tree, watched_links(tree, seg, c2, radius_m=5)) == ["p3", "s2"]
    assert _links(tree, watched_links(tree, seg, c2, radius_m=160)) == ["p2", "p3", "s1", "s2"]


def test_greedy_placement_by_hand(tree):
    target = tree.links["kind"].to_numpy() == "pipe"
    none = np.zeros(tree.n_links, dtype=bool)
    placed = place_sensors(tree, target, none, radius_m=0)
    # J1 watches p1 (its segment) + p1, p2, p4 (touching): 380 m; then p3 (150 m) from J2
    assert placed["node_id"].tolist() == ["J1", "J2"]
    assert placed["gain_m"].tolist() == [380.0, 150.0]
    assert placed["share"].tolist()[-1] == 1.0


@pytest.fixture(scope="module")
def city():
    return generate_demo_city(DemoConfig.small())


def test_density_counts_every_resident(city):
    area_km2 = city.grid.cell_size_m**2 / 1e6
    assert cell_density(city).sum() * area_km2 == pytest.approx(city.buildings["population"].sum())


def test_coverage_adds_up_and_greedy_reaches_everything(city):
    net = from_city(city, "gas")
    sensors = list(sensors_from_city(city).values())
    cov = compute_coverage(city, net, sensors, threshold_per_km2=10_000, radius_m=200)
    length = net.links["length_m"].to_numpy()
    assert cov.dense_length_m == pytest.approx(length[cov.dense].sum())
    assert 0 < cov.share < 1
    assert cov.by_district["dense_length_m"].sum() == pytest.approx(cov.dense_length_m)
    assert cov.by_street["watched_length_m"].sum() == pytest.approx(cov.watched_length_m)
    placed = place_sensors(net, cov.dense, cov.watched, radius_m=200)
    assert placed["share"].iloc[-1] == pytest.approx(1.0)
    assert placed["gain_m"].is_monotonic_decreasing  # lazy greedy takes the best first
    # oracle: networkx distances from every sensor (old and new) reach every dense link
    seg = segment_network(net)
    g = nx.Graph()
    for a, b, w in zip(net.tail, net.head, np.maximum(length, 0.01), strict=True):
        g.add_edge(int(a), int(b), weight=float(w))
    rows = net.nodes.reset_index().set_index("node_id").loc[placed["node_id"], "index"]
    sites = set(sensor_nodes_of(net, [s for s in sensors if s.network == "gas"]).tolist())
    sites |= set(rows.tolist())
    dist = nx.multi_source_dijkstra_path_length(g, sites, cutoff=200)
    watched_segments = {int(seg.node_segment[s]) for s in sites}
    for link in np.flatnonzero(cov.dense):
        near = min(dist.get(int(net.tail[link]), np.inf), dist.get(int(net.head[link]), np.inf))
        assert near <= 200 or int(seg.link_segment[link]) in watched_segments, link


def test_negative_radius_is_refused(city):
    net = from_city(city, "water")
    with pytest.raises(ConfigError, match="radius_m"):
        compute_coverage(city, net, [], radius_m=-1)


def _valved_path() -> PipeNetwork:
    """A-B-C-D-E with p1 10 m, p2 and p3 20 m, p4 10 m; a valve at both ends of every pipe.

    With radius 0 a sensor watches exactly the pipes touching its node, so placement is a
    weighted vertex cover. Greedy takes C first (p2 + p3 = 40 m, more than B or D's 30 m) and
    then still needs one node for p1 and one for p4: 3 sensors. B and D watch all: 2.
    """
    nodes = pd.DataFrame(
        [(n, "junction", 10.0 * i, 0.0, 0) for i, n in enumerate("ABCDE")],
        columns=["node_id", "kind", "x", "y", "population"],
    )
    links = pd.DataFrame(
        [
            ("p1", "pipe", "A", "B", 10.0),
            ("p2", "pipe", "B", "C", 20.0),
            ("p3", "pipe", "C", "D", 20.0),
            ("p4", "pipe", "D", "E", 10.0),
        ],
        columns=["link_id", "kind", "from_node", "to_node", "length_m"],
    )
    valves = pd.DataFrame(
        [
            (f"v{link}{node}", link, node)
            for link, a, b in zip(
                links["link_id"], links["from_node"], links["to_node"], strict=True
            )
            for node in (a, b)
        ],
        columns=["valve_id", "link_id", "node_id"],
    )
    return build_network("water", nodes, links, valves, source="path")


def test_exact_placement_beats_greedy_by_hand():
    net = _valved_path()
    target = np.ones(net.n_links, dtype=bool)
    none = np.zeros(net.n_links, dtype=bool)
    greedy = place_sensors(net, target, none, radius_m=0, method="greedy")
    assert greedy["node_id"].tolist()[0] == "C"
    assert len(greedy) == 3
    exact = place_sensors(net, target, none, radius_m=0, method="exact")
    assert sorted(exact["node_id"]) == ["B", "D"]
    assert exact["gain_m"].tolist() == [30.0, 30.0]
    assert exact["share"].iloc[-1] == 1.0
    assert exact.attrs == {"method": "exact", "greedy_sensors": 3, "lower_bound": 2.0}
    auto = place_sensors(net, target, none, radius_m=0)
    assert sorted(auto["node_id"]) == ["B", "D"]


def test_exact_placement_is_never_worse_than_greedy_on_the_demo_city(city):
    net = from_city(city, "gas")
    sensors = list(sensors_from_city(city).values())
    cov = compute_coverage(city, net, sensors, threshold_per_km2=10_000, radius_m=200)
    greedy = place_sensors(net, cov.dense, cov.watched, radius_m=200, method="greedy")
    exact = place_sensors(net, cov.dense, cov.watched, radius_m=200)
    assert exact["share"].iloc[-1] == pytest.approx(1.0)
    assert exact.attrs["lower_bound"] <= len(exact) <= len(greedy)
    assert exact.attrs["greedy_sensors"] == len(greedy)
