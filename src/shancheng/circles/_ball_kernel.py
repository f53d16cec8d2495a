"""The compiled bounded search behind :mod:`shancheng.circles.balls` (numba, no Python objects)."""

from __future__ import annotations

import heapq

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def ball_kernel(indptr, heads, time_s, source, cutoff, dist, touched):  # pragma: no cover
    """Dijkstra from ``source`` up to ``cutoff``; returns how many nodes ``touched`` holds.

    ``dist`` must be all ``inf`` on entry; it is restored to ``inf`` on exit except for the
    returned nodes' times, which the caller reads and resets.
    """
    n_touched = 0
    dist[source] = 0.0
    touched[n_touched] = source
    n_touched += 1
    heap = [(0.0, source)]
    while heap:
        d, u = heapq.heappop(heap)
        if d > dist[u]:
            continue
        for a in range(indptr[u], indptr[u + 1]):
            v = heads[a]
            nd = d + time_s[a]
            if nd <= cutoff and nd < dist[v]:
                if dist[v] == np.inf:
                    touched[n_touched] = v
                    n_touched += 1
                dist[v] = nd
                heapq.heappush(heap, (nd, v))
    return n_touched
