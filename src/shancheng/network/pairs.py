"""Sparse bounded searches: every (source, node, time) within a cutoff, one search per source.

For 2SFCA's residence-facility pairs the answer is the pairs themselves, so each search
reports the nodes it settles instead of filling a row the length of the city; each thread
keeps one distance array (reset through a touched list) and one heap for all its searches.
The kernel is :func:`shancheng.network._kernels.pairs_within_heap`, on the binary heap of the
other float-time kernels.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from shancheng.network._kernels import pairs_within_heap
from shancheng.types import FloatArray, IntArray

Pairs = tuple[IntArray, IntArray, FloatArray]


def pairs_within(
    indptr: IntArray,
    heads: IntArray,
    weights: FloatArray,
    sources: IntArray,
    target: IntArray,
    cutoff_s: float,
    *,
    threads: int | None = None,
) -> Pairs:
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

    Examples
    --------
    >>> pos, ids, t = pairs_within(np.array([0, 1, 2, 2]), np.array([1, 2]), np.array([3.0, 4.0]),
    ...                            np.array([0, 1]), np.array([-1, 10, 20]), 5.0)
    >>> pos.tolist(), ids.tolist(), t.tolist()
    ([0, 1, 1], [10, 10, 20], [3.0, 0.0, 4.0])
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    heads = np.asarray(heads, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    target = np.asarray(target, dtype=np.int64)
    n_nodes = indptr.shape[0] - 1
    workers = max(1, min(threads or os.cpu_count() or 1, sources.shape[0]))
    chunks = np.array_split(np.arange(sources.shape[0]), workers)

    def run(chunk: IntArray) -> Pairs:
        s, t, d = pairs_within_heap(
            indptr, heads, weights, np.asarray(sources[chunk], dtype=np.int64), float(cutoff_s),
            target, np.full(n_nodes, np.inf), np.empty(n_nodes, np.int64),
            np.empty(heads.shape[0] + 2, np.float64), np.empty(heads.shape[0] + 2, np.int64),
        )  # fmt: skip
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
