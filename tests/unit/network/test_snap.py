import numpy as np
import pytest

from shancheng.errors import InputError, SnapDistanceError
from shancheng.network.search import nearest_times
from shancheng.network.snap import entry_seeds, snap_points


def test_point_is_projected_on_the_nearest_edge(hill_path):
    snap = snap_points(hill_path, [40.0, 110.0], [-6.0, 3.0], max_distance_m=50.0)
    assert snap.snapped.all()
    first = int(snap.edge[0])
    assert (hill_path.edge_tail[first], hill_path.edge_head[first]) == (0, 1)
    assert snap.fraction[0] == pytest.approx(0.4)
    assert snap.distance_m[0] == pytest.approx(6.0)
    assert snap.access_time_s[0] == pytest.approx(6.0)  # 1 m/s walker
    assert snap.fraction[1] == pytest.approx(0.5)


def test_far_points_are_reported_not_snapped(hill_path, caplog):
    snap = snap_points(
        hill_path, [50.0, 50.0], [10.0, 500.0], max_distance_m=100.0, source="schools.csv"
    )
    assert snap.snapped.tolist() == [True, False]
    assert snap.far.tolist() == [1]
    assert np.isinf(snap.distance_m[1])
    assert "schools.csv" in caplog.text
    assert "rows 1" in caplog.text
    with pytest.raises(SnapDistanceError, match="schools.csv"):
        snap_points(
            hill_path, [50.0], [500.0], max_distance_m=100.0, on_far="raise", source="schools.csv"
        )


def test_bad_coordinates_are_refused(hill_path):
    with pytest.raises(InputError, match="row 1"):
        snap_points(hill_path, [0.0, np.nan], [0.0, 0.0])


def test_seeds_give_time_to_walk_to_a_facility_mid_edge(hill_path):
    # facility half way up the 100 m street (0 → 1 climbs 10 m), 3 m off the street
    snap = snap_points(hill_path, [50.0], [3.0])
    nodes, offsets, points = entry_seeds(hill_path, snap, direction="to_points")
    up = hill_path.edge_time_s[(hill_path.edge_tail == 0) & (hill_path.edge_head == 1)][0]
    down = hill_path.edge_time_s[(hill_path.edge_tail == 1) & (hill_path.edge_head == 0)][0]
    seeds = dict(zip(nodes.tolist(), offsets.tolist()))
    assert seeds[0] == pytest.approx(3.0 + 0.5 * up)
    assert seeds[1] == pytest.approx(3.0 + 0.5 * down)
    assert points.tolist() == [0, 0]
    result = nearest_times(hill_path, nodes, offsets_s=offsets, labels=points, cutoff_s=1e6)
    assert result.time_s[0, 2] == pytest.approx(
        seeds[1] + hill_path.edge_time_s[(hill_path.edge_tail == 2)][0]
    )
