"""Which carriageways a pedestrian crosses at a junction, from the angles of its legs.

A walk network of street centre lines has no kerbs, so crossings are read from the geometry of
each junction: a pedestrian arriving along one leg and leaving along another walks round the
junction on one side and crosses every carriageway leg lying on that side between the two.
Pupils are assumed to take the side with fewer carriageways to cross (ties: the side with the
less important roads), the rule a Safe Routes to School audit walks. Walking straight along a
street through a four-way junction crosses one arm of the side street; turning the near corner
crosses nothing.

The control of a crossing is the strongest one mapped at the junction or within
``search_m`` of it (OSM maps crossings as separate nodes a few metres into the road):
``signals`` > ``marked`` (a zebra) > ``unmarked`` > ``''`` (none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from shancheng.errors import InputError
from shancheng.mobility.drive import CARRIAGEWAY_CLASSES, CROSSING_CONTROLS, carriageway_mask

if TYPE_CHECKING:
    import pandas as pd

    from shancheng.types import FloatArray, IntArray

NOT_A_ROAD = len(CARRIAGEWAY_CLASSES)
"""Rank given to legs that are not carriageways (footways, steps...)."""
PROTECTED = ("marked", "signals")
"""Controls that count as a protected crossing."""


@dataclass(frozen=True, eq=False)
class Legs:
    """The legs (incident segments) of every walk node, sorted by angle around it.

    ``start[v]:start[v+1]`` index the legs of node ``v``; for each leg its segment, the
    neighbour node, its angle (radians, counter-clockwise from east) and its class rank
    (:data:`NOT_A_ROAD` for non-carriageways).
    """

    start: IntArray
    segment: IntArray
    other: IntArray
    angle: FloatArray
    rank: IntArray

    def leg_of(self, node: int, segment: int) -> int:
        """Index (within all legs) of ``segment`` at ``node``."""
        lo, hi = self.start[node], self.start[node + 1]
        where = np.flatnonzero(self.segment[lo:hi] == segment)
        return int(lo + where[0])


def build_legs(walk_nodes: pd.DataFrame, walk_segments: pd.DataFrame) -> Legs:
    """Return the legs of every walk node (both ends of every segment)."""
    x = walk_nodes["x_utm"].to_numpy(np.float64)
    y = walk_nodes["y_utm"].to_numpy(np.float64)
    tail = walk_segments["tail"].to_numpy(np.int64)
    head = walk_segments["head"].to_numpy(np.int64)
    road = carriageway_mask(walk_segments)
    cls = walk_segments["road_class"].astype(str).to_numpy()
    rank = np.array(
        [CARRIAGEWAY_CLASSES.index(c) if r else NOT_A_ROAD for c, r in zip(cls, road, strict=True)],
        dtype=np.int64,
    )
    seg = np.arange(tail.shape[0])
    node = np.concatenate([tail, head])
    other = np.concatenate([head, tail])
    angle = np.arctan2(y[other] - y[node], x[other] - x[node])
    order = np.lexsort((angle, node))
    start = np.zeros(x.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(node, minlength=x.shape[0]), out=start[1:])
    return Legs(start, np.concatenate([seg, seg])[order], other[order], angle[order],
                np.concatenate([rank, rank])[order])  # fmt: skip


def crossed_legs(legs: Legs, node: int, leg_in: int, leg_out: int) -> list[int]:
    """Carriageway legs crossed walking round ``node`` from ``leg_in`` to ``leg_out``.

    Both arguments and the result index the legs of :class:`Legs`. The legs strictly between
    the two, going counter-clockwise and clockwise, are the two candidate sides; the side
    with fewer carriageways (then the less important ones) is taken.
    """
    lo, hi = int(legs.start[node]), int(legs.start[node + 1])
    count = hi - lo
    i, j = leg_in - lo, leg_out - lo
    if count <= 2 or i == j:  # noqa: PLR2004 - a bend or a dead end has nothing to cross
        return []
    ccw = [lo + (i + k) % count for k in range(1, (j - i) % count)]
    cw = [lo + (j + k) % count for k in range(1, (i - j) % count)]
    ccw = [a for a in ccw if legs.rank[a] < NOT_A_ROAD]
    cw = [a for a in cw if legs.rank[a] < NOT_A_ROAD]

    def cost(side: list[int]) -> tuple[int, list[int]]:
        return len(side), sorted((NOT_A_ROAD - int(legs.rank[a]) for a in side), reverse=True)

    return ccw if cost(ccw) <= cost(cw) else cw


def junction_controls(walk_nodes: pd.DataFrame, *, search_m: float = 25.0) -> list[str]:
    """Strongest crossing control at or within ``search_m`` of every walk node.

    Reads the optional ``walk_nodes`` columns ``crossing`` and ``traffic_signals``; without
    them every junction is uncontrolled (``''``).
    """
    n = len(walk_nodes)
    level = np.zeros(n, dtype=np.int64)
    if "crossing" in walk_nodes.columns:
        values = walk_nodes["crossing"].fillna("").astype(str).to_numpy()
        bad = ~np.isin(values, CROSSING_CONTROLS)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            msg = (
                f"walk_nodes: row {row}: `crossing` must be one of {CROSSING_CONTROLS}, "
                f"got {values[row]!r}"
            )
            raise InputError(msg)
        level = np.array([CROSSING_CONTROLS.index(v) for v in values], dtype=np.int64)
    if "traffic_signals" in walk_nodes.columns:
        signals = walk_nodes["traffic_signals"].fillna(value=False).to_numpy(bool)
        level[signals] = CROSSING_CONTROLS.index("signals")
    tagged = np.flatnonzero(level > 0)
    if tagged.shape[0] and search_m > 0:
        xy = walk_nodes[["x_utm", "y_utm"]].to_numpy(np.float64)
        near = cKDTree(xy[tagged]).query_ball_point(xy, r=search_m)
        level = np.array(
            [max([level[v], *(int(level[tagged[k]]) for k in ks)]) for v, ks in enumerate(near)]
        )
    return [CROSSING_CONTROLS[k] for k in level]
