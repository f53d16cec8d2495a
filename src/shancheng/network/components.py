"""Connectivity of a walk network: which nodes can reach each other both ways."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import scipy.sparse
import scipy.sparse.csgraph

if TYPE_CHECKING:
    from shancheng.network.walk import WalkNetwork


def strong_components(network: WalkNetwork) -> npt.NDArray[np.int64]:
    """Label of the strongly connected component of every node (scipy's Tarjan/Pearce)."""
    n = network.n_nodes
    graph = scipy.sparse.csr_matrix(
        (np.ones(network.n_edges), network.edge_head, network.indptr), shape=(n, n)
    )
    # Parallel arcs (two streets joining the same pair of nodes) must be merged first:
    # scipy 1.17's strong-component search never returns on a CSR with duplicate entries.
    graph.sum_duplicates()
    _, labels = scipy.sparse.csgraph.connected_components(graph, directed=True, connection="strong")
    return np.asarray(labels, dtype=np.int64)


def largest_component_share(network: WalkNetwork) -> float:
    """Share of nodes in the largest strongly connected component (1.0 = all mutually reachable).

    Examples
    --------
    >>> from shancheng.network.walk import build_walk_network
    >>> net = build_walk_network([0, 1, 2, 9], [0, 0, 0, 0], None, [0, 1, 2], [1, 2, 3],
    ...                          [1, 1, 1], [0, 0, 8], oneway=[False, False, True])
    >>> largest_component_share(net)  # node 3 is reached by a one-way escalator only
    0.75
    """
    if network.n_nodes == 0:
        return 0.0
    labels = strong_components(network)
    return float(np.bincount(labels).max() / network.n_nodes)
