"""The walk network as the search kernels read it: renumbered for locality, in compact dtypes.

A bounded search on a million-node graph spends most of its time waiting for memory: each
settled node reads its own state, its arcs and its neighbours' states at addresses the cache
has not seen. Two changes make those reads cheaper without touching the public node ids:

* **Renumbering.** Nodes are numbered along a Hilbert curve through their coordinates, so that
  nodes close on the ground are close in memory: a search's frontier then touches fewer cache
  lines and pages. The permutation is applied to the sources on the way in and undone on the
  results on the way out; callers only ever see the network's own ids.
* **Compact arrays.** Heads are int32; for integer (time-step) searches each arc is one word
  holding ``head << weight_bits | weight``, so the arc list is half the size of separate
  int64 heads and weights.

The layout is built once per network and direction and kept with the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from shancheng.network import _kernels

if TYPE_CHECKING:
    from shancheng.network._runner import Workspace
    from shancheng.network.walk import WalkNetwork
    from shancheng.types import IntArray

Direction = Literal["to_sources", "from_sources"]

_HILBERT_BITS = 16
"""Grid resolution of the Hilbert key: 2^16 cells per axis (about 1 m over a 65 km city)."""
MAX_ARCS = 2**31 - 1
"""Most arcs a search layout holds: arc offsets and queue entries are int32."""


@dataclass(frozen=True, eq=False)
class PackedArcs:
    """Arcs for the bucket-queue kernels: one word ``head << weight_bits | weight`` per arc.

    Attributes
    ----------
    arcs
        uint32 when node ids and weights fit in 32 bits together, else uint64.
    weight_bits
        Low bits holding the weight, in whole time steps.
    n_buckets
        Buckets of the circular queue: the power of two above the longest arc.
    zero_arcs
        Whether some arcs take 0 steps (they need the nearest kernel's re-settling).
    """

    arcs: npt.NDArray[np.uint32] | npt.NDArray[np.uint64]
    weight_bits: int
    n_buckets: int
    zero_arcs: bool


@dataclass(frozen=True, eq=False)
class SearchGraph:
    """One direction of a walk network, renumbered, as the kernels read it.

    Attributes
    ----------
    indptr
        ``n_nodes + 1`` arc offsets in the new numbering (int32).
    heads
        Head of each arc, new numbering (int32).
    time_s
        Walking time of each arc, seconds.
    order
        ``order[new] = old``: the network's id of each position.
    rank
        ``rank[old] = new``: the position of each of the network's nodes.
    """

    indptr: npt.NDArray[np.int32]
    heads: npt.NDArray[np.int32]
    time_s: npt.NDArray[np.float64]
    order: IntArray
    rank: IntArray
    _packed: dict[float, PackedArcs] = field(default_factory=dict, repr=False)
    workspaces: list[Workspace] = field(default_factory=list, repr=False)
    """Work arrays of the threads that searched this layout, for reuse."""

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.rank.shape[0])

    @property
    def n_arcs(self) -> int:
        """Number of arcs."""
        return int(self.heads.shape[0])

    def packed(self, time_step_s: float) -> PackedArcs:
        """Arcs with their times in whole steps of ``time_step_s``, packed; kept for reuse."""
        cached = self._packed.get(time_step_s)
        if cached is None:
            cached = pack_arcs(self.heads, np.rint(self.time_s / time_step_s), self.n_nodes)
            self._packed[time_step_s] = cached
        return cached


def search_graph(network: WalkNetwork, direction: Direction) -> SearchGraph:
    """Return the search layout of ``network`` in ``direction``, built on first use and kept.

    ``"from_sources"`` follows the arcs as they are; ``"to_sources"`` turns them around (the
    time to walk *to* a source), without building the full reversed network.
    """
    cache: dict[str, SearchGraph] = network.__dict__.setdefault("_search_graphs", {})
    graph = cache.get(direction)
    if graph is None:
        order = network.__dict__.get("_locality_order")
        if order is None:
            order = locality_order(network.node_x_utm, network.node_y_utm)
            object.__setattr__(network, "_locality_order", order)
        tails, heads = network.edge_tail, network.edge_head
        if direction == "to_sources":
            tails, heads = heads, tails
        graph = renumbered(tails, heads, network.edge_time_s, order)
        cache[direction] = graph
    return graph


def locality_order(x_utm: npt.NDArray[np.float64], y_utm: npt.NDArray[np.float64]) -> IntArray:
    """Node ids sorted along a Hilbert curve through their coordinates (``order[new] = old``).

    Nodes sharing a grid cell keep their relative order; without coordinates (all equal) the
    order is the identity.
    """
    n = x_utm.shape[0]
    if n == 0:
        return np.zeros(0, np.int64)
    cells = (1 << _HILBERT_BITS) - 1
    span = max(float(np.ptp(x_utm)), float(np.ptp(y_utm)), 1e-9)
    xi = ((x_utm - x_utm.min()) / span * cells).astype(np.int64)
    yi = ((y_utm - y_utm.min()) / span * cells).astype(np.int64)
    keys = _kernels.hilbert_keys(xi, yi, _HILBERT_BITS)
    return np.argsort(keys, kind="stable").astype(np.int64)


def renumbered(
    tails: IntArray, heads: IntArray, time_s: npt.NDArray[np.float64], order: IntArray
) -> SearchGraph:
    """CSR arrays of the arcs ``tails → heads`` with nodes renumbered by ``order``."""
    n = order.shape[0]
    if tails.shape[0] > MAX_ARCS:
        msg = f"a search layout holds at most {MAX_ARCS} arcs, got {tails.shape[0]}"
        raise ValueError(msg)
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    new_tail = rank[tails]
    new_head = rank[heads]
    arc_order = np.lexsort((new_head, new_tail))
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(new_tail, minlength=n), out=indptr[1:])
    return SearchGraph(
        indptr=indptr.astype(np.int32),
        heads=new_head[arc_order].astype(np.int32),
        time_s=np.ascontiguousarray(time_s[arc_order], dtype=np.float64),
        order=order,
        rank=rank,
    )


def pack_arcs(
    heads: npt.NDArray[np.int32], weights: npt.NDArray[np.float64], n_nodes: int
) -> PackedArcs:
    """Pack heads and whole-step weights into one word per arc (uint32 when they fit)."""
    max_weight = int(weights.max(initial=0))
    node_bits = max(1, (n_nodes - 1).bit_length())
    weight_bits_needed = max(1, max_weight.bit_length())
    word_bits = 32 if node_bits + weight_bits_needed <= 32 else 64  # noqa: PLR2004
    dtype = np.dtype(np.uint32) if word_bits == 32 else np.dtype(np.uint64)  # noqa: PLR2004
    weight_bits = word_bits - node_bits
    arcs = np.left_shift(heads.astype(dtype), weight_bits, dtype=dtype)
    arcs |= weights.astype(dtype)
    return PackedArcs(
        arcs=arcs,
        weight_bits=weight_bits,
        n_buckets=1 << max_weight.bit_length(),
        zero_arcs=bool(weights.shape[0] and weights.min() == 0),
    )
