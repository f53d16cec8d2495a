"""Shared fixtures: small hand-made networks with known answers, and the shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from shancheng.network.speed import EdgeKind, WalkSpeeds
from shancheng.network.walk import WalkNetwork, build_walk_network

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """The ../shared/data folder; skipped with a reason when absent, a failure under CI."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"../shared/data is missing at {SHARED_DATA} (required under CI=true)")
        pytest.skip(f"../shared/data not found at {SHARED_DATA}; the real-data tests need it")
    return SHARED_DATA


@pytest.fixture
def one_m_s() -> WalkSpeeds:
    """A walker at exactly 1 m/s on the flat, so times equal metres."""
    return WalkSpeeds(flat_speed_km_h=3.6)


@pytest.fixture
def hill_path(one_m_s: WalkSpeeds) -> WalkNetwork:
    """0 —100 m street, climbs 10 m— 1 —20 m of steps, climbs 10 m— 2; all two-way."""
    return build_walk_network(
        [0.0, 100.0, 120.0],
        [0.0, 0.0, 0.0],
        [0.0, 10.0, 20.0],
        [0, 1],
        [1, 2],
        [100.0, 20.0],
        [EdgeKind.STREET, EdgeKind.STEPS],
        speeds=one_m_s,
    )


def arcs_network(n_nodes: int, arcs: list[tuple[int, int, float]]) -> WalkNetwork:
    """A network of one-way arcs with the given times (speed model bypassed)."""
    tail = np.array([a[0] for a in arcs], dtype=np.int64)
    head = np.array([a[1] for a in arcs], dtype=np.int64)
    time = np.array([a[2] for a in arcs], dtype=np.float64)
    return build_walk_network(
        np.arange(n_nodes, dtype=np.float64),
        np.zeros(n_nodes),
        None,
        tail,
        head,
        np.ones(len(arcs)),
        np.zeros(len(arcs), dtype=np.int64),
        oneway=np.ones(len(arcs), dtype=bool),
        fixed_time_s=time,
    )


@pytest.fixture(autouse=True)
def _restore_logging():
    """The CLI installs a log handler on the `shancheng` logger; take it away after each test
    so that later tests and doctests in the same worker see the logger as it was."""
    import logging

    root = logging.getLogger("shancheng")
    saved = (root.handlers[:], root.level, root.propagate)
    yield
    root.handlers[:], root.level, root.propagate = saved[0], saved[1], saved[2]
