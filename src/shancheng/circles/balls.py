"""Bounded walking balls: from one point, every node within a time, and the sparse coverage sets.

Siting and what-if analyses need, for one site, *which* residences lie within a category's
threshold — not the nearest facility of every node (:func:`shancheng.network.nearest_times`)
nor counts (:func:`shancheng.network.count_within`). A *ball* is one bounded Dijkstra search
from the site on the reversed graph (people walk *to* a facility, uphill as it is), stopping at
the threshold; its cost is the size of the ball, not of the city. Coverage sets stack the
balls of many sites as a sparse ``(n_sites, n_demand)`` CSR matrix, never a dense one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from shancheng.circles._ball_kernel import ball_kernel
from shancheng.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from shancheng.network.walk import WalkNetwork
    from shancheng.types import FloatArray, IntArray


@dataclass(frozen=True, eq=False)
class Ball:
    """The nodes within a time of one site, and their walking time to it.

    Attributes
    ----------
    nodes
        Node ids reached (the site first), in no particular order after it.
    time_s
        Walking time from each node to the site (or from the site, ``direction="from"``).
    """

    nodes: IntArray
    time_s: FloatArray


class BallSearcher:
    """Bounded searches on one network, reusing their work arrays between calls.

    Parameters
    ----------
    network
        The walk network (not reversed).
    direction
        ``"to"``: time walking *to* the site (searched on the reversed graph, the default,
        what a resident walking to a facility experiences); ``"from"``: walking away.
    """

    def __init__(self, network: WalkNetwork, *, direction: str = "to") -> None:
        if direction not in ("to", "from"):
            msg = f"`direction` must be 'to' or 'from', got {direction!r}"
            raise InputError(msg)
        graph = network.reversed() if direction == "to" else network
        self.n_nodes = network.n_nodes
        self._indptr = graph.indptr.astype(np.int64)
        self._heads = graph.edge_head.astype(np.int64)
        self._time = graph.edge_time_s.astype(np.float64)
        self._dist = np.full(self.n_nodes, np.inf)
        self._touched = np.empty(self.n_nodes, np.int64)

    def ball(self, node: int, cutoff_s: float) -> Ball:
        """Return every node within ``cutoff_s`` of ``node`` and its time."""
        if not 0 <= node < self.n_nodes:
            msg = f"node {node} is not a node of the network (0..{self.n_nodes - 1})"
            raise InputError(msg)
        if not (np.isfinite(cutoff_s) and cutoff_s >= 0):
            msg = f"`cutoff_s` must be a finite number >= 0, got {cutoff_s!r}"
            raise InputError(msg)
        n = ball_kernel(
            self._indptr, self._heads, self._time, int(node), float(cutoff_s),
            self._dist, self._touched,
        )  # fmt: skip
        nodes = self._touched[:n].copy()
        times = self._dist[nodes]
        self._dist[nodes] = np.inf
        return Ball(nodes=nodes, time_s=times)


def node_index(nodes: IntArray, n_nodes: int) -> IntArray:
    """Map node id → position in ``nodes`` (-1 for other nodes); ``nodes`` must be distinct."""
    index = np.full(n_nodes, -1, dtype=np.int64)
    valid = nodes >= 0
    index[nodes[valid]] = np.flatnonzero(valid)
    return index


def coverage_sets(
    searcher: BallSearcher,
    site_nodes: IntArray,
    demand_index: IntArray,
    n_demand: int,
    threshold_s: float,
    *,
    progress: Callable[[int], None] | None = None,
) -> sp.csr_array:
    """Stack one ball per site into a sparse ``(n_sites, n_demand)`` 0/1 matrix.

    Parameters
    ----------
    searcher
        Bounded searches on the network the sites and demand points are nodes of.
    site_nodes
        Node of each site (-1: not on the network, covers nothing).
    demand_index
        For every node, the demand point it is (-1 for none): see :func:`node_index`.
    n_demand
        Number of demand points.
    threshold_s
        Walking-time threshold, seconds.
    progress
        Called with 1 after each site.

    Returns
    -------
    scipy.sparse.csr_array
        ``A[j, i] = 1`` when demand point ``i`` is within ``threshold_s`` of site ``j``.
    """
    indptr = np.zeros(site_nodes.shape[0] + 1, dtype=np.int64)
    parts: list[IntArray] = []
    for j, node in enumerate(site_nodes.tolist()):
        if node >= 0:
            reached = demand_index[searcher.ball(node, threshold_s).nodes]
            reached = np.sort(reached[reached >= 0])
        else:
            reached = np.zeros(0, np.int64)
        parts.append(reached)
        indptr[j + 1] = indptr[j] + reached.shape[0]
        if progress:
            progress(1)
    indices = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    data = np.ones(indices.shape[0], dtype=np.int8)
    return sp.csr_array((data, indices, indptr), shape=(site_nodes.shape[0], n_demand))
