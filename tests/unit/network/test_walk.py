import numpy as np
import pytest

from shancheng.errors import NetworkInputError
from shancheng.network.speed import EdgeKind
from shancheng.network.walk import build_walk_network


def test_two_way_segments_give_two_arcs_with_their_own_times(hill_path):
    net = hill_path
    assert net.n_nodes == 3
    assert net.n_edges == 4
    assert net.indptr.tolist() == [0, 1, 3, 4]
    assert net.edge_tail.tolist() == [0, 1, 1, 2]
    assert net.edge_head.tolist() == [1, 0, 2, 1]
    times = dict(zip(zip(net.edge_tail.tolist(), net.edge_head.tolist()), net.edge_time_s))
    assert times[(0, 1)] > times[(1, 0)]  # climbing the street
    assert times[(1, 2)] == pytest.approx(10.0 / 0.2)  # 10 m up the steps at 0.2 m/s
    assert times[(2, 1)] == pytest.approx(max(20.0 / 0.5, 10.0 / 0.3))


def test_twins_point_at_each_other(hill_path):
    twin = hill_path.edge_twin
    assert np.all(twin[twin] == np.arange(hill_path.n_edges))
    assert np.all(hill_path.edge_tail[twin] == hill_path.edge_head)


def test_reversed_view_turns_arcs_and_keeps_times(hill_path):
    rev = hill_path.reversed()
    forward = {
        (int(t), int(h)): float(s)
        for t, h, s in zip(hill_path.edge_tail, hill_path.edge_head, hill_path.edge_time_s)
    }
    for t, h, s in zip(rev.edge_tail, rev.edge_head, rev.edge_time_s):
        assert forward[(int(h), int(t))] == s
    assert np.all(np.diff(rev.edge_tail) >= 0)
    assert np.all(rev.edge_twin[rev.edge_twin] == np.arange(rev.n_edges))
    assert rev.is_reversed
    assert np.array_equal(rev.reversed().edge_time_s, hill_path.edge_time_s)


def test_oneway_escalator_gives_one_arc():
    net = build_walk_network(
        [0.0, 10.0],
        [0.0, 0.0],
        [0.0, 20.0],
        [0],
        [1],
        [10.0],
        [EdgeKind.ESCALATOR],
        oneway=[True],
    )
    assert net.n_edges == 1
    assert net.edge_twin.tolist() == [-1]


def _good():
    return {
        "node_x_utm": [0.0, 1.0, 2.0],
        "node_y_utm": [0.0, 0.0, 0.0],
        "node_z_m": [0.0, 0.0, 0.0],
        "segment_tail": [0, 1],
        "segment_head": [1, 2],
        "segment_length_m": [1.0, 1.0],
        "segment_kind": [0, 0],
    }


@pytest.mark.parametrize(
    ("field", "row", "value", "words"),
    [
        ("node_x_utm", 1, np.nan, "finite"),
        ("node_z_m", 2, np.inf, "finite"),
        ("segment_length_m", 1, -3.5, "length >= 0"),
        ("segment_head", 0, 7, "node id in [0, 3)"),
        ("segment_tail", 1, -1, "node id"),
        ("segment_kind", 0, 99, "EdgeKind"),
        ("segment_tail", 0, 0.5, "whole number"),
    ],
)
def test_bad_input_is_refused_naming_row_and_field(field, row, value, words):
    args = _good()
    column = list(args[field])
    column[row] = value
    args[field] = column
    with pytest.raises(NetworkInputError) as info:
        build_walk_network(**args, source="edges.parquet")
    message = str(info.value)
    assert "edges.parquet" in message
    assert f"row {row}" in message
    assert f"`{field}`" in message
    assert words in message


def test_columns_of_different_lengths_are_refused():
    args = _good()
    args["segment_kind"] = [0]
    with pytest.raises(NetworkInputError, match="different lengths"):
        build_walk_network(**args)
