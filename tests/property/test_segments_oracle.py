"""Valve segments on random networks and random valve layers equal WNTR's valve_segments."""

from __future__ import annotations

import warnings

import networkx as nx
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shancheng.lifelines.pipes import build_network
from shancheng.lifelines.segments import segment_network

wntr = pytest.importorskip("wntr")


@st.composite
def networks(draw):
    n = draw(st.integers(2, 12))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1]),
            min_size=1,
            max_size=20,
        )
    )
    valve_flags = draw(
        st.lists(st.tuples(st.booleans(), st.booleans()), min_size=len(pairs), max_size=len(pairs))
    )
    return n, pairs, valve_flags


def _partition(labels):
    groups = {}
    for name, label in labels.items():
        groups.setdefault(label, set()).add(name)
    return {frozenset(g) for g in groups.values()}


@settings(max_examples=60, deadline=None)
@given(networks())
def test_segments_equal_wntr(case):
    n, pairs, flags = case
    nodes = pd.DataFrame({"node_id": [f"n{i}" for i in range(n)], "kind": "junction"})
    links = pd.DataFrame(
        {
            "link_id": [f"l{k}" for k in range(len(pairs))],
            "kind": "pipe",
            "from_node": [f"n{a}" for a, _ in pairs],
            "to_node": [f"n{b}" for _, b in pairs],
        }
    )
    layer = pd.DataFrame(
        [
            (f"l{k}", f"n{end}")
            for k, ((a, b), (va, vb)) in enumerate(zip(pairs, flags, strict=True))
            for end, v in ((a, va), (b, vb))
            if v
        ],
        columns=["link", "node"],
    )
    valves = pd.DataFrame(
        {
            "valve_id": [f"v{i}" for i in range(len(layer))],
            "link_id": layer["link"],
            "node_id": layer["node"],
        }
    )
    net = build_network("water", nodes, links, valves, source="hypothesis")
    seg = segment_network(net)
    ours = {("N", f"n{i}"): s for i, s in enumerate(seg.node_segment)}
    ours |= {("L", f"l{k}"): s for k, s in enumerate(seg.link_segment)}
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(nodes["node_id"])
    for k, (a, b) in enumerate(pairs):
        graph.add_edge(f"n{a}", f"n{b}", key=f"l{k}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        node_seg, link_seg, _ = wntr.metrics.topographic.valve_segments(graph, layer.copy())
    theirs = {("N", k): v for k, v in node_seg.items()} | {("L", k): v for k, v in link_seg.items()}
    assert _partition(ours) == _partition(theirs)
