"""The search layout: Hilbert renumbering, packed arcs, and results mapped back to the caller's ids."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from shancheng.network._layout import locality_order, pack_arcs, renumbered, search_graph
from shancheng.network._runner import Workspace, split_units
from shancheng.network.search import NO_SOURCE, count_within, nearest_times
from shancheng.network.walk import build_walk_network


def test_hilbert_order_walks_the_grid_one_step_at_a_time():
    side = 16
    row, col = np.divmod(np.arange(side * side), side)
    rng = np.random.default_rng(0)
    shuffle = rng.permutation(side * side)  # the order must not depend on input order
    x, y = col[shuffle].astype(float), row[shuffle].astype(float)
    order = locality_order(x, y)
    assert np.array_equal(np.sort(order), np.arange(side * side))
    steps = np.abs(np.diff(x[order])) + np.abs(np.diff(y[order]))
    assert np.all(steps == 1)  # a Hilbert curve moves to a grid neighbour at every step


def test_without_coordinates_the_order_is_the_identity():
    assert locality_order(np.zeros(5), np.zeros(5)).tolist() == [0, 1, 2, 3, 4]
    assert locality_order(np.zeros(0), np.zeros(0)).shape == (0,)


def test_renumbered_layout_holds_the_same_arcs():
    rng = np.random.default_rng(1)
    n, m = 50, 200
    tails, heads = rng.integers(0, n, m), rng.integers(0, n, m)
    times = rng.uniform(0, 30, m)
    order = rng.permutation(n)
    layout = renumbered(tails, heads, times, order)
    assert np.array_equal(layout.order[layout.rank], np.arange(n))
    new_tails = np.repeat(np.arange(n), np.diff(layout.indptr))
    got = sorted(
        zip(order[new_tails].tolist(), order[layout.heads].tolist(), layout.time_s.tolist())
    )
    assert got == sorted(zip(tails.tolist(), heads.tolist(), times.tolist()))


@pytest.mark.parametrize(
    ("n_nodes", "longest", "dtype"), [(1000, 900, np.uint32), (5000, 1_000_000, np.uint64)]
)
def test_packed_arcs_unpack_to_heads_and_weights(n_nodes, longest, dtype):
    rng = np.random.default_rng(2)
    heads = rng.integers(0, n_nodes, 300).astype(np.int32)
    weights = rng.integers(0, longest + 1, 300).astype(np.float64)
    weights[0] = longest
    packed = pack_arcs(heads, weights, n_nodes)
    assert packed.arcs.dtype == dtype
    assert np.array_equal(packed.arcs >> dtype(packed.weight_bits), heads)
    assert np.array_equal(packed.arcs & dtype((1 << packed.weight_bits) - 1), weights)
    assert packed.n_buckets > longest
    assert packed.n_buckets & (packed.n_buckets - 1) == 0  # a power of two


def random_plane_network(seed, n=400, m=1200):
    """Nodes scattered in the plane (so the Hilbert order shuffles them), random one-way arcs.

    No parallel arcs: scipy's sparse matrix would add their times up.
    """
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 5000, n), rng.uniform(0, 5000, n)
    pairs = np.unique(rng.integers(0, n, (m, 2)), axis=0)
    tails, heads = pairs[:, 0], pairs[:, 1]
    m = tails.shape[0]
    seconds = rng.integers(1, 120, m).astype(float)
    net = build_walk_network(
        x,
        y,
        None,
        tails,
        heads,
        np.ones(m),
        np.zeros(m, np.int64),
        oneway=np.ones(m, bool),
        fixed_time_s=seconds,
    )
    matrix = sp.csr_matrix((seconds, (tails, heads)), shape=(n, n))
    return net, matrix, rng


@pytest.mark.parametrize("time_step_s", [None, 1.0])
def test_results_come_back_in_the_networks_own_ids(time_step_s):
    net, matrix, rng = random_plane_network(3)
    assert not np.array_equal(search_graph(net, "from_sources").order, np.arange(net.n_nodes))
    sources = rng.choice(net.n_nodes, 12, replace=False)
    result = nearest_times(
        net,
        sources,
        cutoff_s=400,
        direction="from_sources",
        labels=np.arange(12) + 100,
        time_step_s=time_step_s,
    )
    full = dijkstra(matrix, indices=sources, limit=400)
    expected = full.min(axis=0)
    assert np.array_equal(result.time_s[0], expected)
    reached = np.isfinite(expected)
    winner = result.source[0, reached] - 100
    assert np.array_equal(full[winner, np.flatnonzero(reached)], expected[reached])
    assert np.all(result.source[0, ~reached] == NO_SOURCE)
    within = count_within(
        net,
        sources,
        thresholds_s=[150, 400],
        direction="from_sources",
        capacity=np.arange(12) + 1.0,
        time_step_s=time_step_s,
    )
    assert np.array_equal(within.count[0, :, 0], (full <= 150).sum(axis=0))
    assert np.array_equal(within.count[0, :, 1], (full <= 400).sum(axis=0))
    assert np.array_equal(within.capacity[0, :, 1], (np.arange(12) + 1.0) @ (full <= 400))


def test_arcs_too_long_for_32_bit_words_search_on_64_bit_words():
    n = 5000  # 13 bits of node id + 21 bits of weight do not fit in 32
    tails, heads = np.arange(n - 1), np.arange(1, n)
    seconds = np.ones(n - 1)
    seconds[10] = 1_000_000.0
    net = build_walk_network(
        np.arange(n, dtype=float),
        np.zeros(n),
        None,
        tails,
        heads,
        np.ones(n - 1),
        np.zeros(n - 1, np.int64),
        oneway=np.ones(n - 1, bool),
        fixed_time_s=seconds,
    )
    assert search_graph(net, "from_sources").packed(1.0).arcs.dtype == np.uint64
    result = nearest_times(net, [0], cutoff_s=2_000_000, direction="from_sources", time_step_s=1.0)
    expected = np.concatenate([np.arange(11.0), 1_000_010.0 + np.arange(n - 11)])
    assert np.array_equal(result.time_s[0], expected)


def test_counts_without_capacity_equal_counts_with_unit_capacity():
    net, _, rng = random_plane_network(4)
    sources = rng.integers(0, net.n_nodes, 30)
    plain = count_within(net, sources, thresholds_s=[100, 300], time_step_s=1.0)
    ones = count_within(
        net, sources, thresholds_s=[100, 300], time_step_s=1.0, capacity=np.ones(30)
    )
    assert np.array_equal(plain.count, ones.count)
    assert np.array_equal(plain.capacity, ones.capacity)
    assert np.array_equal(plain.capacity, plain.count.astype(float))


def test_dominant_group_is_split_and_units_run_largest_first():
    group_ptr = np.array([0, 70, 80, 100])  # group 0 holds 70 % of the sources
    units = split_units(group_ptr, workers=2)
    sizes = [hi - lo for _, lo, hi in units]
    assert sizes == sorted(sizes, reverse=True)
    assert [u for u in units if u[0] == 0] == [(0, 0, 35), (0, 35, 70)]
    covered = sorted((lo, hi) for _, lo, hi in units)
    assert covered == [(0, 35), (35, 70), (70, 80), (80, 100)]
    assert split_units(group_ptr, workers=1) == [(0, 0, 70), (2, 80, 100), (1, 70, 80)]


def test_counts_write_every_group_and_reused_bins_start_empty():
    net, matrix, rng = random_plane_network(5)
    sources = rng.choice(net.n_nodes, 40, replace=False)
    group = np.where(np.arange(40) < 30, 1, 3)  # groups 0, 2 and 4 have no sources
    full = dijkstra(matrix, indices=sources, limit=500)
    for threads in (1, 2, 2):  # same network: the threads' bins are reused across calls
        within = count_within(
            net,
            sources,
            group=group,
            n_groups=5,
            thresholds_s=[200, 500],
            capacity=np.arange(40) + 1.0,
            direction="from_sources",
            time_step_s=1.0,
            threads=threads,
        )
        for g in (0, 2, 4):
            assert not within.count[g].any()
            assert not within.capacity[g].any()
        for g in (1, 3):  # with 2 threads group 1 is cut in two parts that add up
            members = group == g
            assert np.array_equal(within.count[g, :, 0], (full[members] <= 200).sum(axis=0))
            assert np.array_equal(within.count[g, :, 1], (full[members] <= 500).sum(axis=0))
            expected = (np.arange(40) + 1.0)[members] @ (full[members] <= 500)
            assert np.array_equal(within.capacity[g, :, 1], expected)


def test_workspace_clears_bins_that_were_not_handed_back_zeroed():
    work = Workspace()
    bins = work.borrow_filled("bins", (4, 2), np.int32)
    bins[1, 1] = 7  # the user stopped half-way: no returned_filled
    assert not work.borrow_filled("bins", (4, 2), np.int32).any()
    work.returned_filled("bins")
    again = work.borrow_filled("bins", (4, 2), np.int32)
    assert again is bins  # handed back zeroed: reused as it is


def test_workspace_refills_arrays_lent_with_another_value():
    work = Workspace()
    best = work.borrow_filled("best", (3,), np.int64, 99)
    assert best.tolist() == [99, 99, 99]
    best[0] = 1  # not handed back as lent
    assert work.borrow_filled("best", (3,), np.int64, 99).tolist() == [99, 99, 99]
    work.returned_filled("best")
    assert work.borrow_filled("best", (3,), np.int64, 99) is best
