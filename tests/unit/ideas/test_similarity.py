"""Near-duplicate ideas: Chinese and English text similarity, and distance."""

import pytest

from shancheng.ideas.similarity import Candidate, distance_factor, grams, haversine_m, similar

ELEVATOR = "老旧小区加装电梯，方便老人上下楼"
NEAR = (106.5700, 29.5600)


def test_chinese_near_duplicate_is_found_and_unrelated_is_not():
    found = similar(
        "建议给老旧小区加装电梯",
        [Candidate(1, ELEVATOR), Candidate(2, "公交站增加遮雨棚"), Candidate(3, "夜市噪音扰民")],
    )
    assert [m.key for m in found] == [1]
    assert 0.3 < found[0].text_similarity < 1.0


def test_english_words_in_other_forms_still_match():
    found = similar(
        "Add shelters at the bus stops",
        [Candidate(1, "Bus stop shelter needed"), Candidate(2, "Street lights are broken")],
    )
    assert [m.key for m in found] == [1]


def test_identical_text_scores_one_and_order_is_best_first():
    found = similar(ELEVATOR, [Candidate(2, "小区加装电梯"), Candidate(1, ELEVATOR)], min_score=0)
    assert [m.key for m in found] == [1, 2]
    assert found[0].text_similarity == pytest.approx(1.0)


def test_far_apart_places_are_not_duplicates():
    lon, lat = NEAR
    far = (lon + 0.05, lat)  # about 4.8 km east
    found = similar(ELEVATOR, [Candidate(1, ELEVATOR, *far), Candidate(2, ELEVATOR, lon, lat)],
                    lon=lon, lat=lat)  # fmt: skip
    assert [m.key for m in found] == [2]
    assert found[0].distance_m == pytest.approx(0.0)


def test_distance_factor_and_haversine_by_hand():
    assert distance_factor(None, near_m=300, far_m=2000) == 1.0
    assert distance_factor(300, near_m=300, far_m=2000) == 1.0
    assert distance_factor(1150, near_m=300, far_m=2000) == pytest.approx(0.5)
    assert distance_factor(2000, near_m=300, far_m=2000) == 0.0
    # one degree of latitude on the mean sphere: 2 pi R / 360 = 111,195 m
    assert haversine_m(106.0, 29.0, 106.0, 30.0) == pytest.approx(111_195, abs=1)


def test_grams_mix_chinese_bigrams_and_latin_trigrams():
    g = grams("加装电梯 lift")
    assert {"加装", "装电", "电梯", " li", "lif", "ift", "ft "} <= set(g)
