from __future__ import annotations

import os
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shancheng.errors import PipeNetworkError
from shancheng.lifelines.criticality import rank_segments
from shancheng.lifelines.isolation import isolate_break
from shancheng.lifelines.pipes import PipeNetwork, build_network, from_wntr, read_inp
from shancheng.lifelines.segments import segment_network

wntr = pytest.importorskip("wntr")
WNTR_NETWORKS = os.path.join(os.path.dirname(wntr.__file__), "library", "networks")


def _partition(names_to_label: dict) -> set[frozenset]:
    groups: dict = {}
    for name, label in names_to_label.items():
        groups.setdefault(label, set()).add(name)
    return {frozenset(g) for g in groups.values()}


def _ours(net: PipeNetwork) -> set[frozenset]:
    seg = segment_network(net)
    labels = {("N", n): s for n, s in zip(net.nodes["node_id"], seg.node_segment, strict=True)}
    labels |= {("L", n): s for n, s in zip(net.links["link_id"], seg.link_segment, strict=True)}
    return _partition(labels)


def _wntr(graph, layer) -> set[frozenset]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # WNTR warns on duplicate valves; both sides drop them
        node_seg, link_seg, _ = wntr.metrics.topographic.valve_segments(graph, layer.copy())
    labels = {("N", n): s for n, s in node_seg.items()}
    labels |= {("L", n): s for n, s in link_seg.items()}
    return _partition(labels)


# --- hand-checked small network --------------------------------------------------------------


def _segment_of(net, seg, node_id):
    return int(seg.node_segment[net.nodes.index[net.nodes["node_id"] == node_id][0]])


def test_tree_segments_by_hand(tree):
    seg = segment_network(tree)
    assert seg.n_segments == 4
    groups = _ours(tree)
    assert frozenset({("N", "R"), ("L", "p1"), ("N", "J1")}) in groups
    assert frozenset({("L", "p2"), ("N", "J2"), ("L", "s1"), ("N", "C1")}) in groups
    assert frozenset({("L", "p3"), ("N", "J3"), ("L", "s2"), ("N", "C2")}) in groups
    assert frozenset({("L", "p4"), ("N", "J4"), ("L", "s3"), ("N", "C3")}) in groups


def test_break_on_p2_cuts_off_the_downstream_segment(tree):
    facilities = pd.DataFrame(
        {"facility_id": [9], "category": ["hospital"], "name": ["H"], "node_index": [6]}
    )  # at C2
    plan = isolate_break(tree, "p2", facilities=facilities)
    assert sorted(plan.valves_to_close) == ["v1", "v2"]
    assert len(plan.cut_off_segments) == 1
    assert plan.impact["customers"] == 2
    assert plan.impact["residents"] == 12
    assert plan.impact["segments"] == 2
    assert plan.impact["pipe_length_m"] == 200 + 150 + 10 + 10
    assert sorted(plan.lost_node_ids) == ["C1", "C2", "J2", "J3"]
    assert plan.facilities["name"].tolist() == ["H"]


def test_break_next_to_the_source_cuts_off_everything(tree):
    plan = isolate_break(tree, "p1")
    assert sorted(plan.valves_to_close) == ["v1", "v3"]
    assert plan.impact["customers"] == 3
    assert plan.impact["residents"] == 15
    assert plan.impact["segments"] == 4


def test_dead_end_break_loses_only_its_segment(tree):
    plan = isolate_break(tree, "s3")
    assert plan.valves_to_close == ["v3"]
    assert plan.cut_off_segments == []
    assert (plan.impact["customers"], plan.impact["residents"]) == (1, 3)


def test_second_source_keeps_the_downstream_segment_supplied(tree_with_tank):
    plan = isolate_break(tree_with_tank, "p2")
    assert sorted(plan.valves_to_close) == ["v1", "v2"]
    assert plan.cut_off_segments == []
    assert (plan.impact["customers"], plan.impact["residents"]) == (1, 5)


def test_unknown_link_is_refused(tree):
    with pytest.raises(PipeNetworkError, match="no link 'nope'"):
        isolate_break(tree, "nope")


def test_ranking_by_hand(tree):
    table = rank_segments(tree).set_index("segment")
    seg = segment_network(tree)
    a, b = _segment_of(tree, seg, "J1"), _segment_of(tree, seg, "J2")
    assert table.loc[a, "rank"] == 1
    assert table.loc[a, "lost_residents"] == 15
    assert table.loc[a, "cut_off_segments"] == 3
    assert table.loc[b, "lost_residents"] == 12
    assert table.loc[b, "valves"] == 2


# --- cross-checks against WNTR and a brute-force networkx oracle -----------------------------


@pytest.mark.parametrize("name", ["Net3", "ky10"])
@pytest.mark.parametrize("placement", ["strategic", "random"])
def test_segments_equal_wntr_on_its_networks(name, placement):
    wn = wntr.network.WaterNetworkModel(os.path.join(WNTR_NETWORKS, f"{name}.inp"))
    n = 1 if placement == "strategic" else len(wn.pipe_name_list) // 2
    layer = wntr.network.generate_valve_layer(wn, placement, n, seed=7)
    net = from_wntr(wn, source=name).with_valves(layer)
    assert _ours(net) == _wntr(wn.to_graph(), layer)


@pytest.mark.data
@pytest.mark.parametrize("placement", ["strategic", "random"])
def test_segments_equal_wntr_on_ltown(shared_data, placement):
    path = shared_data / "lifelines" / "battledim_ltown" / "L-TOWN.inp"
    wn = wntr.network.WaterNetworkModel(str(path))
    n = 1 if placement == "strategic" else 452
    layer = wntr.network.generate_valve_layer(wn, placement, n, seed=11)
    net = read_inp(path).with_valves(layer)
    assert _ours(net) == _wntr(wn.to_graph(), layer)


def _brute_force_lost(net: PipeNetwork, segment_of_node, segment_of_link, s):
    """Nodes out of service when segment s is isolated: networkx on the element graph."""
    g = nx.Graph()
    valves = set(zip(net.valves["link_index"], net.valves["node_index"], strict=True))
    for i in range(net.n_nodes):
        g.add_node(("N", i))
    for li, (a, b) in enumerate(zip(net.tail, net.head, strict=True)):
        for end in (a, b):
            if (li, end) not in valves:
                g.add_edge(("L", li), ("N", end))
    # isolate s: drop its elements, and open every other valve (they stay open)
    for li, ni in valves:
        g.add_edge(("L", li), ("N", ni))
    drop = [("N", i) for i in np.flatnonzero(segment_of_node == s)]
    drop += [("L", i) for i in np.flatnonzero(segment_of_link == s)]
    g.remove_nodes_from(drop)
    sources = [("N", i) for i in np.flatnonzero(net.is_source())]
    reached = set()
    for src in sources:
        if src in g:
            reached |= nx.node_connected_component(g, src)
    return {i for i in range(net.n_nodes) if ("N", i) not in reached}


def test_ranking_equals_brute_force_on_net3():
    wn = wntr.network.WaterNetworkModel(os.path.join(WNTR_NETWORKS, "Net3.inp"))
    layer = wntr.network.generate_valve_layer(wn, "random", 60, seed=3)
    net = from_wntr(wn, source="Net3").with_valves(layer)
    seg = segment_network(net)
    table = rank_segments(net, seg)
    for s in range(seg.n_segments):
        lost = _brute_force_lost(net, seg.node_segment, seg.link_segment, s)
        assert table.loc[s, "lost_nodes"] == len(lost), s


@st.composite
def _valved_networks(draw):
    n = draw(st.integers(2, 10))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1]),
            min_size=1,
            max_size=16,
        )
    )
    flags = draw(
        st.lists(st.tuples(st.booleans(), st.booleans()), min_size=len(pairs), max_size=len(pairs))
    )
    sources = draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=2))
    return n, pairs, flags, sources


@settings(max_examples=60, deadline=None)
@given(_valved_networks())
def test_ranking_equals_brute_force_on_random_networks(case):
    n, pairs, flags, sources = case
    nodes = pd.DataFrame(
        {
            "node_id": [f"n{i}" for i in range(n)],
            "kind": ["source" if i in sources else "junction" for i in range(n)],
        }
    )
    links = pd.DataFrame(
        {
            "link_id": [f"l{k}" for k in range(len(pairs))],
            "kind": "pipe",
            "from_node": [f"n{a}" for a, _ in pairs],
            "to_node": [f"n{b}" for _, b in pairs],
        }
    )
    valves = pd.DataFrame(
        [
            (f"v{k}{e}", f"l{k}", f"n{end}")
            for k, ((a, b), (va, vb)) in enumerate(zip(pairs, flags, strict=True))
            for e, end, v in ((0, a, va), (1, b, vb))
            if v
        ],
        columns=["valve_id", "link_id", "node_id"],
    )
    net = build_network("water", nodes, links, valves, source="hypothesis")
    seg = segment_network(net)
    table = rank_segments(net, seg)
    unsupplied_before = _brute_force_lost(net, seg.node_segment, seg.link_segment, -1)
    for s in range(seg.n_segments):
        lost = _brute_force_lost(net, seg.node_segment, seg.link_segment, s) - unsupplied_before
        if table.loc[s, "supplied"]:
            assert table.loc[s, "lost_nodes"] == len(lost), s
        else:
            assert table.loc[s, "lost_nodes"] == 0
