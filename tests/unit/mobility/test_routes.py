"""Pupils' routes are networkx's shortest paths on the same slope-aware walk graph."""

from __future__ import annotations

import networkx as nx
import numpy as np

from shancheng.mobility.routes import routes_to_schools


def test_routes_equal_networkx_shortest_paths(small_city):
    net = small_city.network
    G = nx.DiGraph()
    for u, v, t in zip(net.edge_tail, net.edge_head, net.edge_time_s, strict=True):
        if not G.has_edge(u, v) or G[u][v]["t"] > t:
            G.add_edge(int(u), int(v), t=float(max(t, 1e-6)))
    schools = np.array([10, 500, 900])
    tree = routes_to_schools(net, schools)
    rng = np.random.default_rng(0)
    for home in rng.choice(net.n_nodes, 40, replace=False):
        times = {s: nx.shortest_path_length(G, int(home), int(s), weight="t") for s in schools}
        best = min(times, key=times.get)
        assert tree.time_s[home] == np.float64(times[best]) or np.isclose(
            tree.time_s[home], times[best], rtol=1e-9
        )
        assert schools[tree.school[home]] == best
        assert tree.route(int(home)) == nx.shortest_path(G, int(home), int(best), weight="t")


def test_flows_add_up_along_the_tree(plus):
    city = plus()
    tree = routes_to_schools(city.network, np.array([4]))
    pupils = np.zeros(7)
    pupils[0] = 30.0
    flow = tree.flows(pupils)
    assert tree.route(0) == [0, 1, 2, 3, 4]
    assert flow[[0, 1, 2, 3, 4]].tolist() == [30.0] * 5
