"""Residence-facility pairs within a catchment: one bounded search per facility, sparse output.

2SFCA needs every (residence, facility, time) triple within the catchment. Searching each
facility with the network kernels gives a full-length time row per facility (facilities x
nodes values to initialise and scan); this numba kernel keeps one distance array per thread,
resets only the nodes it touched, and emits the triples of the residence nodes it settles.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@numba.njit(cache=True, nogil=True)
def _push(keys, items, size, key, item):
    i = size
    keys[i] = key
    items[i] = item
    while i > 0:
        parent = (i - 1) // 2
        if keys[parent] <= keys[i]:
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        items[parent], items[i] = items[i], items[parent]
        i = parent
    return size + 1


@numba.njit(cache=True, nogil=True)
def _pop(keys, items, size):
    key, item = keys[0], items[0]
    size -= 1
    keys[0], items[0] = keys[size], items[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and keys[left + 1] < keys[left]:
            child = left + 1
        if keys[i] <= keys[child]:
            break
        keys[child], keys[i] = keys[i], keys[child]
        items[child], items[i] = items[i], items[child]
        i = child
    return key, item, size


@numba.njit(cache=True, nogil=True)
def _pairs_kernel(indptr, heads, weights, sources, cutoff, target, dist, touched, keys, items):
    """Bounded Dijkstra from each source; triples (source position, target, time) settled."""
    out_s = np.empty(1024, np.int64)
    out_t = np.empty(1024, np.int64)
    out_d = np.empty(1024, np.float64)
    n_out = 0
    for s in range(sources.shape[0]):
        n_touched = 0
        size = _push(keys, items, 0, 0.0, sources[s])
        dist[sources[s]] = 0.0
        touched[n_touched] = sources[s]
        n_touched += 1
        while size > 0:
            d, u, size = _pop(keys, items, size)
            if d > dist[u]:
                continue
            if target[u] >= 0:
                if n_out == out_s.shape[0]:
                    out_s = np.concatenate((out_s, np.empty_like(out_s)))
                    out_t = np.concatenate((out_t, np.empty_like(out_t)))
                    out_d = np.concatenate((out_d, np.empty_like(out_d)))
                out_s[n_out] = s
                out_t[n_out] = target[u]
                out_d[n_out] = d
                n_out += 1
            for e in range(indptr[u], indptr[u + 1]):
                v = heads[e]
                nd = d + weights[e]
                if nd <= cutoff and nd < dist[v]:
                    if dist[v] == np.inf:
                        touched[n_touched] = v
                        n_touched += 1
                    dist[v] = nd
                    size = _push(keys, items, size, nd, v)
        for k in range(n_touched):
            dist[touched[k]] = np.inf
    return out_s[:n_out], out_t[:n_out], out_d[:n_out]


def pairs_within(
    indptr: IntArray,
    heads: IntArray,
    weights: FloatArray,
    sources: IntArray,
    target: IntArray,
    cutoff_s: float,
    *,
    threads: int | None = None,
) -> tuple[IntArray, IntArray, FloatArray]:
    """Every (source position, target id, time) with time <= cutoff, searching from sources.

    Parameters
    ----------
    indptr, heads, weights
        The CSR graph to search (reversed, to get times *to* the sources).
    sources
        Start node of each search.
    target
        Per node, the id reported when the search settles it, or -1 (not a target).
    cutoff_s
        Searches stop beyond this time.
    threads
        Worker threads (searches are split among them); default all cores.

    Returns
    -------
    tuple of arrays
        ``(source_position, target_id, time_s)``.
    """
    n_nodes = indptr.shape[0] - 1
    workers = max(1, min(threads or os.cpu_count() or 1, sources.shape[0]))
    chunks = np.array_split(np.arange(sources.shape[0]), workers)

    def run(chunk: IntArray) -> tuple[IntArray, IntArray, FloatArray]:
        dist = np.full(n_nodes, np.inf)
        touched = np.empty(n_nodes, np.int64)
        keys = np.empty(heads.shape[0] + 1, np.float64)
        items = np.empty(heads.shape[0] + 1, np.int64)
        s, t, d = _pairs_kernel(indptr, heads, weights, sources[chunk], float(cutoff_s),
                                target, dist, touched, keys, items)  # fmt: skip
        return chunk[s], t, d

    if workers == 1:
        parts = [run(chunks[0])]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(run, chunks))
    return (
        np.concatenate([p[0] for p in parts]).astype(np.int64),
        np.concatenate([p[1] for p in parts]).astype(np.int64),
        np.concatenate([p[2] for p in parts]).astype(np.float64),
    )
