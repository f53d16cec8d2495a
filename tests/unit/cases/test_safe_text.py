"""The markup and SQL-injection filter: known attacks refused, real citizen messages pass."""

import gzip

import pandas as pd
import pytest

from shancheng.cases.safe_text import unsafe_fragment

ATTACKS = [
    ("HTML", "<script>alert(1)</script>"),
    ("HTML", "<img src=x onerror=alert(1)>"),
    ("HTML", "<IMG SRC=x OnError=alert(1)>"),
    ("HTML", "</p>"),
    ("HTML", "<svg/onload=alert(1)>"),
    ("HTML", "<custom-el data-x=1 onclick=steal()>"),
    ("HTML", "<!-- hidden -->"),
    ("HTML", "click javascript:alert(1)"),
    ("SQL", "' OR '1'='1"),
    ("SQL", "x' or 1=1 --"),
    ("SQL", '" OR ""="'),
    ("SQL", "') OR ('a'='a"),
    ("SQL", "1; DROP TABLE cases"),
    ("SQL", "a'; delete from case_users"),
    ("SQL", "0 UNION ALL SELECT null, version()"),
    ("SQL", "admin'--"),
    ("SQL", "x'); --"),
    ("SQL", "1' AND pg_sleep(5)"),
    ("SQL", "1; WAITFOR DELAY '0:0:5'"),
]

PLAIN = [
    "路灯不亮，晚上很黑，请尽快维修。",
    "噪音>70分贝，温度<30度",
    "a < b and c > d",
    "Don't park on the fire lane; it's the 3rd time -- please act",
    "Please select a new contractor; the union said so",
    "We drop by the office on Monday; updated the form",
    'the sign says "no entry" -- but cars go in',
    "Item #12: the 'or' sign = broken",
    "I <3 this street",
    "email me at li@example.com",
]


@pytest.mark.parametrize(("kind", "text"), ATTACKS)
def test_attacks_are_found(kind, text):
    found = unsafe_fragment(text)
    assert found is not None and found[0] == kind
    assert found[1] in text


@pytest.mark.parametrize("text", PLAIN)
def test_plain_text_passes(text):
    assert unsafe_fragment(text) is None


def test_no_real_citizen_message_is_refused(shared_data):
    """Every subject, body and official reply of the TipDM Cup 2020 messages passes."""
    folder = shared_data / "complaints"
    texts: list[str] = []
    for name, columns in [
        ("tipdm2020_messages_labeled_fulltext.csv", ["留言主题", "留言详情"]),
        ("tipdm2020_messages_hotspot_votes.csv.gz", ["留言主题", "留言详情"]),
        ("tipdm2020_messages_with_replies.csv.gz", ["留言主题", "留言详情", "答复意见"]),
    ]:
        path = folder / name
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            table = pd.read_csv(f)
        for column in columns:
            texts.extend(table[column].dropna().astype(str))
    assert len(texts) > 17_000  # 395 + 4,326 + 2,816 messages
    # the data do carry the characters the patterns look at, so the check is not vacuous
    assert sum("<" in t for t in texts) > 10 and sum(";" in t for t in texts) > 50
    refused = [(t[:80], unsafe_fragment(t)) for t in texts if unsafe_fragment(t)]
    assert refused == []
