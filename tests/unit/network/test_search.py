import numpy as np
import pytest
from tests.conftest import arcs_network

from shancheng.errors import InputError
from shancheng.network.search import NO_SOURCE, count_within, nearest_times, reach

# 0 →2→ 1 →3→ 2 →4→ 3 ; 4 isolated; 1 →10→ 3 as a slow shortcut
ARCS = [(0, 1, 2.0), (1, 2, 3.0), (2, 3, 4.0), (1, 3, 10.0)]


@pytest.mark.parametrize("time_step_s", [None, 1.0])
def test_from_sources_hand_computed(time_step_s):
    net = arcs_network(5, ARCS)
    result = nearest_times(
        net, [0], cutoff_s=8.0, direction="from_sources", time_step_s=time_step_s
    )
    assert result.time_s[0].tolist() == [0.0, 2.0, 5.0, np.inf, np.inf]
    assert result.source[0].tolist() == [0, 0, 0, NO_SOURCE, NO_SOURCE]


def test_to_sources_searches_the_reversed_graph():
    net = arcs_network(5, ARCS)
    result = nearest_times(net, [3], cutoff_s=100.0)  # time to walk *to* node 3
    assert result.time_s[0].tolist() == [9.0, 7.0, 4.0, 0.0, np.inf]


def test_offsets_labels_and_groups():
    net = arcs_network(5, ARCS)
    result = nearest_times(
        net,
        [0, 2, 1],
        group=[0, 0, 1],
        offsets_s=[1.0, 0.5, 0.0],
        labels=[70, 71, 72],
        cutoff_s=[100.0, 2.5],
        direction="from_sources",
    )
    assert result.time_s[0].tolist() == [1.0, 3.0, 0.5, 4.5, np.inf]
    assert result.source[0].tolist() == [70, 70, 71, 71, NO_SOURCE]
    assert result.time_s[1].tolist() == [np.inf, 0.0, np.inf, np.inf, np.inf]
    assert result.source[1].tolist() == [NO_SOURCE, 72, NO_SOURCE, NO_SOURCE, NO_SOURCE]


def test_empty_group_reaches_nothing():
    net = arcs_network(3, [(0, 1, 1.0)])
    result = nearest_times(net, [0], group=[1], n_groups=3, cutoff_s=10.0)
    assert np.isinf(result.time_s[0]).all()
    assert np.isinf(result.time_s[2]).all()
    assert result.time_s[1].tolist() == [0.0, np.inf, np.inf]


@pytest.mark.parametrize("time_step_s", [None, 1.0])
def test_counts_and_capacity_within_thresholds(time_step_s):
    net = arcs_network(5, ARCS)
    within = count_within(
        net,
        [0, 1],
        thresholds_s=[2.0, 5.0],
        capacity=[10.0, 4.0],
        direction="from_sources",
        time_step_s=time_step_s,
    )
    # from node 0: 1 at 2, 2 at 5, 3 at 9; from node 1: 2 at 3, 3 at 7
    assert within.count[0].tolist() == [[1, 1], [2, 2], [0, 2], [0, 0], [0, 0]]
    assert within.capacity[0, :, 1].tolist() == [10.0, 14.0, 14.0, 0.0, 0.0]


def test_counts_split_across_workers_equal_single_thread():
    rng = np.random.default_rng(3)
    arcs = [
        (int(a), int(b), float(w))
        for a, b, w in zip(
            rng.integers(0, 60, 300), rng.integers(0, 60, 300), rng.integers(0, 20, 300)
        )
    ]
    net = arcs_network(60, arcs)
    sources = rng.integers(0, 60, 25)
    one = count_within(net, sources, thresholds_s=[10, 30], threads=1)
    two = count_within(net, sources, thresholds_s=[10, 30], threads=2)
    assert np.array_equal(one.count, two.count)
    assert np.array_equal(one.capacity, two.capacity)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"source_nodes": [9]}, "row 0: 9 is not in [0, 5)"),
        ({"source_nodes": [0], "offsets_s": [-1.0]}, "`offsets_s` row 0"),
        ({"source_nodes": [0], "cutoff_s": np.nan}, "`cutoff_s`"),
        ({"source_nodes": [0], "direction": "sideways"}, "`direction`"),
        ({"source_nodes": [0], "time_step_s": 0.0}, "`time_step_s`"),
        ({"source_nodes": [0, 1], "group": [0]}, "`group`"),
    ],
)
def test_bad_requests_are_refused(kwargs, words):
    net = arcs_network(5, ARCS)
    kwargs.setdefault("cutoff_s", 10.0)
    with pytest.raises(InputError) as info:
        nearest_times(net, **kwargs)
    assert words in str(info.value)


def test_time_step_too_fine_for_the_bucket_queue_is_refused():
    net = arcs_network(3, [(0, 1, 5000.0), (1, 2, 1.0)])
    with pytest.raises(InputError, match="raise time_step_s"):
        nearest_times(net, [0], cutoff_s=10.0, time_step_s=1e-6)


def test_cutoff_too_large_for_whole_steps_is_refused():
    net = arcs_network(3, [(0, 1, 5.0)])
    with pytest.raises(InputError, match="cutoff"):
        nearest_times(net, [0], cutoff_s=1e300, time_step_s=1.0)
    far = nearest_times(net, [0], cutoff_s=1e300, direction="from_sources")  # float times: fine
    assert far.time_s[0].tolist() == [0.0, 5.0, np.inf]


# Ties: sources 0 (node 2, offset 1) and 1 (node 0, offset 0) both reach node 1 at 2 s; the
# smaller offset wins although it is given second. Zero-time arcs 4 → 5 → 6 → 7 and 3 → 7:
# sources 2 (node 4) and 3 (node 3) both reach 7 at 0 s; the first given wins although its
# path is the longer one (its label reaches 7 after source 3's, and must replace it).
TIE_ARCS = [
    (0, 1, 2.0),
    (2, 1, 1.0),
    (1, 8, 3.0),
    (4, 5, 0.0),
    (5, 6, 0.0),
    (6, 7, 0.0),
    (3, 7, 0.0),
    (7, 9, 1.0),
]


@pytest.mark.parametrize("time_step_s", [None, 1.0])
@pytest.mark.parametrize("threads", [1, 2])
def test_ties_go_to_the_smaller_offset_then_the_source_given_first(time_step_s, threads):
    net = arcs_network(10, TIE_ARCS)
    sources, offsets, labels = [2, 0, 4, 3], [1.0, 0.0, 0.0, 0.0], [20, 21, 22, 23]
    kwargs = {
        "offsets_s": offsets,
        "labels": labels,
        "direction": "from_sources",
        "time_step_s": time_step_s,
        "threads": threads,
    }
    near = nearest_times(net, sources, cutoff_s=10.0, **kwargs)
    both = reach(net, sources, thresholds_s=[2.0, 10.0], **kwargs)
    times = [0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0, 1.0]
    nearest = [21, 21, 20, 23, 22, 22, 22, 22, 21, 22]
    for result in (near, both.nearest):
        assert result.time_s[0].tolist() == times
        assert result.source[0].tolist() == nearest
    assert both.nearest.settled.tolist() == [10]
    assert both.within.count[0, :, 0].tolist() == [1, 2, 1, 1, 1, 1, 1, 2, 0, 2]
    assert both.within.count[0, :, 1].tolist() == [1, 2, 1, 1, 1, 1, 1, 2, 2, 2]


@pytest.mark.parametrize("time_step_s", [None, 1.0])
def test_a_tie_goes_to_the_first_source_not_the_first_to_arrive(time_step_s):
    # 0 →1→ 2 →4→ 3 and 1 →5→ 3: both sources reach 3 at 5 s, source 1 from an earlier step
    net = arcs_network(4, [(0, 2, 1.0), (2, 3, 4.0), (1, 3, 5.0)])
    result = nearest_times(
        net, [0, 1], cutoff_s=10.0, direction="from_sources", time_step_s=time_step_s
    )
    assert result.time_s[0].tolist() == [0.0, 0.0, 1.0, 5.0]
    assert result.source[0].tolist() == [0, 1, 0, 0]


@pytest.mark.parametrize(
    ("largest", "cutoff"),
    [
        (25.0, None),
        (2e9, None),  # 2e9 steps: 64-bit nearest keys
        (25.0, 60.0),  # the nearest search goes on beyond the counts
        (25.0, 12.0),  # and stops short of them
    ],
)
def test_reach_equals_the_separate_calls_with_groups_and_capacity(largest, cutoff):
    rng = np.random.default_rng(5)
    arcs = [
        (int(a), int(b), float(w))
        for a, b, w in zip(
            rng.integers(0, 80, 240), rng.integers(0, 80, 240), rng.integers(0, 20, 240)
        )
    ]
    net = arcs_network(80, arcs)
    sources, group = rng.integers(0, 80, 40), rng.integers(0, 3, 40)
    capacity, labels = rng.integers(1, 9, 40).astype(float), rng.permutation(40) + 100
    for step in (None, 1.0):
        kwargs = {"group": group, "n_groups": 4, "time_step_s": step, "threads": 2}
        both = reach(
            net,
            sources,
            thresholds_s=[10, largest],
            capacity=capacity,
            labels=labels,
            cutoff_s=cutoff,
            **kwargs,
        )
        near = nearest_times(net, sources, cutoff_s=cutoff or largest, labels=labels, **kwargs)
        within = count_within(net, sources, thresholds_s=[10, largest], capacity=capacity, **kwargs)
        assert np.array_equal(both.nearest.time_s, near.time_s)
        assert np.array_equal(both.nearest.source, near.source)
        assert np.array_equal(both.within.count, within.count)
        assert np.array_equal(both.within.capacity, within.capacity)
        assert both.nearest.settled.tolist() == np.isfinite(near.time_s).sum(axis=1).tolist()
        assert both.nearest.source[3].tolist() == [NO_SOURCE] * 80  # the empty group
        assert np.isfinite(near.time_s[:3]).any() and (near.source[:3] >= 100).any()
        if cutoff:  # the cutoff mattered
            assert not np.array_equal(np.isfinite(near.time_s), within.count[..., -1] > 0)
        else:
            assert np.array_equal(np.isfinite(near.time_s), within.count[..., -1] > 0)
