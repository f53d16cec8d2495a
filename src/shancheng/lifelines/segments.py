"""Valve segments: the pieces of a network that closing valves can isolate, and their weight.

A *segment* is the smallest part of a network that closing valves can isolate. With valves in
WNTR's convention (a valve on link ``l`` at node ``n`` separates ``l`` from ``n``), segments are
the connected components of the bipartite element graph whose vertices are all nodes and all
links and whose edges join each link to each of its end nodes unless a valve sits there. One
call to ``scipy.sparse.csgraph.connected_components`` labels them: the same partition as
``wntr.metrics.topographic.valve_segments``, which walks the graph in Python. What a segment
holds (customers, residents, pipe length, critical facilities) is counted here too; the plan
for a break is :mod:`shancheng.lifelines.isolation`, the ranking of every segment
:mod:`shancheng.lifelines.criticality`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

if TYPE_CHECKING:
    from shancheng.lifelines.pipes import PipeNetwork
    from shancheng.types import FloatArray, IntArray


CRITICAL_CATEGORIES = (
    "hospital", "primary_school", "middle_school", "kindergarten", "nursing_home",
    "elderly_day_care",
)  # fmt: skip
"""Facility categories whose loss of service the isolation plan names (hospitals, schools,
kindergartens, elderly care), as the City's ``facilities`` layer spells them."""
WEIGHTS = ("nodes", "links", "pipe_length_m", "customers", "demand_nodes", "residents",
           "critical_facilities")  # fmt: skip
"""What the impact of an isolation counts, per segment."""
_PIPE_KINDS = ("pipe", "service")


@dataclass(frozen=True, eq=False)
class Segmentation:
    """Valve segments of a network.

    Attributes
    ----------
    node_segment, link_segment
        Segment (0..n_segments-1) of each node and link, by row position.
    n_segments
        Number of segments.
    valve_link_segment, valve_node_segment
        For each valve, the segment on its link side and on its node side.
    """

    node_segment: IntArray
    link_segment: IntArray
    n_segments: int
    valve_link_segment: IntArray
    valve_node_segment: IntArray


def segment_network(net: PipeNetwork) -> Segmentation:
    """Label the valve segments of ``net`` (see the module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> from shancheng.lifelines.pipes import build_network
    >>> kinds = ["source", "junction", "junction"]
    >>> nodes = pd.DataFrame({"node_id": ["R", "a", "b"], "kind": kinds})
    >>> links = pd.DataFrame({"link_id": ["1", "2"], "kind": ["pipe", "pipe"],
    ...                       "from_node": ["R", "a"], "to_node": ["a", "b"]})
    >>> valves = pd.DataFrame({"valve_id": ["v"], "link_id": ["2"], "node_id": ["a"]})
    >>> seg = segment_network(build_network("water", nodes, links, valves, source="doc"))
    >>> seg.n_segments, seg.node_segment.tolist(), seg.link_segment.tolist()
    (2, [0, 0, 1], [0, 1])
    """
    n_nodes, n_links = net.n_nodes, net.n_links
    link_ids = np.arange(n_links, dtype=np.int64)
    valve_link = net.valves["link_index"].to_numpy(dtype=np.int64)
    valve_node = net.valves["node_index"].to_numpy(dtype=np.int64)
    valved = np.zeros((n_links, 2), dtype=bool)
    tail, head = net.tail, net.head
    valved[valve_link[valve_node == tail[valve_link]], 0] = True
    valved[valve_link[valve_node == head[valve_link]], 1] = True
    keep_tail, keep_head = ~valved[:, 0], ~valved[:, 1]
    rows = np.concatenate([n_nodes + link_ids[keep_tail], n_nodes + link_ids[keep_head]])
    cols = np.concatenate([tail[keep_tail], head[keep_head]])
    size = n_nodes + n_links
    graph = coo_array((np.ones(rows.shape[0], dtype=np.int8), (rows, cols)), shape=(size, size))
    n_segments, labels = connected_components(graph.tocsr(), directed=False)
    node_segment: IntArray = np.asarray(labels[:n_nodes], dtype=np.int64)
    link_segment: IntArray = np.asarray(labels[n_nodes:], dtype=np.int64)
    return Segmentation(
        node_segment, link_segment, int(n_segments), link_segment[valve_link],
        node_segment[valve_node],
    )  # fmt: skip


def attach_facilities(
    net: PipeNetwork,
    facilities: pd.DataFrame,
    *,
    categories: tuple[str, ...] = CRITICAL_CATEGORIES,
    max_distance_m: float = 150.0,
) -> pd.DataFrame:
    """Connect each critical facility to the network node that serves it.

    A facility is served by the nearest customer connection (the nearest node when the
    network has none) within ``max_distance_m``; farther ones are left unserved (``node_index``
    -1) and reported, never silently attached. ``facilities`` needs ``facility_id, category,
    x_utm, y_utm`` in the network's coordinates (the City's ``facilities`` layer).

    Returns
    -------
    pandas.DataFrame
        ``facility_id, category, name, node_index, distance_m`` for the chosen categories.
    """
    chosen = facilities[facilities["category"].isin(categories)]
    kind = net.nodes["kind"].to_numpy()
    candidates = np.flatnonzero(kind == "customer")
    if candidates.shape[0] == 0:
        candidates = np.arange(net.n_nodes)
    xy = net.nodes[["x", "y"]].to_numpy(dtype=np.float64)[candidates]
    points = chosen[["x_utm", "y_utm"]].to_numpy(dtype=np.float64)
    distance = np.full(points.shape[0], np.inf)
    nearest = np.zeros(points.shape[0], dtype=np.int64)
    if candidates.shape[0] and points.shape[0]:
        found_distance, found = cKDTree(xy).query(points)
        distance, nearest = np.asarray(found_distance), np.asarray(found, dtype=np.int64)
    node_index = np.where(distance <= max_distance_m, candidates[nearest], -1)
    names = chosen["name"] if "name" in chosen.columns else chosen["facility_id"].astype(str)
    return pd.DataFrame(
        {
            "facility_id": chosen["facility_id"].to_numpy(),
            "category": chosen["category"].to_numpy(),
            "name": names.to_numpy(),
            "node_index": node_index.astype(np.int64),
            "distance_m": np.round(distance, 1),
        }
    )


def customer_weights(net: PipeNetwork) -> FloatArray:
    """Count the customers at each node: ``customer`` connections, or demand for an ``.inp``.

    A network with ``customer`` nodes (the City's layers) counts each as one connection. An
    EPANET model has none: there each junction with a base demand stands for the customers it
    aggregates and counts as one, so a break on L-Town never reports 0 customers affected.
    """
    kind = net.nodes["kind"].to_numpy()
    is_customer: npt.NDArray[np.bool_] = kind == "customer"
    if not is_customer.any():
        demand = net.nodes["demand"].to_numpy(dtype=np.float64)
        is_customer = (demand > 0) & (kind == "junction")
    weights: FloatArray = is_customer.astype(np.float64)
    return weights


def element_weights(
    net: PipeNetwork, facilities: pd.DataFrame | None = None
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Per node and per link: what each counts toward :data:`WEIGHTS`.

    Returns
    -------
    tuple of dict
        ``(on_nodes, on_links)``: each name of :data:`WEIGHTS` is in exactly one of them.
    """
    nodes, links = net.nodes, net.links
    is_pipe = links["kind"].isin(_PIPE_KINDS).to_numpy()
    length = np.nan_to_num(links["length_m"].to_numpy(dtype=np.float64))
    served = np.zeros(net.n_nodes, dtype=np.float64)
    if facilities is not None and len(facilities):
        attached = facilities["node_index"].to_numpy(dtype=np.int64)
        served = np.bincount(attached[attached >= 0], minlength=net.n_nodes).astype(np.float64)
    on_nodes = {
        "nodes": np.ones(net.n_nodes),
        "customers": customer_weights(net),
        "demand_nodes": (nodes["demand"].to_numpy(dtype=np.float64) > 0).astype(np.float64),
        "residents": nodes["population"].to_numpy(dtype=np.float64),
        "critical_facilities": served,
    }
    on_links = {"links": np.ones(net.n_links), "pipe_length_m": length * is_pipe}
    return on_nodes, on_links


def segment_weights(
    net: PipeNetwork, seg: Segmentation, facilities: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per segment: the counts in :data:`WEIGHTS` (one row per segment, index = segment)."""
    on_nodes, on_links = element_weights(net, facilities)
    k = seg.n_segments
    weights = {
        name: np.bincount(seg.node_segment, weights=on_nodes[name], minlength=k)
        if name in on_nodes
        else np.bincount(seg.link_segment, weights=on_links[name], minlength=k)
        for name in WEIGHTS
    }
    return pd.DataFrame(weights).astype(
        {name: np.int64 for name in WEIGHTS if name != "pipe_length_m"}
    )
