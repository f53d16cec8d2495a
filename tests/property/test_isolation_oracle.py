"""Checked isolation plans on random directed networks equal a networkx brute force.

Random small networks with pipes, pumps and PRVs (one way or not), random valve layers and one
or two sources: for every link, the sources the plan says still feed the break, and the nodes
it says lose service, are recomputed with networkx on a directed element graph built here
from the tables (never from the code under test).
"""

from __future__ import annotations

import logging

import networkx as nx
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from shancheng.lifelines.isolation import isolate_break
from shancheng.lifelines.pipes import build_network
from shancheng.lifelines.segments import segment_network

KINDS = ("pipe", "pipe", "pump", "control_valve")
CONTROLLABLE = {"pump", "control_valve"}


@st.composite
def networks(draw):
    n = draw(st.integers(2, 9))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1]),
            min_size=1,
            max_size=14,
        )
    )
    m = len(pairs)
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=m, max_size=m))
    one_way = [k == "pump" or (k == "control_valve" and draw(st.booleans())) for k in kinds]
    valves = draw(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=m, max_size=m))
    sources = draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=2))
    return n, pairs, kinds, one_way, valves, sources


def _build(case):
    n, pairs, kinds, one_way, valves, sources = case
    nodes = pd.DataFrame(
        {
            "node_id": [f"n{i}" for i in range(n)],
            "kind": ["source" if i in sources else "junction" for i in range(n)],
            "demand": 1.0,
        }
    )
    links = pd.DataFrame(
        {
            "link_id": [f"l{k}" for k in range(len(pairs))],
            "kind": kinds,
            "from_node": [f"n{a}" for a, _ in pairs],
            "to_node": [f"n{b}" for _, b in pairs],
            "one_way": one_way,
        }
    )
    rows = [
        (f"v{k}{e}", f"l{k}", f"n{end}")
        for k, ((a, b), (va, vb)) in enumerate(zip(pairs, valves, strict=True))
        for e, end, v in ((0, a, va), (1, b, vb))
        if v
    ]
    layer = pd.DataFrame(rows, columns=["valve_id", "link_id", "node_id"])
    return build_network("water", nodes, links, layer, source="hypothesis"), rows


def _graph(case):
    _, pairs, _, one_way, _, _ = case
    g = nx.DiGraph()
    for k, (a, b) in enumerate(pairs):
        link, ta, tb = ("L", f"l{k}"), ("N", f"n{a}"), ("N", f"n{b}")
        g.add_edges_from([(ta, link), (link, tb)])
        if not one_way[k]:
            g.add_edges_from([(link, ta), (tb, link)])
    return g


def _feeding(g, case, pipe, closed_pairs, stopped):
    n, pairs, _, _, _, sources = case
    h = g.copy()
    h.add_nodes_from(("N", f"n{i}") for i in range(n))
    for link, node in closed_pairs:
        h.remove_edges_from([(("L", link), ("N", node)), (("N", node), ("L", link))])
    for link in stopped:
        h.remove_edges_from(list(h.in_edges(("L", link))) + list(h.out_edges(("L", link))))
    k = int(pipe[1:])
    ends = {f"n{pairs[k][0]}", f"n{pairs[k][1]}"}
    reach = {("L", pipe)}
    for end in ends - {node for link, node in closed_pairs if link == pipe}:
        reach |= nx.ancestors(h, ("N", end)) | {("N", end)}
    return {f"n{s}" for s in sources if ("N", f"n{s}") in reach}


def _lost(g, case, net, seg, segment):
    n, *_, sources = case
    h = g.copy()
    h.add_nodes_from(("N", f"n{i}") for i in range(n))
    h.add_edges_from(("root", ("N", f"n{s}")) for s in sources)
    before = nx.descendants(h, "root")
    drained = {("N", i) for i, s in zip(net.nodes["node_id"], seg.node_segment, strict=True)
               if s == segment}  # fmt: skip
    drained |= {("L", i) for i, s in zip(net.links["link_id"], seg.link_segment, strict=True)
                if s == segment}  # fmt: skip
    h.remove_nodes_from(drained)
    after = nx.descendants(h, "root")
    lost = drained | (before - after)
    return {name for kind, name in lost if kind == "N"} - {f"n{s}" for s in sources}


@settings(max_examples=300, deadline=None)
@given(networks())
def test_plans_equal_a_networkx_brute_force(case):
    logging.disable(logging.WARNING)  # plans that cannot isolate log a warning
    try:
        net, rows = _build(case)
        seg = segment_network(net)
        g = _graph(case)
        valve_at = {valve: (link, node) for valve, link, node in rows}
        controllable = {f"l{k}" for k, kind in enumerate(case[2]) if kind in CONTROLLABLE}
        for pipe in net.links["link_id"]:
            plan = isolate_break(net, pipe, seg=seg)
            closed = [valve_at[v] for v in plan.valves_to_close]
            assert set(plan.feeding_sources) == _feeding(g, case, pipe, closed, plan.also_close)
            assert set(plan.also_close) <= controllable - {pipe}
            if not plan.isolated:  # not even every valve and every pump/control valve helps
                every = list(valve_at.values())
                assert _feeding(g, case, pipe, every, controllable - {pipe}) == set(
                    plan.feeding_sources
                )
            assert set(plan.lost_node_ids) == _lost(g, case, net, seg, plan.segment)
    finally:
        logging.disable(logging.NOTSET)
