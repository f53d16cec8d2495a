"""Sampled betweenness: exact equals networkx; sampled stays within its stated error bound."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from shancheng.errors import ConfigError
from shancheng.mobility._brandes import brandes_from_sources, brandes_turns_from_sources
from shancheng.mobility.centrality import (
    allowed_turns,
    reach_bounds,
    sampled_betweenness,
    through_movement,
)
from shancheng.mobility.drive import build_drive_network, drive_route


def _csr(G, n):
    edges = sorted(G.edges)
    tail = np.array([e[0] for e in edges], dtype=np.int64)
    head = np.array([e[1] for e in edges], dtype=np.int64)
    weight = np.array([G[u][v]["w"] for u, v in edges], dtype=np.float64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=indptr[1:])
    return edges, indptr, head, weight


def _random_graph(n, m, seed):
    G = nx.gnm_random_graph(n, m, seed=seed, directed=True)
    rng = np.random.default_rng(seed)
    for u, v in G.edges:
        G[u][v]["w"] = float(rng.integers(1, 5))  # integer weights: many tied routes
    return G


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_exact_betweenness_equals_networkx(seed):
    G = _random_graph(40, 120, seed)
    edges, indptr, head, weight = _csr(G, 40)
    b = sampled_betweenness(indptr, head, weight, scales_m=[math.inf])
    assert b.exact and b.error_bound == 0
    nodes = nx.betweenness_centrality(G, weight="w", normalized=False)
    arcs = nx.edge_betweenness_centrality(G, weight="w", normalized=False)
    np.testing.assert_allclose(b.node[0], [nodes[v] for v in range(40)], atol=1e-9)
    np.testing.assert_allclose(b.arc[0], [arcs[e] for e in edges], atol=1e-9)


def _cutoff_oracle(G, n, cutoff):
    """Brute force from networkx: pairs within ``cutoff`` and their shortest paths."""
    out = np.zeros(n)
    for s in range(n):
        lengths = nx.single_source_dijkstra_path_length(G, s, weight="w")
        for t, d in lengths.items():
            if t == s or d > cutoff:
                continue
            paths = list(nx.all_shortest_paths(G, s, t, weight="w"))
            for path in paths:
                for v in path[1:-1]:
                    out[v] += 1 / len(paths)
    return out


def test_cutoffs_count_only_pairs_within_the_distance():
    G = _random_graph(25, 70, 7)
    _, indptr, head, weight = _csr(G, 25)
    b = sampled_betweenness(indptr, head, weight, scales_m=[3.0, 6.0, math.inf])
    for k, cutoff in enumerate((3.0, 6.0, math.inf)):
        np.testing.assert_allclose(b.node[k], _cutoff_oracle(G, 25, cutoff), atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(st.integers(8, 40), st.integers(0, 10_000), st.integers(2, 30))
def test_sampled_betweenness_within_its_error_bound(n, seed, samples):
    G = _random_graph(n, 3 * n, seed)
    edges, indptr, head, weight = _csr(G, n)
    exact = sampled_betweenness(indptr, head, weight, scales_m=[math.inf])
    est = sampled_betweenness(
        indptr, head, weight, scales_m=[math.inf], samples=samples, seed=seed, delta=0.01
    )
    assert est.samples == min(samples, n)
    assert np.abs(est.node - exact.node).max() <= est.error_bound + 1e-9
    assert np.abs(est.arc - exact.arc).max() <= est.error_bound + 1e-9


def test_bad_scales_are_refused():
    with pytest.raises(ConfigError, match="scales_m"):
        sampled_betweenness(
            np.array([0, 0]), np.array([], dtype=np.int64), np.array([]), scales_m=[-1.0]
        )


def test_through_movement_per_junction_and_piece(small_city):
    drive = build_drive_network(small_city.walk_nodes, small_city.walk_segments)
    junctions, pieces, b = through_movement(drive, samples=None)
    assert b.exact
    assert list(junctions.columns) == [
        "walk_node_id",
        "betweenness_2km",
        "betweenness_5km",
        "betweenness_10km",
    ]
    # a wider scale counts a superset of pairs
    assert (junctions["betweenness_10km"] >= junctions["betweenness_2km"] - 1e-9).all()
    assert pieces["segment_id"].is_unique


def _turn_oracle(G, edges, banned, n, cutoff):
    """Brute force on networkx's own arc graph: every shortest route of every pair, counted.

    States are ("S", s) sources, ("A", a) arcs and ("T", t) arrivals; a turn a -> b is an edge
    unless banned. A route passes a junction each time it leaves it again (not at its source).
    """
    H = nx.DiGraph()
    head = [e[1] for e in edges]
    for a, (u, v) in enumerate(edges):
        H.add_edge(("S", u), ("A", a), w=G[u][v]["w"])
        H.add_edge(("A", a), ("T", v), w=0.0)
        for b, (u2, v2) in enumerate(edges):
            if u2 == v and (a, b) not in banned:
                H.add_edge(("A", a), ("A", b), w=G[u2][v2]["w"])
    node, arc = np.zeros(n), np.zeros(len(edges))
    for s in range(n):
        if ("S", s) not in H:
            continue
        lengths = nx.single_source_dijkstra_path_length(H, ("S", s), weight="w")
        for t in range(n):
            if t == s or ("T", t) not in lengths or lengths[("T", t)] > cutoff:
                continue
            paths = list(nx.all_shortest_paths(H, ("S", s), ("T", t), weight="w"))
            for path in paths:
                route = [x[1] for x in path[1:-1]]
                for a in route:
                    arc[a] += 1 / len(paths)
                for a in route[:-1]:
                    if head[a] != s:
                        node[head[a]] += 1 / len(paths)
    return node, arc


@settings(max_examples=20, deadline=None)
@given(st.integers(5, 14), st.integers(0, 10_000), st.floats(0.0, 0.5))
def test_turn_restricted_betweenness_equals_brute_force(n, seed, share):
    G = _random_graph(n, 3 * n, seed)
    edges, indptr, head, weight = _csr(G, n)
    rng = np.random.default_rng(seed)
    turns = [(a, b) for a, (_, v) in enumerate(edges) for b, e in enumerate(edges) if e[0] == v]
    banned = [t for t in turns if rng.random() < share]
    cut = [4.0, math.inf]
    b = sampled_betweenness(
        indptr,
        head,
        weight,
        scales_m=cut,
        banned_turns=np.array(banned, dtype=np.int64).reshape(-1, 2),
    )
    assert b.exact and b.turn_restricted == bool(banned)
    for k, cutoff in enumerate(cut):
        node, arc = _turn_oracle(G, edges, set(banned), n, cutoff)
        np.testing.assert_allclose(b.node[k], node, atol=1e-9)
        np.testing.assert_allclose(b.arc[k], arc, atol=1e-9)


@pytest.mark.parametrize("seed", [4, 5])
def test_arc_graph_search_without_bans_equals_the_junction_graph(seed):
    G = _random_graph(40, 120, seed)
    _, indptr, head, weight = _csr(G, 40)
    succ_ptr, succ = allowed_turns(indptr, head, np.zeros((0, 2), dtype=np.int64))
    cutoffs = np.array([3.0, 6.0, math.inf])
    sources = np.arange(40, dtype=np.int64)
    on_arcs = brandes_turns_from_sources(indptr, head, weight, succ_ptr, succ, sources, cutoffs)
    on_nodes = brandes_from_sources(indptr, head, weight, sources, cutoffs)
    np.testing.assert_allclose(on_arcs[0], on_nodes[0], atol=1e-9)
    np.testing.assert_allclose(on_arcs[1], on_nodes[1], atol=1e-9)


def _geometric_graph(n, seed):
    """Random points joined to their 3 nearest neighbours both ways, arcs as long as chords
    times a detour factor in [1, 1.5] (never shorter than the straight line)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1000, size=(n, 2))
    tree = cKDTree(xy)
    _, near = tree.query(xy, k=4)
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    for u in range(n):
        for v in near[u, 1:]:
            d = float(np.hypot(*(xy[u] - xy[v]))) * float(rng.uniform(1.0, 1.5))
            G.add_edge(u, int(v), w=d)
            G.add_edge(int(v), u, w=d)
    return G, xy


@settings(max_examples=20, deadline=None)
@given(st.integers(30, 80), st.integers(0, 10_000), st.integers(2, 20))
def test_sampled_betweenness_within_the_disc_bound(n, seed, samples):
    G, xy = _geometric_graph(n, seed)
    edges, indptr, head, weight = _csr(G, n)
    tail = np.repeat(np.arange(n), np.diff(indptr))
    scales = [150.0, 400.0]
    reach = reach_bounds(xy[:, 0], xy[:, 1], weight, tail, head, scales)
    assert reach is not None and all(1 <= r <= n for r in reach)
    exact = sampled_betweenness(indptr, head, weight, scales_m=scales)
    est = sampled_betweenness(indptr, head, weight, scales_m=scales, samples=samples,
                              seed=seed, delta=0.01, reach=reach)  # fmt: skip
    loose = sampled_betweenness(indptr, head, weight, scales_m=scales, samples=samples,
                                seed=seed, delta=0.01)  # fmt: skip
    for k in range(len(scales)):
        assert est.error_bounds[k] <= loose.error_bounds[k]
        assert np.abs(est.node[k] - exact.node[k]).max() <= est.error_bounds[k] + 1e-9
        assert np.abs(est.arc[k] - exact.arc[k]).max() <= est.error_bounds[k] + 1e-9
    # the disc count really bounds what a source reaches within the cutoff
    for k, cutoff in enumerate(scales):
        for s in range(0, n, 7):
            within = nx.single_source_dijkstra_path_length(G, s, cutoff=cutoff, weight="w")
            assert len(within) <= reach[k]


def test_reach_bound_is_refused_when_an_arc_is_shorter_than_its_chord():
    x, y = np.array([0.0, 100.0]), np.array([0.0, 0.0])
    tail, head = np.array([0, 1]), np.array([1, 0])
    assert reach_bounds(x, y, np.array([100.0, 100.0]), tail, head, [50.0]) == [1]
    assert reach_bounds(x, y, np.array([100.0, 90.0]), tail, head, [50.0]) is None


def test_a_banned_turn_sends_through_movement_round_the_block():
    """A main road 0-1-2, side streets 1-3 and 2-4 joined by 3-4 (150 m), both ways.

    From 0 to 3 cars turn right at 1; with that turn banned they go on to 2, down to 4 and
    back to 3 (the U-turn at 2 is banned too: with it, 0-1-2-1-3 is shorter and passes 1
    twice). No other route uses either turn and no route ties, so exactly one pair moves:
    2 and 4 each carry one more pair, 1 carries it still (straight on), 3 is its target.
    """
    nodes = pd.DataFrame({"x_utm": [0.0, 100.0, 200.0, 100.0, 200.0],
                          "y_utm": [0.0, 0.0, 0.0, 100.0, 100.0]})  # fmt: skip
    pairs = [(0, 1), (1, 2), (1, 3), (2, 4), (3, 4)]
    segs = pd.DataFrame({"tail": [p[0] for p in pairs], "head": [p[1] for p in pairs],
                         "length_m": [100.0, 100.0, 100.0, 100.0, 150.0], "kind": 0,
                         "road_class": "primary"})  # fmt: skip
    free = build_drive_network(nodes, segs)
    rules = pd.DataFrame({"from_segment": [0, 1], "via_node": [1, 2], "to_segment": [2, 1],
                          "restriction": ["no_right_turn", "no_u_turn"]})  # fmt: skip
    banned = build_drive_network(nodes, segs, turn_restrictions=rules)
    j_free, _, b_free = through_movement(free, samples=None, scales_m=[math.inf])
    j_ban, _, b_ban = through_movement(banned, samples=None, scales_m=[math.inf])
    assert not b_free.turn_restricted and b_ban.turn_restricted
    free_at = j_free.set_index("walk_node_id")["betweenness_all"]
    ban_at = j_ban.set_index("walk_node_id")["betweenness_all"]
    np.testing.assert_allclose((ban_at - free_at).to_numpy(), [0.0, 0.0, 1.0, 0.0, 1.0])
    route = drive_route(banned, 0, 3, weight="length")
    assert [int(banned.edge_head[a]) for a in route] == [1, 2, 4, 3]
    # only the right turn banned: the U-turn at 2 wins and the route passes 1 twice
    u_turn = build_drive_network(nodes, segs, turn_restrictions=rules.iloc[:1])
    j_u, _, _ = through_movement(u_turn, samples=None, scales_m=[math.inf])
    u_at = j_u.set_index("walk_node_id")["betweenness_all"]
    np.testing.assert_allclose((u_at - free_at).to_numpy(), [0.0, 1.0, 1.0, 0.0, 0.0])
    assert [int(u_turn.edge_head[a]) for a in drive_route(u_turn, 0, 3, weight="length")] == [
        1, 2, 1, 3]  # fmt: skip
