"""End to end through HTTP: campaign, proposal, supports, moderation, answers, outcomes."""

import base64
import io
from dataclasses import fields
from datetime import timedelta

import pytest
import sqlalchemy as sa
from PIL import Image
from pydantic import TypeAdapter
from tests.unit.cases.test_security import _jpeg_with_gps
from tests.unit.ideas.conftest import DISTRICT, IDEAS_TABLES, STREET

from shancheng.api.schemas.ideas import IdeaRead
from shancheng.cases.permissions import Role
from shancheng.ideas.views import IdeaView


@pytest.fixture
def api(make_api):
    """The app on the parametrised database, the ideas tables emptied first (PostgreSQL)."""
    return _emptied(make_api())


@pytest.fixture
def month_api(make_api):
    """As ``api``, with tokens valid for a month (the clock is moved by days)."""
    return _emptied(make_api(cases_token_ttl_h=24 * 30))


def _emptied(made):
    with made.session() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(sa.text(f"truncate {', '.join(IDEAS_TABLES)} restart identity cascade"))
            s.commit()
    return made


def _phases(start):
    d = timedelta(days=1)
    iso = lambda t: t.isoformat()  # noqa: E731 - a local shorthand
    return {
        "collecting": [iso(start), iso(start + 10 * d)],
        "supporting": [iso(start), iso(start + 20 * d)],
        "review": [iso(start + 20 * d), iso(start + 30 * d)],
        "results": [iso(start + 30 * d), iso(start + 60 * d)],
    }


def _campaign_and_idea(api, official, author, point, *, photos=(), **campaign):
    """Open a campaign over the district (as ``official``); ``author`` proposes one idea, placed
    in the street. Return the idea as answered."""
    body = {"title": "金点子", "unit_codes": [DISTRICT], "categories": ["设施"],
            "phases": _phases(api.clock[0]), "threshold_supports": 10, **campaign}  # fmt: skip
    r = api.client.post("/ideas/campaigns", json=body, headers=official)
    assert r.status_code == 201, r.text
    lon, lat = point(street=STREET)
    idea = {"title": "小区加装电梯", "body": "老人上楼难", "category": "设施", "lon": lon,
            "lat": lat, "photos": [{"content_base64": base64.b64encode(p).decode()}
                                   for p in photos]}  # fmt: skip
    r = api.client.post(f"/ideas/campaigns/{r.json()['id']}/ideas", json=idea, headers=author)
    assert r.status_code == 201, r.text
    return r.json()


def test_propose_support_hide_answer_and_the_public_page_shows_each_step(api, point):
    official = api.user("official", Role.SUPERVISOR, DISTRICT)
    dispatcher = api.user("dispatcher", Role.DISPATCHER, STREET)
    moderator = api.user("moderator", Role.INSPECTOR, STREET)
    alice = api.user("alice", Role.CITIZEN, "")
    bob = api.user("bob", Role.CITIZEN, "")
    c = api.client
    body = {"title": "金点子：社区微更新", "unit_codes": [DISTRICT], "categories": ["设施", "环境"],
            "phases": _phases(api.clock[0]), "threshold_supports": 1, "answer_working_days": 5}  # fmt: skip
    assert c.post("/ideas/campaigns", json=body, headers=alice).status_code == 403
    r = c.post("/ideas/campaigns", json=body, headers=official)
    assert r.status_code == 201, r.text
    camp = r.json()
    assert camp["open_phases"] == ["collecting", "supporting"] and camp["threshold"] == 1
    lon, lat = point(street=STREET)
    idea = {"title": "小区加装电梯", "body": "电话 13812345678，老人上楼难", "category": "设施",
            "lon": lon, "lat": lat}  # fmt: skip
    assert c.post(f"/ideas/campaigns/{camp['id']}/ideas", json=idea).status_code == 401
    r = c.post(f"/ideas/campaigns/{camp['id']}/ideas", json=idea, headers=alice)
    assert r.status_code == 201, r.text
    idea_id = r.json()["id"]
    spam = dict(idea, title="优惠装修 加微信", body="装修打折 13900001111")
    spam_id = c.post(f"/ideas/campaigns/{camp['id']}/ideas", json=spam, headers=alice).json()["id"]
    # while writing, bob is shown alice's idea
    r = c.get(f"/ideas/campaigns/{camp['id']}/similar", params={"text": "给小区加装电梯"})
    assert [s["id"] for s in r.json()] == [idea_id]
    # bob may support only once verified
    r = c.post(f"/ideas/{idea_id}/support", headers=bob)
    assert r.status_code == 403 and "verified resident" in r.text
    verify = {"method": "phone"}
    assert c.post("/ideas/residents/bob/verification", json=verify, headers=bob).status_code == 403
    assert c.post("/ideas/residents/bob/verification", json=verify,
                  headers=official).status_code == 200  # fmt: skip
    r = c.post(f"/ideas/{idea_id}/support", headers=bob)
    assert r.json() == {"idea_id": idea_id, "supported": True, "changed": True, "supports": 1}
    assert c.post(f"/ideas/{idea_id}/support", headers=bob).json()["changed"] is False
    page = c.get(f"/ideas/{idea_id}").json()
    assert page["idea"]["supports"] == 1 and page["idea"]["due_at"]  # threshold 1: answer due
    assert "138****5678" in page["idea"]["body"] and page["idea"]["author"] != "alice"
    # a moderator hides the spam: gone from the public page, its author reads why
    r = c.post(f"/ideas/{spam_id}/moderation", json={"hide": True, "reason": "商业广告"},
               headers=moderator)  # fmt: skip
    assert r.status_code == 200, r.text
    assert c.get(f"/ideas/{spam_id}").status_code == 404
    public = c.get(f"/ideas/campaigns/{camp['id']}/ideas").json()
    assert [i["id"] for i in public] == [idea_id]
    own = c.get(f"/ideas/{spam_id}", headers=alice).json()
    assert own["idea"]["moderation_reason"] == "商业广告"
    # the official answer: evaluate (dispatcher), accept (official); the public page follows
    r = c.post(f"/ideas/{idea_id}/answer", json={"action": "accept"}, headers=official)
    assert r.status_code == 409
    for action, who in (("evaluate", dispatcher), ("accept", official)):
        r = c.post(f"/ideas/{idea_id}/answer", json={"action": action, "text": "已列入计划"},
                   headers=who)  # fmt: skip
        assert r.status_code == 200, r.text
        assert (
            c.get(f"/ideas/{idea_id}").json()["idea"]["answer_status"] == r.json()["answer_status"]
        )
    page = c.get(f"/ideas/{idea_id}").json()
    assert page["idea"]["answer_text"] == "已列入计划"
    assert [s["action"] for s in page["timeline"]] == ["propose", "evaluate", "accept"]
    assert {s["actor"] for s in page["timeline"][1:]} == {"staff"}
    answered = c.get(f"/ideas/campaigns/{camp['id']}/ideas", params={"sort": "answered"}).json()
    assert answered[0]["id"] == idea_id
    # the page's list (written straight from the views) is what the idea's page says, as
    # IdeaRead: for the public and for the author, who sees their idea as written
    for who in ({}, alice):
        listed = c.get(f"/ideas/campaigns/{camp['id']}/ideas", headers=who).json()
        assert listed == [c.get(f"/ideas/{i['id']}", headers=who).json()["idea"] for i in listed]
        assert TypeAdapter(list[IdeaRead]).validate_python(listed)
    # the accepted idea becomes a planning candidate
    r = c.post(f"/ideas/{idea_id}/plan", json={"facility_category": "nursing_home"},
               headers=official)  # fmt: skip
    assert r.status_code == 200, r.text
    assert c.get("/ideas/candidates").json() == [
        {"candidate_id": f"idea-{idea_id}", "lon": lon, "lat": lat, "category": "nursing_home"}
    ]
    stats = c.get("/ideas/stats", params={"level": "street"}, headers=official).json()
    assert stats[0]["unit_code"] == STREET and stats[0]["answered"] == 1
    assert c.get("/ideas/stats").status_code == 401
    queue = c.get("/ideas/queue", headers=moderator).json()
    assert {i["id"] for i in queue} == {idea_id, spam_id}


def test_accepted_idea_becomes_a_case_through_http(api, point):
    official = api.user("official", Role.SUPERVISOR, DISTRICT)
    dispatcher = api.user("dispatcher", Role.DISPATCHER, STREET)
    alice = api.user("alice", Role.CITIZEN, "")
    c = api.client
    body = {"title": "路灯", "unit_codes": [DISTRICT], "categories": ["设施"],
            "phases": _phases(api.clock[0]), "threshold_supports": 10}  # fmt: skip
    camp = c.post("/ideas/campaigns", json=body, headers=official).json()
    lon, lat = point(street=STREET)
    idea = {"title": "这条路路灯太暗", "body": "建议改造路灯", "category": "设施", "lon": lon,
            "lat": lat}  # fmt: skip
    idea_id = c.post(f"/ideas/campaigns/{camp['id']}/ideas", json=idea, headers=alice).json()["id"]
    for action, who in (("evaluate", dispatcher), ("accept", official)):
        c.post(f"/ideas/{idea_id}/answer", json={"action": action}, headers=who)
    r = c.post(f"/ideas/{idea_id}/case", json={"category_code": "C0110"}, headers=official)
    assert r.status_code == 200, r.text
    reference = r.json()["case_reference"]
    case = c.get(f"/cases/public/{reference}").json()
    assert (case["reference"], case["category"]) == (reference, "C0110")
    mine = c.get("/cases", headers=alice).json()
    assert [item["reference"] for item in mine] == [reference]  # the author follows it


def test_an_ideas_photos_are_served_without_metadata_and_hidden_ones_not_to_the_public(api, point):
    official = api.user("official", Role.SUPERVISOR, DISTRICT)
    moderator = api.user("moderator", Role.INSPECTOR, STREET)
    alice = api.user("alice", Role.CITIZEN, "")
    bob = api.user("bob", Role.CITIZEN, "")
    c = api.client
    sent = _jpeg_with_gps()
    with Image.open(io.BytesIO(sent)) as image:
        assert image.getexif().get_ifd(0x8825)  # the position is in what is sent
    made = _campaign_and_idea(api, official, alice, point, photos=[sent])
    idea_id = made["id"]
    assert made["photos"] == 1
    got = c.get(f"/ideas/{idea_id}/photos/0")
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert got.headers["cache-control"].startswith("public")
    assert b"PhoneMaker" not in got.content and b"Exif" not in got.content
    with Image.open(io.BytesIO(got.content)) as served:
        assert dict(served.getexif()) == {} and served.size == (8, 6)
    r = c.get(f"/ideas/{idea_id}/photos/1")
    assert r.status_code == 404 and "no photo 1" in r.text
    assert c.get(f"/ideas/{idea_id}/photos/-1").status_code == 422
    # hidden: gone for the public and other residents, kept for its author and the staff
    c.post(f"/ideas/{idea_id}/moderation", json={"hide": True, "reason": "重复"}, headers=moderator)
    assert c.get(f"/ideas/{idea_id}/photos/0").status_code == 404
    assert c.get(f"/ideas/{idea_id}/photos/0", headers=bob).status_code == 404
    for who in (alice, moderator):
        r = c.get(f"/ideas/{idea_id}/photos/0", headers=who)
        assert r.status_code == 200 and r.content == got.content
        assert r.headers["cache-control"] == "private, no-store"


def test_overdue_answers_are_in_the_supervisors_evaluation_per_unit(month_api, point):
    from datetime import datetime

    api = month_api
    from shancheng.cases.calendar import CHINA_TZ

    official = api.user("official", Role.SUPERVISOR, DISTRICT)
    other_district = api.user("other", Role.SUPERVISOR, "990102")
    alice = api.user("alice", Role.CITIZEN, "")
    bob = api.user("bob", Role.CITIZEN, "")
    c = api.client
    made = _campaign_and_idea(api, official, alice, point, threshold_supports=1,
                              answer_working_days=2)  # fmt: skip
    idea_id = made["id"]
    c.post("/ideas/residents/bob/verification", json={"method": "phone"}, headers=official)
    # the threshold is reached on Friday 27 November 2026 at 16:00; two working days later,
    # the weekend not counted, is Tuesday 1 December at 16:00
    api.clock[0] = datetime(2026, 11, 27, 16, 0, tzinfo=CHINA_TZ)
    r = c.post(f"/ideas/{idea_id}/support", headers=bob)
    assert r.status_code == 200, r.text
    assert r.json()["supports"] == 1
    due = datetime(2026, 12, 1, 16, 0, tzinfo=CHINA_TZ)
    assert datetime.fromisoformat(c.get(f"/ideas/{idea_id}").json()["idea"]["due_at"]) == due

    def street_row(headers=official, by="street_code"):
        rows = c.get("/stats/evaluation", params={"by": by}, headers=headers).json()
        return {r[by]: r for r in rows}

    api.clock[0] = datetime(2026, 11, 30, 17, 0, tzinfo=CHINA_TZ)  # 3 calendar days: not yet
    row = street_row()[STREET]
    assert (row["ideas_answers_due"], row["ideas_overdue"], row["cases"]) == (1, 0, 0)
    api.clock[0] = datetime(2026, 12, 1, 16, 1, tzinfo=CHINA_TZ)
    row = street_row()[STREET]
    assert (row["ideas_overdue"], row["ideas_overdue_ids"]) == (1, [idea_id])
    assert street_row(by="district_code")[DISTRICT]["ideas_overdue"] == 1
    assert STREET not in street_row(other_district)  # another district's supervisor
    by_department = c.get("/stats/evaluation", headers=official).json()
    assert all("ideas_overdue" not in r for r in by_department)
    # answered (late) it stays overdue in the statistics
    dispatcher = api.user("dispatcher", Role.DISPATCHER, STREET)
    c.post(f"/ideas/{idea_id}/answer", json={"action": "evaluate"}, headers=dispatcher)
    r = c.post(f"/ideas/{idea_id}/answer", json={"action": "accept"}, headers=official)
    assert r.status_code == 200, r.text
    row = street_row()[STREET]
    assert (row["ideas_answers_due"], row["ideas_overdue"]) == (1, 1)


def test_the_staff_actions_are_what_the_server_would_accept_now(api, point):
    official = api.user("official", Role.SUPERVISOR, DISTRICT)
    dispatcher = api.user("dispatcher", Role.DISPATCHER, STREET)
    stranger = api.user("stranger", Role.DISPATCHER, "990102001")  # another district's street
    alice = api.user("alice", Role.CITIZEN, "")
    c = api.client
    idea_id = _campaign_and_idea(api, official, alice, point)["id"]

    def actions(headers=None):
        return c.get(f"/ideas/{idea_id}", headers=headers or {}).json()["idea"]["actions"]

    assert actions() == [] and actions(alice) == [] and actions(stranger) == []
    assert actions(dispatcher) == ["hide", "merge", "evaluate"]
    assert actions(official) == ["hide", "merge", "evaluate"]
    queue = c.get("/ideas/queue", headers=dispatcher).json()
    assert queue[0]["actions"] == ["hide", "merge", "evaluate"]
    for action, who in (("evaluate", dispatcher), ("accept", official)):
        assert "accept" not in actions(dispatcher)  # a dispatcher never accepts
        assert c.post(f"/ideas/{idea_id}/answer", json={"action": action},
                      headers=who).status_code == 200  # fmt: skip
    assert actions(official) == ["hide", "merge", "to_case", "to_plan"]
    assert actions(dispatcher) == ["hide", "merge", "start"]
    r = c.post(f"/ideas/{idea_id}/plan", json={"facility_category": "nursing_home"},
               headers=official)  # fmt: skip
    assert r.status_code == 200 and r.json()["actions"] == ["hide", "merge"]
    c.post(
        f"/ideas/{idea_id}/moderation", json={"hide": True, "reason": "重复"}, headers=dispatcher
    )
    assert actions(dispatcher) == ["show"] and actions(alice) == []


def test_a_moderator_resolves_a_suspicious_pattern_flag(api, point):
    from shancheng.store.ideas_tables import FlagRow

    official = api.user("official", Role.SUPERVISOR, DISTRICT)
    moderator = api.user("moderator", Role.INSPECTOR, STREET)
    alice = api.user("alice", Role.CITIZEN, "")
    c = api.client
    idea_id = _campaign_and_idea(api, official, alice, point)["id"]
    with api.session() as s:
        flag = FlagRow(idea_id=idea_id, kind="new_account_burst", window_start=api.clock[0],
                       supports=12, raised_at=api.clock[0])  # fmt: skip
        s.add(flag)
        s.commit()
        flag_id = flag.id
    assert [f["id"] for f in c.get("/ideas/flags", headers=moderator).json()] == [flag_id]
    assert c.post(f"/ideas/flags/{flag_id}/resolve", headers=alice).status_code == 403
    assert c.post("/ideas/flags/999999/resolve", headers=moderator).status_code == 404
    r = c.post(f"/ideas/flags/{flag_id}/resolve", headers=moderator)
    assert r.status_code == 200, r.text
    assert r.json()["supports"] == 12
    assert c.get("/ideas/flags", headers=moderator).json() == []


def test_the_campaign_pages_views_have_the_fields_of_its_schema():
    """The campaign page writes the views as they are, under the declared IdeaRead schema."""
    assert [f.name for f in fields(IdeaView)] == list(IdeaRead.model_fields)
