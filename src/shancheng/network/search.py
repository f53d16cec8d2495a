"""Bounded multi-source searches: the time to the nearest source, and what lies within reach.

Two questions cover the living circles and the pipe isolation analyses:

* :func:`nearest_times` — for every node, the time to the nearest source and which one,
  stopping at a cutoff (one multi-source Dijkstra per category);
* :func:`count_within` — for every node, how many sources, and how much of their capacity,
  lie within each of several thresholds (one bounded search per source, so the cost is the
  sum of the sources' reach, not nodes times sources);
* :func:`reach` — both at once: the counting searches visit every (source, node) pair
  within the largest threshold, so the nearest source of each node falls out of them at one
  compare per pair. Its nearest part equals :func:`nearest_times` with that cutoff exactly.

**Ties.** Among sources equally near a node (equal times; equal whole steps with
``time_step_s``), the nearest is the one with the smallest offset, then the one given first
in ``source_nodes``, whatever the kernel, the thread split or the order of the search.

Searches run "to the sources" by default: on the reversed graph, so that the time is the time
to *walk to* a facility, uphill and downhill as they are. Categories (groups) run in parallel
on a thread pool, each in a compiled kernel that releases the GIL.

With ``time_step_s`` set, edge times are rounded to whole steps and searched with a bucket
queue (Dial's algorithm), which is several times faster than the binary heap used otherwise;
results are then exact for the rounded times.

The kernels work on a renumbered copy of the graph (:mod:`shancheng.network._layout`, nodes
in Hilbert-curve order for memory locality); sources are mapped into it and results back out,
so node ids in and out are always the network's own.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from shancheng.errors import InputError
from shancheng.network._calls import GroupOut, continued_seeds, nearest_buckets, nearest_heap
from shancheng.network._calls import count as count_kernel
from shancheng.network._checks import finite_nonnegative, labels_or_positions, per_group
from shancheng.network._request import Search, prepare
from shancheng.network._runner import borrow_workspace, run_parallel, split_units

if TYPE_CHECKING:
    from shancheng.network.walk import WalkNetwork
    from shancheng.types import FloatArray, IntArray, Progress

logger = logging.getLogger(__name__)

Direction = Literal["to_sources", "from_sources"]

NO_SOURCE = -1
"""Value of ``source`` for nodes that no source reaches within the cutoff."""


@dataclass(frozen=True, eq=False)
class NearestTimes:
    """Time to the nearest source of each group, for every node.

    Attributes
    ----------
    time_s
        ``(n_groups, n_nodes)`` seconds; ``inf`` where no source is within the cutoff.
    source
        ``(n_groups, n_nodes)`` label of the nearest source, or ``NO_SOURCE`` (-1).
    settled
        Nodes settled per group (the work done), for benchmarks and logs.
    """

    time_s: FloatArray
    source: IntArray
    settled: IntArray


@dataclass(frozen=True, eq=False)
class WithinCounts:
    """Number and capacity of sources within each threshold, for every node.

    Attributes
    ----------
    thresholds_s
        The thresholds, ascending, in seconds.
    count
        ``(n_groups, n_nodes, n_thresholds)`` number of sources within each threshold.
    capacity
        Same shape: sum of the sources' capacities within each threshold.
    settled
        Nodes settled per group, summed over that group's sources.
    """

    thresholds_s: FloatArray
    count: npt.NDArray[np.int32]
    capacity: FloatArray
    settled: IntArray


def nearest_times(
    network: WalkNetwork,
    source_nodes: npt.ArrayLike,
    *,
    cutoff_s: float | npt.ArrayLike,
    group: npt.ArrayLike | None = None,
    n_groups: int | None = None,
    offsets_s: npt.ArrayLike | None = None,
    labels: npt.ArrayLike | None = None,
    direction: Direction = "to_sources",
    time_step_s: float | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
) -> NearestTimes:
    """Time from every node to its nearest source, per group, within a cutoff.

    Parameters
    ----------
    network
        The walk network.
    source_nodes
        Node id of each source (a facility snapped to the network).
    cutoff_s
        Stop searching beyond this time, in seconds; one value or one per group.
    group
        Group (category) index of each source, ``0 .. n_groups-1``; default: one group.
    n_groups
        Number of groups; default ``max(group) + 1``. Groups without sources reach nothing.
    offsets_s
        Time already spent before the source node (the access leg), seconds; default 0.
    labels
        Label reported for each source (e.g. a facility id, >= 0); default its position.
    direction
        ``"to_sources"`` (walking to the sources: search the reversed graph) or
        ``"from_sources"``.
    time_step_s
        If set, round edge times to this step and use the bucket-queue kernel.
    threads
        Worker threads; default all cores.
    progress
        Called with the number of groups finished since the last call.

    Returns
    -------
    NearestTimes
        ``time_s`` and ``source`` of shape ``(n_groups, n_nodes)``. Between equally near
        sources, the one with the smaller offset, then the one given first, is the nearest.

    Examples
    --------
    >>> from shancheng.network.walk import build_walk_network
    >>> net = build_walk_network([0.0, 100.0, 200.0], [0.0, 0.0, 0.0], None, [0, 1], [1, 2],
    ...                          [100.0, 100.0], [0, 0])
    >>> result = nearest_times(net, [2], cutoff_s=100.0)
    >>> [round(float(t), 1) for t in result.time_s[0]], result.source[0].tolist()
    ([inf, 72.0, 0.0], [-1, 0, 0])
    """
    search = prepare(
        network, source_nodes, group, n_groups, offsets_s, direction, time_step_s, "offset"
    )
    cutoffs = per_group(cutoff_s, search.n_groups, "cutoff_s")
    label_values = labels_or_positions(labels, search.n_sources)[search.order]
    scaled_cutoffs = search.scale_cutoffs(cutoffs)
    time_s = np.empty((search.n_groups, network.n_nodes), dtype=np.float64)
    source = np.empty((search.n_groups, network.n_nodes), dtype=np.int64)
    sizes = np.diff(search.group_ptr)
    groups = np.argsort(-sizes, kind="stable")  # largest first: keeps the last units small

    def run(u: int) -> int:
        g = int(groups[u])
        lo, hi = int(search.group_ptr[g]), int(search.group_ptr[g + 1])
        out = (time_s[g], source[g])
        with borrow_workspace(search.workspaces) as work:
            seeds = (search.nodes[lo:hi], search.offsets[lo:hi], search.ties[lo:hi])
            if search.packed is not None:
                cutoff = int(scaled_cutoffs[g])
                settled = nearest_buckets(search, work, seeds, cutoff, label_values[lo:hi], out)
            else:
                cutoff_s = float(scaled_cutoffs[g])
                settled = nearest_heap(search, work, seeds, cutoff_s, label_values[lo:hi], out)
        return settled

    settled = np.zeros(search.n_groups, dtype=np.int64)
    settled[groups] = run_parallel(run, search.n_groups, threads, progress)
    logger.debug("nearest_times: %d groups, %d nodes settled", search.n_groups, settled.sum())
    return NearestTimes(time_s=time_s, source=source, settled=settled)


@dataclass(frozen=True, eq=False)
class Reach:
    """The nearest source and the counts within thresholds, from one joint pass.

    Attributes
    ----------
    nearest
        As :func:`nearest_times` with ``cutoff_s`` the largest threshold (same times, same
        sources, ties included); its ``settled`` is the number of nodes reached per group.
    within
        As :func:`count_within`.
    """

    nearest: NearestTimes
    within: WithinCounts


def count_within(
    network: WalkNetwork,
    source_nodes: npt.ArrayLike,
    *,
    thresholds_s: npt.ArrayLike,
    group: npt.ArrayLike | None = None,
    n_groups: int | None = None,
    capacity: npt.ArrayLike | None = None,
    offsets_s: npt.ArrayLike | None = None,
    direction: Direction = "to_sources",
    time_step_s: float | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
) -> WithinCounts:
    """Count the sources (and sum their capacity) within each threshold of every node.

    Parameters
    ----------
    network, source_nodes, group, n_groups, offsets_s, direction, time_step_s, threads
        As in :func:`nearest_times`.
    thresholds_s
        Time thresholds in seconds, e.g. ``[300, 600, 900]``; sorted on the way in.
    capacity
        Capacity of each source (places, beds, m²); default 1.
    progress
        Called with the number of work units (groups or parts of groups) finished.

    Returns
    -------
    WithinCounts
        ``count`` and ``capacity`` of shape ``(n_groups, n_nodes, n_thresholds)``.

    Examples
    --------
    >>> from shancheng.network.walk import build_walk_network
    >>> net = build_walk_network([0.0, 100.0, 200.0], [0.0, 0.0, 0.0], None, [0, 1], [1, 2],
    ...                          [100.0, 100.0], [0, 0])
    >>> within = count_within(net, [0, 2], thresholds_s=[80, 150], capacity=[30, 60])
    >>> within.count[0].tolist()  # node 0 is 144 s from source 1: inside 150 s, not 80 s
    [[1, 2], [2, 2], [1, 2]]
    >>> within.capacity[0, 1].tolist()
    [90.0, 90.0]
    """
    search = prepare(
        network, source_nodes, group, n_groups, offsets_s, direction, time_step_s, "node"
    )
    within, _ = _count(search, thresholds_s, capacity, None, threads, progress)
    return within


def reach(
    network: WalkNetwork,
    source_nodes: npt.ArrayLike,
    *,
    thresholds_s: npt.ArrayLike,
    group: npt.ArrayLike | None = None,
    n_groups: int | None = None,
    capacity: npt.ArrayLike | None = None,
    offsets_s: npt.ArrayLike | None = None,
    labels: npt.ArrayLike | None = None,
    cutoff_s: float | None = None,
    direction: Direction = "to_sources",
    time_step_s: float | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
) -> Reach:
    """Find the nearest source and count the sources within thresholds, in one pass.

    :func:`count_within` settles every (source, node) pair within the largest threshold, so
    the nearest source of each node, and its time, fall out of the same searches: each
    settled node keeps the smallest ``(time, tie rank)`` seen. The result equals
    ``nearest_times(..., cutoff_s=cutoff_s)`` and ``count_within(...)`` on the same input
    exactly, for the cost of the counts and one compare per settled pair.

    A ``cutoff_s`` beyond the largest threshold continues the nearest search from where the
    counting searches stopped: a multi-source search per group seeded at the nodes reached
    that have an arc out of reach, at their times, settles only the farther nodes.

    Parameters
    ----------
    network, source_nodes, group, n_groups, offsets_s, labels, direction, time_step_s, threads
        As in :func:`nearest_times`.
    thresholds_s, capacity, progress
        As in :func:`count_within` (``progress`` counts the counting units only).
    cutoff_s
        Cutoff of the nearest search, seconds; default the largest threshold.

    Returns
    -------
    Reach
        ``nearest`` (a :class:`NearestTimes`) and ``within`` (a :class:`WithinCounts`).

    Examples
    --------
    >>> from shancheng.network.walk import build_walk_network
    >>> net = build_walk_network([0.0, 100.0, 200.0], [0.0, 0.0, 0.0], None, [0, 1], [1, 2],
    ...                          [100.0, 100.0], [0, 0])
    >>> both = reach(net, [0, 2], thresholds_s=[80, 150], labels=[10, 20])
    >>> [round(float(t), 1) for t in both.nearest.time_s[0]]  # node 1: 72 s from either
    [0.0, 72.0, 0.0]
    >>> both.nearest.source[0].tolist()  # a tie goes to the source given first
    [10, 10, 20]
    >>> both.within.count[0].tolist()
    [[1, 2], [2, 2], [1, 2]]
    """
    search = prepare(
        network, source_nodes, group, n_groups, offsets_s, direction, time_step_s, "node"
    )
    label_values = labels_or_positions(labels, search.n_sources)[search.nearest_order]
    largest = float(np.max(finite_nonnegative(thresholds_s, "thresholds_s"), initial=0.0))
    cutoff = largest if cutoff_s is None else float(per_group(cutoff_s, 1, "cutoff_s")[0])
    further = cutoff > largest
    # going further, the counting searches leave tie ranks for the continued search
    ranks = np.arange(search.n_sources) - np.repeat(search.group_ptr[:-1], search.sizes)
    first_labels = ranks if further else label_values
    within, nearest = _count(search, thresholds_s, capacity, first_labels, threads, progress)
    assert nearest is not None  # noqa: S101 - asked for with the labels
    if further:
        nearest = _continue_nearest(search, nearest, (largest, cutoff), label_values, threads)
    elif cutoff < largest:
        beyond = nearest.time_s > float(search.scale_cutoffs(np.array([cutoff]))[0]) * (
            search.time_step_s or 1.0
        )
        nearest.time_s[beyond] = np.inf
        nearest.source[beyond] = NO_SOURCE
        reached = np.isfinite(nearest.time_s).sum(axis=1)
        nearest = NearestTimes(time_s=nearest.time_s, source=nearest.source, settled=reached)
    return Reach(nearest=nearest, within=within)


def _continue_nearest(
    search: Search,
    first: NearestTimes,
    cutoffs_s: tuple[float, float],
    labels: IntArray,
    threads: int | None,
) -> NearestTimes:
    """Carry ``first`` (times and tie ranks within ``cutoffs_s[0]``) on to ``cutoffs_s[1]``.

    Writes ``labels`` (by tie rank) out.
    """
    first_cutoff_s, cutoff_s = cutoffs_s
    cutoff, largest = search.scale_cutoffs(np.array([cutoff_s, first_cutoff_s]))
    time_s, source = first.time_s, first.source

    def run(g: int) -> int:
        lo, hi = int(search.group_ptr[g]), int(search.group_ptr[g + 1])
        preset = (time_s[g], source[g])
        late = np.flatnonzero(search.offsets[lo:hi] > largest) + lo  # not in the first search
        with borrow_workspace(search.workspaces) as work:
            seeds = continued_seeds(
                search, work, preset, (search.nodes[late], search.offsets[late], search.ties[late])
            )
            if seeds[0].shape[0] == 0:  # nothing reached, or nothing out of reach
                reached = source[g] >= 0
                source[g][reached] = labels[lo:hi][source[g][reached]]
                return 0
            # out = preset: the kernels read the preset before they write
            if search.packed is not None:
                return nearest_buckets(
                    search, work, seeds, int(cutoff), labels[lo:hi], preset, preset
                )
            return nearest_heap(search, work, seeds, float(cutoff), labels[lo:hi], preset, preset)

    run_parallel(run, search.n_groups, threads, None)
    return NearestTimes(time_s=time_s, source=source, settled=np.isfinite(time_s).sum(axis=1))


def _count(
    search: Search,
    thresholds_s: npt.ArrayLike,
    capacity: npt.ArrayLike | None,
    labels: IntArray | None,
    threads: int | None,
    progress: Progress | None,
) -> tuple[WithinCounts, NearestTimes | None]:
    """Run the counting searches; with ``labels`` (in the nearest order) the nearest too."""
    n_nodes = search.layout.n_nodes
    thresholds = np.sort(finite_nonnegative(thresholds_s, "thresholds_s"))
    if thresholds.shape[0] == 0:
        msg = "thresholds_s: give at least one threshold in seconds"
        raise InputError(msg)
    with_weight = capacity is not None
    weight = (
        finite_nonnegative(capacity, "capacity", search.n_sources)[search.order]
        if capacity is not None
        else np.ones(search.n_sources)
    )
    scaled = search.scale_cutoffs(thresholds)
    shape = (search.n_groups, n_nodes, thresholds.shape[0])
    # every row is written by the first part of its group (GroupOut): no filling here, which
    # would be serial work over the whole output
    count = np.empty(shape, dtype=np.int32)
    amount = np.empty(shape, dtype=np.float64)
    units = split_units(search.group_ptr, threads or os.cpu_count() or 1)
    parts = np.bincount([g for g, _, _ in units], minlength=search.n_groups)
    time_s = np.empty((search.n_groups, n_nodes)) if labels is not None else None
    source = np.empty((search.n_groups, n_nodes), np.int64) if labels is not None else None
    ptr = search.group_ptr
    groups = [
        GroupOut(
            count[g],
            amount[g],
            int(parts[g]),
            (labels[ptr[g] : ptr[g + 1]], time_s[g], source[g])
            if labels is not None and time_s is not None and source is not None
            else None,
        )
        for g in range(search.n_groups)
    ]

    def run(u: int) -> int:
        g, lo, hi = units[u]
        sources = (search.nodes[lo:hi], search.offsets[lo:hi], weight[lo:hi], with_weight, scaled)
        with borrow_workspace(search.workspaces) as work:
            return count_kernel(search, work, sources, search.ties[lo:hi], groups[g])

    settled_units = run_parallel(run, len(units), threads, progress)
    settled = np.zeros(search.n_groups, dtype=np.int64)
    for (g, _, _), n_settled in zip(units, settled_units, strict=True):
        settled[g] += n_settled
    within = WithinCounts(thresholds_s=thresholds, count=count, capacity=amount, settled=settled)
    if time_s is None or source is None:
        return within, None
    reached = np.array([out.reached for out in groups], dtype=np.int64)
    return within, NearestTimes(time_s=time_s, source=source, settled=reached)
