"""The 2SFCA pair search against the network kernels, facility by facility."""

import numpy as np

from shancheng.circles.accessibility import compute_accessibility
from shancheng.circles.residences import residences_from_buildings
from shancheng.circles.standard import load_catalogue
from shancheng.network.pairs import pairs_within
from shancheng.network.search import nearest_times


def test_pairs_equal_one_kernel_search_per_facility(small_city):
    acc = compute_accessibility(
        small_city.network,
        residences_from_buildings(small_city),
        small_city.facilities,
        load_catalogue(),
    )
    members = np.flatnonzero(acc.facility_group == acc.categories.index("bus_stop"))
    reverse = acc.graph.network.reversed()
    target = np.full(reverse.n_nodes, -1)
    target[acc.residence_node] = np.arange(acc.residence_node.shape[0])
    got_f, got_r, got_t = pairs_within(
        reverse.indptr,
        reverse.edge_head,
        reverse.edge_time_s,
        acc.facility_node[members],
        target,
        600.0,
        threads=2,
    )
    got = {(int(f), int(r)): float(t) for f, r, t in zip(got_f, got_r, got_t, strict=True)}
    expected = {}
    for position, j in enumerate(members):
        times = nearest_times(acc.graph.network, [acc.facility_node[j]], cutoff_s=600.0).time_s[0]
        for r, t in enumerate(times[acc.residence_node]):
            if t <= 600.0:
                expected[(position, r)] = float(t)
    assert len(expected) > 100
    assert got.keys() == expected.keys()
    for key, t in expected.items():
        assert abs(got[key] - t) < 1e-6
