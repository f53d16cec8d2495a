"""The shipped model format: arrays that answer as the scikit-learn pipeline did."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shancheng.cases.classify import (
    OTHER_GROUP,
    CombinedClassifier,
    TextClassifier,
    department_group,
    train_classifier,
)
from shancheng.cases.text_model import LinearTextModel
from shancheng.errors import InputError

TEXTS = [
    "路灯坏了",
    "路灯不亮",
    "学校收费",
    "学生负担重",
    "工资拖欠",
    "拖欠工资不发",
    "street light out",
    "school fees",
    "unpaid wages",
]
LABELS = ["light", "light", "school", "school", "wages", "wages", "light", "school", "wages"]


@pytest.fixture(scope="module")
def fitted():
    return train_classifier(TEXTS, LABELS)


def test_arrays_answer_as_the_pipeline_did(fitted, tmp_path):
    model = LinearTextModel.from_pipeline(fitted.pipeline, meta={"note": "test"})
    model.save(tmp_path / "m.npz")
    loaded = LinearTextModel.load(tmp_path / "m.npz")
    texts = ["路灯又坏了", "学校乱收费", "boss owes wages", "完全无关的话", "x"]
    np.testing.assert_allclose(
        loaded.predict_proba(texts), fitted.pipeline.predict_proba(texts), atol=1e-5
    )
    assert loaded.classes == ("light", "school", "wages") and loaded.meta == {"note": "test"}


def test_foreign_or_damaged_files_are_refused_by_name(fitted, tmp_path):
    model = LinearTextModel.from_pipeline(fitted.pipeline, meta={})
    np.savez(tmp_path / "partial.npz", vocabulary=np.array(["a"]))
    with pytest.raises(InputError, match=r"partial.npz: not a shancheng text model"):
        LinearTextModel.load(tmp_path / "partial.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"junk.npz: cannot read the text model"):
        LinearTextModel.load(tmp_path / "junk.npz")
    model.save(tmp_path / "ok.npz")
    with np.load(tmp_path / "ok.npz") as arrays:
        parts = dict(arrays)
    parts["coef"] = parts["coef"][:, :-1]
    np.savez(tmp_path / "cut.npz", **parts)
    with pytest.raises(InputError, match=r"cut.npz: weights of shape"):
        LinearTextModel.load(tmp_path / "cut.npz")
    parts = dict(np.load(tmp_path / "ok.npz"))
    parts["meta"] = np.array('{"format": "shancheng-linear-text-model", "version": 99}')
    np.savez(tmp_path / "new.npz", **parts)
    with pytest.raises(InputError, match=r"version 99, expected"):
        LinearTextModel.load(tmp_path / "new.npz")


def _combined():
    """Groups = the toy model's classes (+ other); categories: two under light, one each."""
    departments = LinearTextModel.from_pipeline(
        train_classifier([*TEXTS, "garbage", "垃圾"], [*LABELS, OTHER_GROUP, OTHER_GROUP]).pipeline,
        meta={},
    )
    categories = train_classifier(
        ["路灯坏了", "灯杆倒了", "学校收费", "工资拖欠", "垃圾"], ["L1", "L2", "S", "W", "G"]
    )
    group_of = {"L1": "light", "L2": "light", "S": "school", "W": "wages", "G": OTHER_GROUP}
    return departments, categories, CombinedClassifier(departments, categories, group_of)


def test_a_group_shares_its_probability_among_its_categories(fitted):
    departments, categories, combined = _combined()
    texts = ["路灯坏了", "学校收费太贵", "垃圾没人收"]
    p = combined.probabilities(texts)
    p_group = departments.predict_proba(texts)
    p_cat = categories.pipeline.predict_proba(texts)
    col = {c: i for i, c in enumerate(categories.pipeline.classes_)}
    grp = {g: i for i, g in enumerate(departments.classes)}
    # by hand: L1 gets light's share times L1's part of (L1 + L2)
    expected_l1 = (
        p_group[:, grp["light"]] * p_cat[:, col["L1"]] / (p_cat[:, col["L1"]] + p_cat[:, col["L2"]])
    )
    np.testing.assert_allclose(p[:, col["L1"]], expected_l1)
    np.testing.assert_allclose(p[:, col["S"]], p_group[:, grp["school"]])
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=30))
def test_probabilities_of_any_text_sum_to_one(text):
    _departments, _categories, combined = _COMBINED
    [ranked] = combined.propose_many([text], k=5)
    assert sum(p.confidence for p in ranked) == pytest.approx(1.0)
    assert [p.confidence for p in ranked] == sorted((p.confidence for p in ranked), reverse=True)


_COMBINED = _combined()


def test_department_group_falls_back_to_other():
    assert department_group("education", ["education"]) == "education"
    assert department_group("gardens", ["education"]) == OTHER_GROUP


def test_a_model_needs_three_classes():
    two = train_classifier(["a", "b"], ["x", "y"])
    assert isinstance(two, TextClassifier)
    with pytest.raises(InputError, match="at least three classes"):
        LinearTextModel.from_pipeline(two.pipeline, meta={})
