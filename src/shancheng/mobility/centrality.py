"""Through movement: sampled betweenness of junctions and road pieces at planners' scales.

Betweenness counts, for every junction (and every road piece), the ordered origin-destination
pairs of junctions no farther apart than a distance (2, 5 and 10 km: the local, district and
city scales of space syntax and cityseer) whose shortest routes pass it, shares split equally
among tied routes (Freeman's definition, Brandes' algorithm). Exact betweenness needs a search
from every junction; the estimate here searches from ``k`` junctions drawn uniformly without
replacement and scales by ``n / k`` (Brandes & Pich 2007).

The error bound. One source adds to any unit at most the number of junctions it can reach
within the cutoff, less one: ``R``. Network distance is never shorter than the straight line
when every arc is at least as long as its chord, so ``R`` is bounded by the most junctions in
any disc of the cutoff's radius (:func:`reach_bounds`, counted on a grid from the coordinates,
an upper bound); else ``n - 1``.
By Hoeffding's inequality (which holds for sampling without replacement) and a union bound
over all ``N`` units and scales, with probability at least ``1 - delta`` every estimate is
within

    error_bound = n R sqrt(ln(2 N / delta) / (2 k))

of the exact count (``0`` when every junction is a source); a junction's ``R`` is multiplied
by the most arcs entering a junction when turn restrictions can send a route through it twice.

Turn restrictions. With banned turns the search runs on the arc graph (a state is an arc;
only the allowed turns follow it), so routes go round the block as a driver must; without
them the junction graph gives the same counts, faster. Distances are metric (metres of
carriageway) or free-flow seconds.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy.signal import fftconvolve

from shancheng.errors import ConfigError
from shancheng.mobility._brandes import brandes_from_sources, brandes_turns_from_sources

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shancheng.mobility.drive import DriveNetwork
    from shancheng.types import FloatArray, IntArray, Progress

logger = logging.getLogger(__name__)

SCALES_M = (2_000.0, 5_000.0, 10_000.0)
"""Distance cutoffs of the through-movement measures (local, district, city)."""
_BATCH = 64


@dataclass(frozen=True, eq=False)
class Betweenness:
    """Estimated betweenness of every node and arc at each scale, with its error bound.

    Attributes
    ----------
    scales_m
        The distance cutoffs, ascending.
    node
        ``(len(scales_m), n_nodes)`` estimated pair counts per node.
    arc
        ``(len(scales_m), n_arcs)`` estimated pair counts per arc.
    samples, n_nodes
        Sources searched and nodes in the graph (``samples == n_nodes``: exact).
    error_bounds
        Largest error of any estimate at each scale, with probability ``1 - delta`` (pairs).
    delta
        The allowed failure probability of the bounds (all scales together).
    turn_restricted
        Whether the routes obeyed banned turns (the arc-graph search).
    """

    scales_m: tuple[float, ...]
    node: FloatArray
    arc: FloatArray
    samples: int
    n_nodes: int
    error_bounds: tuple[float, ...]
    delta: float
    turn_restricted: bool = False

    @property
    def error_bound(self) -> float:
        """Largest error of any estimate at any scale (pairs)."""
        return max(self.error_bounds, default=0.0)

    @property
    def exact(self) -> bool:
        """Whether every node was a source (no sampling error)."""
        return self.samples >= self.n_nodes


def sampled_betweenness(
    indptr: IntArray,
    head: IntArray,
    weight: FloatArray,
    *,
    scales_m: Sequence[float] = SCALES_M,
    samples: int | None = None,
    delta: float = 0.05,
    seed: int = 0,
    banned_turns: IntArray | None = None,
    reach: Sequence[int] | None = None,
    progress: Progress | None = None,
) -> Betweenness:
    """Estimate betweenness on a directed CSR graph from ``samples`` uniform sources.

    Parameters
    ----------
    indptr, head, weight
        The graph: arcs of node ``u`` are ``indptr[u]:indptr[u+1]``, positive weights (m).
    scales_m
        Distance cutoffs; a pair counts at a scale when its distance is at most the cutoff
        (``math.inf`` for the whole graph).
    samples
        Number of sources; ``None`` or at least the node count gives exact values.
    delta
        Failure probability of the stated error bound.
    seed
        Seed of the source draw.
    banned_turns
        ``(k, 2)`` pairs ``(arc in, arc out)`` no route may take (turn restrictions).
    reach
        Per scale (ascending), at most how many nodes any node reaches within the cutoff,
        itself included (:func:`reach_bounds`); ``None``: every node.
    progress
        Told the number of sources searched.

    Returns
    -------
    Betweenness
        Pair counts per node and arc at each scale, and the error bounds.

    Examples
    --------
    A path 0 → 1 → 2: only node 1 lies between a pair.

    >>> b = sampled_betweenness(np.array([0, 1, 2, 2]), np.array([1, 2]), np.array([1.0, 1.0]),
    ...                         scales_m=[math.inf])
    >>> b.node[0].tolist(), b.exact
    ([0.0, 1.0, 0.0], True)
    """
    n = int(indptr.shape[0] - 1)
    cutoffs = np.sort(np.asarray(list(scales_m), dtype=np.float64))
    if cutoffs.shape[0] == 0 or np.any(cutoffs <= 0):
        msg = f"scales_m must be positive distances in metres, got {list(scales_m)!r}"
        raise ConfigError(msg)
    if np.any(~np.isfinite(weight)) or np.any(weight < 0):
        msg = "arc weights must be finite and non-negative (metres)"
        raise ConfigError(msg)
    if not 0.0 < delta < 1.0:
        msg = f"delta must lie in (0, 1), got {delta!r}"
        raise ConfigError(msg)
    if reach is not None and len(reach) != cutoffs.shape[0]:
        msg = f"reach gives {len(reach)} values for {cutoffs.shape[0]} scales"
        raise ConfigError(msg)
    k = n if samples is None else max(1, min(int(samples), n))
    rng = np.random.default_rng(seed)
    sources = np.arange(n) if k == n else np.sort(rng.choice(n, size=k, replace=False))
    turns = banned_turns is not None and len(banned_turns) > 0
    if turns:
        succ_ptr, succ = allowed_turns(indptr, head, np.asarray(banned_turns, dtype=np.int64))
    node = np.zeros((cutoffs.shape[0], n))
    arc = np.zeros((cutoffs.shape[0], head.shape[0]))
    w = weight.astype(np.float64)
    for start in range(0, k, _BATCH):
        batch = sources[start : start + _BATCH].astype(np.int64)
        if turns:
            nd, ad = brandes_turns_from_sources(indptr, head, w, succ_ptr, succ, batch, cutoffs)
        else:
            nd, ad = brandes_from_sources(indptr, head, w, batch, cutoffs)
        node += nd
        arc += ad
        if progress is not None:
            progress(int(batch.shape[0]))
    bounds = _error_bounds(head, n, k, cutoffs.shape[0], reach, delta, revisits=turns)
    logger.info("betweenness from %d of %d sources, error bounds %s pairs", k, n,
                ", ".join(f"{b:.3g}" for b in bounds))  # fmt: skip
    return Betweenness(tuple(float(c) for c in cutoffs), node * (n / k), arc * (n / k), k, n,
                       bounds, delta, turn_restricted=turns)  # fmt: skip


def _error_bounds(
    head: IntArray,
    n: int,
    k: int,
    n_scales: int,
    reach: Sequence[int] | None,
    delta: float,
    *,
    revisits: bool,
) -> tuple[float, ...]:
    """Hoeffding's bound per scale: ``n R sqrt(ln(2 N / delta) / (2 k))`` (module docstring)."""
    if k >= n:
        return (0.0,) * n_scales
    units = (n + head.shape[0]) * n_scales
    root = math.sqrt(math.log(2 * units / delta) / (2 * k))
    visits = int(np.bincount(head, minlength=n).max()) if revisits and head.shape[0] else 1
    out = []
    for c in range(n_scales):
        r = n - 1 if reach is None else max(0, min(int(reach[c]), n) - 1)
        out.append(n * r * visits * root)
    return tuple(out)


def allowed_turns(indptr: IntArray, head: IntArray, banned: IntArray) -> tuple[IntArray, IntArray]:
    """Return the arc graph in CSR form: the arcs that may follow each arc, banned pairs left out.

    Examples
    --------
    Two arcs 0 → 1 and 1 → 0 (a dead end): the U-turn is the only way on, unless banned.

    >>> indptr, head = np.array([0, 1, 2]), np.array([1, 0])
    >>> [x.tolist() for x in allowed_turns(indptr, head, np.zeros((0, 2), np.int64))]
    [[0, 1, 2], [1, 0]]
    >>> [x.tolist() for x in allowed_turns(indptr, head, np.array([[0, 1]]))]
    [[0, 0, 1], [0]]
    """
    m = head.shape[0]
    outdeg = np.diff(indptr)[head]
    tail_arc = np.repeat(np.arange(m, dtype=np.int64), outdeg)
    first = np.repeat(indptr[head], outdeg)
    offset = np.arange(tail_arc.shape[0]) - np.repeat(np.cumsum(outdeg) - outdeg, outdeg)
    next_arc = (first + offset).astype(np.int64)
    if banned.shape[0]:
        keep = ~np.isin(tail_arc * m + next_arc, banned[:, 0] * m + banned[:, 1])
        tail_arc, next_arc = tail_arc[keep], next_arc[keep]
    succ_ptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail_arc, minlength=m), out=succ_ptr[1:])
    return succ_ptr, next_arc


def reach_bounds(
    x: FloatArray, y: FloatArray, length: FloatArray, tail: IntArray, head: IntArray,
    scales_m: Sequence[float], *, cells_per_cutoff: int = 8,
) -> list[int] | None:  # fmt: skip
    """Return, per scale, at least as many as the most nodes within the cutoff of any node.

    A node reachable within the cutoff lies in the straight-line disc of that radius when no
    arc is shorter than its chord; ``None`` (no bound) when some arc is. The disc is counted
    on a grid of cells ``cutoff / cells_per_cutoff`` wide: every cell whose centre is within
    ``cutoff`` plus a cell's diagonal of the node's own cell centre counts whole, so the
    count is an upper bound (about 1.4 times the disc's area at 8 cells) found in linear time
    by one convolution, where an exact disc count per node would cost the node count times
    the disc's population.
    """
    chord = np.hypot(x[head] - x[tail], y[head] - y[tail])
    if np.any(length < chord * (1.0 - 1e-9) - 1e-6):
        return None
    n = int(x.shape[0])
    out = []
    for cutoff in sorted(scales_m):
        if not math.isfinite(cutoff) or n == 0:
            out.append(n)
            continue
        cell = cutoff / cells_per_cutoff
        i = np.floor((x - x.min()) / cell).astype(np.int64)
        j = np.floor((y - y.min()) / cell).astype(np.int64)
        grid = np.zeros((int(i.max()) + 1, int(j.max()) + 1))
        np.add.at(grid, (i, j), 1.0)
        reach = math.ceil((cutoff + math.sqrt(2.0) * cell) / cell)
        di, dj = np.meshgrid(np.arange(-reach, reach + 1), np.arange(-reach, reach + 1),
                             indexing="ij")  # fmt: skip
        mask = (np.hypot(di, dj) * cell <= cutoff + math.sqrt(2.0) * cell).astype(np.float64)
        counts = fftconvolve(grid, mask, mode="same") if grid.size > 1 else grid * mask.sum()
        out.append(min(n, math.ceil(float(counts[i, j].max()) - 1e-6)))
    return out


def through_movement(
    drive: DriveNetwork,
    *,
    scales_m: Sequence[float] = SCALES_M,
    samples: int | None = 400,
    seed: int = 0,
    weight: Literal["length", "time"] = "length",
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, Betweenness]:
    """Return the through movement per junction and per road piece of a drive network.

    Returns
    -------
    junctions
        ``walk_node_id, betweenness_<km>km`` (pairs whose route passes the junction).
    pieces
        ``segment_id, betweenness_<km>km`` (both directions of the piece added).
    Betweenness
        The raw estimate with its sample size and error bound.
    """
    w = drive.edge_length_m if weight == "length" else drive.edge_time_s
    reach = None
    if weight == "length":
        reach = reach_bounds(drive.node_x_utm, drive.node_y_utm, drive.edge_length_m,
                             drive.edge_tail, drive.edge_head, scales_m)  # fmt: skip
    b = sampled_betweenness(
        drive.indptr,
        drive.edge_head,
        w,
        scales_m=scales_m,
        samples=samples,
        seed=seed,
        banned_turns=drive.banned_turns,
        reach=reach,
        progress=progress,
    )
    names = [scale_column(s) for s in b.scales_m]
    junctions = pd.DataFrame({"walk_node_id": drive.node_walk_id,
                              **{c: b.node[i] for i, c in enumerate(names)}})  # fmt: skip
    pieces = (
        pd.DataFrame(
            {"segment_id": drive.edge_segment, **{c: b.arc[i] for i, c in enumerate(names)}}
        )
        .groupby("segment_id", as_index=False)
        .sum()
    )
    return junctions, pieces, b


def scale_column(scale_m: float) -> str:
    """Column name of a scale: ``betweenness_2km``; ``betweenness_all`` for no cutoff.

    Examples
    --------
    >>> scale_column(2000.0), scale_column(math.inf)
    ('betweenness_2km', 'betweenness_all')
    """
    if not math.isfinite(scale_m):
        return "betweenness_all"
    return f"betweenness_{scale_m / 1000:g}km"
