"""The server's group commit of supports (SQLite and PostgreSQL): concurrent HTTP supports are
batched, each answered as alone; withdrawals keep their order with the same person's supports."""

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.unit.ideas.conftest import DISTRICT, STREET, resident
from tests.unit.ideas.test_api_flow import _emptied, _phases

from shancheng.api.state import state_of
from shancheng.cases.permissions import Role
from shancheng.ideas import collector, service, supports
from shancheng.ideas.batch import SupportRequest
from shancheng.ideas.collector import SupportCollector
from shancheng.ideas.verification import AllowListVerifier, record_verification

MINUTE = timedelta(minutes=1)


@pytest.fixture
def batches(monkeypatch):
    """The sizes of the batches the collector writes; the first batch signals ``writing`` and
    waits for ``release``."""
    sizes = []
    writing, release = threading.Event(), threading.Event()
    real = collector.support_many

    def recording(session, center, requests, **kwargs):
        if not writing.is_set():
            writing.set()
            assert release.wait(10)
        sizes.append(len(requests))
        return real(session, center, requests, **kwargs)

    monkeypatch.setattr(collector, "support_many", recording)
    return sizes, writing, release


@pytest.fixture
def api(make_api):
    return _emptied(make_api(cases_token_ttl_h=24 * 30))  # the clock moves past the phase


def _queued(c, n):
    deadline = time.monotonic() + 10
    while c._jobs.qsize() < n:
        assert time.monotonic() < deadline, "the requests never reached the collector"
        time.sleep(0.005)


def test_many_http_clients_are_batched_and_each_person_counts_once(api, point, batches):
    sizes, writing, release = batches
    official = api.user("official", Role.SUPERVISOR, DISTRICT)
    moderator = api.user("moderator", Role.INSPECTOR, STREET)
    n_people = 12
    people = [api.user(f"r{i}", Role.CITIZEN, "") for i in range(n_people)]
    stranger = api.user("stranger", Role.CITIZEN, "")
    with api.session() as s:
        for i in range(n_people):
            record_verification(s, f"r{i}", method="phone", at=api.clock[0])
        s.commit()
    c = api.client
    body = {"title": "金点子", "unit_codes": [DISTRICT], "categories": ["设施"],
            "phases": _phases(api.clock[0]), "threshold_supports": 10}  # fmt: skip
    camp = c.post("/ideas/campaigns", json=body, headers=official).json()
    lon, lat = point(street=STREET)
    ids = [
        c.post(f"/ideas/campaigns/{camp['id']}/ideas", headers=people[0],
               json={"title": t, "body": "请考虑", "category": "设施", "lon": lon, "lat": lat},
               ).json()["id"]
        for t in ("加装电梯", "广告")
    ]  # fmt: skip
    good, hidden = ids
    c.post(f"/ideas/{hidden}/moderation", json={"hide": True, "reason": "广告"}, headers=moderator)
    # everyone presses twice, the stranger (not verified) and a press on the hidden idea too
    calls = [(good, h) for h in people * 2] + [(good, stranger), (hidden, people[1])]
    answers = [None] * len(calls)

    def press(k):
        idea_id, headers = calls[k]
        answers[k] = c.post(f"/ideas/{idea_id}/support", headers=headers)

    first = threading.Thread(target=press, args=(0,))
    first.start()  # its batch waits: the others gather behind it
    assert writing.wait(10)
    rest = [threading.Thread(target=press, args=(k,)) for k in range(1, len(calls))]
    for t in rest:
        t.start()
    _queued(state_of(api.app).ideas_supports, len(calls) - 1)
    release.set()
    for t in [first, *rest]:
        t.join()
    assert max(sizes) == len(calls) - 1  # all but the first were written in one transaction
    statuses = [a.status_code for a in answers]
    assert statuses[: 2 * n_people] == [200] * (2 * n_people)
    assert statuses[-2:] == [403, 409]
    assert "not a verified resident" in answers[-2].json()["detail"][0]["msg"]
    changed = [a.json()["changed"] for a in answers[: 2 * n_people]]
    assert sum(changed) == n_people  # each person's second press changed nothing
    assert {a.json()["supports"] for a in answers[:1]} == {1}
    page = c.get(f"/ideas/{good}").json()["idea"]
    assert page["supports"] == n_people and page["due_at"]  # threshold 10 crossed once
    with api.session() as s:
        rows = s.scalar(sa.text(f"select count(*) from ideas_supports where idea_id = {good}"))
        assert rows == n_people
        assert s.scalar(sa.text("select count(*) from ideas_deadlines")) == 1
    # a withdrawal through the same collector, then again (no change); after the supporting
    # phase, the same refusal as a single support's
    release.set()
    r = c.delete(f"/ideas/{good}/support", headers=people[0])
    assert r.json() == {"idea_id": good, "supported": False, "changed": True,
                        "supports": n_people - 1}  # fmt: skip
    assert c.delete(f"/ideas/{good}/support", headers=people[0]).json()["changed"] is False
    api.clock[0] += timedelta(days=21)  # the supporting phase lasts 20 days
    r = c.post(f"/ideas/{good}/support", headers=people[0])
    assert r.status_code == 409 and "supporting phase runs from" in r.text


def test_withdrawal_keeps_its_place_between_the_same_persons_supports(
    sessions, session, center, make_campaign, monday_9, point, batches
):
    sizes, writing, release = batches
    camp = make_campaign()
    lon, lat = point(street=STREET)
    ideas = [
        service.propose(session, center, camp.id, service.IdeaIn(t, "请考虑", "设施", lon=lon,
                        lat=lat), actor=resident("alice"), at=monday_9)
        for t in ("加装电梯", "路灯")
    ]  # fmt: skip
    a, b = (i.id for i in ideas)
    c = SupportCollector(sessions, AllowListVerifier(everyone=True))
    at = monday_9 + MINUTE
    bob = resident("bob")
    plan = [
        ("support", b, resident("carol")),  # the first batch: waits
        ("support", a, bob),
        ("withdraw", a, bob),
        ("support", a, bob),
        ("withdraw", a, bob),
        ("withdraw", b, resident("carol")),
        ("support", b, bob),
    ]
    answers = [None] * len(plan)

    def run(k):
        verb, idea_id, actor = plan[k]
        request = SupportRequest(idea_id, actor, at)
        answers[k] = getattr(c, verb)(center, request)

    threads = []
    for k in range(len(plan)):
        threads.append(threading.Thread(target=run, args=(k,)))
        threads[-1].start()
        if k == 0:
            assert writing.wait(10)
        else:
            _queued(c, k)  # each one queued before the next: the arrival order is the plan's
    release.set()
    for t in threads:
        t.join()
    c.close()
    got = [(x.supported, x.changed, x.supports) for x in answers]
    assert got == [
        (True, True, 1),
        (True, True, 1),
        (False, True, 0),
        (True, True, 1),
        (False, True, 0),
        (False, True, 0),
        (True, True, 1),
    ]
    assert supports.count_supports(session, a) == 0
    assert supports.count_supports(session, b) == 1
    assert sizes == [1, 1, 1, 1]  # the runs of supports between the withdrawals


def test_a_closed_collector_refuses_new_supports(sessions, center, monday_9):
    c = SupportCollector(sessions, AllowListVerifier(everyone=True))
    c.close()
    with pytest.raises(RuntimeError, match="closed"):
        c.support(center, SupportRequest(1, resident("bob"), monday_9))
