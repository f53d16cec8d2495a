"""The text classifier: its own sentences and bad input (real messages: test_served_classifier)."""

import pytest

from shancheng.cases.classify import (
    Proposal,
    TaxonomyClassifier,
    per_class_accuracy,
    taxonomy_examples,
    train_classifier,
)
from shancheng.errors import InputError

# Written for this test, not produced by the templates; the category a person would choose.
SENTENCES = [
    ("楼下垃圾堆成山了，臭气熏天，好几天没人清运", "E0102"),
    ("人行道上好多车乱停车，轮椅过不去", "E0502"),
    ("晚上十二点工地还在夜间施工，吵得睡不着", "E0301"),
    ("路口的路灯坏了，晚上一片漆黑", "C0110"),
    ("马路中间的井盖丢失了，很危险", "E0401"),
    ("菜市场门口有人摆摊占道经营", "E0501"),
    ("Rubbish bags dumped next to the bus stop", "E0102"),
    ("The street light outside number 12 is broken", "C0110"),
    ("Big pothole in the road near the school", "E0404"),
    ("Loud noise from the bar every night", "E0601"),
    ("Someone walks a big dog without a leash in the park", "E0603"),
    ("There is a sinkhole on Jiefang road", "E0402"),
]


@pytest.fixture(scope="module")
def model(taxonomy):
    texts, labels = taxonomy_examples(taxonomy)
    return train_classifier(texts, labels)


def test_top3_with_confidence_on_new_sentences(model, taxonomy):
    proposals = model.propose_many([text for text, _ in SENTENCES])
    for ranked in proposals:
        assert len(ranked) == 3
        assert all(p.label in taxonomy.categories for p in ranked)
        confidences = [p.confidence for p in ranked]
        assert confidences == sorted(confidences, reverse=True)
        assert 0 < sum(confidences) <= 1 + 1e-9
    hits = sum(
        code in [p.label for p in ranked]
        for (_text, code), ranked in zip(SENTENCES, proposals, strict=True)
    )
    assert hits >= 9, [(t, [p.label for p in r]) for (t, _c), r in zip(SENTENCES, proposals)]


def test_training_input_is_checked():
    with pytest.raises(InputError, match="differ in length"):
        train_classifier(["a"], ["x", "y"])
    with pytest.raises(InputError, match="at least two labels"):
        train_classifier(["a", "b"], ["x", "x"])
    with pytest.raises(InputError, match="text 1 is empty"):
        train_classifier(["a", " "], ["x", "y"])


def test_per_class_accuracy_by_hand():
    p = [
        [Proposal("a", 0.5), Proposal("b", 0.3), Proposal("c", 0.2)],
        [Proposal("b", 0.5), Proposal("c", 0.3), Proposal("a", 0.2)],
        [Proposal("c", 0.9), Proposal("b", 0.05), Proposal("d", 0.05)],
    ]
    assert per_class_accuracy(["a", "a", "b"], p) == {"a": (2, 0.5, 1.0), "b": (1, 0.0, 1.0)}


def test_the_served_classifier_still_knows_the_street_categories(taxonomy):
    """The real-message department model must not drown the city-management categories."""
    model, _ = TaxonomyClassifier(taxonomy)()
    proposals = model.propose_many([text for text, _ in SENTENCES])
    top1 = sum(
        ranked[0].label == code for (_text, code), ranked in zip(SENTENCES, proposals, strict=True)
    )
    top3 = sum(
        code in [p.label for p in ranked]
        for (_text, code), ranked in zip(SENTENCES, proposals, strict=True)
    )
    assert top3 >= 10 and top1 >= 8, [
        (t, [p.label for p in r]) for (t, _c), r in zip(SENTENCES, proposals, strict=True)
    ]
