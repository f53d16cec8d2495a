"""The search kernels against networkx on random directed graphs (hypothesis).

Graphs include disconnected parts, zero-time arcs, self-loops and parallel arcs; every search
has a cutoff. networkx's multi-source Dijkstra is the oracle for the nearest search, and a
brute-force count over single-source searches is the oracle for the counts.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shancheng.network.search import NO_SOURCE, count_within, nearest_times
from tests.conftest import arcs_network

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def graphs(draw, *, integer: bool):
    n = draw(st.integers(1, 25))
    node = st.integers(0, n - 1)
    weight = (st.integers(0, 30).map(float) if integer
              else st.one_of(st.just(0.0), st.floats(0.0, 50.0, allow_nan=False)))
    arcs = draw(st.lists(st.tuples(node, node, weight), max_size=4 * n))
    if arcs and draw(st.booleans()):  # force a parallel arc and a self-loop
        u, v, w = arcs[0]
        arcs += [(u, v, w + 1.0), (v, v, 0.0)]
    sources = draw(st.lists(node, min_size=1, max_size=max(1, n // 3)))
    offsets = draw(st.lists(weight, min_size=len(sources), max_size=len(sources)))
    cutoff = draw(st.sampled_from([0.0, 5.0, 20.0, 60.0, 1e9]))
    return n, arcs, sources, offsets, cutoff


def oracle_graph(n, arcs, *, reverse):
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(n))
    for u, v, w in arcs:
        g.add_edge(v, u, weight=w) if reverse else g.add_edge(u, v, weight=w)
    return g


def oracle_nearest(n, arcs, sources, offsets, cutoff, *, reverse):
    """networkx with a super-source joined to each source by an arc of its offset."""
    g = oracle_graph(n, arcs, reverse=reverse)
    for s, off in zip(sources, offsets):
        g.add_edge("super", s, weight=off)
    dist = nx.single_source_dijkstra_path_length(g, "super", cutoff=cutoff)
    return np.array([dist.get(v, np.inf) for v in range(n)]), g


def check_nearest(case, *, direction, time_step_s):
    n, arcs, sources, offsets, cutoff = case
    net = arcs_network(n, arcs)
    result = nearest_times(net, sources, offsets_s=offsets, cutoff_s=cutoff,
                           direction=direction, time_step_s=time_step_s)
    expected, _ = oracle_nearest(n, arcs, sources, offsets, cutoff,
                                 reverse=direction == "to_sources")
    got = result.time_s[0]
    assert np.array_equal(np.isinf(got), np.isinf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(got[finite], expected[finite], atol=1e-6, rtol=0)
    # the reported source really is at that time: a search from it alone agrees
    g = oracle_graph(n, arcs, reverse=direction == "to_sources")
    for v in np.flatnonzero(finite):
        s = int(result.source[0, v])
        assert s != NO_SOURCE
        from_s = nx.single_source_dijkstra_path_length(g, sources[s])
        assert abs(offsets[s] + from_s[int(v)] - got[v]) <= 1e-6
    assert np.all(result.source[0, ~finite] == NO_SOURCE)


@SETTINGS
@given(graphs(integer=False), st.sampled_from(["to_sources", "from_sources"]))
def test_nearest_heap_equals_networkx(case, direction):
    check_nearest(case, direction=direction, time_step_s=None)


@SETTINGS
@given(graphs(integer=True), st.sampled_from(["to_sources", "from_sources"]))
def test_nearest_buckets_equals_networkx_on_integer_times(case, direction):
    check_nearest(case, direction=direction, time_step_s=1.0)


def brute_force_counts(n, arcs, sources, offsets, capacity, thresholds, *, reverse):
    g = oracle_graph(n, arcs, reverse=reverse)
    count = np.zeros((n, len(thresholds)), dtype=np.int64)
    amount = np.zeros((n, len(thresholds)))
    for s, off, cap in zip(sources, offsets, capacity):
        for v, d in nx.single_source_dijkstra_path_length(g, s).items():
            for k, t in enumerate(thresholds):
                if off + d <= t:
                    count[v, k] += 1
                    amount[v, k] += cap
    return count, amount


@SETTINGS
@given(graphs(integer=True), st.data())
def test_counts_equal_brute_force(case, data):
    n, arcs, sources, offsets, _ = case
    thresholds = sorted(data.draw(st.lists(st.integers(0, 80).map(float), min_size=1,
                                           max_size=3, unique=True)))
    capacity = data.draw(st.lists(st.integers(1, 90).map(float), min_size=len(sources),
                                  max_size=len(sources)))
    step = data.draw(st.sampled_from([None, 1.0]))
    net = arcs_network(n, arcs)
    within = count_within(net, sources, offsets_s=offsets, capacity=capacity,
                          thresholds_s=thresholds, time_step_s=step)
    count, amount = brute_force_counts(n, arcs, sources, offsets, capacity, thresholds,
                                       reverse=True)
    assert np.array_equal(within.count[0], count)
    np.testing.assert_allclose(within.capacity[0], amount)
