"""Small hand-made pipe networks with hand-computed answers."""

from __future__ import annotations

import pandas as pd
import pytest

from shancheng.lifelines.pipes import PipeNetwork, build_network


def tree_network(*, with_tank: bool = False) -> PipeNetwork:
    """R -p1- J1 -p2- J2 -p3- J3 and J1 -p4- J4; customers C1@J2 (5), C2@J3 (7), C3@J4 (3).

    Valves v1 (p2 at J1), v2 (p3 at J2), v3 (p4 at J1). Segments, worked out by hand:
    A = {R, p1, J1}, B = {p2, J2, s1, C1}, C = {p3, J3, s2, C2}, D = {p4, J4, s3, C3};
    with a tank: T -p6- J3 and valve v4 (p6 at J3) adds E = {T, p6}.
    """
    nodes = [
        ("R", "source", 0, 0, 0),
        ("J1", "junction", 100, 0, 0),
        ("J2", "junction", 300, 0, 0),
        ("J3", "junction", 450, 0, 0),
        ("J4", "junction", 100, 80, 0),
        ("C1", "customer", 300, 10, 5),
        ("C2", "customer", 450, 10, 7),
        ("C3", "customer", 100, 90, 3),
    ]
    links = [
        ("p1", "pipe", "R", "J1", 100.0),
        ("p2", "pipe", "J1", "J2", 200.0),
        ("p3", "pipe", "J2", "J3", 150.0),
        ("p4", "pipe", "J1", "J4", 80.0),
        ("s1", "service", "J2", "C1", 10.0),
        ("s2", "service", "J3", "C2", 10.0),
        ("s3", "service", "J4", "C3", 10.0),
    ]
    valves = [("v1", "p2", "J1"), ("v2", "p3", "J2"), ("v3", "p4", "J1")]
    if with_tank:
        nodes.append(("T", "tank", 600, 0, 0))
        links.append(("p6", "pipe", "T", "J3", 150.0))
        valves.append(("v4", "p6", "J3"))
    return build_network(
        "water",
        pd.DataFrame(nodes, columns=["node_id", "kind", "x", "y", "population"]),
        pd.DataFrame(links, columns=["link_id", "kind", "from_node", "to_node", "length_m"]),
        pd.DataFrame(valves, columns=["valve_id", "link_id", "node_id"]),
        source="tree",
    )


@pytest.fixture
def tree() -> PipeNetwork:
    return tree_network()


@pytest.fixture
def tree_with_tank() -> PipeNetwork:
    return tree_network(with_tank=True)
