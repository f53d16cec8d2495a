"""The walk network and its search kernels: pure numpy/numba, no IO, no database."""

from __future__ import annotations

from shancheng.network.search import (
    NearestTimes,
    Reach,
    WithinCounts,
    count_within,
    nearest_times,
    reach,
)
from shancheng.network.snap import SnappedPoints, entry_seeds, snap_points
from shancheng.network.speed import EdgeKind, WalkSpeeds, edge_times_s, tobler_speed_m_s
from shancheng.network.walk import WalkNetwork, build_walk_network

__all__ = [
    "EdgeKind",
    "NearestTimes",
    "Reach",
    "SnappedPoints",
    "WalkNetwork",
    "WalkSpeeds",
    "WithinCounts",
    "build_walk_network",
    "count_within",
    "edge_times_s",
    "entry_seeds",
    "nearest_times",
    "reach",
    "snap_points",
    "tobler_speed_m_s",
]
