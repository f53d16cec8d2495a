"""Credit + as its users meet it, in headless Chromium on a real server.

A trader is registered, an inspector reports a case near it and links it, proposes a penalty;
the officer (supervisor) decides it and a dispatcher publishes it. The public page, opened
anonymously, shows the decision but never the operator's ID number; the entity page shows the
new tier; the next inspection draw weights the trader by that tier. The view offers none of the
workflow's steps yet, so they go through the API; what is read is read in the browser.
"""

from __future__ import annotations

import re

import pytest
from tests.e2e.dashboard import cell_points, login
from tests.e2e.test_ops_center import add_user

from shancheng.cases.permissions import Role
from shancheng.credit.codes import code_check, organisation_check

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dashboard")]

OPERATOR_ID = "11010519491231002X"  # GB 11643's published example number
OPERATOR = "王大明"
INSPECTOR = "credit-inspector"


def trader_code(serial: str) -> str:
    """A valid code of an individual trader in district 990101 (both check characters)."""
    body = f"92990101MA{serial}"
    with_org = body + organisation_check(body[8:16])
    return with_org + code_check(with_org)


def a_place(server):
    from shancheng.data.city import read_city

    city = read_city(server.data_dir / "demo", verify=False)
    return cell_points(city, "990101", 5)[3]


def test_penalty_is_published_without_the_id_number_and_moves_tier_and_draw(
    page, browser, dashboard_server
):
    server = dashboard_server
    add_user(server, INSPECTOR, Role.INSPECTOR, "990101")
    code = trader_code("E2E001")
    lon, lat = a_place(server)
    trader = {"code": code, "name": "老王烧烤", "address": "夜市 3 号", "lon": lon, "lat": lat,
              "representative": OPERATOR, "representative_id": OPERATOR_ID}  # fmt: skip
    status, entity = server.call("POST", "/credit/entities", trader, user="supervisor")
    assert status == 201, entity
    assert "representative_id" not in entity
    before = entity["tier"]
    # the inspector reports a problem at the stall and names it
    report = {
        "category_code": "E0506",
        "lon": lon,
        "lat": lat,
        "description": "老王烧烤 占道到深夜",
    }
    status, body = server.call("POST", "/cases", report, user=INSPECTOR)
    assert status in (200, 201), body
    case_id = body["case"]["id"]
    status, found = server.call("GET", f"/credit/cases/{case_id}/suggestions", user=INSPECTOR)
    assert status == 200, found
    assert code in [s["code"] for s in found]
    status, body = server.call(
        "POST", f"/credit/cases/{case_id}/link", {"code": code}, user=INSPECTOR
    )
    assert status == 200, body
    proposal = {"case_id": case_id, "code": code, "kind": "penalty", "amount_yuan": 2000,
                "legal_basis": [{"law": "重庆市市容环境卫生管理条例", "article": "第五十一条"}],
                "facts": f"经营者{OPERATOR}（身份证 {OPERATOR_ID}）占道经营"}  # fmt: skip
    status, decision = server.call("POST", "/credit/decisions", proposal, user=INSPECTOR)
    assert status == 201, decision
    path = f"/credit/decisions/{decision['id']}/actions"
    status, body = server.call("POST", path, {"action": "decide"}, user=INSPECTOR)
    assert status == 403, body  # an inspector proposes; the officer decides
    status, body = server.call("POST", path, {"action": "decide"}, user="supervisor")
    assert status == 200, body
    status, body = server.call("POST", path, {"action": "publish"}, user="district-op")
    assert status == 200, body
    assert body["status"] == "published"

    # the public page, opened by nobody in particular, shows it without the ID number
    anonymous = browser.new_context(viewport={"width": 1280, "height": 820}, locale="zh-CN")
    try:
        public = anonymous.new_page()
        public.set_default_timeout(15_000)
        public.goto(f"{server.url}/ui/#/credit")
        row = public.locator(".credit-public tr", has_text=code)
        row.first.wait_for()
        assert "2,000" in row.first.inner_text() or "2000" in row.first.inner_text()
        assert public.locator("#credit-map").count() == 0  # the staff map is for staff
        text = public.locator("body").inner_text()
        html = public.content()
        assert OPERATOR_ID not in text and OPERATOR_ID not in html
        assert OPERATOR not in text
    finally:
        anonymous.close()

    # the supervisor sees the trader on the map and its new tier on its page
    status, page_json = server.call("GET", f"/credit/entities/{code}", user="supervisor")
    assert status == 200, page_json
    after = page_json["entity"]["tier"]
    assert after != before and after > before, (before, after)  # A best … D worst
    login(page, server.url, user="supervisor", view="ops")  # credit is public: no login form
    page.locator("#worst-units tbody tr").first.wait_for()
    page.goto(f"{server.url}/ui/#/credit")
    page.locator(".credit-part tbody tr").first.wait_for()
    page.wait_for_function(
        """code => (window.__shanchengMaps || []).some(m => m.getLayer('entities-dots') &&
            m.querySourceFeatures('entities').some(f => f.properties.code === code))""",
        arg=code,
    )
    assert page.locator(".credit-part caption", has_text=re.compile("各单位执法统计")).count() == 1
    # a click on the trader's point opens its page, as its row does
    x, y = page.evaluate(
        """async ([lon, lat]) => {
            const map = window.__shanchengMaps.find(m => m.getLayer('entities-dots'));
            map.jumpTo({center: [lon, lat], zoom: 16});
            await new Promise(done => map.once('idle', done));
            const box = map.getCanvas().getBoundingClientRect(), p = map.project([lon, lat]);
            return [box.left + p.x, box.top + p.y];
        }""",
        [lon, lat],
    )
    page.mouse.click(x, y)
    entity_page = page.locator(f"article.credit-entity[data-code='{code}']")
    entity_page.wait_for()
    entity_page.get_by_role("button").first.click()
    page.locator("tr.clickable", has_text=code).first.click()
    entity_page.wait_for()
    assert entity_page.locator("h3 .badge").first.inner_text() == after
    assert f"{before} → {after}" in entity_page.inner_text()
    assert OPERATOR_ID not in page.content()

    # the next inspection draw weights the trader by its new tier's rate
    draw = {"plan": "夜市 e2e", "inspectors": [INSPECTOR, "li", "zhao"], "seed": 7}
    status, drawn = server.call("POST", "/credit/draws", draw, user="supervisor")
    assert status == 201, drawn
    assert [code, after] in drawn["population"]
    rate = drawn["rates"][after]
    assert rate > drawn["rates"][before]
    assert all(p["probability"] == rate for p in drawn["picks"] if p["code"] == code)
    status, disclosure = server.call("GET", "/credit/public")
    assert status == 200, disclosure
    [published] = [d for d in disclosure["draws"] if d["id"] == drawn["id"]]
    assert published["rates"] == drawn["rates"] and [code, after] in published["population"]
