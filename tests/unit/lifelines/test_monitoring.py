from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from shancheng.data.demo import DemoConfig, generate_demo_city
from shancheng.errors import ConfigError
from shancheng.lifelines.isolation import segment_network
from shancheng.lifelines.monitoring import (
    cell_density,
    compute_coverage,
    place_sensors,
    sensor_nodes_of,
    watched_links,
)
from shancheng.lifelines.pipes import from_city
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
