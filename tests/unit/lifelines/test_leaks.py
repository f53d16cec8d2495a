from __future__ import annotations

from datetime import datetime, timedelta

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from shancheng.errors import InputError
from shancheng.lifelines.leaks import (
    Leak,
    pipe_centre_distances,
    read_leak_configuration,
    score_detections,
)
from shancheng.lifelines.pipes import build_network, read_inp

T0 = datetime(2019, 1, 1)


def _line():
    """A -p1 100 m- B -p2 200 m- C -p3 400 m- D."""
    nodes = pd.DataFrame({"node_id": list("ABCD"), "kind": ["source"] + ["junction"] * 3})
    links = pd.DataFrame(
        {
            "link_id": ["p1", "p2", "p3"],
            "kind": "pipe",
            "from_node": list("ABC"),
            "to_node": list("BCD"),
            "length_m": [100.0, 200.0, 400.0],
        }
    )
    return build_network("water", nodes, links, source="line")


def test_centre_distances_by_hand():
    d = pipe_centre_distances(_line(), ["p2", "p1"])
    assert d[0].tolist() == [150.0, 0.0, 300.0]  # p2 -> p1, p2, p3
    assert d[1].tolist() == [0.0, 150.0, 450.0]  # p1 -> ..., p3: 200 + 50 + 200


def _leak(link, start_min, end_min):
    return Leak(
        link,
        T0 + timedelta(minutes=start_min),
        T0 + timedelta(minutes=end_min),
        0.01,
        "abrupt",
        T0 + timedelta(minutes=start_min),
    )


def test_score_by_hand():
    net = _line()
    leaks = [_leak("p2", 0, 60), _leak("p3", 120, 240)]
    flows = {"p2": np.full(24, 12.0), "p3": np.full(24, 6.0)}  # m3/h, 5-minute steps
    detections = pd.DataFrame(
        {
            "link_id": ["p2", "p1", "p1", "p1"],
            "time": [
                T0 + timedelta(minutes=10),
                T0 + timedelta(minutes=30),
                T0 + timedelta(hours=3),
                datetime(2018, 12, 31, 12),
            ],
        }
    )
    score = score_detections(net, leaks, flows, detections, period_start=T0)
    # p2 at step 2: the official script sums timeSeries(2:end), 1-based: the 23 steps from
    # index 1, x 12 m3/h / 12 = 23 m3 x 0.8 EUR = 18.4, distance 0
    # p1 at 00:30 hits the p2 leak again (150 m): already found, 0
    # p1 at 03:00: the p3 leak is 450 m away: false alarm, -500; the 2018 detection is ignored
    assert score.per_detection["score_eur"].tolist() == pytest.approx([18.4, 0.0, -500.0])
    assert score.total_eur == pytest.approx(-481.6)
    assert (score.true_positives, score.false_positives, score.false_negatives) == (1, 1, 1)


def test_crew_cost_grows_with_distance_and_nearest_fresh_leak_wins():
    net = _line()
    leaks = [_leak("p2", 0, 60), _leak("p1", 0, 60)]
    flows = {"p2": np.full(24, 12.0), "p1": np.full(24, 24.0)}
    detections = pd.DataFrame(
        {"link_id": ["p1", "p1"], "time": [T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)]}
    )
    score = score_detections(net, leaks, flows, detections, period_start=T0)
    table = score.per_detection
    assert table["leak"].tolist() == ["p1", "p2"]  # the leak on the same pipe first
    # first: p1 leak at step 2, summed from index 1: 23 steps x 24 / 12 = 46 m3 -> 36.8 EUR
    # second: p2 leak at step 4, from index 3: 21 steps x 12 / 12 = 21 m3 -> 16.8 EUR
    # - 150/300 x 500
    assert table["score_eur"].tolist() == pytest.approx([23 * 24 / 12 * 0.8, 16.8 - 250.0])


def test_unknown_detection_link_is_refused():
    with pytest.raises(InputError, match="not in line: p9"):
        score_detections(
            _line(), [], {}, pd.DataFrame({"link_id": ["p9"], "time": [T0]}), period_start=T0
        )


@pytest.mark.data
def test_2018_configuration_and_distances_on_ltown(shared_data):
    folder = shared_data / "lifelines" / "battledim_ltown"
    leaks = read_leak_configuration(folder / "dataset_configuration_historical_2018.yalm")
    assert len(leaks) == 14
    assert (leaks[0].link_id, leaks[0].kind, leaks[0].start) == (
        "p257",
        "incipient",
        datetime(2018, 1, 8, 13, 30),
    )
    assert leaks[-1].diameter_m == pytest.approx(0.019363)
    net = read_inp(folder / "L-TOWN.inp")
    d = pipe_centre_distances(net, ["p257"])[0]
    # the organisers' graph: only links with a length (pipes); no path through PRVs or the pump
    g = nx.Graph()
    g.add_nodes_from(net.nodes["node_id"])
    for a, b, w in zip(
        net.links["from_node"], net.links["to_node"], net.links["length_m"], strict=True
    ):
        if w > 0:
            g.add_edge(a, b, weight=w)
    from_ends = [nx.single_source_dijkstra_path_length(g, a) for a in ends_of(net, "p257")]
    lengths = dict(zip(net.links["link_id"], net.links["length_m"], strict=True))
    ends = dict(
        zip(
            net.links["link_id"],
            zip(net.links["from_node"], net.links["to_node"], strict=True),
            strict=True,
        )
    )
    rng = np.random.default_rng(0)
    for k in rng.choice(net.n_links, 25, replace=False):
        other = net.links["link_id"].iloc[k]
        if other == "p257":
            continue
        best = min(paths.get(b, np.inf) for paths in from_ends for b in ends[other])
        assert d[k] == pytest.approx(best + lengths["p257"] / 2 + lengths[other] / 2)
    # p257 lies in the tank-fed zone C, joined to the rest only through PUMP_1: the official
    # distance from any pipe of zone AB is infinite, so no AB detection can score it
    assert np.isinf(d[net.links.index[net.links["link_id"] == "p227"][0]])


def ends_of(net, link_id):
    row = net.links.set_index("link_id").loc[link_id]
    return [row["from_node"], row["to_node"]]


def test_no_distance_through_a_prv_or_a_pump():
    # A -p1 100 m- B =PRV= C -p2 50 m- D, and B -p3 400 m- C around the valve
    nodes = pd.DataFrame({"node_id": list("ABCD"), "kind": ["source"] + ["junction"] * 3})
    links = pd.DataFrame({"link_id": ["p1", "prv", "p2", "p3"],
                          "kind": ["pipe", "control_valve", "pipe", "pipe"],
                          "from_node": list("ABCB"), "to_node": list("BCDC"),
                          "length_m": [100.0, 0.0, 50.0, 400.0]})  # fmt: skip
    net = build_network("water", nodes, links, source="prv")
    d = pipe_centre_distances(net, ["p1"])[0]
    # p1 -> p2: B to C only around the PRV (400 m), plus 50 + 25 half lengths
    assert d.tolist() == [0.0, 50.0, 475.0, 250.0]


def test_bad_configuration_line_is_named(tmp_path):
    bad = tmp_path / "bad.yalm"
    bad.write_text("leakages:\n- p1, 2018-01-01 00:00, nonsense\n")
    with pytest.raises(InputError, match="line 2: not a leak entry"):
        read_leak_configuration(bad)
