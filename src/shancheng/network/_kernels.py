"""Compiled search kernels on a binary heap (float times), and the helpers around them.

Numba-compiled, numpy in and numpy out, no Python objects. The heap kernels serve float edge
times; whole-step times use the faster bucket-queue kernels of :mod:`shancheng.network._dial`.
Both read the renumbered layout of :mod:`shancheng.network._layout`; the finishing kernels
here turn their results back into the network's own node order. The public, typed and
validated entry points are in :mod:`shancheng.network.search`.
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

    ``dist`` must come in filled with ``inf`` and ``label`` with -1, except for nodes that
    come in with their final time and label (a search continued beyond a first one): those
    are never improved, and a source at exactly that time and label carries on from them.
    A node is reached when its time is <= ``cutoff``. Each node gets the smallest
    ``(time, label)``: among sources at the same time the smallest label wins (the caller
    passes ranks as labels). A node whose label improves after it was settled (a zero-time
    arc from a node settled later at the same time) is settled again. ``heap_key`` and
    ``heap_node`` (length >= arcs + sources + nodes + 1) and ``done`` (one per node) are work
    arrays the caller reuses across searches: fresh ones cost page faults that dominate the
    search. Returns the number of settlements.
    """
    n_src = src_nodes.shape[0]
    done[:] = False
    size = 0
    for s in range(n_src):
        node = src_nodes[s]
        offset = src_offsets[s]
        lab = src_labels[s]
        if offset > cutoff:
            continue
        if offset < dist[node]:
            dist[node] = offset
            label[node] = lab
            size = _heap_push(heap_key, heap_node, size, offset, node)
        elif offset == dist[node] and lab <= label[node]:
            if lab == label[node]:  # a continued search's seed (see below)
                size = _heap_push(heap_key, heap_node, size, offset, node)
            label[node] = lab  # else a smaller label: it is in the heap at this time already
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
            if nd <= cutoff:
                dv = dist[v]
                if nd < dv:
                    dist[v] = nd
                    label[v] = lab
                    size = _heap_push(heap_key, heap_node, size, nd, v)
                elif nd == dv and lab < label[v]:
                    label[v] = lab
                    if done[v]:  # settled at this time already: again, with the better label
                        done[v] = False
                        size = _heap_push(heap_key, heap_node, size, nd, v)
    return settled


@nb.njit(cache=True, nogil=True, inline="always")
def _relax_bounded(indptr, heads, weights, u, d, cutoff, dist, touched, n_touched, heap, size):
    """Relax the arcs of ``u`` (settled at ``d``) within ``cutoff``, for one bounded search.

    A node reached for the first time is added to ``touched``, for the reset after the
    search. Returns the heap's new size and the new number of touched nodes.
    """
    heap_key, heap_node = heap
    for e in range(indptr[u], indptr[u + 1]):
        v = heads[e]
        nd = d + weights[e]
        if nd <= cutoff and nd < dist[v]:
            if dist[v] == np.inf:
                touched[n_touched] = v
                n_touched += 1
            dist[v] = nd
            size = _heap_push(heap_key, heap_node, size, nd, v)
    return size, n_touched


@nb.njit(cache=True, nogil=True)
def count_within_heap(
    indptr,
    heads,
    weights,
    src_nodes,
    src_offsets,
    src_weight,
    with_weight,
    thresholds,
    bin_count,
    bin_weight,
    with_nearest,
    src_tie,
    best_time,
    best_tie,
    dist,
    done,
    touched,
    heap_key,
    heap_node,
):
    """Float-weight version of :func:`shancheng.network._dial.count_within_buckets`.

    With ``with_nearest``, also keeps in ``best_time``/``best_tie`` (layout numbering; times
    ``inf`` where unreached) the smallest ``(time, src_tie)`` over the sources. Returns the
    number of settled nodes.
    """
    n_thr = thresholds.shape[0]
    cutoff = thresholds[n_thr - 1]
    dist[:] = np.inf
    done[:] = False
    heap = (heap_key, heap_node)
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
        tie = src_tie[s]
        while size > 0:
            d, u, size = _heap_pop(heap_key, heap_node, size)
            if done[u] or d > dist[u]:
                continue
            done[u] = True
            settled_total += 1
            k = 0
            while thresholds[k] < d:
                k += 1
            if with_nearest and (d < best_time[u] or (d == best_time[u] and tie < best_tie[u])):
                best_time[u] = d
                best_tie[u] = tie
            bin_count[u, k] += 1
            if with_weight:
                bin_weight[u, k] += w_s
            size, n_touched = _relax_bounded(
                indptr, heads, weights, u, d, cutoff, dist, touched, n_touched, heap, size
            )
        for i in range(n_touched):
            dist[touched[i]] = np.inf
            done[touched[i]] = False
    return settled_total


@nb.njit(cache=True, nogil=True)
def pairs_within_heap(
    indptr, heads, weights, sources, cutoff, target, dist, touched, heap_key, heap_node
):
    """Bounded search from each source; ``(source position, target[v], time)`` per settled ``v``.

    Only nodes with ``target[v] >= 0`` are reported, in the order they are settled (each
    search's source first). ``dist`` comes in all ``inf`` and is left so, through the
    ``touched`` list (one per node); ``heap_key``/``heap_node`` hold arcs + 2 entries. The
    outputs grow by doubling: their size is the number of pairs, not sources x nodes.
    """
    out_s = np.empty(1024, np.int64)
    out_t = np.empty(1024, np.int64)
    out_d = np.empty(1024, np.float64)
    n_out = 0
    heap = (heap_key, heap_node)
    for s in range(sources.shape[0]):
        start = sources[s]
        dist[start] = 0.0
        touched[0] = start
        n_touched = 1
        size = _heap_push(heap_key, heap_node, 0, 0.0, start)
        while size > 0:
            d, u, size = _heap_pop(heap_key, heap_node, size)
            if d > dist[u]:
                continue
            t = target[u]
            if t >= 0:
                if n_out == out_s.shape[0]:
                    out_s = np.concatenate((out_s, np.empty_like(out_s)))
                    out_t = np.concatenate((out_t, np.empty_like(out_t)))
                    out_d = np.concatenate((out_d, np.empty_like(out_d)))
                out_s[n_out] = s
                out_t[n_out] = t
                out_d[n_out] = d
                n_out += 1
            size, n_touched = _relax_bounded(
                indptr, heads, weights, u, d, cutoff, dist, touched, n_touched, heap, size
            )
        for k in range(n_touched):
            dist[touched[k]] = np.inf
    return out_s[:n_out], out_t[:n_out], out_d[:n_out]


@nb.njit(cache=True, nogil=True)
def finish_nearest_state(
    state, label_bits, unreached, rank, labels, time_step, time_out, source_out
):
    """Unpack ``time << label_bits | s`` states (new numbering) into times and labels per old node.

    A state equal to ``unreached`` means no source within the cutoff.
    """
    low = (np.int64(1) << label_bits) - 1
    for i in range(rank.shape[0]):
        st = np.int64(state[rank[i]])
        if st == unreached:
            time_out[i] = np.inf
            source_out[i] = -1
        else:
            time_out[i] = np.float64(st >> label_bits) * time_step
            source_out[i] = labels[st & low]


@nb.njit(cache=True, nogil=True)
def finish_counts(bin_count, bin_weight, with_weight, order, count_out, amount_out, first):
    """Cumulate the per-threshold bins into the output rows, and leave the bins all zero.

    The bins (layout numbering) are read in order and ``order`` maps each to its network
    row. The first part of a group writes every row, zero where it reached nothing, so the
    rows need no filling beforehand; a later part adds to the rows it reached. Without
    weights the capacity is the count. Reading in layout order keeps the reads sequential
    and the writes near each other (both orders follow the ground): one pass over all rows
    in this order took 13-18 ms for a dense category's million rows on the benchmark grid,
    where visiting the reached rows in the order the searches found them took 21 ms.
    """
    n_thr = bin_count.shape[1]
    for r in range(order.shape[0]):
        reached = False
        for k in range(n_thr):
            reached |= bin_count[r, k] != 0
        if not first and not reached:
            continue
        i = order[r]
        run_c = 0
        run_w = 0.0
        for k in range(n_thr):
            run_c += bin_count[r, k]
            if with_weight:
                run_w += bin_weight[r, k]
            else:
                run_w = np.float64(run_c)
            if first:
                count_out[i, k] = run_c
                amount_out[i, k] = run_w
            else:
                count_out[i, k] += run_c
                amount_out[i, k] += run_w
        if reached:  # clean rows stay clean: no write-back
            for k in range(n_thr):
                bin_count[r, k] = 0
                if with_weight:
                    bin_weight[r, k] = 0.0


@nb.njit(cache=True, nogil=True)
def finish_nearest(dist, rank_label, rank, labels, time_out, source_out):
    """Copy the heap kernel's times (new numbering) out per old node, its ranks as labels."""
    for i in range(rank.shape[0]):
        time_out[i] = dist[rank[i]]
        r = rank_label[rank[i]]
        source_out[i] = labels[r] if r >= 0 else -1


@nb.njit(cache=True, nogil=True, inline="always")
def _finish_row(reached, t, tie, i, first, last, labels, time_out, source_out):
    """Write, or min-merge, one node's nearest ``(t, tie)`` into row ``i``; count it.

    ``first``: the row is written, ``inf``/-1 when not ``reached``; else it holds an earlier
    part's time and tie rank, and takes ``(t, tie)`` when smaller. ``last``: the tie rank
    left in the row is turned into its label. Returns 1 if the row has a source at the end.
    Each row is read at most once and written once (a read-back of the written rank made
    the pass 5x slower).
    """
    if not reached:
        t, tie = np.inf, np.int64(-1)
    if not first:
        t_old, tie_old = time_out[i], source_out[i]
        if not (t < t_old or (t == t_old and tie < tie_old)):
            t, tie = t_old, tie_old
    with_source = tie >= 0
    time_out[i] = t
    source_out[i] = labels[tie] if last and with_source else tie
    return 1 if with_source else 0


@nb.njit(cache=True, nogil=True)
def finish_nearest_keys(
    best, tie_bits, time_step, order, first, last, labels, time_out, source_out
):
    """Write the counting kernel's ``time << tie_bits | tie`` keys into the nearest rows.

    Layout order, as :func:`finish_counts`. The first part of a group writes every row
    (``inf``/-1 where unreached), later parts min-merge theirs, and the last turns the tie
    ranks into ``labels``. Returns the rows with a source (all of them only when
    ``last``). ``best`` is left all unreached (its dtype's largest value).
    """
    unreached = np.iinfo(best.dtype).max
    low = (np.int64(1) << tie_bits) - 1
    n_with = 0
    for r in range(order.shape[0]):
        key = np.int64(best[r])
        reached = key != unreached
        if reached:
            best[r] = unreached
        elif not first and not last:
            continue
        t = np.float64(key >> tie_bits) * time_step
        n_with += _finish_row(
            reached, t, key & low, order[r], first, last, labels, time_out, source_out
        )
    return n_with


@nb.njit(cache=True, nogil=True)
def finish_nearest_pairs(best_time, best_tie, order, first, last, labels, time_out, source_out):
    """Float-time version of :func:`finish_nearest_keys`; leaves ``best_time`` all ``inf``."""
    n_with = 0
    for r in range(order.shape[0]):
        t = best_time[r]
        reached = t != np.inf
        if reached:
            best_time[r] = np.inf
        elif not first and not last:
            continue
        n_with += _finish_row(
            reached, t, best_tie[r], order[r], first, last, labels, time_out, source_out
        )
    return n_with


@nb.njit(cache=True, nogil=True)
def preset_state(state, label_bits, rank, time_s, ties, time_step):
    """Set ``state`` (new numbering) to ``steps << label_bits | tie`` where a node was reached."""
    for i in range(rank.shape[0]):
        if ties[i] >= 0:
            steps = np.int64(np.rint(time_s[i] / time_step))
            state[rank[i]] = (steps << label_bits) | ties[i]


@nb.njit(cache=True, nogil=True)
def frontier_nodes(indptr, heads, time_s, nodes):
    """Write into ``nodes`` the reached nodes (finite ``time_s``) with an arc to an unreached one.

    A search continued from these alone, at their times, reaches every farther node as soon
    as one from the sources: a shortest path leaves the reached nodes through one of them.
    Returns how many there are.
    """
    k = 0
    for u in range(time_s.shape[0]):
        if time_s[u] < np.inf:
            for e in range(indptr[u], indptr[u + 1]):
                if time_s[heads[e]] == np.inf:
                    nodes[k] = u
                    k += 1
                    break
    return k


@nb.njit(cache=True, nogil=True)
def hilbert_keys(xi, yi, bits):
    """Position of each cell ``(xi, yi)`` along the Hilbert curve filling a 2^bits grid."""
    side = np.int64(1) << bits
    keys = np.empty(xi.shape[0], np.int64)
    for i in range(xi.shape[0]):
        x = xi[i]
        y = yi[i]
        key = np.int64(0)
        s = side >> 1
        while s > 0:
            rx = 1 if (x & s) > 0 else 0
            ry = 1 if (y & s) > 0 else 0
            key += s * s * ((3 * rx) ^ ry)
            if ry == 0:  # rotate the quadrant
                if rx == 1:
                    x = side - 1 - x
                    y = side - 1 - y
                x, y = y, x
            s >>= 1
        keys[i] = key
    return keys
