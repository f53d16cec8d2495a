"""Compiled search kernels: bounded multi-source Dijkstra and facility-centric counts.

Numba-compiled, numpy in and numpy out, no Python objects. Two queues are offered:
a binary heap for float weights and a bucket queue (Dial's algorithm) for integer weights,
whose every operation is O(1) because a 15-minute cutoff has only 900 one-second buckets.
The public, typed and validated entry points are in :mod:`shancheng.network.search`.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def _heap_push(heap_key, heap_node, size, key, node):
    i = size
    heap_key[i] = key
    heap_node[i] = node
    while i > 0:
        parent = (i - 1) >> 1
        if heap_key[parent] <= key:
            break
        heap_key[i] = heap_key[parent]
        heap_node[i] = heap_node[parent]
        i = parent
    heap_key[i] = key
    heap_node[i] = node
    return size + 1


@nb.njit(cache=True, nogil=True)
def _heap_pop(heap_key, heap_node, size):
    key = heap_key[0]
    node = heap_node[0]
    size -= 1
    last_key = heap_key[size]
    last_node = heap_node[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and heap_key[child + 1] < heap_key[child]:
            child += 1
        if heap_key[child] >= last_key:
            break
        heap_key[i] = heap_key[child]
        heap_node[i] = heap_node[child]
        i = child
    if size > 0:
        heap_key[i] = last_key
        heap_node[i] = last_node
    return key, node, size


@nb.njit(cache=True, nogil=True)
def nearest_heap(
    indptr,
    heads,
    weights,
    src_nodes,
    src_offsets,
    src_labels,
    cutoff,
    dist,
    label,
    heap_key,
    heap_node,
    done,
):
    """Fill ``dist``/``label`` with the time to, and label of, the nearest source (binary heap).

    ``dist`` must come in filled with ``inf`` and ``label`` with -1. A node is reached when its
    time is <= ``cutoff``. Ties are broken toward the source pushed first. ``heap_key`` and
    ``heap_node`` (length >= arcs + sources + 1) and ``done`` (one per node) are work arrays
    the caller reuses across searches: fresh ones cost page faults that dominate the search.
    """
    n_src = src_nodes.shape[0]
    done[:] = False
    size = 0
    for s in range(n_src):
        node = src_nodes[s]
        offset = src_offsets[s]
        if offset <= cutoff and offset < dist[node]:
            dist[node] = offset
            label[node] = src_labels[s]
            size = _heap_push(heap_key, heap_node, size, offset, node)
    settled = 0
    while size > 0:
        d, u, size = _heap_pop(heap_key, heap_node, size)
        if done[u] or d > dist[u]:
            continue
        done[u] = True
        settled += 1
        lab = label[u]
        for e in range(indptr[u], indptr[u + 1]):
            v = heads[e]
            nd = d + weights[e]
            if nd < dist[v] and nd <= cutoff:
                dist[v] = nd
                label[v] = lab
                size = _heap_push(heap_key, heap_node, size, nd, v)
    return settled


@nb.njit(cache=True, nogil=True)
def _push(bucket_head, entry_node, entry_next, n_entries, key, node):
    slot = key % bucket_head.shape[0]
    entry_node[n_entries] = node
    entry_next[n_entries] = bucket_head[slot]
    bucket_head[slot] = n_entries
    return n_entries + 1


@nb.njit(cache=True, nogil=True)
def nearest_buckets(
    indptr,
    heads,
    weights,
    src_nodes,
    src_offsets,
    src_labels,
    cutoff,
    dist,
    label,
    entry_node,
    entry_next,
    done,
):
    """Integer-weight version of :func:`nearest_heap` on a bucket queue (Dial's algorithm).

    The queue is circular with ``max(weights) + 1`` buckets, so its size does not depend on
    the cutoff; sources enter it in order of their offsets. ``dist`` must come in filled with
    a value > ``cutoff`` (the caller's "unreached").
    """
    n_src = src_nodes.shape[0]
    max_w = weights.max() if weights.shape[0] else 0
    bucket_head = np.full(max_w + 1, -1, dtype=np.int64)
    done[:] = False
    order = np.argsort(src_offsets, kind="mergesort")
    n_entries = 0
    pending = 0
    p = 0
    settled = 0
    d = 0
    while True:
        if pending == 0:
            if p >= n_src:
                break
            d = max(d, src_offsets[order[p]])
        if d > cutoff:
            break
        while p < n_src and src_offsets[order[p]] <= d:
            s = order[p]
            p += 1
            node = src_nodes[s]
            if d < dist[node]:
                dist[node] = d
                label[node] = src_labels[s]
                n_entries = _push(bucket_head, entry_node, entry_next, n_entries, d, node)
                pending += 1
        slot = d % bucket_head.shape[0]
        while bucket_head[slot] >= 0:
            entry = bucket_head[slot]
            bucket_head[slot] = entry_next[entry]
            pending -= 1
            u = entry_node[entry]
            if done[u] or dist[u] != d:
                continue
            done[u] = True
            settled += 1
            lab = label[u]
            for e in range(indptr[u], indptr[u + 1]):
                v = heads[e]
                nd = d + weights[e]
                if nd < dist[v] and nd <= cutoff:
                    dist[v] = nd
                    label[v] = lab
                    n_entries = _push(bucket_head, entry_node, entry_next, n_entries, nd, v)
                    pending += 1
        d += 1
    return settled


@nb.njit(cache=True, nogil=True)
def count_within_buckets(
    indptr,
    heads,
    weights,
    src_nodes,
    src_offsets,
    src_weight,
    thresholds,
    counts,
    amounts,
    dist,
    touched,
    entry_node,
    entry_next,
):
    """Add, for each source, 1 and its weight to every node within each threshold of it.

    One bounded search per source on a bucket queue (integer weights), stopped at the largest
    threshold; ``counts[v, k]`` and ``amounts[v, k]`` grow for every threshold ``k`` with
    ``time(source → v) <= thresholds[k]``. ``thresholds`` must be sorted ascending.
    Returns the total number of settled nodes.
    """
    n_thr = thresholds.shape[0]
    cutoff = thresholds[n_thr - 1]
    big = cutoff + 1
    dist[:] = big
    max_w = weights.max() if weights.shape[0] else 0
    bucket_head = np.full(max_w + 1, -1, dtype=np.int64)  # circular: keys span <= max_w
    n_buckets = max_w + 1
    settled_total = 0
    for s in range(src_nodes.shape[0]):
        start = src_nodes[s]
        offset = src_offsets[s]
        if offset > cutoff:
            continue
        n_touched = 0
        n_entries = 0
        dist[start] = offset
        touched[n_touched] = start
        n_touched += 1
        entry_node[0] = start
        entry_next[0] = -1
        bucket_head[offset % n_buckets] = 0
        n_entries = 1
        pending = 1
        w_s = src_weight[s]
        k = 0
        for d in range(offset, cutoff + 1):
            if pending == 0:
                break
            while k < n_thr and thresholds[k] < d:
                k += 1
            slot = d % n_buckets
            while bucket_head[slot] >= 0:
                entry = bucket_head[slot]
                bucket_head[slot] = entry_next[entry]
                pending -= 1
                u = entry_node[entry]
                if dist[u] != d:
                    continue
                dist[u] = -1  # settled
                settled_total += 1
                for j in range(k, n_thr):
                    counts[u, j] += 1
                    amounts[u, j] += w_s
                for e in range(indptr[u], indptr[u + 1]):
                    v = heads[e]
                    nd = d + weights[e]
                    dv = dist[v]
                    if nd <= cutoff and dv >= 0 and nd < dv:
                        if dv == big:
                            touched[n_touched] = v
                            n_touched += 1
                        dist[v] = nd
                        pending += 1
                        n_entries = _push(bucket_head, entry_node, entry_next, n_entries, nd, v)
        for i in range(n_touched):
            dist[touched[i]] = big
    return settled_total


@nb.njit(cache=True, nogil=True)
def count_within_heap(
    indptr,
    heads,
    weights,
    src_nodes,
    src_offsets,
    src_weight,
    thresholds,
    counts,
    amounts,
    dist,
    done,
    touched,
    heap_key,
    heap_node,
):
    """Float-weight version of :func:`count_within_buckets` on a binary heap."""
    n_thr = thresholds.shape[0]
    cutoff = thresholds[n_thr - 1]
    dist[:] = np.inf
    done[:] = False
    settled_total = 0
    for s in range(src_nodes.shape[0]):
        start = src_nodes[s]
        offset = src_offsets[s]
        if offset > cutoff:
            continue
        n_touched = 1
        touched[0] = start
        dist[start] = offset
        size = _heap_push(heap_key, heap_node, 0, offset, start)
        w_s = src_weight[s]
        while size > 0:
            d, u, size = _heap_pop(heap_key, heap_node, size)
            if done[u] or d > dist[u]:
                continue
            done[u] = True
            settled_total += 1
            for j in range(n_thr):
                if d <= thresholds[j]:
                    counts[u, j] += 1
                    amounts[u, j] += w_s
            for e in range(indptr[u], indptr[u + 1]):
                v = heads[e]
                nd = d + weights[e]
                if nd <= cutoff and nd < dist[v]:
                    if dist[v] == np.inf:
                        touched[n_touched] = v
                        n_touched += 1
                    dist[v] = nd
                    size = _heap_push(heap_key, heap_node, size, nd, v)
        for i in range(n_touched):
            dist[touched[i]] = np.inf
            done[touched[i]] = False
    return settled_total
