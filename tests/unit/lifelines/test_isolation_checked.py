"""The isolation plan is checked on the directed flow graph: hand cases, L-Town and BWSN-2.

The oracle builds its own directed graph from the WNTR model with networkx (pumps, PRVs, PSVs
and check-valve pipes one way; every other link both ways) and asks, for every pipe, which
sources still reach the break once the plan's valves, pumps and control valves are closed.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from shancheng.lifelines.isolation import close_off, isolate_break
from shancheng.lifelines.pipes import build_network, from_wntr
from shancheng.lifelines.segments import segment_network
from shancheng.lifelines.supply import flow_graph

wntr = pytest.importorskip("wntr")

# --- hand-made networks with hand-computed answers -------------------------------------------


def _net(nodes, links, valves, **columns):
    link_frame = pd.DataFrame(links, columns=["link_id", "kind", "from_node", "to_node"])
    for name, values in columns.items():
        link_frame[name] = values
    return build_network(
        "water",
        pd.DataFrame(nodes, columns=["node_id", "kind", "demand"]),
        link_frame,
        pd.DataFrame(valves, columns=["valve_id", "link_id", "node_id"]),
        source="hand",
    )


def test_source_without_a_valve_of_its_own_makes_isolation_impossible():
    # R -p1- a -p2- b, valve only on p2 at b: R sits in the segment of p1
    net = _net(
        [("R", "source", 0), ("a", "junction", 1), ("b", "junction", 1)],
        [("p1", "pipe", "R", "a"), ("p2", "pipe", "a", "b")],
        [("v1", "p2", "b")],
    )
    plan = isolate_break(net, "p1")
    assert plan.valves_to_close == ["v1"]
    assert not plan.isolated
    assert plan.feeding_sources == ["R"]
    assert "R" not in plan.lost_node_ids  # a source is not "lost": it is named as feeding
    assert plan.notes[0].startswith("isolation impossible with this valve layer: source R")
    assert "link p1" in plan.notes[0]


def test_pump_inside_the_segment_is_stopped():
    # T =pump= a -p2- b, valve on p2 at b; the pump is the only way from the tank to the break
    net = _net(
        [("T", "tank", 0), ("a", "junction", 0), ("b", "junction", 1)],
        [("pump", "pump", "T", "a"), ("p2", "pipe", "a", "b")],
        [("v1", "p2", "b")],
    )
    plan = isolate_break(net, "p2")
    assert plan.valves_to_close == ["v1"]
    assert plan.also_close == ["pump"]
    assert plan.isolated
    assert plan.sources_in_segment == ["T"]
    assert plan.notes[0] == (
        "also stop pump pump: a source inside the segment feeds the break through it"
    )


def test_an_inner_valve_and_a_pump_together_cut_the_source_off():
    # R -l0- a with a valve on l0 at R, and a pump R => a: the pump keeps l0's valve inside
    # the segment (no border valve), but closing it and stopping the pump isolates l0.
    # (Found by the hypothesis oracle in tests/property/test_isolation_oracle.py.)
    net = _net(
        [("R", "source", 0), ("a", "junction", 1)],
        [("l0", "pipe", "R", "a"), ("l1", "pump", "R", "a")],
        [("v", "l0", "R")],
    )
    plan = isolate_break(net, "l0")
    assert plan.isolated
    assert plan.valves_to_close == ["v"]
    assert plan.also_close == ["l1"]
    assert plan.notes == [
        "also stop pump l1: a source inside the segment feeds the break through it",
        "source R lies inside the segment: out of use while it is closed",
        "also close valve v inside the segment: a source inside it feeds the break through there",
    ]


def test_tank_behind_a_pump_that_points_into_it_does_not_feed_the_break():
    # a =pump=> T: the tank is in the segment but water cannot flow back through the pump
    net = _net(
        [("R", "source", 0), ("a", "junction", 0), ("T", "tank", 0)],
        [("p1", "pipe", "R", "a"), ("pump", "pump", "a", "T")],
        [("v1", "p1", "R")],
    )
    plan = isolate_break(net, "p1")
    assert plan.isolated
    assert plan.also_close == []
    assert plan.sources_in_segment == ["T"]


def test_node_fed_only_backwards_through_a_prv_is_lost():
    # R1 -p1- a =PRV=> b -p3- c and R2 -p4- c; valves p1@a and p3@b. Segments by hand:
    # {R1, p1}, {a, prv, b}, {p3, c, p4, R2}. Breaking p1 drains {R1, p1}; R2 still feeds b
    # through p3, but a could be fed only backwards through the PRV: a is lost, b is not.
    net = _net(
        [("R1", "source", 0), ("a", "junction", 1), ("b", "junction", 1),
         ("c", "junction", 1), ("R2", "source", 0)],
        [("p1", "pipe", "R1", "a"), ("prv", "control_valve", "a", "b"),
         ("p3", "pipe", "b", "c"), ("p4", "pipe", "R2", "c")],
        [("v1", "p1", "a"), ("v2", "p3", "b")],
        one_way=[False, True, False, False],
    )  # fmt: skip
    plan = isolate_break(net, "p1")
    assert plan.valves_to_close == ["v1"]
    assert plan.feeding_sources == ["R1"]  # R1 feeds p1 directly: no valve at R1
    assert plan.lost_node_ids == ["a"]
    assert plan.cut_off_segments == [1]  # the segment of a (numbered by the node order)
    assert plan.impact["customers"] == 1  # demand junctions stand for customers in an .inp


def test_customers_are_demand_junctions_when_there_are_no_customer_nodes():
    net = _net(
        [("R", "source", 0), ("a", "junction", 0.5), ("b", "junction", 0.0)],
        [("p1", "pipe", "R", "a"), ("p2", "pipe", "a", "b")],
        [("v1", "p1", "R")],
    )
    plan = isolate_break(net, "p2")
    assert plan.impact["customers"] == 1
    assert plan.impact["demand_nodes"] == 1


# --- the oracle: networkx on a directed graph built from the WNTR model ----------------------


def _oracle_graph(wn) -> nx.DiGraph:
    g = nx.DiGraph()
    for name, link in wn.links():
        vertex, a, b = ("L", name), ("N", link.start_node_name), ("N", link.end_node_name)
        one_way = (
            link.link_type == "Pump"
            or getattr(link, "valve_type", None) in {"PRV", "PSV"}
            or bool(getattr(link, "check_valve", False))
        )
        g.add_edge(a, vertex)
        g.add_edge(vertex, b)
        if not one_way:
            g.add_edge(vertex, a)
            g.add_edge(b, vertex)
    return g


def _sources(wn) -> set:
    return {("N", name) for name in wn.reservoir_name_list + wn.tank_name_list}


def _controllable(wn) -> set[str]:
    return set(wn.pump_name_list) | set(wn.valve_name_list)


def _oracle_feeding(g, wn, layer, pipe, valve_ids, links):
    """Sources with a path to the break once ``valve_ids`` (V<row>) and ``links`` close."""
    cut, closed_ends = set(), set()
    for valve_id in valve_ids:
        link, node = layer[int(valve_id[1:])]  # with_valves names row i "V<i>"
        cut |= {(("L", link), ("N", node)), (("N", node), ("L", link))}
        closed_ends.add((("L", link), ("N", node)))
    for link in links:
        vertex = ("L", link)
        cut |= {(vertex, n) for n in g.successors(vertex)}
        cut |= {(n, vertex) for n in g.predecessors(vertex)}
    cut = {edge for edge in cut if g.has_edge(*edge)}
    broken = ("L", pipe)
    link = wn.get_link(pipe)
    ends = [("N", link.start_node_name), ("N", link.end_node_name)]
    g.remove_edges_from(cut)  # put back below: a view would cost O(|V|) per search
    try:
        # water reaches the break from an end whose valve is open, whichever way it points
        open_ends = [e for e in ends if (broken, e) not in closed_ends]
        reach = set().union(*(nx.ancestors(g, e) | {e} for e in open_ends))
    finally:
        g.add_edges_from(cut)
    return {name for kind, name in reach & _sources(wn)}


def _check_every_pipe(wn, net, layer, g, *, lost_oracle: bool):
    seg = segment_network(net)
    graph = flow_graph(net)
    every_valve = [f"V{i}" for i in range(len(layer))]
    layer = list(zip(layer["link"], layer["node"], strict=True))
    if lost_oracle:
        rooted = g.copy()
        rooted.add_edges_from(("root", s) for s in _sources(wn))
        supplied_before = nx.descendants(rooted, "root")
    members: dict[int, set] = {}
    for kind, ids, labels in (("N", net.nodes["node_id"], seg.node_segment),
                              ("L", net.links["link_id"], seg.link_segment)):  # fmt: skip
        for element, label in zip(ids.tolist(), labels.tolist(), strict=True):
            members.setdefault(label, set()).add((kind, element))
    demand = {
        name
        for name, junction in wn.junctions()
        if sum(d.base_value for d in junction.demand_timeseries_list) > 0
    }
    for pipe in wn.pipe_name_list:
        plan = (isolate_break if lost_oracle else close_off)(net, pipe, seg=seg, graph=graph)
        feeding = _oracle_feeding(g, wn, layer, pipe, plan.valves_to_close, plan.also_close)
        assert set(plan.feeding_sources) == feeding, pipe
        if not plan.isolated:
            # not even every valve of the layer and every pump and control valve cut it off
            others = _controllable(wn) - {pipe}
            assert _oracle_feeding(g, wn, layer, pipe, every_valve, others) == feeding, pipe
            assert plan.notes, pipe
        if lost_oracle:
            lost = _oracle_lost(rooted, members[plan.segment], supplied_before) - _sources(wn)
            lost_nodes = {name for kind, name in lost if kind == "N"}
            assert set(plan.lost_node_ids) == lost_nodes, pipe
            assert plan.impact["customers"] == len(lost_nodes & demand), pipe


def _oracle_lost(rooted, drained, supplied_before):
    """The drained segment and what the root reached before and no longer reaches without it."""
    edges = list(rooted.in_edges(drained)) + list(rooted.out_edges(drained))
    rooted.remove_nodes_from(drained)
    try:
        after = nx.descendants(rooted, "root")
    finally:
        rooted.add_edges_from(edges)
    return drained | (supplied_before - after)


def _ltown(shared_data: Path):
    return wntr.network.WaterNetworkModel(
        str(shared_data / "lifelines" / "battledim_ltown" / "L-TOWN.inp")
    )


@pytest.mark.data
@pytest.mark.parametrize(("placement", "n"), [("strategic", 1), ("random", 452)])
def test_every_ltown_pipe_is_isolated_or_the_plan_says_it_cannot(shared_data, placement, n, caplog):
    caplog.set_level(logging.ERROR)
    wn = _ltown(shared_data)
    layer = wntr.network.generate_valve_layer(wn, placement, n, seed=11)
    net = from_wntr(wn, source="L-TOWN").with_valves(layer)
    _check_every_pipe(wn, net, layer, _oracle_graph(wn), lost_oracle=True)


@pytest.mark.data
def test_ltown_p227_and_p235_known_cases(shared_data, caplog):
    caplog.set_level(logging.ERROR)
    wn = _ltown(shared_data)
    layer = wntr.network.generate_valve_layer(wn, "strategic", 1, seed=11)
    net = from_wntr(wn, source="L-TOWN").with_valves(layer)
    p227 = isolate_break(net, "p227")
    # R1 feeds p227 with no valve between them: the plan says so and does not list R1 as lost
    assert not p227.isolated
    assert p227.feeding_sources == ["R1"]
    assert "R1" not in p227.lost_node_ids
    assert "source R1 lies inside the break's segment" in p227.notes[0]
    # PRV-2 runs n336 -> n111: with R2's main drained, n336 could be fed only backwards
    p235 = isolate_break(net, "p235")
    assert "n336" in p235.lost_node_ids
    assert p235.impact["customers"] > 0


def test_every_bwsn2_pipe_is_isolated_or_the_plan_says_it_cannot(caplog):
    caplog.set_level(logging.ERROR)
    epyt = pytest.importorskip("epyt")
    path = Path(epyt.__file__).parent / "networks" / "asce-tf-wdst" / "BWSN_Network_2.inp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # WNTR: "Not all curves were used"
        wn = wntr.network.WaterNetworkModel(str(path))
    layer = wntr.network.generate_valve_layer(wn, "random", len(wn.pipe_name_list) // 2, seed=7)
    net = from_wntr(wn, source="BWSN_Network_2").with_valves(layer)
    _check_every_pipe(wn, net, layer, _oracle_graph(wn), lost_oracle=False)
