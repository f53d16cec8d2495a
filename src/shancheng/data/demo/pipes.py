"""The demo water and gas networks: pipes under the streets, valves, customers and sensors.

Each network is a random spanning tree of the street graph plus a share of loops, fed from its
sources (water works with pumps; a city gate station for gas). Pipe diameters follow the
population served downstream; valves sit on pipes next to junctions, customers are buildings
joined by a service pipe to the nearest junction, and sensors watch a sample of the elements.
Only the part connected to a source is kept, so every customer can be reached from one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_array
from scipy.sparse.csgraph import breadth_first_order, connected_components, minimum_spanning_tree
from scipy.spatial import cKDTree

from shancheng.data.demo.pipe_tables import (
    LinkTable,
    NodeTable,
    attach_customers,
    insert_valves,
    make_sensors,
)
from shancheng.data.demo.terrain import Region, Terrain
from shancheng.network.speed import EdgeKind

if TYPE_CHECKING:
    import pandas as pd

    from shancheng.data.demo.population import Buildings
    from shancheng.data.demo.streets import Streets
    from shancheng.types import FloatArray, IntArray


NetworkName = Literal["water", "gas"]
WATER_PLASTIC_ERA = 1990
"""Water mains laid before this year are cast iron."""
GAS_PLASTIC_ERA = 1995
"""Gas mains laid before this year are cast iron or steel; later ones PE unless wide."""
STEEL_MIN_MM, DI_MIN_MM, GAS_STEEL_MIN_MM = 600, 200, 300
_PIPED_KINDS = (EdgeKind.STREET, EdgeKind.FOOTWAY, EdgeKind.STEPS, EdgeKind.BRIDGE)


@dataclass(frozen=True, slots=True)
class PipeSpec:
    """What differs between the water and the gas network."""

    network: NetworkName
    loop_share: float
    valve_share: float
    customer_share: float
    diameter_tiers: tuple[tuple[int, int], ...]  # (served residents above, diameter mm)


WATER = PipeSpec(
    "water", 0.15, 0.55, 1.0,
    ((100_000, 800), (30_000, 600), (10_000, 400), (3_000, 300), (1_000, 200), (200, 150),
     (-1, 100)),
)  # fmt: skip
GAS = PipeSpec(
    "gas", 0.08, 0.4, 0.9,
    ((50_000, 400), (10_000, 300), (2_000, 200), (500, 160), (-1, 110)),
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class PipeNetwork:
    """Nodes, links and sensors of one network (tables with UTM coordinates)."""

    nodes: pd.DataFrame
    links: pd.DataFrame
    sensors: pd.DataFrame


def generate_pipes(
    spec: PipeSpec,
    terrain: Terrain,
    streets: Streets,
    buildings: Buildings,
    rng: np.random.Generator,
) -> PipeNetwork:
    """Lay one pipe network under the streets; see the module docstring for the recipe."""
    tail, head = _layout_edges(spec, streets, rng)
    keep_node, tail, head = _largest_piece(streets.node_x_utm.shape[0], tail, head)
    walk_ids = np.flatnonzero(keep_node)
    new_id = np.cumsum(keep_node) - 1
    tail, head = new_id[tail], new_id[head]
    x, y = streets.node_x_utm[walk_ids], streets.node_y_utm[walk_ids]
    nodes = NodeTable.junctions(x, y, streets.node_z_m[walk_ids])
    roots = _source_junctions(spec, terrain, x, y)
    served = _served_population(x, y, buildings)
    diameter = _diameters(spec, tail, head, root=roots[0], served=served)
    year, material = _ages_and_materials(
        spec, terrain, (x[tail] + x[head]) / 2, (y[tail] + y[head]) / 2, diameter=diameter, rng=rng
    )
    links = LinkTable.pipes(nodes, tail, head, diameter_mm=diameter, material=material, year=year)
    _mark_special_nodes(spec, terrain, nodes, links, roots=roots, rng=rng)
    attach_customers(
        nodes, links, buildings, share=spec.customer_share, network=spec.network, rng=rng
    )
    insert_valves(nodes, links, spec.valve_share, rng)
    node_frame, link_frame = nodes.to_frame(), links.to_frame()
    sensors = make_sensors(spec.network, node_frame, link_frame, rng)
    return PipeNetwork(node_frame, link_frame, sensors)


def _layout_edges(
    spec: PipeSpec, streets: Streets, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """Choose a random spanning forest of the piped streets plus a share of other links."""
    piped = np.isin(streets.segment_kind, np.array(_PIPED_KINDS, dtype=np.uint8))
    tail, head = streets.segment_tail[piped], streets.segment_head[piped]
    n = streets.node_x_utm.shape[0]
    weight = streets.segment_length_m[piped] * rng.uniform(0.5, 1.5, tail.shape[0]) + 1.0
    low, high = np.minimum(tail, head), np.maximum(tail, head)
    tree = minimum_spanning_tree(coo_array((weight, (low, high)), shape=(n, n)).tocsr()).tocoo()
    in_tree = set(zip(tree.row.tolist(), tree.col.tolist(), strict=True))
    is_tree = np.array(
        [(a, b) in in_tree for a, b in zip(low.tolist(), high.tolist(), strict=True)]
    )
    chosen = is_tree | (rng.random(tail.shape[0]) < spec.loop_share)
    return low[chosen], high[chosen]


def _source_junctions(spec: PipeSpec, terrain: Terrain, x: FloatArray, y: FloatArray) -> list[int]:
    """Junctions nearest to the water works (north and south banks) or the gas gate station."""
    targets = [(0.4, 0.9), (0.3, 0.1)] if spec.network == "water" else [(0.05, 0.5)]
    points = np.array(
        [(terrain.origin_x_utm + u * terrain.width_m, terrain.origin_y_utm + v * terrain.height_m)
         for u, v in targets]
    )  # fmt: skip
    _, nearest = cKDTree(np.column_stack([x, y])).query(points)
    return list(dict.fromkeys(int(i) for i in np.atleast_1d(nearest)))


def _largest_piece(
    n: int, tail: IntArray, head: IntArray
) -> tuple[npt.NDArray[np.bool_], IntArray, IntArray]:
    """Nodes of the largest connected piece of the pipe layout, and the links among them."""
    graph = coo_array((np.ones(tail.shape[0]), (tail, head)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    keep = labels == int(np.argmax(np.bincount(labels)))
    keep_link = keep[tail]
    return keep, tail[keep_link], head[keep_link]


def _served_population(x: FloatArray, y: FloatArray, buildings: Buildings) -> FloatArray:
    """Residents whose building is nearest to each junction."""
    tree = cKDTree(np.column_stack([x, y]))
    _, nearest = tree.query(np.column_stack([buildings.x_utm, buildings.y_utm]))
    served = np.bincount(nearest, weights=buildings.population, minlength=x.shape[0])
    return served.astype(np.float64)


def _diameters(
    spec: PipeSpec, tail: IntArray, head: IntArray, *, root: int, served: FloatArray
) -> IntArray:
    """Diameter of each link from the residents downstream of it on a BFS tree from the root."""
    n = served.shape[0]
    graph = coo_array((np.ones(tail.shape[0]), (tail, head)), shape=(n, n)).tocsr()
    order, parent = breadth_first_order(graph, root, directed=False)
    downstream = served.copy()
    for node in order[::-1][:-1]:
        downstream[parent[node]] += downstream[node]
    child = np.where(parent[head] == tail, head, np.where(parent[tail] == head, tail, -1))
    load = np.where(child >= 0, downstream[np.maximum(child, 0)], 0.0)
    diameter = np.full(tail.shape[0], spec.diameter_tiers[-1][1], dtype=np.int64)
    for threshold, size in reversed(spec.diameter_tiers):
        diameter[load > threshold] = size
    return diameter


def _ages_and_materials(
    spec: PipeSpec,
    terrain: Terrain,
    mx: FloatArray,
    my: FloatArray,
    *,
    diameter: IntArray,
    rng: np.random.Generator,
) -> tuple[IntArray, npt.NDArray[np.str_]]:
    """Install year (older on the peninsula) and a material consistent with year and size."""
    n = mx.shape[0]
    old_town = terrain.region(mx, my) == Region.PENINSULA
    year = np.where(old_town, rng.integers(1970, 2016, n), rng.integers(1985, 2025, n)).astype(
        np.int64
    )
    if spec.network == "water":
        material = np.where(
            year < WATER_PLASTIC_ERA, "cast_iron",
            np.where(diameter >= STEEL_MIN_MM, "steel",
                     np.where(diameter >= DI_MIN_MM, "ductile_iron", "pe")),
        )  # fmt: skip
    else:
        material = np.where(
            year < GAS_PLASTIC_ERA, rng.choice(np.array(["cast_iron", "steel"]), n),
            np.where(diameter >= GAS_STEEL_MIN_MM, "steel", "pe"),
        )  # fmt: skip
    return year, material.astype(np.str_)


def _mark_special_nodes(
    spec: PipeSpec,
    terrain: Terrain,
    nodes: NodeTable,
    links: LinkTable,
    *,
    roots: list[int],
    rng: np.random.Generator,
) -> None:
    """Add sources with pumps and hilltop tanks (water), or gate and regulator stations (gas)."""
    if spec.network == "water":
        for root in roots:
            x, y, z = nodes.x_utm[root] + 40.0, nodes.y_utm[root], nodes.z_m[root]
            source = nodes.add(x, y, z, "source")
            links.add(source, root, kind="pump", diameter_mm=600, material="steel", year=2005)
        region = terrain.region(nodes.array("x_utm"), nodes.array("y_utm"))
        heights = nodes.array("z_m")
        for r in Region:
            candidates = np.flatnonzero((region == r) & (nodes.array("kind") == "junction"))
            if candidates.shape[0]:
                nodes.kind[int(candidates[np.argmax(heights[candidates])])] = "tank"
        return
    nodes.kind[roots[0]] = "gate_station"
    junctions = np.flatnonzero(nodes.array("kind") == "junction")
    count = max(2, round(junctions.shape[0] / 3_000))
    for node in np.sort(rng.choice(junctions, size=count, replace=False)):
        nodes.kind[int(node)] = "regulator_station"
