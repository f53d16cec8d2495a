"""Bounded multi-source searches: the time to the nearest source, and what lies within reach.

Two questions cover the living circles and the pipe isolation analyses:

* :func:`nearest_times` — for every node, the time to the nearest source and which one,
  stopping at a cutoff (one multi-source Dijkstra per category);
* :func:`count_within` — for every node, how many sources, and how much of their capacity,
  lie within each of several thresholds (one bounded search per source, so the cost is the
  sum of the sources' reach, not nodes times sources).

Searches run "to the sources" by default: on the reversed graph, so that the time is the time
to *walk to* a facility, uphill and downhill as they are. Categories (groups) run in parallel
on a thread pool, each in a compiled kernel that releases the GIL.

With ``time_step_s`` set, edge times are rounded to whole steps and searched with a bucket
queue (Dial's algorithm), which is several times faster than the binary heap used otherwise;
results are then exact for the rounded times.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from shancheng.errors import InputError
from shancheng.network import _kernels

if TYPE_CHECKING:
    from shancheng.network.walk import WalkNetwork

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Direction = Literal["to_sources", "from_sources"]
Progress = Callable[[int], None]

NO_SOURCE = -1
"""Value of ``source`` for nodes that no source reaches within the cutoff."""
_MAX_BUCKETS = 10_000_000
"""Most buckets (longest arc in time steps) the bucket queue may allocate."""
_MAX_STEPS = 2**52
"""Largest cutoff in time steps: whole-step times are int64 and must not overflow."""


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
        ``time_s`` and ``source`` of shape ``(n_groups, n_nodes)``.

    Examples
    --------
    >>> from shancheng.network.walk import build_walk_network
    >>> net = build_walk_network([0.0, 100.0, 200.0], [0.0, 0.0, 0.0], None, [0, 1], [1, 2],
    ...                          [100.0, 100.0], [0, 0])
    >>> result = nearest_times(net, [2], cutoff_s=100.0)
    >>> [round(float(t), 1) for t in result.time_s[0]], result.source[0].tolist()
    ([inf, 72.0, 0.0], [-1, 0, 0])
    """
    search = _prepare(network, source_nodes, group, n_groups, offsets_s, direction, time_step_s)
    cutoffs = _per_group(cutoff_s, search.n_groups, "cutoff_s")
    label_values = _labels(labels, search.n_sources)[search.order]
    dist_dtype = np.int64 if time_step_s else np.float64
    unreached = np.iinfo(np.int64).max if time_step_s else np.inf
    dist = np.full((search.n_groups, network.n_nodes), unreached, dtype=dist_dtype)
    source = np.full((search.n_groups, network.n_nodes), NO_SOURCE, dtype=np.int64)
    scaled_cutoffs = search.scale_cutoffs(cutoffs)

    def run(g: int) -> int:
        lo, hi = search.group_ptr[g], search.group_ptr[g + 1]
        args = (
            search.indptr,
            search.heads,
            search.weights,
            search.nodes[lo:hi],
            search.offsets[lo:hi],
            label_values[lo:hi],
            scaled_cutoffs[g],
            dist[g],
            source[g],
        )
        with _borrow_workspace(search) as work:
            if time_step_s:
                settled = _kernels.nearest_buckets(*args, work.ints_a, work.ints_b, work.done)
            else:
                settled = _kernels.nearest_heap(*args, work.keys, work.ints_a, work.done)
        return int(settled)

    settled = np.asarray(_run_parallel(run, search.n_groups, threads, progress), dtype=np.int64)
    if time_step_s:
        time_s: FloatArray = dist.astype(np.float64)
        time_s *= time_step_s
        time_s[source == NO_SOURCE] = np.inf
    else:
        time_s = dist.astype(np.float64, copy=False)
    logger.debug("nearest_times: %d groups, %d nodes settled", search.n_groups, settled.sum())
    return NearestTimes(time_s=time_s, source=source, settled=settled)


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
    search = _prepare(network, source_nodes, group, n_groups, offsets_s, direction, time_step_s)
    thresholds = np.sort(_finite_nonnegative(thresholds_s, "thresholds_s"))
    if thresholds.shape[0] == 0:
        msg = "thresholds_s: give at least one threshold in seconds"
        raise InputError(msg)
    weight = (
        np.ones(search.n_sources)
        if capacity is None
        else _finite_nonnegative(capacity, "capacity", search.n_sources)
    )
    weight = weight[search.order]
    scaled = search.scale_cutoffs(thresholds)
    n_thr = thresholds.shape[0]
    workers = threads or os.cpu_count() or 1
    units = _split_units(search.group_ptr, workers)
    shape = (network.n_nodes, n_thr)
    count = np.zeros((search.n_groups, *shape), dtype=np.int32)
    amount = np.zeros((search.n_groups, *shape), dtype=np.float64)

    def run(u: int) -> int:
        g, lo, hi, private = units[u]
        out_count = np.zeros(shape, np.int32) if private else count[g]
        out_amount = np.zeros(shape, np.float64) if private else amount[g]
        args = (
            search.indptr,
            search.heads,
            search.weights,
            search.nodes[lo:hi],
            search.offsets[lo:hi],
            weight[lo:hi],
            scaled,
            out_count,
            out_amount,
        )
        with _borrow_workspace(search) as work:
            if time_step_s:
                settled = _kernels.count_within_buckets(
                    *args, work.dist_i, work.touched, work.ints_a, work.ints_b
                )
            else:
                settled = _kernels.count_within_heap(
                    *args, work.dist_f, work.done, work.touched, work.keys, work.ints_a
                )
        if private:
            private_parts[u] = (out_count, out_amount)
        return int(settled)

    private_parts: dict[int, tuple[npt.NDArray[np.int32], FloatArray]] = {}
    settled_units = _run_parallel(run, len(units), threads, progress)
    settled = np.zeros(search.n_groups, dtype=np.int64)
    for u, (g, _, _, _) in enumerate(units):
        settled[g] += settled_units[u]
        if u in private_parts:
            count[g] += private_parts[u][0]
            amount[g] += private_parts[u][1]
    return WithinCounts(thresholds_s=thresholds, count=count, capacity=amount, settled=settled)


@dataclass(frozen=True, eq=False)
class _Search:
    """Sources sorted by group, and the graph arrays in the kernels' dtypes."""

    indptr: IntArray
    heads: IntArray
    weights: npt.NDArray[np.float64] | npt.NDArray[np.int64]
    nodes: IntArray
    offsets: npt.NDArray[np.float64] | npt.NDArray[np.int64]
    order: IntArray
    group_ptr: IntArray
    n_groups: int
    n_sources: int
    time_step_s: float | None
    graph: WalkNetwork
    max_group_sources: int

    def scale_cutoffs(self, cutoffs: FloatArray) -> npt.NDArray[np.float64] | IntArray:
        """Cutoffs in the kernels' unit: seconds, or whole time steps (rounded down)."""
        if self.time_step_s:
            steps = np.floor(cutoffs / self.time_step_s + 1e-9)
            if steps.shape[0] and steps.max() > _MAX_STEPS:
                msg = (
                    f"cutoff {float(cutoffs.max()):g} s is {steps.max():.3g} steps of "
                    f"{self.time_step_s:g} s; at most {_MAX_STEPS:.0e} steps fit in whole-step "
                    "times: raise time_step_s or use float times (time_step_s=None)"
                )
                raise InputError(msg)
            return steps.astype(np.int64)
        return cutoffs


@dataclass(frozen=True, eq=False)
class _Workspace:
    """Work arrays of one search thread, kept with the graph and reused across searches.

    Fresh arrays of this size (arcs + sources) cost more in page faults than the search
    itself; a network keeps at most one workspace per thread that searched it at once.
    """

    ints_a: IntArray
    ints_b: IntArray
    keys: FloatArray
    done: npt.NDArray[np.bool_]
    touched: IntArray
    dist_f: FloatArray
    dist_i: IntArray

    @classmethod
    def allocate(cls, n_nodes: int, capacity: int) -> _Workspace:
        """Allocate work arrays for ``n_nodes`` nodes and ``capacity`` queue entries."""
        return cls(
            ints_a=np.empty(capacity, np.int64),
            ints_b=np.empty(capacity, np.int64),
            keys=np.empty(capacity, np.float64),
            done=np.zeros(n_nodes, np.bool_),
            touched=np.empty(n_nodes, np.int64),
            dist_f=np.empty(n_nodes, np.float64),
            dist_i=np.empty(n_nodes, np.int64),
        )


@contextmanager
def _borrow_workspace(search: _Search) -> Iterator[_Workspace]:
    """Lend a workspace big enough for the search; give it back to the graph afterwards."""
    pool: list[_Workspace] = search.graph.__dict__.setdefault("_workspaces", [])
    capacity = search.heads.shape[0] + search.max_group_sources + 2
    try:
        work = pool.pop()
    except IndexError:
        work = _Workspace.allocate(search.graph.n_nodes, capacity)
    if work.ints_a.shape[0] < capacity:
        work = _Workspace.allocate(search.graph.n_nodes, capacity)
    try:
        yield work
    finally:
        pool.append(work)


def _prepare(
    network: WalkNetwork,
    source_nodes: npt.ArrayLike,
    group: npt.ArrayLike | None,
    n_groups: int | None,
    offsets_s: npt.ArrayLike | None,
    direction: Direction,
    time_step_s: float | None,
) -> _Search:
    if direction not in ("to_sources", "from_sources"):
        msg = f"`direction` must be one of {{'to_sources', 'from_sources'}}, got {direction!r}"
        raise InputError(msg)
    if time_step_s is not None and not (np.isfinite(time_step_s) and time_step_s > 0):
        msg = f"`time_step_s` must be a finite number > 0 or None, got {time_step_s!r}"
        raise InputError(msg)
    nodes = _node_ids(source_nodes, network.n_nodes)
    n_sources = nodes.shape[0]
    groups = (
        np.zeros(n_sources, np.int64)
        if group is None
        else _node_ids(group, np.iinfo(np.int64).max, field="group", expected=n_sources)
    )
    n = int(n_groups if n_groups is not None else (groups.max() + 1 if n_sources else 1))
    if n_sources and groups.max() >= n:
        msg = f"`group` holds {int(groups.max())} but n_groups is {n}"
        raise InputError(msg)
    offsets = (
        np.zeros(n_sources)
        if offsets_s is None
        else _finite_nonnegative(offsets_s, "offsets_s", n_sources)
    )
    graph = network.reversed() if direction == "to_sources" else network
    order = np.argsort(groups, kind="stable")
    group_ptr = np.searchsorted(groups[order], np.arange(n + 1)).astype(np.int64)
    if time_step_s:
        _check_bucket_count(graph, time_step_s)
        weights: npt.NDArray[np.float64] | IntArray = np.rint(
            graph.edge_time_s / time_step_s
        ).astype(np.int64)
        scaled_offsets: npt.NDArray[np.float64] | IntArray = np.rint(
            offsets[order] / time_step_s
        ).astype(np.int64)
    else:
        weights = graph.edge_time_s
        scaled_offsets = offsets[order]
    return _Search(
        indptr=graph.indptr,
        heads=graph.edge_head,
        weights=weights,
        nodes=nodes[order],
        offsets=scaled_offsets,
        order=order,
        group_ptr=group_ptr,
        n_groups=n,
        n_sources=n_sources,
        time_step_s=time_step_s,
        graph=graph,
        max_group_sources=int(np.diff(group_ptr).max(initial=0)),
    )


def _check_bucket_count(graph: WalkNetwork, time_step_s: float) -> None:
    """Refuse a time step so fine that the bucket queue would need millions of buckets."""
    longest_s = float(graph.edge_time_s.max(initial=0.0))
    if longest_s / time_step_s > _MAX_BUCKETS:
        msg = (
            f"`time_step_s`={time_step_s:g} turns the longest arc ({longest_s:g} s) into "
            f"{longest_s / time_step_s:.3g} steps; the bucket queue allows {_MAX_BUCKETS:.0e}: "
            "raise time_step_s or use float times (time_step_s=None)"
        )
        raise InputError(msg)


def _split_units(group_ptr: IntArray, workers: int) -> list[tuple[int, int, int, bool]]:
    """Cut groups into work units; when groups are fewer than workers, split their sources."""
    n_groups = group_ptr.shape[0] - 1
    parts = 1 if n_groups >= workers else workers
    units: list[tuple[int, int, int, bool]] = []
    for g in range(n_groups):
        lo, hi = int(group_ptr[g]), int(group_ptr[g + 1])
        bounds = np.linspace(lo, hi, min(parts, max(hi - lo, 1)) + 1).astype(int)
        private = bounds.shape[0] > 2  # noqa: PLR2004 - more than one part
        units.extend((g, int(a), int(b), private) for a, b in pairwise(bounds.tolist()))
    return units


def _run_parallel(
    run: Callable[[int], int], n_units: int, threads: int | None, progress: Progress | None
) -> list[int]:
    """Run ``run(0..n_units-1)`` on a thread pool (kernels release the GIL), in order."""
    workers = max(1, min(threads or os.cpu_count() or 1, n_units))
    results = [0] * n_units
    if workers == 1:
        for u in range(n_units):
            results[u] = run(u)
            if progress:
                progress(1)
        return results
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run, u): u for u in range(n_units)}
        for future, u in futures.items():
            results[u] = future.result()
            if progress:
                progress(1)
    return results


def _node_ids(
    values: npt.ArrayLike, n_nodes: int, *, field: str = "source_nodes", expected: int | None = None
) -> IntArray:
    array = np.atleast_1d(np.asarray(values))
    if array.ndim != 1 or (expected is not None and array.shape[0] != expected):
        msg = f"`{field}` must be a 1-D array of length {expected}, got shape {array.shape}"
        raise InputError(msg)
    if array.shape[0] and not np.issubdtype(array.dtype, np.integer):
        as_float = array.astype(np.float64)
        if not np.all(np.isfinite(as_float) & (as_float == np.round(as_float))):
            bad = int(
                np.flatnonzero(~(np.isfinite(as_float) & (as_float == np.round(as_float))))[0]
            )
            msg = f"`{field}` row {bad}: must be a whole number, got {array[bad]!r}"
            raise InputError(msg)
    ids = array.astype(np.int64)
    bad_rows = np.flatnonzero((ids < 0) | (ids >= n_nodes))
    if bad_rows.shape[0]:
        row = int(bad_rows[0])
        msg = f"`{field}` row {row}: {int(ids[row])} is not in [0, {n_nodes})"
        raise InputError(msg)
    return ids


def _finite_nonnegative(
    values: npt.ArrayLike, field: str, expected: int | None = None
) -> FloatArray:
    array = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if array.ndim != 1 or (expected is not None and array.shape[0] != expected):
        msg = f"`{field}` must be a 1-D array of length {expected}, got shape {array.shape}"
        raise InputError(msg)
    bad = np.flatnonzero(~(np.isfinite(array) & (array >= 0)))
    if bad.shape[0]:
        msg = f"`{field}` row {int(bad[0])}: must be a finite number >= 0, got {array[bad[0]]!r}"
        raise InputError(msg)
    return array


def _per_group(values: float | npt.ArrayLike, n_groups: int, field: str) -> FloatArray:
    array = _finite_nonnegative(values, field)
    if array.shape[0] == 1:
        return np.full(n_groups, array[0])
    if array.shape[0] != n_groups:
        msg = f"`{field}` must be one value or one per group ({n_groups}), got {array.shape[0]}"
        raise InputError(msg)
    return array


def _labels(labels: npt.ArrayLike | None, n_sources: int) -> IntArray:
    if labels is None:
        return np.arange(n_sources, dtype=np.int64)
    return _node_ids(labels, np.iinfo(np.int64).max, field="labels", expected=n_sources)
