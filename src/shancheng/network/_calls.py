"""Calls into the compiled kernels: work arrays from a workspace, results in the caller's ids."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shancheng.network import _dial, _kernels

if TYPE_CHECKING:
    from threading import Lock

    from shancheng.network._request import Search
    from shancheng.network._runner import Workspace

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_STATE32_BITS = 30
"""Bits of time and source index that fit an int32 state below its "unreached" value."""


def nearest_buckets(
    search: Search,
    work: Workspace,
    bounds: tuple[int, int],
    cutoff: int,
    labels: IntArray,
    out: tuple[FloatArray, IntArray],
) -> int:
    """Run the bucket-queue nearest kernel on sources ``lo:hi`` into ``out`` (time, source)."""
    lo, hi = bounds
    packed, layout, time_step_s = search.packed, search.layout, search.time_step_s
    assert packed is not None  # noqa: S101 - the caller checked
    assert time_step_s is not None  # noqa: S101
    n_buckets = packed.n_buckets
    n_chunks = (layout.n_arcs + search.max_group_sources) // _dial.CHUNK + n_buckets + 3
    label_bits = max(1, (hi - lo).bit_length())
    if cutoff.bit_length() + label_bits <= _STATE32_BITS:  # a half-size state word suffices
        state: npt.NDArray[np.int32] | IntArray = work.get("state32", (layout.n_nodes,), np.int32)
    else:
        state, label_bits = work.get("state64", (layout.n_nodes,), np.int64), 32
    unreached = np.iinfo(state.dtype).max
    state.fill(unreached)
    settled = _dial.nearest_buckets(
        layout.indptr,
        packed.arcs,
        packed.arcs.dtype.type(packed.weight_bits),
        packed.arcs.dtype.type((1 << packed.weight_bits) - 1),
        search.nodes[lo:hi],
        search.offsets[lo:hi],
        cutoff,
        state,
        label_bits,
        work.get("chunk_nodes", (n_chunks, _dial.CHUNK), np.int32),
        work.get("chunk_next", (n_chunks,), np.int32),
        work.get("bucket_first", (n_buckets,), np.int32),
        work.get("bucket_last", (n_buckets,), np.int32),
        work.get("bucket_fill", (n_buckets,), np.int32),
        work.get("batch_u", (_dial.CHUNK,), np.int64),
        work.get("batch_l", (_dial.CHUNK,), np.int64),
        work.get("cand_v", (_dial.CANDIDATES,), np.int64),
        work.get("cand_d", (_dial.CANDIDATES,), np.int64),
        work.get("cand_l", (_dial.CANDIDATES,), np.int64),
        work.get("scalars", (2,), np.int64),
    )
    _kernels.finish_nearest_state(
        state, label_bits, unreached, layout.rank, labels, time_step_s, *out
    )
    return int(settled)


def nearest_heap(
    search: Search,
    work: Workspace,
    bounds: tuple[int, int],
    cutoff: float,
    labels: IntArray,
    out: tuple[FloatArray, IntArray],
) -> int:
    """Run the binary-heap nearest kernel on sources ``lo:hi`` into ``out`` (time, source)."""
    lo, hi = bounds
    layout = search.layout
    n = layout.n_nodes
    capacity = layout.n_arcs + search.max_group_sources + 2
    dist = work.get("dist_f", (n,), np.float64)
    dist.fill(np.inf)
    label = work.get("label", (n,), np.int64)
    label.fill(-1)  # NO_SOURCE
    settled = _kernels.nearest_heap(
        layout.indptr,
        layout.heads,
        layout.time_s,
        search.nodes[lo:hi],
        search.offsets[lo:hi],
        labels,
        cutoff,
        dist,
        label,
        work.get("heap_key", (capacity,), np.float64),
        work.get("heap_node", (capacity,), np.int64),
        work.get("done", (n,), np.bool_),
    )
    _kernels.finish_nearest(dist, label, layout.rank, *out)
    return int(settled)


CountArgs = tuple[
    IntArray,
    npt.NDArray[np.float64] | IntArray,
    FloatArray,
    bool,
    npt.NDArray[np.float64] | IntArray,
]
"""Sources (nodes, offsets, weights, whether weighted) and the thresholds."""


def count(
    search: Search,
    work: Workspace,
    args: CountArgs,
    out: tuple[npt.NDArray[np.int32], FloatArray],
    lock: Lock,
    first: list[bool],
) -> int:
    """Count sources within the thresholds into ``out`` (count, capacity), cumulated.

    The kernel bins into the thread's own arrays in the layout's numbering;
    :func:`shancheng.network._kernels.finish_counts` then writes them out (``first[0]``: this
    is the first part of its group to finish, so it writes rather than adds) under ``lock``.
    """
    layout = search.layout
    n = layout.n_nodes
    packed = search.packed
    with_weight, n_thr = args[3], args[4].shape[0]
    bins = work.borrow_zeros("bin_count", (n, n_thr), np.int32)
    bin_weight = work.borrow_zeros("bin_weight", (n if with_weight else 1, n_thr), np.float64)
    if packed is not None:
        settled = _dial.count_within_buckets(
            layout.indptr,
            packed.arcs,
            packed.arcs.dtype.type(packed.weight_bits),
            packed.arcs.dtype.type((1 << packed.weight_bits) - 1),
            *args,
            bins,
            bin_weight,
            work.get("dist_i", (n,), np.int32),
            work.get("touched", (n,), np.int32),
            work.get("entries", (layout.n_arcs + 1, 2), np.int32),
            work.get("bucket_head", (packed.n_buckets,), np.int32),
        )
    else:
        capacity = layout.n_arcs + 2
        settled = _kernels.count_within_heap(
            layout.indptr,
            layout.heads,
            layout.time_s,
            *args,
            bins,
            bin_weight,
            work.get("dist_f", (n,), np.float64),
            work.get("done", (n,), np.bool_),
            work.get("touched", (n,), np.int32),
            work.get("heap_key", (capacity,), np.float64),
            work.get("heap_node", (capacity,), np.int64),
        )
    with lock:
        _kernels.finish_counts(bins, bin_weight, with_weight, layout.rank, *out, not first[0])
        first[0] = False
    work.returned_zero("bin_count")
    work.returned_zero("bin_weight")
    return int(settled)
