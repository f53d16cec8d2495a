"""Calls into the compiled kernels: work arrays from a workspace, results in the caller's ids."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from shancheng.network import _dial, _kernels

if TYPE_CHECKING:
    from shancheng.network._request import Search
    from shancheng.network._runner import Workspace

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_STATE32_BITS = 30
"""Bits of time and source index that fit an int32 state below its "unreached" value."""


def cumulate(count: npt.NDArray[np.int32], amount: FloatArray, *, with_weight: bool) -> None:
    """Turn per-threshold bins into counts within each threshold, in place.

    Column by column: ``np.cumsum(axis=1)`` on a (1 M, 3) array takes ten times longer.
    Without weights every source weighs 1, so the capacity is the count.
    """
    for k in range(1, count.shape[1]):
        count[:, k] += count[:, k - 1]
        if with_weight:
            amount[:, k] += amount[:, k - 1]
    if not with_weight:
        amount[:] = count


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
    npt.NDArray[np.int32],
    FloatArray,
]
"""Sources (nodes, offsets, weights, whether weighted), thresholds and the two bin arrays."""


def count(search: Search, work: Workspace, args: CountArgs) -> int:
    """Run the counting kernel of the search's kind; ``args`` are its source and output args."""
    layout = search.layout
    n = layout.n_nodes
    packed = search.packed
    if packed is not None:
        settled = _dial.count_within_buckets(
            layout.indptr,
            packed.arcs,
            packed.arcs.dtype.type(packed.weight_bits),
            packed.arcs.dtype.type((1 << packed.weight_bits) - 1),
            *args[:5],
            layout.order,
            *args[5:],
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
            *args[:5],
            layout.order,
            *args[5:],
            work.get("dist_f", (n,), np.float64),
            work.get("done", (n,), np.bool_),
            work.get("touched", (n,), np.int32),
            work.get("heap_key", (capacity,), np.float64),
            work.get("heap_node", (capacity,), np.int64),
        )
    return int(settled)
