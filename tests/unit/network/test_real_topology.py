"""The kernels on a real road graph: New York City (DIMACS / PACE 2016 topology)."""

import lzma

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from shancheng.network.search import count_within, nearest_times
from shancheng.network.walk import build_walk_network


@pytest.mark.data
def test_nearest_on_new_york_equals_scipy(shared_data):
    path = shared_data / "networks" / "dimacs" / "USA-road-NY_pace2016_topology.gr.xz"
    with lzma.open(path, "rt") as f:
        lines = [line for line in f if line and line[0].isdigit()]
    edges = np.loadtxt(lines, dtype=np.int64) - 1  # 1-based ids
    n = int(edges.max()) + 1
    assert n == 264_346
    assert edges.shape[0] == 365_050
    rng = np.random.default_rng(0)
    seconds = rng.integers(1, 60, edges.shape[0]).astype(np.float64)
    net = build_walk_network(
        np.zeros(n),
        np.zeros(n),
        None,
        edges[:, 0],
        edges[:, 1],
        np.ones(edges.shape[0]),
        np.zeros(edges.shape[0], np.int64),
        fixed_time_s=seconds,
        crs_epsg=32618,
        source=path.name,
    )
    sources = rng.choice(n, 200, replace=False)
    matrix = sp.csr_matrix(
        (
            np.concatenate([seconds, seconds]),
            (np.concatenate(edges.T), np.concatenate(edges[:, ::-1].T)),
        ),
        shape=(n, n),
    )
    expected = dijkstra(matrix, indices=sources, min_only=True, limit=600)
    for step in (None, 1.0):
        got = nearest_times(net, sources, cutoff_s=600, time_step_s=step).time_s[0]
        assert np.array_equal(got, expected)
    within = count_within(net, sources[:20], thresholds_s=[300, 600], time_step_s=1.0)
    full = dijkstra(matrix, indices=sources[:20], limit=600)
    assert np.array_equal(within.count[0, :, 1], (full <= 600).sum(axis=0))
    assert np.array_equal(within.count[0, :, 0], (full <= 300).sum(axis=0))
