"""Compiled step of walk + transit accessibility: per residence, per category, per minute.

Numba, numpy in and numpy out; the typed entry point is
:func:`shancheng.circles.transit.compute_transit_access`.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True, nogil=True)
def _quantile(values, q):
    """``numpy.quantile(values, q)`` (linear) of a sorted array, ``inf`` kept as such."""
    n = values.shape[0]
    pos = q * (n - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, n - 1)
    if not np.isfinite(values[hi]):
        return values[hi] if pos > lo else values[lo]
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


@nb.njit(cache=True, nogil=True)
def combine(access_s, ride_s, walk_s, step_s, n_window, upper_q, median_out, upper_out):
    """Median and upper quantile over the window of the best of walking and riding.

    ``access_s[s, r]``: walk from residence ``r`` to the platform of stop ``s`` (inf: too
    far); ``ride_s[c, s, m]``: from stop ``s`` at minute ``m`` of the extended window to the
    nearest facility of category ``c`` (rides, transfers and the walk out); ``walk_s[r, c]``:
    the walk alone. Leaving home at minute ``t``, the rider is on the platform at
    ``t + access`` and counts from the next whole step: ``ceil(access / step)`` steps.
    """
    n_stops, n_res = access_s.shape
    n_cat = ride_s.shape[0]
    stops = np.empty(n_stops, dtype=np.int64)
    steps = np.empty(n_stops, dtype=np.int64)
    values = np.empty(n_window, dtype=np.float64)
    for r in range(n_res):
        n_near = 0
        for s in range(n_stops):
            a = access_s[s, r]
            if np.isfinite(a):
                stops[n_near] = s
                steps[n_near] = int(np.ceil(a / step_s - 1e-9))
                n_near += 1
        for c in range(n_cat):
            walk = walk_s[r, c]
            for t in range(n_window):
                best = walk
                for j in range(n_near):
                    k = steps[j]
                    total = k * step_s + ride_s[c, stops[j], t + k]
                    best = min(best, total)
                values[t] = best
            values.sort()
            median_out[r, c] = _quantile(values, 0.5)
            upper_out[r, c] = _quantile(values, upper_q)
