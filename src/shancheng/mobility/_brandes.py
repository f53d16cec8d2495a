"""Brandes' betweenness accumulation from chosen sources, for several distance cutoffs at once.

Numba-compiled, numpy in and numpy out. One Dijkstra per source up to the largest cutoff
counts the shortest paths (sigma); one backward pass over the settled nodes adds each
target's share to the nodes and arcs on its shortest paths, separately for every cutoff
(a target farther than the cutoff adds nothing at that scale). Successors are found on the
outgoing arcs (``dist[w] + weight == dist[x]``), so only the forward CSR is needed.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from shancheng.network._kernels import _heap_pop, _heap_push


@nb.njit(cache=True, nogil=True)
def brandes_from_sources(indptr, head, weight, sources, cutoffs):
    """Node and arc dependencies summed over ``sources``: shapes (c, n) and (c, m)."""
    n = indptr.shape[0] - 1
    m = head.shape[0]
    n_cut = cutoffs.shape[0]
    limit = cutoffs[n_cut - 1]
    node_dep = np.zeros((n_cut, n))
    arc_dep = np.zeros((n_cut, m))
    dist = np.full(n, np.inf)
    sigma = np.zeros(n)
    delta = np.zeros((n_cut, n))
    done = np.zeros(n, dtype=np.bool_)
    order = np.empty(n, dtype=np.int64)
    heap_key = np.empty(m + 1)
    heap_node = np.empty(m + 1, dtype=np.int64)
    for s in sources:
        size = _heap_push(heap_key, heap_node, 0, 0.0, s)
        dist[s] = 0.0
        sigma[s] = 1.0
        count = 0
        while size > 0:
            d, u, size = _heap_pop(heap_key, heap_node, size)
            if done[u] or d > dist[u]:
                continue
            done[u] = True
            order[count] = u
            count += 1
            for a in range(indptr[u], indptr[u + 1]):
                v = head[a]
                nd = d + weight[a]
                if nd > limit:
                    continue
                if nd < dist[v]:
                    dist[v] = nd
                    sigma[v] = sigma[u]
                    size = _heap_push(heap_key, heap_node, size, nd, v)
                elif nd == dist[v] and not done[v]:
                    sigma[v] += sigma[u]
        for k in range(count - 1, -1, -1):
            w = order[k]
            dw = dist[w]
            for a in range(indptr[w], indptr[w + 1]):
                x = head[a]
                if not done[x] or dw + weight[a] != dist[x] or x == s:
                    continue
                share = sigma[w] / sigma[x]
                for c in range(n_cut):
                    if dist[x] <= cutoffs[c]:
                        flow = share * (1.0 + delta[c, x])
                        delta[c, w] += flow
                        arc_dep[c, a] += flow
            if w != s:
                for c in range(n_cut):
                    node_dep[c, w] += delta[c, w]
        for k in range(count):
            w = order[k]
            dist[w] = np.inf
            sigma[w] = 0.0
            done[w] = False
            for c in range(n_cut):
                delta[c, w] = 0.0
    return node_dep, arc_dep


@nb.njit(cache=True, nogil=True)
def brandes_turns_from_sources(indptr, head, weight, succ_ptr, succ, sources, cutoffs):
    """Sum the same dependencies on the arc graph, where only the turns ``succ`` lists follow.

    A search state is an arc (a car on it, heading to its head); the arcs that may follow arc
    ``a`` are ``succ[succ_ptr[a]:succ_ptr[a + 1]]``. A target junction is reached by its
    quickest arcs in; a route passes a junction when it leaves it again by an allowed turn, so
    a route that passes the same junction twice (round the block after a banned turn) counts
    there twice. Shapes (c, n) and (c, m) as :func:`brandes_from_sources`.
    """
    n = indptr.shape[0] - 1
    m = head.shape[0]
    n_cut = cutoffs.shape[0]
    limit = cutoffs[n_cut - 1]
    node_dep = np.zeros((n_cut, n))
    arc_dep = np.zeros((n_cut, m))
    dist = np.full(m, np.inf)
    sigma = np.zeros(m)
    delta = np.zeros((n_cut, m))
    done = np.zeros(m, dtype=np.bool_)
    order = np.empty(m, dtype=np.int64)
    reach = np.full(n, np.inf)
    reach_sigma = np.zeros(n)
    heap_key = np.empty(succ.shape[0] + m + 1)
    heap_node = np.empty(succ.shape[0] + m + 1, dtype=np.int64)
    for s in sources:
        size = 0
        for a in range(indptr[s], indptr[s + 1]):
            if weight[a] <= limit:
                dist[a] = weight[a]
                sigma[a] = 1.0
                size = _heap_push(heap_key, heap_node, size, weight[a], a)
        count = 0
        while size > 0:
            d, a, size = _heap_pop(heap_key, heap_node, size)
            if done[a] or d > dist[a]:
                continue
            done[a] = True
            order[count] = a
            count += 1
            v = head[a]
            if v != s:
                if d < reach[v]:
                    reach[v] = d
                    reach_sigma[v] = sigma[a]
                elif d == reach[v]:
                    reach_sigma[v] += sigma[a]
            for i in range(succ_ptr[a], succ_ptr[a + 1]):
                b = succ[i]
                nd = d + weight[b]
                if nd > limit:
                    continue
                if nd < dist[b]:
                    dist[b] = nd
                    sigma[b] = sigma[a]
                    size = _heap_push(heap_key, heap_node, size, nd, b)
                elif nd == dist[b] and not done[b]:
                    sigma[b] += sigma[a]
        for k in range(count - 1, -1, -1):
            a = order[k]
            v = head[a]
            da = dist[a]
            if v != s and da == reach[v]:
                share = sigma[a] / reach_sigma[v]
                for c in range(n_cut):
                    if da <= cutoffs[c]:
                        delta[c, a] += share
            for i in range(succ_ptr[a], succ_ptr[a + 1]):
                b = succ[i]
                if not done[b] or da + weight[b] != dist[b]:
                    continue
                share = sigma[a] / sigma[b]
                for c in range(n_cut):
                    flow = share * delta[c, b]
                    delta[c, a] += flow
                    if v != s:
                        node_dep[c, v] += flow
            for c in range(n_cut):
                arc_dep[c, a] += delta[c, a]
        for k in range(count):
            a = order[k]
            reach[head[a]] = np.inf
            reach_sigma[head[a]] = 0.0
            dist[a] = np.inf
            sigma[a] = 0.0
            done[a] = False
            for c in range(n_cut):
                delta[c, a] = 0.0
    return node_dep, arc_dep
