"""Home-to-facility times on random hilly networks against the networkx oracle (hypothesis).

Random street networks with heights (so uphill and downhill differ), stairs, one-way arcs,
and homes and facilities scattered around them — several on the same street, some exactly on
crossings, some too far to be attached. The oracle (tests/unit/circles/oracle.py) enters the
plain network at both ends of each point's street and adds the walk along a shared street; the
code under test splices the points into the network instead.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.circles.oracle import oracle_nearest

from shancheng.circles.accessibility import compute_accessibility
from shancheng.circles.standard import parse_catalogue
from shancheng.network.speed import EdgeKind
from shancheng.network.walk import build_walk_network

CATALOGUE = parse_catalogue(
    {
        "format_version": 1,
        "age_groups": {"all": {"label": "all", "columns": ["population"]}},
        "categories": {"a": {}, "b": {}},
        "requirements": [
            {"category": "a", "level_min": 5, "threshold_min": 5},
            {"category": "b", "level_min": 5, "threshold_min": 5},
        ],
    }
)
CUTOFF_S = 400.0


@st.composite
def cities(draw):
    n = draw(st.integers(2, 12))
    coord = st.floats(0.0, 300.0, allow_nan=False)
    x = np.array(draw(st.lists(coord, min_size=n, max_size=n)))
    y = np.array(draw(st.lists(coord, min_size=n, max_size=n)))
    z = np.array(draw(st.lists(st.floats(0.0, 40.0), min_size=n, max_size=n)))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1]),
            min_size=1,
            max_size=3 * n,
        )
    )
    tail, head = np.array(pairs).T
    kinds = np.array(
        draw(
            st.lists(
                st.sampled_from([EdgeKind.STREET, EdgeKind.STEPS]),
                min_size=len(pairs),
                max_size=len(pairs),
            )
        )
    )
    oneway = np.array(draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs))))
    length = np.hypot(x[tail] - x[head], y[tail] - y[head]) * 1.1 + 1.0
    network = build_walk_network(x, y, z, tail, head, length, kinds, oneway=oneway & (kinds == 0))

    def points(k):
        on_street = st.tuples(
            st.integers(0, len(pairs) - 1), st.floats(0.0, 1.0), st.floats(-30.0, 30.0)
        )
        chosen = draw(st.lists(on_street, min_size=k, max_size=k))
        px = [x[tail[s]] + t * (x[head[s]] - x[tail[s]]) + d for s, t, d in chosen]
        py = [y[tail[s]] + t * (y[head[s]] - y[tail[s]]) for s, t, d in chosen]
        return np.array(px), np.array(py)

    hx, hy = points(draw(st.integers(1, 8)))
    fx, fy = points(draw(st.integers(1, 6)))
    if draw(st.booleans()):  # a home exactly on a crossing, and one far away
        hx, hy = np.r_[hx, x[0], 5000.0], np.r_[hy, y[0], 5000.0]
    cats = draw(st.lists(st.sampled_from(["a", "b"]), min_size=fx.shape[0], max_size=fx.shape[0]))
    return network, (hx, hy), (fx, fy, cats)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cities())
def test_home_to_facility_times_equal_the_oracle(city):
    network, (hx, hy), (fx, fy, cats) = city
    homes = gpd.GeoDataFrame(
        pd.DataFrame(
            {
                "residence_id": [f"h{i}" for i in range(hx.shape[0])],
                "x_utm": hx,
                "y_utm": hy,
                "population": 1,
            }
        ),
        geometry=gpd.points_from_xy(hx, hy),
        crs=32648,
    )
    facilities = gpd.GeoDataFrame(
        pd.DataFrame(
            {
                "facility_id": [f"f{i}" for i in range(fx.shape[0])],
                "category": cats,
                "x_utm": fx,
                "y_utm": fy,
            }
        ),
        geometry=gpd.points_from_xy(fx, fy),
        crs=32648,
    )
    acc = compute_accessibility(
        network, homes, facilities, CATALOGUE, cutoff_s=CUTOFF_S, max_snap_m=100.0
    )
    group = np.array([acc.categories.index(c) for c in acc.facilities["category"]])
    expected = oracle_nearest(
        network,
        (hx, hy),
        (acc.facilities["x_utm"].to_numpy(), acc.facilities["y_utm"].to_numpy()),
        group,
        2,
        cutoff_s=CUTOFF_S,
        max_snap_m=100.0,
    )
    assert np.array_equal(np.isinf(acc.time_s), np.isinf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(acc.time_s[finite], expected[finite], rtol=1e-9, atol=1e-6)
