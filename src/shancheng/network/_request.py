"""A validated search request: sources sorted by group, mapped into the search layout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from shancheng.errors import InputError
from shancheng.network import _dial
from shancheng.network._checks import finite_nonnegative, node_ids
from shancheng.network._layout import PackedArcs, SearchGraph, search_graph

if TYPE_CHECKING:
    from shancheng.network._runner import Workspace
    from shancheng.network.walk import WalkNetwork
    from shancheng.types import FloatArray, IntArray

Direction = Literal["to_sources", "from_sources"]

MAX_BUCKETS = 2**20
"""Most buckets (longest arc in time steps) the bucket queue may allocate."""
MAX_STEPS = _dial.MAX_STEPS
"""Largest cutoff in time steps: whole-step times are packed in 31 bits."""


@dataclass(frozen=True, eq=False)
class Search:
    """Sources sorted by group (renumbered), and the layout the kernels read.

    ``order[k]`` is the input position of the ``k``-th source. ``nearest_order`` is the order
    that settles ties between equally near sources: by group, offset (whole steps when
    ``time_step_s``), then input position; ``ties[k]`` is source ``k``'s rank in it within
    its group. With ``sort_by="offset"`` both orders are the same.
    """

    layout: SearchGraph
    packed: PackedArcs | None
    nodes: IntArray
    offsets: npt.NDArray[np.float64] | IntArray
    order: IntArray
    nearest_order: IntArray
    ties: IntArray
    group_ptr: IntArray
    n_groups: int
    n_sources: int
    time_step_s: float | None
    max_group_sources: int
    workspaces: list[Workspace]

    @property
    def sizes(self) -> IntArray:
        """Number of sources of each group."""
        return np.diff(self.group_ptr)

    def scale_cutoffs(self, cutoffs: FloatArray) -> npt.NDArray[np.float64] | IntArray:
        """Cutoffs in the kernels' unit: seconds, or whole time steps (rounded down)."""
        if self.time_step_s:
            steps = np.floor(cutoffs / self.time_step_s + 1e-9)
            if steps.shape[0] and steps.max() > MAX_STEPS:
                msg = (
                    f"cutoff {float(cutoffs.max()):g} s is {steps.max():.3g} steps of "
                    f"{self.time_step_s:g} s; at most {MAX_STEPS:.3g} steps fit in whole-step "
                    "times: raise time_step_s or use float times (time_step_s=None)"
                )
                raise InputError(msg)
            return steps.astype(np.int64)
        return cutoffs


def prepare(
    network: WalkNetwork,
    source_nodes: npt.ArrayLike,
    group: npt.ArrayLike | None,
    n_groups: int | None,
    offsets_s: npt.ArrayLike | None,
    direction: Direction,
    time_step_s: float | None,
    sort_by: Literal["offset", "node"],
) -> Search:
    """Validate a request; sort its sources by group, then by offset or (new) node id.

    The nearest kernels take sources by offset; the counting kernels run faster when
    consecutive sources are close on the ground, i.e. close in the renumbered layout.
    """
    if direction not in ("to_sources", "from_sources"):
        msg = f"`direction` must be one of {{'to_sources', 'from_sources'}}, got {direction!r}"
        raise InputError(msg)
    if time_step_s is not None and not (np.isfinite(time_step_s) and time_step_s > 0):
        msg = f"`time_step_s` must be a finite number > 0 or None, got {time_step_s!r}"
        raise InputError(msg)
    nodes = node_ids(source_nodes, network.n_nodes)
    n_sources = nodes.shape[0]
    groups = (
        np.zeros(n_sources, np.int64)
        if group is None
        else node_ids(group, np.iinfo(np.int64).max, field="group", expected=n_sources)
    )
    n = int(n_groups if n_groups is not None else (groups.max() + 1 if n_sources else 1))
    if n_sources and groups.max() >= n:
        msg = f"`group` holds {int(groups.max())} but n_groups is {n}"
        raise InputError(msg)
    offsets = (
        np.zeros(n_sources)
        if offsets_s is None
        else finite_nonnegative(offsets_s, "offsets_s", n_sources)
    )
    if time_step_s:
        _check_bucket_count(network, time_step_s)
    layout = search_graph(network, direction)
    new_nodes = layout.rank[nodes]
    scaled_offsets: npt.NDArray[np.float64] | IntArray = (
        np.rint(offsets / time_step_s).astype(np.int64) if time_step_s else offsets
    )
    nearest_order = np.lexsort((scaled_offsets, groups))
    order = nearest_order if sort_by == "offset" else np.lexsort((new_nodes, groups))
    group_ptr = np.searchsorted(groups[order], np.arange(n + 1)).astype(np.int64)
    position = np.empty(n_sources, np.int64)
    position[nearest_order] = np.arange(n_sources)
    ties = (position - group_ptr[groups])[order]
    return Search(
        layout=layout,
        packed=layout.packed(time_step_s) if time_step_s else None,
        nodes=new_nodes[order],
        offsets=scaled_offsets[order],
        order=order,
        nearest_order=nearest_order,
        ties=ties,
        group_ptr=group_ptr,
        n_groups=n,
        n_sources=n_sources,
        time_step_s=time_step_s,
        max_group_sources=int(np.diff(group_ptr).max(initial=0)),
        workspaces=layout.workspaces,
    )


def _check_bucket_count(network: WalkNetwork, time_step_s: float) -> None:
    """Refuse a time step so fine that the bucket queue would need millions of buckets."""
    longest_s = float(network.edge_time_s.max(initial=0.0))
    if longest_s / time_step_s > MAX_BUCKETS:
        msg = (
            f"`time_step_s`={time_step_s:g} turns the longest arc ({longest_s:g} s) into "
            f"{longest_s / time_step_s:.3g} steps; the bucket queue allows {MAX_BUCKETS:.3g}: "
            "raise time_step_s or use float times (time_step_s=None)"
        )
        raise InputError(msg)
