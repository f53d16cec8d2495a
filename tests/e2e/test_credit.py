"""Credit + as its users meet it, in headless Chromium on a real server, step by step.

A trader is registered and an inspector reports a case near it (the setting, through the API).
Then everything is done in the browser by the real roles: the inspector opens the case, links
it to the trader the suggestions name and proposes a penalty on the case's page; the officer
(a supervisor) decides it and a dispatcher publishes it from the decisions waiting for them
(buttons from each decision's ``actions``). The public page, opened anonymously, shows it
without the operator's ID number or full name; the trader's page shows the new tier and its
reasons in Chinese and in English; the officer runs the next inspection draw from the browser,
and the trader is in it with its new tier's rate.
"""

from __future__ import annotations

import re

import pytest
from tests.e2e.dashboard import cell_points, login
from tests.e2e.test_ops_center import CJK, LATIN_WORD, add_user, visible_texts

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


def signed_in(browser, server, user, view):
    """A new browser context signed in as ``user`` on ``view`` (one person, one browser)."""
    context = browser.new_context(viewport={"width": 1280, "height": 820}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, server.url, user=user, view="cases")  # the credit view is public: no login form
    page.locator("#case-list table").wait_for()
    if view != "cases":
        page.goto(f"{server.url}/ui/#/{view}")
    return context, page, errors


def own_text(items):
    """The text of each item outside what people typed (``.user-data``)."""
    return items.evaluate_all(
        "ls => ls.map(l => [...l.childNodes].filter(n => !n.classList?.contains('user-data'))"
        ".map(n => n.textContent).join(''))"
    )


def take_step(browser, server, user, decision_id, step):
    """``user`` takes ``step`` on the decision from the credit view's waiting decisions."""
    context, page, errors = signed_in(browser, server, user, "credit")
    try:
        row = page.locator(f".steps[data-decision='{decision_id}']")
        row.wait_for()
        offered = row.locator("button").evaluate_all("bs => bs.map(b => b.dataset.step)")
        row.locator(f"button[data-step='{step}']").click()
        # the step is done when the server's answer no longer offers it for this decision
        page.wait_for_function(
            """([id, step]) => !document.querySelector(
                `.steps[data-decision='${id}'] button[data-step='${step}']`)""",
            arg=[decision_id, step],
        )
        assert errors == []
        return offered
    finally:
        context.close()


def test_the_enforcement_scenario_in_the_browser(page, browser, dashboard_server):
    server = dashboard_server
    add_user(server, INSPECTOR, Role.INSPECTOR, "990101")
    code = trader_code("E2E001")
    lon, lat = a_place(server)
    trader = {"code": code, "name": "老王烧烤", "address": "夜市 3 号", "lon": lon, "lat": lat,
              "representative": OPERATOR, "representative_id": OPERATOR_ID}  # fmt: skip
    status, entity = server.call("POST", "/credit/entities", trader, user="supervisor")
    assert status == 201, entity
    before = entity["tier"]
    report = {
        "category_code": "E0506",
        "lon": lon,
        "lat": lat,
        "description": "老王烧烤 占道到深夜",
    }
    status, body = server.call("POST", "/cases", report, user=INSPECTOR)
    assert status in (200, 201), body
    case_id = body["case"]["id"]

    # the inspector, on the case's page: the suggestion names the stall; link it, propose
    context, inspector, errors = signed_in(browser, server, INSPECTOR, "cases")
    try:
        inspector.locator(f'#case-list tr[data-case-id="{case_id}"]').click()
        panel = inspector.locator(f".credit-case[data-case='{case_id}']")
        panel.locator(f".suggestions li[data-code='{code}']").wait_for()
        assert panel.locator(".linked-entity").count() == 0
        panel.locator(f"button[data-link='{code}']").click()
        panel.locator(f".linked-entity[data-code='{code}']").wait_for()
        form = panel.locator("form.credit-propose")
        assert form.locator("input[name=code]").input_value() == code
        form.locator("select[name=kind]").select_option("penalty")
        form.locator("input[name=amount_yuan]").fill("2000")
        form.locator("input[name=law]").fill("重庆市市容环境卫生管理条例")
        form.locator("input[name=article]").fill("第五十一条")
        form.locator("textarea[name=facts]").fill(
            f"经营者{OPERATOR}（身份证 {OPERATOR_ID}）占道经营"
        )
        form.locator("button[type=submit]").click()
        proposed = panel.locator(".case-decisions li[data-status='proposed']")
        proposed.wait_for()
        decision_id = int(proposed.get_attribute("data-decision-id"))
        # an inspector proposes; the decision offers them no step (deciding is the officer's)
        assert proposed.locator("button[data-step]").count() == 0
        assert errors == []
    finally:
        context.close()
    status, link = server.call("GET", f"/credit/cases/{case_id}", user="supervisor")
    assert link["entity"]["code"] == code
    assert [(d["id"], d["status"], d["amount_yuan"]) for d in link["decisions"]] == [
        (decision_id, "proposed", 2000)
    ]

    # the officer decides; the district's dispatcher publishes (each from their own browser)
    assert take_step(browser, server, "supervisor", decision_id, "decide") == ["decide", "withdraw"]
    assert take_step(browser, server, "district-op", decision_id, "publish") == ["publish"]
    status, decided = server.call("GET", f"/credit/cases/{case_id}", user="supervisor")
    assert decided["decisions"][0]["status"] == "published"

    # the public page, opened by nobody in particular: the decision, no ID number, no full name
    anonymous = browser.new_context(viewport={"width": 1280, "height": 820}, locale="zh-CN")
    try:
        public = anonymous.new_page()
        public.set_default_timeout(15_000)
        public.goto(f"{server.url}/ui/#/credit")
        row = public.locator(".credit-public tr", has_text=code)
        row.first.wait_for()
        assert "2,000" in row.first.inner_text() or "2000" in row.first.inner_text()
        assert "王**" in row.first.inner_text()
        assert public.locator("#credit-map").count() == 0  # the staff map is for staff
        text = public.locator("body").inner_text()
        html = public.content()
        assert OPERATOR_ID not in text and OPERATOR_ID not in html
        assert OPERATOR not in text and OPERATOR not in html
    finally:
        anonymous.close()

    # the officer: the trader on the map, its new tier and the reasons on its page
    status, page_json = server.call("GET", f"/credit/entities/{code}", user="supervisor")
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
    assert entity_page.locator("h3 .badge").first.inner_text() == after
    assert f"{before} → {after}" in entity_page.inner_text()
    assert OPERATOR_ID not in page.content()
    # the reasons in Chinese: the penalty, decayed, and the case link, with their figures
    reasons = entity_page.locator("ul.reasons li")
    penalty = entity_page.locator(f"ul.reasons li[data-ref='decision {decision_id}']")
    assert penalty.inner_text().startswith(f"行政处罚（决定 {decision_id}，")
    assert re.search(r"-15 × 1\.00（0 天，半衰期 365 天）= -15\.0$", penalty.inner_text())
    assert reasons.filter(has_text=re.compile(r"^关联案件（案件 \d+")).count() == 1
    zh = own_text(reasons)
    assert zh and not [t for t in zh if LATIN_WORD.search(re.sub(r"\S*\d\S*", "", t))], zh
    # … and in English, with no Chinese left outside what people typed
    page.locator("#lang").click()
    assert penalty.inner_text().startswith(f"Penalty (decision {decision_id}, ")
    assert penalty.inner_text().endswith("-15 × 1.00 (0 d, half-life 365 d) = -15.0")
    en = own_text(reasons)
    assert en and not [t for t in en if CJK.search(t)], en
    assert not [t for t, _ in visible_texts(page) if CJK.search(t)]  # the whole entity page
    page.locator("#lang").click()

    # the next inspection draw, run by the officer from the browser, weights it by the new tier
    entity_page.get_by_role("button").first.click()  # back to the list, where the draw form is
    form = page.locator("form.credit-draw")
    form.locator("input[name=plan]").fill("夜市 e2e")
    form.locator("input[name=inspectors]").fill(f"{INSPECTOR}, li, zhao")
    form.locator("input[name=seed]").fill("7")
    form.locator("button[type=submit]").click()
    result = page.locator("table[data-draw]")
    result.wait_for()
    draw_id = int(result.get_attribute("data-draw"))
    line = result.locator("tbody tr", has_text=code)
    cells = line.locator("td").all_inner_texts()
    status, disclosure = server.call("GET", "/credit/public")
    [published] = [d for d in disclosure["draws"] if d["id"] == draw_id]
    assert (published["plan"], published["seed"]) == ("夜市 e2e", 7)
    assert [code, after] in published["population"]
    rate, old_rate = published["rates"][after], published["rates"][before]
    assert rate > old_rate
    assert cells[1] == after
    assert float(cells[2]) == rate  # the chance the draw gave it: its new tier's

    # an appeal is recorded and upheld by the officer, then the dispatcher closes the decision,
    # each from the buttons the decision offers them (the page keeps showing it meanwhile)
    assert take_step(browser, server, "supervisor", decision_id, "appeal") == ["appeal", "close"]
    assert take_step(browser, server, "supervisor", decision_id, "uphold") == ["uphold", "revoke"]
    assert take_step(browser, server, "district-op", decision_id, "close") == ["close"]
    status, closed = server.call("GET", f"/credit/cases/{case_id}", user="supervisor")
    assert (closed["decisions"][0]["status"], closed["decisions"][0]["actions"]) == ("closed", [])
    status, disclosure = server.call("GET", "/credit/public")
    assert [d["status"] for d in disclosure["decisions"] if d["entity_code"] == code] == ["closed"]
