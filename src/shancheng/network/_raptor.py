"""Compiled RAPTOR kernels: rounds of route scans and footpaths over a timetable's arrays.

Numba, numpy in and numpy out. Times are whole seconds (int64) since the service day's
midnight; :data:`INF` marks "not reached". The typed entry points, and what the arrays mean,
are in :mod:`shancheng.network.raptor`.

Labels are kept per round (``best[k, s]``: earliest arrival at ``s`` with at most ``k``
vehicles), together with the earliest arrival *by a vehicle* (``rode[k, s]``). Footpaths
are walked only from a vehicle's arrival (or from an origin), never one after another, so
they need not be transitively closed; a change at the same stop takes no time. Labels
survive from one departure time to the next earlier one (range RAPTOR, Delling et al.
2012 §4): a journey leaving later is still a journey for whoever leaves earlier and waits.
"""

from __future__ import annotations

import numba as nb
import numpy as np

INF = np.int64(2**62)


@nb.njit(cache=True, nogil=True)
def _first_trip(dep, base, n_trips, width, i, label):
    """Index of the first trip whose departure at position ``i`` is at or after ``label``."""
    lo, hi = 0, n_trips
    while lo < hi:
        mid = (lo + hi) >> 1
        if dep[base + mid * width + i] < label:
            lo = mid + 1
        else:
            hi = mid
    return lo


@nb.njit(cache=True, nogil=True)
def _scan_pattern(tt, p, start, best, rode, k, marked, improved, n_improved):
    """Ride pattern ``p`` from position ``start``: round ``k`` arrivals from round ``k-1``."""
    stop_ptr, stops, trip_ptr, time_ptr, arr, dep = tt[0], tt[1], tt[2], tt[3], tt[4], tt[5]
    lo_stop, hi_stop = stop_ptr[p], stop_ptr[p + 1]
    width = hi_stop - lo_stop
    n_trips = trip_ptr[p + 1] - trip_ptr[p]
    base = time_ptr[p]
    trip = n_trips  # none yet
    for i in range(start, width):
        s = stops[lo_stop + i]
        if trip < n_trips:
            a = arr[base + trip * width + i]
            if a < rode[k, s]:
                rode[k, s] = a
                if not marked[s]:  # marked: improved in this round (listed once)
                    marked[s] = True
                    improved[n_improved] = s
                    n_improved += 1
                best[k, s] = min(best[k, s], a)
        label = best[k - 1, s]
        if label < INF and (trip == n_trips or label <= dep[base + (trip - 1) * width + i]):
            # an earlier trip can be caught here (trips never overtake within a pattern)
            limit = trip
            first = _first_trip(dep, base, limit, width, i, label)
            if first < limit:
                trip = first
    return n_improved


@nb.njit(cache=True, nogil=True)
def _walk_footpaths(fp, best, rode, k, sources, n_sources, marked):
    """Walk the footpaths from the stops in ``sources`` (arrived by vehicle or origins)."""
    fp_ptr, fp_to, fp_time = fp[0], fp[1], fp[2]
    for j in range(n_sources):
        s = sources[j]
        t = rode[k, s]
        for e in range(fp_ptr[s], fp_ptr[s + 1]):
            b = fp_to[e]
            if t + fp_time[e] < best[k, b]:
                best[k, b] = t + fp_time[e]
                marked[b] = True


@nb.njit(cache=True, nogil=True)
def raptor_query(tt, stop_pat, fp, seed_stops, seed_times, best, rode, marked, queue, improved):
    """One RAPTOR query into labels left by a later one (range RAPTOR) or fresh (all INF).

    ``best``/``rode`` are ``(max_rounds + 1, n_stops)``; ``marked`` bool per stop (all False
    on entry and on exit); ``queue`` int per pattern (all -1 on entry and on exit);
    ``improved`` int work array of n_stops. Returns the rounds run.
    """
    stop_pat_ptr, stop_pats, stop_pat_pos = stop_pat[0], stop_pat[1], stop_pat[2]
    n_rounds = best.shape[0] - 1
    n_seeds = 0
    for j in range(seed_stops.shape[0]):
        s = seed_stops[j]
        if seed_times[j] < rode[0, s]:
            rode[0, s] = seed_times[j]
            best[0, s] = min(best[0, s], seed_times[j])
            marked[s] = True
            improved[n_seeds] = s
            n_seeds += 1
    _walk_footpaths(fp, best, rode, 0, improved, n_seeds, marked)
    queued = np.empty(queue.shape[0], dtype=np.int64)
    rounds = 0
    for k in range(1, n_rounds + 1):
        n_queued = 0
        for s in range(marked.shape[0]):
            best[k, s] = min(best[k, s], best[k - 1, s])
            rode[k, s] = min(rode[k, s], rode[k - 1, s])
            if not marked[s]:
                continue
            marked[s] = False
            for e in range(stop_pat_ptr[s], stop_pat_ptr[s + 1]):
                p = stop_pats[e]
                pos = stop_pat_pos[e]
                if queue[p] < 0:
                    queued[n_queued] = p
                    n_queued += 1
                    queue[p] = pos
                elif pos < queue[p]:
                    queue[p] = pos
        if n_queued == 0:
            break
        rounds = k
        n_improved = 0
        for j in range(n_queued):
            p = queued[j]
            n_improved = _scan_pattern(tt, p, queue[p], best, rode, k, marked, improved, n_improved)
            queue[p] = -1
        _walk_footpaths(fp, best, rode, k, improved, n_improved, marked)
    for s in range(marked.shape[0]):
        marked[s] = False
    return rounds


@nb.njit(cache=True, nogil=True)
def range_profiles(tt, stop_pat, fp, seed_stops, seed_offsets, departures, n_rounds, out):
    """Earliest arrivals for each departure time (ascending input), latest first.

    ``out[m, s]`` is the earliest arrival at ``s`` leaving the seeds at ``departures[m]``
    (plus each seed's offset). Returns the total rounds run.
    """
    n_stops = out.shape[1]
    n_patterns = tt[0].shape[0] - 1
    best = np.full((n_rounds + 1, n_stops), INF, dtype=np.int64)
    rode = np.full((n_rounds + 1, n_stops), INF, dtype=np.int64)
    marked = np.zeros(n_stops, dtype=np.bool_)
    queue = np.full(n_patterns, -1, dtype=np.int64)
    improved = np.empty(max(n_stops, seed_stops.shape[0]), dtype=np.int64)
    total = 0
    for m in range(departures.shape[0] - 1, -1, -1):
        total += raptor_query(tt, stop_pat, fp, seed_stops, departures[m] + seed_offsets,
                              best, rode, marked, queue, improved)  # fmt: skip
        for s in range(n_stops):
            low = INF
            for k in range(n_rounds + 1):
                low = min(low, best[k, s])
            out[m, s] = low
    return total
