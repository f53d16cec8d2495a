"""The anonymous campaign page kept for a second: stale counts by at most that, changes at once."""

from __future__ import annotations

import threading

from tests.unit.ideas.conftest import DISTRICT
from tests.unit.ideas.test_api_flow import _campaign_and_idea, api  # noqa: F401 - fixture

from shancheng.api.public_pages import PublicPages
from shancheng.api.state import state_of
from shancheng.cases.permissions import Role


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_kept_for_its_time_to_live_only():
    clock = Clock()
    pages = PublicPages(ttl_s=1.0, clock=clock)
    pages.put("k", b"old", pages.generation())
    clock.now += 0.999
    assert pages.get("k") == b"old"
    clock.now += 0.001
    assert pages.get("k") is None


def test_a_read_begun_before_a_change_does_not_put_its_answer_back():
    pages = PublicPages(ttl_s=1.0, clock=Clock())
    began = pages.generation()
    pages.changed()  # e.g. a moderator hid an idea while the page was being read
    pages.put("k", b"before the change", began)
    assert pages.get("k") is None
    pages.put("k", b"after", pages.generation())
    assert pages.get("k") == b"after"


def test_the_cache_is_bounded_and_safe_under_threads():
    pages = PublicPages(ttl_s=60.0, max_entries=8, clock=Clock())

    def work(n: int) -> None:
        for i in range(200):
            pages.put((n, i), b"x", pages.generation())
            pages.get((n, i - 1))
            if i % 50 == 0:
                pages.changed()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(pages._entries) <= 8


def test_anonymous_page_counts_lag_by_the_ttl_while_moderation_shows_at_once(api, point):  # noqa: F811
    clock = Clock()
    state_of(api.app).public_pages = PublicPages(ttl_s=1.0, clock=clock)
    official = api.user("official", Role.SUPERVISOR, DISTRICT)
    alice = api.user("alice", Role.CITIZEN, "")
    bob = api.user("bob", Role.CITIZEN, "")
    idea = _campaign_and_idea(api, official, alice, point)
    c = api.client
    (camp,) = c.get("/ideas/campaigns").json()
    url = f"/ideas/campaigns/{camp['id']}/ideas"
    assert [i["supports"] for i in c.get(url).json()] == [0]
    c.post("/ideas/residents/bob/verification", json={"method": "phone"}, headers=official)
    assert c.post(f"/ideas/{idea['id']}/support", headers=bob).json()["changed"] is True
    assert [i["supports"] for i in c.get(url).json()] == [0]  # the kept anonymous answer
    assert [i["supports"] for i in c.get(url, headers=bob).json()] == [1]  # signed in: fresh
    clock.now += 1.0
    assert [i["supports"] for i in c.get(url).json()] == [1]  # a second later
    # a change other than a support shows to the public at once
    r = c.post(f"/ideas/{idea['id']}/moderation", json={"hide": True, "reason": "重复"},
               headers=official)  # fmt: skip
    assert r.status_code == 200, r.text
    assert c.get(url).json() == []
