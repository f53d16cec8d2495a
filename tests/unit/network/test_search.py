import numpy as np
import pytest

from shancheng.errors import InputError
from shancheng.network.search import NO_SOURCE, count_within, nearest_times
from tests.conftest import arcs_network

# 0 →2→ 1 →3→ 2 →4→ 3 ; 4 isolated; 1 →10→ 3 as a slow shortcut
ARCS = [(0, 1, 2.0), (1, 2, 3.0), (2, 3, 4.0), (1, 3, 10.0)]


@pytest.mark.parametrize("time_step_s", [None, 1.0])
def test_from_sources_hand_computed(time_step_s):
    net = arcs_network(5, ARCS)
    result = nearest_times(net, [0], cutoff_s=8.0, direction="from_sources",
                           time_step_s=time_step_s)
    assert result.time_s[0].tolist() == [0.0, 2.0, 5.0, np.inf, np.inf]
    assert result.source[0].tolist() == [0, 0, 0, NO_SOURCE, NO_SOURCE]


def test_to_sources_searches_the_reversed_graph():
    net = arcs_network(5, ARCS)
    result = nearest_times(net, [3], cutoff_s=100.0)  # time to walk *to* node 3
    assert result.time_s[0].tolist() == [9.0, 7.0, 4.0, 0.0, np.inf]


def test_offsets_labels_and_groups():
    net = arcs_network(5, ARCS)
    result = nearest_times(
        net, [0, 2, 1], group=[0, 0, 1], offsets_s=[1.0, 0.5, 0.0], labels=[70, 71, 72],
        cutoff_s=[100.0, 2.5], direction="from_sources",
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
    within = count_within(net, [0, 1], thresholds_s=[2.0, 5.0], capacity=[10.0, 4.0],
                          direction="from_sources", time_step_s=time_step_s)
    # from node 0: 1 at 2, 2 at 5, 3 at 9; from node 1: 2 at 3, 3 at 7
    assert within.count[0].tolist() == [[1, 1], [2, 2], [0, 2], [0, 0], [0, 0]]
    assert within.capacity[0, :, 1].tolist() == [10.0, 14.0, 14.0, 0.0, 0.0]


def test_counts_split_across_workers_equal_single_thread():
    rng = np.random.default_rng(3)
    arcs = [(int(a), int(b), float(w)) for a, b, w in zip(
        rng.integers(0, 60, 300), rng.integers(0, 60, 300), rng.integers(0, 20, 300))]
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
