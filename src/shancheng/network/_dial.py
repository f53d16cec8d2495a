"""Compiled bucket-queue (Dial) kernels for whole-step times: nearest source, and counts.

Both kernels read the renumbered, packed layout of :mod:`shancheng.network._layout` (one
word per arc, ``head << weight_bits | weight``), numpy in and numpy out, and release the GIL.

**Nearest** (:func:`nearest_buckets`) is a multi-source Dijkstra over a million nodes whose
frontier is spread over the whole city, so nearly every read misses the cache. Its queue keeps
each bucket as a list of 64-node chunks instead of a linked list of nodes, and it handles a
chunk in passes: first it only *touches* the state and arc offsets of the chunk's 64 nodes,
then the first arc of those still current, then it collects their arcs, touches the heads'
states, and only then relaxes. The touches are
independent loads the processor overlaps, where a plain loop waits for each miss in turn
(measured: 280 → 180 ns per settled node on the 1M-node benchmark grid, and -21 % more for
touching the arcs). The node state is one
word ``time << label_bits | source index``, so a relaxation reads and writes one word; it is
int32 when time and index fit in 30 bits (a 15-minute cutoff in seconds and up to 2^20
sources), which halves the state's share of the cache, and int64 otherwise.

**Counts** (:func:`count_within_buckets`) runs one small bounded search per source; those stay
in cache when the sources come sorted by (renumbered) node id, so it is a lean loop: a circular
bucket queue with a power-of-two mask, an int32 distance array reset through a touched list,
and one count (and capacity) added per settled node, in the bin of the first threshold it is
within, in the layout's numbering; :func:`shancheng.network._kernels.finish_counts` turns the
bins into cumulative counts in the network's numbering. Its relaxation
has no branch on whether an arc improves (a coin toss for the predictor): the queue entry is
written anyway and kept only when it does (-6 % time on the 1M-node benchmark grid).
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

CHUNK = 64
"""Nodes per queue chunk, and per pass of the nearest kernel."""
CANDIDATES = 512
"""Arcs collected before they are relaxed in one pass."""
MAX_STEPS = 2**31 - 2
"""Largest cutoff in whole steps: times live in the high 32 bits of an int64 state."""
_U = np.uint64
"""Indexing with unsigned ints spares numba's negative-index fix-up on every access (~15 %)."""


@nb.njit(cache=True, nogil=True, inline="always")
def _push(node, slot, chunk_nodes, chunk_next, first, last, fill, scalars):
    """Append ``node`` to bucket ``slot``, opening a chunk from the free list when full."""
    c = last[slot]
    if c < 0 or fill[slot] == chunk_nodes.shape[1]:
        new = scalars[0]
        scalars[0] = chunk_next[new]
        chunk_next[new] = -1
        if c >= 0:
            chunk_next[c] = new
        else:
            first[slot] = new
        last[slot] = new
        fill[slot] = 0
        c = new
    chunk_nodes[c, fill[slot]] = node
    fill[slot] += 1


@nb.njit(cache=True, nogil=True, inline="always")
def _relax(n_cand, cand_v, cand_d, cand_l, state, label_bits, d, done, queue, scalars):
    """Relax the collected arcs; return how many nodes were pushed.

    A node takes the smaller ``(time, source)``; it is pushed when its time drops. When only
    its source improves it already waits in its bucket, unless a zero-time arc reached it in
    the bucket being settled (``done``: it was settled there already): then it goes again.
    """
    chunk_nodes, chunk_next, first, last, fill = queue
    mask = first.shape[0] - 1
    touch = np.int64(0)
    for i in range(n_cand):  # independent loads first: the misses overlap
        touch += state[_U(cand_v[_U(i)])]
    scalars[1] += touch
    pushed = 0
    for i in range(n_cand):
        v = cand_v[_U(i)]
        nd = cand_d[_U(i)]
        new = (nd << label_bits) | cand_l[_U(i)]
        old = state[_U(v)]
        if new < old:
            state[_U(v)] = new
            if (old >> label_bits) != nd or (nd == d and done[_U(v)]):
                if nd == d:
                    done[_U(v)] = False
                _push(v, nd & mask, chunk_nodes, chunk_next, first, last, fill, scalars)
                pushed += 1
    return pushed


@nb.njit(cache=True, nogil=True)
def nearest_buckets(
    indptr,
    arcs,
    weight_bits,
    weight_mask,
    src_nodes,
    src_offsets,
    src_ties,
    cutoff,
    state,
    label_bits,
    done,
    zero_arcs,
    chunk_nodes,
    chunk_next,
    first,
    last,
    fill,
    batch_u,
    batch_l,
    cand_v,
    cand_d,
    cand_l,
    scalars,
):
    """Fill ``state`` with ``time << label_bits | s`` of the nearest source ``s`` in ``cutoff``.

    ``state`` (int32 or int64) must come filled with its dtype's largest value, which must
    exceed every ``cutoff << label_bits | s``; ``s = src_ties[p] < 2**label_bits`` is source
    ``p``'s tie rank. Sources must come sorted by offset (whole steps). Each node gets the
    smallest ``(time, s)``: ties go to the smaller rank. A node may come in with its final
    state already (a search continued beyond a first one): it is never improved, and a source
    at exactly that state is pushed to carry on from it. With
    ``zero_arcs`` (some arcs take 0 steps) ``done`` (one bool per node) marks the nodes settled
    in the current bucket, for the ones a zero-time arc gives a better source afterwards;
    otherwise it is not read. ``first``/``last``/``fill`` have a power-of-two length above the
    longest arc; ``chunk_nodes`` holds at least ``(arcs + sources + nodes) / CHUNK + buckets
    + 3`` chunks. Returns the number of settlements (a node settled again for a better
    source through a zero-time arc counts twice).
    """
    n_src = src_nodes.shape[0]
    n_arcs = arcs.shape[0]
    n_chunks = chunk_next.shape[0]
    chunk_size = chunk_nodes.shape[1]
    mask = first.shape[0] - 1
    low = (np.int64(1) << label_bits) - 1
    first[:] = -1
    last[:] = -1
    fill[:] = 0
    if zero_arcs:
        done[:] = False
    for c in range(n_chunks):
        chunk_next[c] = c + 1
    chunk_next[n_chunks - 1] = -1
    scalars[0] = 0  # head of the free list of chunks
    queue = (chunk_nodes, chunk_next, first, last, fill)
    pending = 0
    p = 0
    settled = 0
    d = np.int64(0)
    while True:
        if pending == 0:
            if p >= n_src:
                break
            d = max(d, np.int64(src_offsets[p]))
        if d > cutoff:
            break
        while p < n_src and src_offsets[p] <= d:
            node = src_nodes[p]
            new = (d << label_bits) | src_ties[p]
            old = state[node]
            if new <= old:
                state[node] = new
                # a smaller rank at the same time waits in bucket d already; the same state
                # is a continued search's seed
                if (old >> label_bits) != d or new == old:
                    _push(node, d & mask, chunk_nodes, chunk_next, first, last, fill, scalars)
                    pending += 1
            p += 1
        slot = d & mask
        while first[slot] >= 0:
            c = first[slot]
            tail_chunk = last[slot]
            tail_fill = fill[slot]
            first[slot] = -1
            last[slot] = -1
            fill[slot] = 0
            while c >= 0:
                k = tail_fill if c == tail_chunk else chunk_size
                following = chunk_next[c]
                pending -= k
                touch = np.int64(0)
                for i in range(k):  # independent loads first: the misses overlap
                    u = chunk_nodes[_U(c), _U(i)]
                    touch += state[_U(u)] + indptr[_U(u)]
                scalars[1] += touch
                m = 0
                for i in range(k):
                    u = chunk_nodes[_U(c), _U(i)]
                    su = state[_U(u)]
                    if (su >> label_bits) == d:  # else a stale entry: u was reached sooner
                        batch_u[_U(m)] = u
                        batch_l[_U(m)] = su & low
                        m += 1
                        if zero_arcs:
                            done[_U(u)] = True
                chunk_next[c] = scalars[0]  # the chunk is read: back to the free list
                scalars[0] = c
                settled += m
                touch = np.int64(0)
                for i in range(m):  # likewise the first arc of each node: -21 % time
                    e = indptr[_U(batch_u[_U(i)])]
                    if e < n_arcs:  # the last nodes may have no arcs
                        touch += np.int64(arcs[_U(e)] & weight_mask)
                scalars[1] += touch
                n_cand = 0
                for i in range(m):
                    u = batch_u[_U(i)]
                    lab = batch_l[_U(i)]
                    for e in range(indptr[_U(u)], indptr[_U(u + 1)]):
                        a = arcs[_U(e)]
                        nd = d + np.int64(a & weight_mask)
                        if nd <= cutoff:
                            if n_cand == cand_v.shape[0]:
                                pending += _relax(
                                    n_cand,
                                    cand_v,
                                    cand_d,
                                    cand_l,
                                    state,
                                    label_bits,
                                    d,
                                    done,
                                    queue,
                                    scalars,
                                )
                                n_cand = 0
                            cand_v[_U(n_cand)] = np.int64(a >> weight_bits)
                            cand_d[_U(n_cand)] = nd
                            cand_l[_U(n_cand)] = lab
                            n_cand += 1
                pending += _relax(
                    n_cand, cand_v, cand_d, cand_l, state, label_bits, d, done, queue, scalars
                )
                c = following
        d += 1
    return settled


@nb.njit(cache=True, nogil=True, inline="always")
def _next_slot(occ, slot, mask):
    """Return the first occupied slot after ``slot`` in circular order (one must be)."""
    n_words = occ.shape[0]
    after = (slot + 1) & mask
    word = after >> 6
    bits = occ[_U(word)] >> _U(after & 63)
    if bits != 0 and after != 0:
        return after + trailing_zeros(bits)  # type: ignore[call-arg]  # numba intrinsic
    if after == 0:
        word = -1
    for t in range(1, n_words + 1):
        w = (word + t) % n_words
        if occ[_U(w)] != 0:
            return (w << 6) + trailing_zeros(occ[_U(w)])  # type: ignore[call-arg]  # numba intrinsic
    return slot  # unreachable while a slot is occupied


@nb.njit(cache=True, nogil=True)
def count_within_buckets(
    indptr,
    arcs,
    weight_bits,
    weight_mask,
    src_nodes,
    src_offsets,
    src_weight,
    with_weight,
    thresholds,
    bin_count,
    bin_weight,
    with_nearest,
    src_tie,
    tie_bits,
    best,
    dist,
    touched,
    entries,
    bucket_head,
):
    """Add, for each source, 1 (and its weight) to the bin of every node it reaches.

    One search per source, stopped at the largest threshold; a node ``v`` reached at time
    ``t`` gets ``bin_count[v, k] += 1`` for the first threshold ``k`` with
    ``t <= thresholds[k]`` (``bin_weight`` likewise when ``with_weight``), in the layout's
    numbering. ``thresholds`` ascending, whole steps.
    With ``with_nearest``, ``best[v]`` (int32 or int64, coming in at its dtype's largest
    value, which must exceed every key) also keeps the smallest ``t << tie_bits | src_tie[s]``
    over the sources: the nearest source falls out of the same searches at one compare per
    settled node.
    ``bucket_head`` has a power-of-two length above the longest arc; ``entries`` holds
    ``arcs + 1`` rows. Returns the total number of settled nodes.

    A bitmap of occupied buckets lets the search jump over the empty ones: a ball of a few
    hundred nodes spread over ~900 one-second steps leaves most steps empty (-7 % time).
    """
    n_thr = thresholds.shape[0]
    cutoff = np.int64(thresholds[n_thr - 1])
    big = cutoff + 1
    dist[:] = big
    bucket_head[:] = -1
    mask = bucket_head.shape[0] - 1
    occ = np.zeros(max(1, (bucket_head.shape[0] + 63) >> 6), np.uint64)
    one = np.uint64(1)
    settled = 0
    for s in range(src_nodes.shape[0]):
        start = src_nodes[s]
        d = np.int64(src_offsets[s])
        if d > cutoff:
            continue
        w_s = src_weight[s]
        tie = np.int64(src_tie[s])
        dist[_U(start)] = d
        n_touched = 0
        entries[0, 0] = start
        entries[0, 1] = -1
        slot = d & mask
        bucket_head[slot] = 0
        occ[_U(slot >> 6)] |= one << _U(slot & 63)
        n_entries = np.int64(1)
        pending = np.int64(1)
        k = 0
        while True:
            while thresholds[_U(k)] < d:
                k += 1
            slot = d & mask
            while bucket_head[_U(slot)] >= 0:
                entry = bucket_head[_U(slot)]
                bucket_head[_U(slot)] = entries[_U(entry), 1]
                pending -= 1
                u = entries[_U(entry), 0]
                if dist[_U(u)] != d:
                    continue  # settled already, or reached sooner
                dist[_U(u)] = -1
                touched[_U(n_touched)] = u  # every node reached is settled once
                n_touched += 1
                settled += 1
                if with_nearest:
                    key = (d << tie_bits) | tie
                    best[_U(u)] = min(key, best[_U(u)])  # branch-free: a coin toss too
                bin_count[_U(u), _U(k)] += 1
                if with_weight:
                    bin_weight[_U(u), _U(k)] += w_s
                for e in range(indptr[_U(u)], indptr[_U(u + 1)]):
                    a = arcs[_U(e)]
                    v = np.int64(a >> weight_bits)
                    nd = d + np.int64(a & weight_mask)
                    # dist is big = cutoff + 1 until reached, -1 once settled: a smaller
                    # time is within the cutoff, and a settled node is never improved
                    # branch-free: whether an arc improves is a coin toss for the predictor;
                    # the entry is written anyway and kept only when it does
                    dv = dist[_U(v)]
                    better = np.int64(nd < dv)
                    dist[_U(v)] = min(nd, dv)
                    nslot = nd & mask
                    head = bucket_head[_U(nslot)]
                    entries[_U(n_entries), 0] = v
                    entries[_U(n_entries), 1] = head
                    bucket_head[_U(nslot)] = n_entries if better else head
                    occ[_U(nslot >> 6)] |= _U(better) << _U(nslot & 63)
                    n_entries += better
                    pending += better
            occ[_U(slot >> 6)] &= ~(one << _U(slot & 63))
            if pending == 0:
                break
            d += (_next_slot(occ, slot, mask) - slot) & mask
        for i in range(n_touched):
            dist[_U(touched[_U(i)])] = big
    return settled
