"""A city evaluated district by district, each with its buffer, stitched back = the whole city.

The city is a 24 km x 2 km demo strip, so the buffer (about 6 km here: the cable car sets
v_max) leaves most districts a part of the network, not all of it; the stitched results are
compared with the whole city's file by file, byte for byte.
"""

import hashlib

import pytest

from shancheng.circles import split
from shancheng.circles.evaluate import evaluate_city, write_evaluation
from shancheng.circles.standard import load_catalogue
from shancheng.data.demo import DemoConfig, generate_demo_city

CUTOFF_S = 900.0


@pytest.fixture(scope="module")
def strip():
    config = DemoConfig(name="strip", seed=3, width_m=24_000.0, height_m=2_000.0, n_districts=4,
                        streets_per_district=2, communities_per_street=2,
                        target_population=30_000)  # fmt: skip
    return generate_demo_city(config)


def _digests(folder):
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in folder.iterdir()}


def test_split_and_stitch_equals_the_whole_city_bit_for_bit(strip, tmp_path):
    catalogue = load_catalogue()
    whole = evaluate_city(strip, catalogue, cutoff_s=CUTOFF_S)
    districts = split.district_keys(strip, catalogue, "buildings")
    parts = [split.evaluate_district(strip, catalogue, d, cutoff_s=CUTOFF_S) for d in districts]
    stitched = split.stitch_districts(strip, catalogue, parts, cutoff_s=CUTOFF_S)

    # the split is real: districts ran on less than the whole network
    assert len(parts) == 4
    assert sum(p.network_nodes < p.whole_nodes for p in parts) >= 2
    assert min(p.network_nodes for p in parts) < 0.8 * strip.network.n_nodes
    a = _digests(write_evaluation(whole, tmp_path / "whole", formats=("parquet",)))
    b = _digests(write_evaluation(stitched, tmp_path / "stitched", formats=("parquet",)))
    assert set(a) == {"residences.parquet", "units.parquet", "cells.parquet", "gaps.parquet",
                      "facilities.parquet", "coverage.parquet", "summary.json"}  # fmt: skip
    assert a == b
    assert len(whole.residences) > 1000


def test_buffer_covers_the_fastest_arc_for_the_longest_walk(strip):
    catalogue = load_catalogue()
    net = strip.network
    radius = split.buffer_m(strip, catalogue, cutoff_s=CUTOFF_S)
    # 2 x the 15-minute 2SFCA catchment is the longest walk here; flat walking is 5 km/h
    assert radius > 1800 * net.speeds.flat_speed_m_s + 400
    assert split.buffer_m(strip, catalogue, cutoff_s=7200.0) > radius


def test_stitch_refuses_parts_that_miss_residences(strip):
    catalogue = load_catalogue()
    districts = split.district_keys(strip, catalogue, "buildings")
    part = split.evaluate_district(strip, catalogue, districts[0], cutoff_s=CUTOFF_S)
    with pytest.raises(ValueError, match="do not cover each of the city's"):
        split.stitch_districts(strip, catalogue, [part], cutoff_s=CUTOFF_S)


def test_without_a_speed_bound_each_district_gets_the_whole_city(strip, monkeypatch):
    catalogue = load_catalogue()
    monkeypatch.setattr(split, "buffer_m", lambda *_a, **_k: float("inf"))
    district = split.district_keys(strip, catalogue, "buildings")[0]
    part = split.evaluate_district(strip, catalogue, district, cutoff_s=CUTOFF_S)
    assert part.network_nodes == part.whole_nodes
    assert len(part.residence_rows) > 0
