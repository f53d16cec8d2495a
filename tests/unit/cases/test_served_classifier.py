"""The classifier the server serves, asked through /cases/classify: real held-out messages.

The app's own classifier (``state_of(app).classifier``) answers (the shipped department model times the
category model of the taxonomy in force), never a model built for the test. Held out: the
395 full-text TipDM messages, none of which is in the training corpus (PROVENANCE.md §3);
their first-level class maps to the department of its taxonomy category (E0701-E0707).
"""

from collections import Counter

import pytest

from shancheng.api.state import state_of
from shancheng.cases.classifier_training import (
    FULLTEXT_FILE,
    read_fulltext,
    tipdm_departments,
)
from shancheng.cases.permissions import Role

pytestmark = pytest.mark.services
SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the model, not the DB


@pytest.fixture
def served(api, taxonomy):
    """ask(text) -> department of the served classifier's first proposal."""
    headers = api.user("li", Role.CITIZEN, "990100")

    def ask(text):
        r = api.client.post("/cases/classify", headers=headers, json={"text": text})
        assert r.status_code == 200, r.text
        return taxonomy.category(r.json()[0]["category_code"]).department

    return ask


@SQLITE
def test_the_two_sentences_of_the_issue_reach_education_and_labour(served):
    assert served("幼儿园收费太高") == "education"
    assert served("公司拖欠工资三个月") == "human_resources"


@pytest.mark.slow
@pytest.mark.data
@SQLITE
def test_served_classifier_on_held_out_real_messages(served, taxonomy, shared_data):
    texts, classes = read_fulltext(shared_data / "complaints" / FULLTEXT_FILE)
    departments = tipdm_departments(taxonomy)
    truth = [departments[c] for c in classes]
    got = [served(text) for text in texts]
    total, hits = Counter(truth), Counter(t for t, g in zip(truth, got, strict=True) if t == g)
    recall = {d: hits[d] / n for d, n in total.items()}
    top1 = sum(hits.values()) / len(truth)
    assert len(truth) == 395 and len(total) == 7
    assert top1 >= 0.85, (top1, recall)
    assert min(recall.values()) >= 0.75, recall


@SQLITE
def test_an_edited_taxonomy_retrains_and_keeps_what_the_real_messages_taught(api, served, taxonomy):
    """A new education category gets the education share; the real-message model stays."""
    root = api.user("root", Role.ADMIN, "990100")
    text = "我的孩子在学校遭到欺凌"
    before = served(text)
    new = {
        "code": "E0708",
        "name_zh": "校园欺凌",
        "name_en": "school bullying",
        "department": "education",
        "level": "district",
        "priority": 1,
        "limits_h": {"register": 1, "dispatch": 1, "dispose": 8, "verify": 2},
        "keywords": ["欺凌", "霸凌", "bullying"],
    }
    assert api.client.post("/admin/taxonomy", headers=root, json=new).status_code == 201
    served("路灯不亮")  # the first request after the edit starts the retraining
    state_of(api.app).classifier.wait(120)
    headers = api.user("wang", Role.CITIZEN, "990100")
    r = api.client.post("/cases/classify", headers=headers, json={"text": text})
    assert before == "education"  # E0704 before the edit
    assert r.json()[0]["category_code"] == "E0708", r.json()
    for text, department in (
        ("幼儿园收费太高", "education"),
        ("公司拖欠工资三个月", "human_resources"),
    ):
        r = api.client.post("/cases/classify", headers=headers, json={"text": text})
        code = r.json()[0]["category_code"]  # E0704 or the new E0708: both education
        assert (
            new["department"] if code == "E0708" else taxonomy.category(code).department
        ) == department, r.json()
