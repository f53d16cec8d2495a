"""Sampled betweenness: exact equals networkx; sampled stays within its stated error bound."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shancheng.errors import ConfigError
from shancheng.mobility.centrality import sampled_betweenness, through_movement
from shancheng.mobility.drive import build_drive_network


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
