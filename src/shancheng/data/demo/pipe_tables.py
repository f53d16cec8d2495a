"""Growable node and link tables for the demo pipe networks, and their valves and sensors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

if TYPE_CHECKING:
    from shancheng.data.demo.population import Buildings
    from shancheng.types import FloatArray, IntArray


VALVE_OFFSET_M = 2.0
MIN_VALVED_DEGREE = 3
"""Valves guard junctions where at least this many pipes meet."""
TRUNK_DIAMETER_MM = 300
"""Pipes at least this wide are trunk mains (flow sensors watch some of them)."""
"""Distance of a valve from the junction it guards, along its pipe."""


@dataclass(eq=False)
class NodeTable:
    """Nodes of a pipe network being built; ids are positions in the lists."""

    x_utm: list[float] = field(default_factory=list)
    y_utm: list[float] = field(default_factory=list)
    z_m: list[float] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    building_id: list[int] = field(default_factory=list)
    population: list[int] = field(default_factory=list)

    @classmethod
    def junctions(cls, x: FloatArray, y: FloatArray, z: FloatArray) -> NodeTable:
        """Return a table of plain junctions at the given points."""
        n = x.shape[0]
        return cls(x.tolist(), y.tolist(), z.tolist(), ["junction"] * n, [-1] * n, [0] * n)

    def array(self, name: str) -> npt.NDArray[np.generic]:
        """One column as a numpy array."""
        return np.asarray(getattr(self, name))

    def add(
        self, x: float, y: float, z: float, kind: str, *, building_id: int = -1, population: int = 0
    ) -> int:
        """Append a node and return its id."""
        self.x_utm.append(float(x))
        self.y_utm.append(float(y))
        self.z_m.append(float(z))
        self.kind.append(kind)
        self.building_id.append(int(building_id))
        self.population.append(int(population))
        return len(self.x_utm) - 1

    def to_frame(self) -> pd.DataFrame:
        """Columns ``node_id, kind, x_utm, y_utm, z_m, building_id, population``."""
        return pd.DataFrame(
            {
                "node_id": np.arange(len(self.x_utm), dtype=np.int64),
                "kind": self.kind,
                "x_utm": np.asarray(self.x_utm),
                "y_utm": np.asarray(self.y_utm),
                "z_m": np.round(np.asarray(self.z_m), 2),
                "building_id": np.asarray(self.building_id, dtype=np.int64),
                "population": np.asarray(self.population, dtype=np.int64),
            }
        )


@dataclass(eq=False)
class LinkTable:
    """Links (pipes, valves, pumps, service pipes) of a pipe network being built."""

    nodes: NodeTable
    tail: list[int] = field(default_factory=list)
    head: list[int] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    diameter_mm: list[int] = field(default_factory=list)
    material: list[str] = field(default_factory=list)
    install_year: list[int] = field(default_factory=list)

    @classmethod
    def pipes(
        cls,
        nodes: NodeTable,
        tail: IntArray,
        head: IntArray,
        *,
        diameter_mm: IntArray,
        material: npt.NDArray[np.str_],
        year: IntArray,
    ) -> LinkTable:
        """Return a table of pipes between existing nodes."""
        n = tail.shape[0]
        return cls(
            nodes, tail.tolist(), head.tolist(), ["pipe"] * n, diameter_mm.tolist(),
            material.tolist(), year.tolist(),
        )  # fmt: skip

    def add(
        self, tail: int, head: int, *, kind: str, diameter_mm: int, material: str, year: int
    ) -> int:
        """Append a link and return its id."""
        self.tail.append(int(tail))
        self.head.append(int(head))
        self.kind.append(kind)
        self.diameter_mm.append(int(diameter_mm))
        self.material.append(material)
        self.install_year.append(int(year))
        return len(self.tail) - 1

    def to_frame(self) -> pd.DataFrame:
        """Columns ``link_id, kind, from_node, to_node, length_m, diameter_mm, ...``."""
        x = self.nodes.array("x_utm").astype(np.float64)
        y = self.nodes.array("y_utm").astype(np.float64)
        tail, head = np.asarray(self.tail, dtype=np.int64), np.asarray(self.head, dtype=np.int64)
        return pd.DataFrame(
            {
                "link_id": np.arange(tail.shape[0], dtype=np.int64),
                "kind": self.kind,
                "from_node": tail,
                "to_node": head,
                "length_m": np.round(np.hypot(x[head] - x[tail], y[head] - y[tail]), 2),
                "diameter_mm": np.asarray(self.diameter_mm, dtype=np.int64),
                "material": self.material,
                "install_year": np.asarray(self.install_year, dtype=np.int64),
                "status": "open",
                "x0_utm": x[tail],
                "y0_utm": y[tail],
                "x1_utm": x[head],
                "y1_utm": y[head],
            }
        )


def insert_valves(
    nodes: NodeTable, links: LinkTable, share: float, rng: np.random.Generator
) -> None:
    """Put a valve on a pipe end next to a junction with 3+ pipes, for ``share`` of such ends.

    The pipe is cut ``VALVE_OFFSET_M`` from the junction: a valve link joins the junction to
    a new node and the pipe continues from there, so closing the valve cuts that pipe off.
    """
    kind = np.asarray(links.kind)
    pipe_ids = np.flatnonzero(kind == "pipe")
    tail = np.asarray(links.tail)[pipe_ids]
    head = np.asarray(links.head)[pipe_ids]
    degree = np.bincount(np.concatenate([tail, head]), minlength=len(nodes.x_utm))
    x, y = nodes.array("x_utm").astype(np.float64), nodes.array("y_utm").astype(np.float64)
    length = np.hypot(x[head] - x[tail], y[head] - y[tail])
    draws = rng.random((pipe_ids.shape[0], 2))
    for end, (near, far) in enumerate(((tail, head), (head, tail))):
        chosen = (
            (degree[near] >= MIN_VALVED_DEGREE)
            & (draws[:, end] < share)
            & (length > 4 * VALVE_OFFSET_M)
        )
        for k in np.flatnonzero(chosen):
            link, a, b = int(pipe_ids[k]), int(near[k]), int(far[k])
            t = VALVE_OFFSET_M / float(length[k])
            valve_node = nodes.add(
                x[a] + t * (x[b] - x[a]), y[a] + t * (y[b] - y[a]), nodes.z_m[a], "valve"
            )
            links.add(
                a, valve_node, kind="valve", diameter_mm=links.diameter_mm[link],
                material="ductile_iron", year=links.install_year[link],
            )  # fmt: skip
            if end == 0:
                links.tail[link] = valve_node
            else:
                links.head[link] = valve_node


def attach_customers(
    nodes: NodeTable,
    links: LinkTable,
    buildings: Buildings,
    *,
    share: float,
    network: str,
    rng: np.random.Generator,
) -> None:
    """Join ``share`` of the buildings to their nearest junction by a service pipe."""
    junctions = np.flatnonzero(np.asarray(nodes.kind) == "junction")
    tree = cKDTree(
        np.column_stack([nodes.array("x_utm")[junctions], nodes.array("y_utm")[junctions]])
    )
    served = np.flatnonzero(rng.random(buildings.x_utm.shape[0]) < share)
    _, nearest = tree.query(np.column_stack([buildings.x_utm[served], buildings.y_utm[served]]))
    diameter = 50 if network == "water" else 32
    for b, j in zip(served.tolist(), junctions[nearest].tolist(), strict=True):
        customer = nodes.add(
            buildings.x_utm[b], buildings.y_utm[b], nodes.z_m[j], "customer",
            building_id=b, population=int(buildings.population[b]),
        )  # fmt: skip
        links.add(j, customer, kind="service", diameter_mm=diameter, material="pe", year=2010)


_SENSOR_KINDS = {  # network -> (kind, unit, range_min, range_max, element, share)
    "water": (("pressure", "kPa", 0.0, 1000.0, "junction", 0.03),
              ("level", "m", 0.0, 12.0, "tank", 1.0),
              ("flow", "m3/h", 0.0, 5000.0, "pump", 1.0),
              ("flow", "m3/h", 0.0, 3000.0, "trunk", 0.05)),
    "gas": (("pressure", "kPa", 0.0, 400.0, "gate_station", 1.0),
            ("pressure", "kPa", 0.0, 400.0, "regulator_station", 1.0),
            ("pressure", "kPa", 0.0, 10.0, "junction", 0.02),
            ("methane", "%LEL", 0.0, 100.0, "junction", 0.03),
            ("flow", "m3/h", 0.0, 20000.0, "trunk", 0.05)),
}  # fmt: skip


def make_sensors(
    network: str, nodes: pd.DataFrame, links: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Sensors on a sample of elements: ``sensor_id, network, kind, unit, range_*, element_*``."""
    rows: list[pd.DataFrame] = []
    trunk = links.index[
        (links["kind"] == "pipe") & (links["diameter_mm"] >= TRUNK_DIAMETER_MM)
    ].to_numpy()
    for kind, unit, low, high, element, share in _SENSOR_KINDS[network]:
        if element in ("pump", "trunk"):
            ids = links.index[links["kind"] == "pump"].to_numpy() if element == "pump" else trunk
            frame, id_column, element_kind = links, "link_id", "link"
            x = (frame["x0_utm"] + frame["x1_utm"]) / 2
            y = (frame["y0_utm"] + frame["y1_utm"]) / 2
        else:
            ids = nodes.index[nodes["kind"] == element].to_numpy()
            frame, id_column, element_kind = nodes, "node_id", "node"
            x, y = frame["x_utm"], frame["y_utm"]
        if share < 1.0 and ids.shape[0]:
            count = max(1, round(share * ids.shape[0]))
            ids = np.sort(rng.choice(ids, size=count, replace=False))
        rows.append(
            pd.DataFrame(
                {
                    "network": network,
                    "kind": kind,
                    "unit": unit,
                    "range_min": low,
                    "range_max": high,
                    "element_kind": element_kind,
                    "element_id": frame[id_column].to_numpy()[ids],
                    "x_utm": x.to_numpy()[ids],
                    "y_utm": y.to_numpy()[ids],
                }
            )
        )
    sensors = pd.concat(rows, ignore_index=True)
    prefix = "W" if network == "water" else "G"
    sensors.insert(0, "sensor_id", [f"{prefix}{i:05d}" for i in range(len(sensors))])
    return sensors
