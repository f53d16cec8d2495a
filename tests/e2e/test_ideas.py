"""Golden Ideas as residents and officials meet them, in headless Chromium on a real server.

A resident proposes an idea on a phone-sized screen (tapping the map for its place, and shown
the similar idea already there while writing); another, verified, resident supports it; a
moderator hides a second, commercial, post with a reason its author then reads; an official
evaluates and accepts the idea with an answer. After each step the public page, opened by an
anonymous visitor, shows it: the idea and its count, the hidden post gone, the answer and the
timeline.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest
from tests.e2e.dashboard import CITY, cell_points, login
from tests.e2e.test_dashboard_a11y import UNLABELLED
from tests.e2e.test_ops_center import add_user
from tests.unit.cases.test_security import _jpeg_with_gps

from shancheng.cases.permissions import Role

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dashboard")]

PHONE = {"width": 390, "height": 844}
PROPOSER, SUPPORTER, MODERATOR = "ideas-resident-a", "ideas-resident-b", "ideas-moderator"


def _campaign(server) -> dict:
    now = datetime.now(UTC)
    d = timedelta(days=1)
    iso = lambda t: t.isoformat()  # noqa: E731 - a local shorthand
    body = {
        "title": "金点子：社区微更新 e2e", "unit_codes": [CITY], "categories": ["设施", "环境"],
        "phases": {"collecting": [iso(now - d), iso(now + 10 * d)],
                   "supporting": [iso(now - d), iso(now + 20 * d)],
                   "review": [iso(now + 20 * d), iso(now + 30 * d)],
                   "results": [iso(now + 30 * d), iso(now + 60 * d)]},
        "threshold_supports": 1, "answer_working_days": 10,
    }  # fmt: skip
    status, camp = server.call("POST", "/ideas/campaigns", body, user="supervisor")
    assert status == 201, camp
    return camp


def _public(browser, server, idea_id=None):
    """An anonymous visitor's page on the campaign (or on one idea)."""
    context = browser.new_context(viewport={"width": 1280, "height": 820}, locale="zh-CN")
    visitor = context.new_page()
    visitor.set_default_timeout(15_000)
    suffix = f"?idea={idea_id}" if idea_id else ""
    visitor.goto(f"{server.url}/ui/#/ideas{suffix}")
    return context, visitor


def test_propose_on_a_phone_support_hide_answer_and_the_public_page_follows(
    page, browser, dashboard_server
):
    server = dashboard_server
    for name, role in ((PROPOSER, Role.CITIZEN), (SUPPORTER, Role.CITIZEN),
                       (MODERATOR, Role.DISPATCHER)):  # fmt: skip
        add_user(server, name, role, CITY if role is not Role.CITIZEN else "")
    camp = _campaign(server)
    from shancheng.data.city import read_city

    city = read_city(server.data_dir / "demo", verify=False)
    lon, lat = cell_points(city, "990101", 5)[2]
    seeded = {"title": "老旧小区加装电梯", "body": "老人上下楼困难，建议加装电梯", "category": "设施",
              "lon": lon, "lat": lat}  # fmt: skip
    status, first = server.call("POST", f"/ideas/campaigns/{camp['id']}/ideas", seeded,
                                user="supervisor")  # fmt: skip
    assert status == 201, first

    # 1. a resident proposes on a phone, shown the similar idea while writing
    phone = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    try:
        resident = phone.new_page()
        resident.set_default_timeout(15_000)
        login(resident, server.url, user=PROPOSER, view="ops")
        resident.locator(".notice").first.wait_for()  # a resident does not open operations
        resident.goto(f"{server.url}/ui/#/ideas")
        form = resident.locator("form.propose")
        form.wait_for()
        resident.wait_for_function(
            "(window.__shanchengMaps || []).some(m => m.getLayer('ideas-dots'))"
        )
        assert resident.evaluate(UNLABELLED) == []  # every control of the form has a label
        form.get_by_label(re.compile("标题")).fill("小区里加装电梯")
        resident.locator(".similar a", has_text="老旧小区加装电梯").wait_for()
        form.get_by_label(re.compile("建议内容")).fill("我们楼也需要电梯，联系 13812345678")
        box = resident.locator("#ideas-map canvas").bounding_box()
        resident.mouse.click(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2)
        form.get_by_role("button", name="提交").click()
        resident.locator("article.idea-page h3", has_text="小区里加装电梯").wait_for()
        # a second post: an advertisement
        resident.get_by_role("button", name="返回列表").click()
        form = resident.locator("form.propose")
        form.get_by_label(re.compile("标题")).fill("装修打折 加微信")
        form.get_by_label(re.compile("建议内容")).fill("本店装修八折")
        form.get_by_role("button", name="提交").click()
        resident.locator("article.idea-page h3", has_text="装修打折").wait_for()
    finally:
        phone.close()
    status, mine = server.call("GET", f"/ideas/campaigns/{camp['id']}/ideas?sort=newest",
                               user=PROPOSER)  # fmt: skip
    idea = next(i for i in mine if i["title"] == "小区里加装电梯")
    ad = next(i for i in mine if i["title"].startswith("装修打折"))
    assert idea["lon"] is not None  # placed by the tap on the map
    context, visitor = _public(browser, server)
    try:
        card = visitor.locator(f".idea-card[data-idea='{idea['id']}']")
        card.wait_for()
        assert "13812345678" not in visitor.content()
        # 2. another, verified, resident supports it
        assert server.call("POST", f"/ideas/residents/{SUPPORTER}/verification",
                           {"method": "phone"}, user="supervisor")[0] == 200  # fmt: skip
        login(page, server.url, user=SUPPORTER, view="ops")
        page.locator(".notice").first.wait_for()
        page.goto(f"{server.url}/ui/#/ideas?idea={idea['id']}")
        page.get_by_role("button", name="支持这个建议").click()
        page.get_by_role("button", name="撤回支持").wait_for()
        assert page.locator("article.idea-page .idea-supports").inner_text() == "1"
        visitor.reload()
        visitor.locator(
            f".idea-card[data-idea='{idea['id']}'] .idea-supports", has_text="1"
        ).wait_for()

        # 3. a moderator hides the advertisement with a reason
        page.get_by_role("button", name="退出").click()
        login(page, server.url, user=MODERATOR, view="ops")
        page.locator("#worst-units tbody tr").first.wait_for()
        page.goto(f"{server.url}/ui/#/ideas?idea={ad['id']}")
        tools = page.locator(".idea-staff form.moderate")
        tools.get_by_label(re.compile("原因")).fill("商业广告，不属于建议")
        tools.get_by_role("button", name="隐藏").click()
        page.locator(".hidden-reason", has_text="商业广告").wait_for()
        visitor.reload()
        visitor.locator(f".idea-card[data-idea='{idea['id']}']").wait_for()
        assert visitor.locator(f".idea-card[data-idea='{ad['id']}']").count() == 0
        status, own = server.call("GET", f"/ideas/{ad['id']}", user=PROPOSER)
        assert status == 200 and own["idea"]["moderation_reason"] == "商业广告，不属于建议"

        # 4. an official evaluates and accepts the idea with an answer
        page.get_by_role("button", name="退出").click()
        login(page, server.url, user="supervisor", view="ops")
        page.locator("#worst-units tbody tr").first.wait_for()
        page.goto(f"{server.url}/ui/#/ideas?idea={idea['id']}")
        answer = page.locator(".idea-staff form.answer-form")
        answer.wait_for()
        assert page.evaluate(UNLABELLED) == []  # the staff tools are labelled too
        for step, text in (("evaluate", ""), ("accept", "已列入明年老旧小区改造计划")):
            answer.get_by_label(re.compile("答复步骤")).select_option(step)
            answer.get_by_label(re.compile("答复内容")).fill(text)
            answer.get_by_role("button", name="确定").click()
            page.locator(f".idea-timeline li[data-action='{step}']").wait_for()
            answer = page.locator(".idea-staff form.answer-form")
        visitor.goto(f"{server.url}/ui/#/ideas?idea={idea['id']}")
        visitor.reload()
        visitor.locator(".answer-text", has_text="已列入明年老旧小区改造计划").wait_for()
        steps = visitor.locator(".idea-timeline li").evaluate_all(
            "items => items.map(li => li.dataset.action)"
        )
        assert steps == ["propose", "evaluate", "accept"]
        assert "已采纳" in visitor.locator(".idea-answer").inner_text()
        # the supervisor's operations view has the participation figures per district
        page.goto(f"{server.url}/ui/#/ops")
        page.locator(".ideas-stats tbody tr").first.wait_for()
    finally:
        context.close()


def test_the_staff_queue_merges_resolves_flags_and_makes_a_case_and_a_site(page, dashboard_server):
    """The supervisor's queue in the browser: a duplicate merged into the idea it repeats (its
    supports carried over), a burst of new accounts flagged then marked as looked into, and two
    accepted ideas turned into a governance case and a planning site; every form is one of the
    actions the server lists for that idea."""
    server = dashboard_server
    camp = _campaign(server)
    from shancheng.data.city import read_city

    city = read_city(server.data_dir / "demo", verify=False)
    spots = cell_points(city, "990101", 6)
    residents = ["ideas-q-a", "ideas-q-b"]
    burst = [f"ideas-burst-{k}" for k in range(20)]  # BurstRule: 20 new accounts in 10 minutes
    for name in residents + burst:
        add_user(server, name, Role.CITIZEN, "")
    new_account = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    for name in residents + burst:
        body = {"method": "phone", **({"account_created_at": new_account} if name in burst else {})}
        assert server.call("POST", f"/ideas/residents/{name}/verification", body,
                           user="supervisor")[0] == 200  # fmt: skip
    ids = {}
    for key, title, spot in (("kept", "社区食堂", 0), ("dup", "建个社区食堂吧", 1),
                             ("park", "口袋公园", 2), ("lamp", "夜间路灯", 3)):  # fmt: skip
        lon, lat = spots[spot]
        photos = [{"content_base64": base64.b64encode(_jpeg_with_gps()).decode()}]
        status, made = server.call(
            "POST", f"/ideas/campaigns/{camp['id']}/ideas",
            {"title": title, "body": f"{title}，请考虑", "category": "设施", "lon": lon, "lat": lat,
             "photos": photos if key in {"park", "lamp"} else []},
            user=residents[0],
        )  # fmt: skip
        assert status == 201, made
        ids[key] = made["id"]
    for name, key in ((residents[0], "kept"), (residents[1], "dup"), (residents[0], "dup")):
        assert server.call("POST", f"/ideas/{ids[key]}/support", user=name)[0] == 200
    for name in burst:
        assert server.call("POST", f"/ideas/{ids['lamp']}/support", user=name)[0] == 200
    for key in ("kept", "park"):
        for action in ("evaluate", "accept"):
            status, answered = server.call("POST", f"/ideas/{ids[key]}/answer",
                                           {"action": action}, user="supervisor")  # fmt: skip
            assert status == 200, answered

    login(page, server.url, user="supervisor", view="ops")
    page.locator("#worst-units tbody tr").first.wait_for()
    page.goto(f"{server.url}/ui/#/ideas")
    queue = page.locator(".ideas-queue")
    item = lambda key: queue.locator(f".queue-item[data-idea='{ids[key]}']")  # noqa: E731
    item("lamp").wait_for()
    assert page.evaluate(UNLABELLED) == []  # every form of the queue is labelled
    # the forms are the server's actions for each idea, no more
    for key, idea_id in ids.items():
        status, seen = server.call("GET", f"/ideas/{idea_id}", user="supervisor")
        shown = item(key).locator(".idea-staff").get_attribute("data-actions").split()
        assert shown == seen["idea"]["actions"], key
    assert item("lamp").locator(".case-form, .plan-form").count() == 0  # not accepted
    assert item("kept").locator(".case-form").count() == 1
    # the burst of new accounts is flagged on the lamp idea; the supervisor looks into it
    flag = queue.locator(f".ideas-flags li[data-idea='{ids['lamp']}']")
    flag.wait_for()
    assert item("lamp").locator(".flag-badge").count() == 1
    flag.get_by_role("button", name="已核查").click()
    page.locator(f".queue-item[data-idea='{ids['lamp']}']:not(:has(.flag-badge))").wait_for()
    assert server.call("GET", "/ideas/flags", user="supervisor")[1] == []
    # the duplicate merged into the idea it repeats: b's support carried over, a's folded
    merge = item("dup").locator(".merge-form")
    merge.get_by_label(re.compile("合并到")).select_option(str(ids["kept"]))
    merge.get_by_role("button", name="合并").click()
    page.locator(f".queue-item[data-idea='{ids['dup']}'] .idea-staff").wait_for(state="detached")
    status, kept = server.call("GET", f"/ideas/{ids['kept']}")
    assert kept["idea"]["supports"] == 2
    assert server.call("GET", f"/ideas/{ids['dup']}")[1]["idea"]["merged_into_id"] == ids["kept"]
    # an accepted idea becomes a case, another a candidate site for planning
    to_case = item("kept").locator(".case-form")
    to_case.get_by_label(re.compile("案件类别")).select_option("C0110")
    to_case.get_by_role("button", name="转为案件").click()
    item("kept").locator(".case-form").wait_for(state="detached")
    reference = server.call("GET", f"/ideas/{ids['kept']}")[1]["idea"]["case_reference"]
    assert reference and server.call("GET", f"/cases/public/{reference}")[0] == 200
    to_plan = item("park").locator(".plan-form")
    to_plan.get_by_label(re.compile("设施类别")).fill("nursing_home")
    to_plan.get_by_role("button", name="列为规划候选点").click()
    item("park").locator(".plan-form").wait_for(state="detached")
    candidates = server.call("GET", "/ideas/candidates")[1]
    assert {"candidate_id": f"idea-{ids['park']}", "category": "nursing_home"}.items() <= next(
        c for c in candidates if c["candidate_id"] == f"idea-{ids['park']}"
    ).items()
    # the photos on the idea's page: a visible idea's for anyone, a hidden one's with the token
    assert server.call("POST", f"/ideas/{ids['lamp']}/moderation",
                       {"hide": True, "reason": "核查中"}, user="supervisor")[0] == 200  # fmt: skip
    for key in ("park", "lamp"):
        page.goto(f"{server.url}/ui/#/ideas?idea={ids[key]}")
        page.locator(f"article.idea-page[data-idea='{ids[key]}'] img.idea-photo").wait_for()
        page.wait_for_function(
            "() => [...document.querySelectorAll('img.idea-photo')]"
            ".some(i => i.complete && i.naturalWidth === 8)"
        )
