"""Calls into the compiled kernels: work arrays from a workspace, results in the caller's ids."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Lock
from typing import TYPE_CHECKING, cast

import numpy as np
import numpy.typing as npt

from shancheng.network import _dial, _kernels
from shancheng.types import FloatArray, IntArray

if TYPE_CHECKING:
    from shancheng.network._request import Search
    from shancheng.network._runner import Workspace


_STATE32_BITS = 30
"""Bits of time and source index that fit an int32 state below its "unreached" value."""


Seeds = tuple[IntArray, npt.NDArray[np.float64] | IntArray, IntArray]
"""Where a nearest search starts: layout nodes, offsets (kernel units), tie ranks."""
Preset = tuple[FloatArray, IntArray]
"""Final times and tie ranks (network order, ``inf``/-1 where unreached) a search continues."""


def nearest_buckets(
    search: Search,
    work: Workspace,
    seeds: Seeds,
    cutoff: int,
    labels: IntArray,
    out: tuple[FloatArray, IntArray],
    preset: Preset | None = None,
) -> int:
    """Run the bucket-queue nearest kernel from ``seeds`` into ``out`` (time, source).

    ``labels`` are written out by tie rank. With ``preset``, the search continues one that
    already settled those nodes: they keep their time and rank (see
    :func:`shancheng.network._dial.nearest_buckets`).
    """
    packed, layout, time_step_s = search.packed, search.layout, search.time_step_s
    assert packed is not None  # noqa: S101 - the caller checked
    assert time_step_s is not None  # noqa: S101
    n_buckets = packed.n_buckets
    resettled = layout.n_nodes if packed.zero_arcs else 0  # see _dial.nearest_buckets
    n_chunks = (layout.n_arcs + seeds[0].shape[0] + resettled) // _dial.CHUNK + n_buckets + 3
    label_bits = max(1, labels.shape[0].bit_length())
    if cutoff.bit_length() + label_bits <= _STATE32_BITS:  # a half-size state word suffices
        state: npt.NDArray[np.int32] | IntArray = work.get("state32", (layout.n_nodes,), np.int32)
    else:
        state, label_bits = work.get("state64", (layout.n_nodes,), np.int64), 32
    unreached = np.iinfo(state.dtype).max
    state.fill(unreached)
    if preset is not None:
        _kernels.preset_state(state, label_bits, layout.rank, *preset, time_step_s)
    settled = _dial.nearest_buckets(
        layout.indptr,
        packed.arcs,
        packed.arcs.dtype.type(packed.weight_bits),
        packed.arcs.dtype.type((1 << packed.weight_bits) - 1),
        *seeds,
        cutoff,
        state,
        label_bits,
        work.get("done", (layout.n_nodes if packed.zero_arcs else 1,), np.bool_),
        packed.zero_arcs,
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
    seeds: Seeds,
    cutoff: float,
    labels: IntArray,
    out: tuple[FloatArray, IntArray],
    preset: Preset | None = None,
) -> int:
    """Run the binary-heap nearest kernel from ``seeds`` into ``out`` (time, source).

    The kernel carries each seed's tie rank and takes the smallest among equally near ones;
    ``labels`` (by rank) are written out. ``preset`` as in :func:`nearest_buckets`.
    """
    layout = search.layout
    n = layout.n_nodes
    capacity = layout.n_arcs + seeds[0].shape[0] + n + 2  # n: settled again, see the kernel
    dist = work.get("dist_f", (n,), np.float64)
    dist.fill(np.inf)
    label = work.get("label", (n,), np.int64)
    label.fill(-1)  # NO_SOURCE
    if preset is not None:
        dist[layout.rank] = preset[0]
        label[layout.rank] = preset[1]
    settled = _kernels.nearest_heap(
        layout.indptr,
        layout.heads,
        layout.time_s,
        *seeds,
        cutoff,
        dist,
        label,
        work.get("heap_key", (capacity,), np.float64),
        work.get("heap_node", (capacity,), np.int64),
        work.get("done", (n,), np.bool_),
    )
    _kernels.finish_nearest(dist, label, layout.rank, labels, *out)
    return int(settled)


def continued_seeds(search: Search, work: Workspace, preset: Preset, late: Seeds) -> Seeds:
    """Seeds that continue a search from ``preset``: reached nodes with an arc out of reach.

    Each such node starts at its final time (kernel units) with its rank; ``late`` (sources
    whose offset put them beyond the first search) are added as they are. Sorted by time, as
    the bucket kernel wants them.
    """
    layout = search.layout
    n = layout.n_nodes
    time_s = work.get("dist_f", (n,), np.float64)
    ties = work.get("label", (n,), np.int64)
    time_s[layout.rank] = preset[0]
    ties[layout.rank] = preset[1]
    nodes = work.get("frontier", (n,), np.int64)
    k = _kernels.frontier_nodes(layout.indptr, layout.heads, time_s, nodes)
    nodes = nodes[:k]
    offsets: npt.NDArray[np.float64] | IntArray = time_s[nodes]
    if search.time_step_s:
        offsets = np.rint(offsets / search.time_step_s).astype(np.int64)
    nodes = np.concatenate([nodes, late[0]])
    offsets = np.concatenate([offsets, late[1]])
    by_time = np.argsort(offsets, kind="stable")
    return nodes[by_time], offsets[by_time], np.concatenate([ties[nodes[:k]], late[2]])[by_time]


CountArgs = tuple[
    IntArray,
    npt.NDArray[np.float64] | IntArray,
    FloatArray,
    bool,
    npt.NDArray[np.float64] | IntArray,
]
"""Sources (nodes, offsets, weights, whether weighted) and the thresholds."""
Kernel = Callable[..., int]
Finish = tuple[Kernel, str, tuple[object, ...]]
"""A nearest finishing kernel, the name of the array it refills, and its leading arguments
(the bucket kernel's keys, tie bits and time step, or the heap kernel's times and ties)."""


@dataclass(eq=False)
class GroupOut:
    """One group's output rows, filled by the parts (work units) the group was cut into.

    The first part to finish writes every row (zero counts, time ``inf`` and source -1
    where it reached nothing), so the rows need no filling beforehand; the later ones add
    (counts) or min-merge (nearest) theirs, one at a time under ``lock``.

    Attributes
    ----------
    count, amount
        Count and capacity rows (network numbering, one column per threshold).
    parts
        Parts the group was cut into.
    nearest
        ``(labels by tie rank, time row, source row)`` when the nearest source is kept
        too. The source row holds tie ranks until the last part turns them into labels.
    """

    count: npt.NDArray[np.int32]
    amount: FloatArray
    parts: int
    nearest: tuple[IntArray, FloatArray, IntArray] | None = None
    lock: Lock = field(default_factory=Lock)
    finished: int = 0
    reached: int = 0
    """Nodes within the nearest search's cutoff, set by the last part."""


def count(search: Search, work: Workspace, args: CountArgs, ties: IntArray, out: GroupOut) -> int:
    """Count the sources within the thresholds into the group's rows ``out``.

    The kernel bins into the thread's own arrays in the layout's numbering;
    :func:`shancheng.network._kernels.finish_counts` then cumulates the bins into the rows
    under the group's lock. With ``out.nearest``, the kernel also keeps the nearest source
    (by ``ties``, the tie rank of each of these sources) per node in a thread-own array,
    and the finishing pass merges it into the group's rows the same way.
    """
    layout = search.layout
    n = layout.n_nodes
    packed = search.packed
    with_weight, n_thr = args[3], args[4].shape[0]
    with_nearest = out.nearest is not None
    bins = work.borrow_filled("bin_count", (n, n_thr), np.int32)
    bin_weight = work.borrow_filled("bin_weight", (n if with_weight else 1, n_thr), np.float64)
    m = n if with_nearest else 1
    tie_bits = max(1, search.max_group_sources.bit_length())
    if packed is not None:
        # a half-size key suffices for 15 minutes in seconds and up to 2^20 sources a group
        small = int(args[4][-1]).bit_length() + tie_bits <= _STATE32_BITS
        key_type = np.int32 if small else np.int64
        tie_bits = tie_bits if small else 32
        best = work.borrow_filled("best_key", (m,), key_type, np.iinfo(key_type).max)
        settled = _dial.count_within_buckets(
            layout.indptr,
            packed.arcs,
            packed.arcs.dtype.type(packed.weight_bits),
            packed.arcs.dtype.type((1 << packed.weight_bits) - 1),
            *args,
            bins,
            bin_weight,
            with_nearest,
            ties,
            tie_bits,
            best,
            work.get("dist_i", (n,), np.int32),
            work.get("touched", (n,), np.int32),
            work.get("entries", (layout.n_arcs + 1, 2), np.int32),
            work.get("bucket_head", (packed.n_buckets,), np.int32),
        )
        keys = (best, tie_bits, search.time_step_s)
        finish: Finish = (cast("Kernel", _kernels.finish_nearest_keys), "best_key", keys)
    else:
        capacity = layout.n_arcs + 2
        best_pair = (
            work.borrow_filled("best_time", (m,), np.float64, np.inf),
            work.get("best_tie", (m,), np.int64),
        )
        settled = _kernels.count_within_heap(
            layout.indptr,
            layout.heads,
            layout.time_s,
            *args,
            bins,
            bin_weight,
            with_nearest,
            ties,
            *best_pair,
            work.get("dist_f", (n,), np.float64),
            work.get("done", (n,), np.bool_),
            work.get("touched", (n,), np.int32),
            work.get("heap_key", (capacity,), np.float64),
            work.get("heap_node", (capacity,), np.int64),
        )
        finish = (cast("Kernel", _kernels.finish_nearest_pairs), "best_time", best_pair)
    with out.lock:  # two passes: one pass doing both measured 1.6x slower
        first, last = out.finished == 0, out.finished == out.parts - 1
        _kernels.finish_counts(
            bins, bin_weight, with_weight, layout.order, out.count, out.amount, first
        )
        if out.nearest is not None:
            labels, time_s, source = out.nearest
            kernel, name, best_args = finish
            with_source = kernel(*best_args, layout.order, first, last, labels, time_s, source)
            work.returned_filled(name)
            if last:
                out.reached = int(with_source)
        out.finished += 1
    work.returned_filled("bin_count")
    work.returned_filled("bin_weight")
    return int(settled)
