"""A networkx oracle for home-to-facility walking times.

It does not splice points into the graph (as the code under test does): it enters the plain
network at both ends of each point's edge with the partial edge times (as ``entry_seeds``
gives them), searches networkx from a super-source, and adds the direct walk along the edge
when a home and a facility share one.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from shancheng.network.snap import entry_seeds, snap_points


def nx_reversed(network):
    """The reversed network as a networkx DiGraph, parallel arcs reduced to the fastest."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(network.n_nodes))
    for u, v, t in zip(network.edge_tail, network.edge_head, network.edge_time_s, strict=True):
        u, v, t = int(u), int(v), float(t)
        if not graph.has_edge(v, u) or graph[v][u]["weight"] > t:
            graph.add_edge(v, u, weight=t)
    return graph


def oracle_nearest(network, res_xy, fac_xy, fac_group, n_groups, *, cutoff_s, max_snap_m=200.0):
    """(n_res, n_groups) time from each residence to the nearest facility of each group."""
    rev = nx_reversed(network)
    res_snap = snap_points(network, *res_xy, max_distance_m=max_snap_m)
    fac_snap = snap_points(network, *fac_xy, max_distance_m=max_snap_m)
    # entry_seeds computes 0 * inf (a point at the end of a one-way street) and drops the NaN
    with np.errstate(invalid="ignore"):
        r_node, r_off, r_pt = entry_seeds(network, res_snap, direction="from_points")
        f_node, f_off, f_pt = entry_seeds(network, fac_snap, direction="to_points")
    n_res = res_snap.edge.shape[0]
    out = np.full((n_res, n_groups), np.inf)
    super_node = network.n_nodes
    for g in range(n_groups):
        keep = fac_group[f_pt] == g
        graph = rev.copy()
        for node, off in zip(f_node[keep], f_off[keep], strict=True):
            node, off = int(node), float(off)
            if not graph.has_edge(super_node, node) or graph[super_node][node]["weight"] > off:
                graph.add_edge(super_node, node, weight=off)
        if not keep.any():
            continue
        dist = nx.single_source_dijkstra_path_length(graph, super_node, weight="weight")
        for node, off, p in zip(r_node, r_off, r_pt, strict=True):
            d = dist.get(int(node))
            if d is not None:
                out[p, g] = min(out[p, g], off + d)
        # home and facility on the same edge: walk along it directly
        members = np.flatnonzero((fac_group == g) & fac_snap.snapped)
        for f in members:
            same = np.flatnonzero(res_snap.snapped & (res_snap.edge == fac_snap.edge[f]))
            arc = fac_snap.edge[f]
            twin = network.edge_twin[arc]
            for r in same:
                dt = fac_snap.fraction[f] - res_snap.fraction[r]
                if dt >= 0:
                    along = dt * network.edge_time_s[arc]
                elif twin >= 0:
                    along = -dt * network.edge_time_s[twin]
                else:
                    continue
                direct = res_snap.access_time_s[r] + along + fac_snap.access_time_s[f]
                out[r, g] = min(out[r, g], direct)
    out[out > cutoff_s] = np.inf
    return out
