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
from tests.conftest import arcs_network

from shancheng.network.search import NO_SOURCE, count_within, nearest_times, reach

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def graphs(draw, *, integer: bool):
    n = draw(st.integers(1, 25))
    node = st.integers(0, n - 1)
    weight = (
        st.integers(0, 30).map(float)
        if integer
        else st.one_of(st.just(0.0), st.floats(0.0, 50.0, allow_nan=False))
    )
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
    result = nearest_times(
        net,
        sources,
        offsets_s=offsets,
        cutoff_s=cutoff,
        direction=direction,
        time_step_s=time_step_s,
    )
    expected, _ = oracle_nearest(
        n, arcs, sources, offsets, cutoff, reverse=direction == "to_sources"
    )
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
    thresholds = sorted(
        data.draw(st.lists(st.integers(0, 80).map(float), min_size=1, max_size=3, unique=True))
    )
    capacity = data.draw(
        st.lists(st.integers(1, 90).map(float), min_size=len(sources), max_size=len(sources))
    )
    step = data.draw(st.sampled_from([None, 1.0]))
    # two threads cut the group in two parts: the first writes every row, the second adds to
    # the rows it reached, which it tells by their count bins (with or without a capacity)
    threads = data.draw(st.sampled_from([1, 2]))
    weighted = data.draw(st.booleans())
    net = arcs_network(n, arcs)
    within = count_within(
        net,
        sources,
        offsets_s=offsets,
        capacity=capacity if weighted else None,
        thresholds_s=thresholds,
        time_step_s=step,
        threads=threads,
    )
    count, amount = brute_force_counts(
        n,
        arcs,
        sources,
        offsets,
        capacity if weighted else [1.0] * len(sources),
        thresholds,
        reverse=True,
    )
    assert np.array_equal(within.count[0], count)
    np.testing.assert_allclose(within.capacity[0], amount)


@st.composite
def tied_graphs(draw):
    """Many sources and short whole-second arcs and offsets: many ties, exact in floats too."""
    n = draw(st.integers(4, 25))
    node = st.integers(0, n - 1)
    short = st.integers(0, 4).map(float)
    arcs = draw(st.lists(st.tuples(node, node, short), min_size=n, max_size=4 * n))
    sources = draw(st.lists(node, min_size=2, max_size=n))
    offsets = draw(st.lists(short, min_size=len(sources), max_size=len(sources)))
    return n, arcs, sources, offsets, draw(st.sampled_from([3.0, 20.0, 1e9]))


def oracle_nearest_source(n, arcs, sources, offsets, cutoff, *, reverse):
    """The documented tie rule by brute force: smallest (time, offset, position given)."""
    g = oracle_graph(n, arcs, reverse=reverse)
    best = [(np.inf, 0.0, NO_SOURCE)] * n
    for i, (s, off) in enumerate(zip(sources, offsets)):
        for v, d in nx.single_source_dijkstra_path_length(g, s).items():
            if off + d <= cutoff:
                best[v] = min(best[v], (off + d, off, i))
    return np.array([b[0] for b in best]), np.array([b[2] for b in best])


@SETTINGS
@given(tied_graphs(), st.sampled_from(["to_sources", "from_sources"]), st.sampled_from([None, 1.0]))
def test_nearest_ties_follow_the_documented_rule(case, direction, time_step_s):
    n, arcs, sources, offsets, cutoff = case
    net = arcs_network(n, arcs)
    result = nearest_times(
        net,
        sources,
        offsets_s=offsets,
        cutoff_s=cutoff,
        direction=direction,
        time_step_s=time_step_s,
    )
    time_s, source = oracle_nearest_source(
        n, arcs, sources, offsets, cutoff, reverse=direction == "to_sources"
    )
    assert np.array_equal(result.time_s[0], time_s)
    assert np.array_equal(result.source[0], source)


@st.composite
def joint_requests(draw):
    """A graph (tie-prone whole seconds, or floats), sources in up to 3 of 4 groups,
    thresholds, capacities, labels and a time step."""
    integer = draw(st.booleans())
    n, arcs, sources, offsets, _ = draw(tied_graphs() if integer else graphs(integer=False))
    k = len(sources)
    groups = draw(st.lists(st.integers(0, 2), min_size=k, max_size=k))
    thresholds = draw(
        st.lists(
            st.sampled_from([0.0, 3.0, 7.5, 20.0, 45.0, 200.0]), min_size=1, max_size=3, unique=True
        )
    )
    capacity = draw(st.lists(st.integers(0, 90).map(float), min_size=k, max_size=k))
    labels = draw(st.permutations(range(100, 100 + k)))
    step = draw(st.sampled_from([None, 1.0] if integer else [None, 1.0, 0.7]))
    cutoff = draw(st.sampled_from([None, 0.0, 5.0, 30.0, 1e4]))
    return n, arcs, sources, offsets, groups, thresholds, capacity, labels, step, cutoff


@SETTINGS
@given(joint_requests(), st.sampled_from(["to_sources", "from_sources"]), st.sampled_from([1, 2]))
def test_reach_equals_nearest_times_and_count_within(request, direction, threads):
    # threads=2 splits a group holding more than a quarter of the sources in two parts,
    # whose nearest arrays are min-merged; a cutoff beyond the thresholds continues the
    # nearest search, one below them cuts it
    n, arcs, sources, offsets, groups, thresholds, capacity, labels, step, cutoff = request
    net = arcs_network(n, arcs)
    common = {
        "offsets_s": offsets,
        "group": groups,
        "n_groups": 4,
        "direction": direction,
        "time_step_s": step,
        "threads": threads,
    }
    both = reach(
        net,
        sources,
        thresholds_s=thresholds,
        capacity=capacity,
        labels=labels,
        cutoff_s=cutoff,
        **common,
    )
    near = nearest_times(
        net,
        sources,
        cutoff_s=max(thresholds) if cutoff is None else cutoff,
        labels=labels,
        **common,
    )
    within = count_within(net, sources, thresholds_s=thresholds, capacity=capacity, **common)
    assert np.array_equal(both.nearest.time_s, near.time_s)
    assert np.array_equal(both.nearest.source, near.source)
    assert np.array_equal(both.within.count, within.count)
    assert np.array_equal(both.within.capacity, within.capacity)
    assert np.array_equal(both.within.thresholds_s, within.thresholds_s)
    assert np.array_equal(both.nearest.settled, np.isfinite(near.time_s).sum(axis=1))
    assert np.array_equal(both.within.settled, within.settled)
