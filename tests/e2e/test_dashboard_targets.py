"""Plan targets: measured figures by district as the API gives them; a supervisor enters one."""

from __future__ import annotations

import re

import pytest
from tests.e2e.dashboard import PASSWORD, SCREENSHOTS

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dashboard")]


def test_supervisor_enters_a_manual_figure(page, dashboard_server):
    _, targets = dashboard_server.call("GET", "/targets")
    manual = next(t for t in targets if t["source"] == "manual")
    measured = next(t for t in targets if t["source"] == "measured" and t["measured"])

    page.goto(f"{dashboard_server.url}/ui/#/targets")
    cards = page.locator("article.target")
    cards.first.wait_for()
    assert cards.count() == len(targets)
    rows = page.locator(f"article[data-target-id='{measured['target_id']}'] tbody tr")
    assert rows.count() == len(measured["measured"])

    # log in as a supervisor (the view shows the entry form to signed-in users)
    page.goto(f"{dashboard_server.url}/ui/#/cases")
    page.get_by_label(re.compile("用户名|User name")).fill("supervisor")
    page.get_by_label(re.compile("密码|Password")).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^(登录|Log in)$")).click()
    page.locator("#case-list").wait_for()
    page.goto(f"{dashboard_server.url}/ui/#/targets")
    form = page.locator(f"form[data-target='{manual['target_id']}']")
    form.get_by_label(re.compile("数值|Value")).fill("12345")
    form.get_by_label(re.compile("日期|Date")).fill("2026-11-30")
    form.get_by_label(re.compile("备注|Note")).fill("e2e")
    form.get_by_role("button", name=re.compile("保存|Save")).click()
    card = page.locator(f"article[data-target-id='{manual['target_id']}']")
    card.locator(".latest", has_text="12,345").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "targets.png"), full_page=True)

    _, after = dashboard_server.call("GET", "/targets")
    history = next(t for t in after if t["target_id"] == manual["target_id"])["history"]
    assert history[-1]["value"] == 12345
    assert history[-1]["entered_by"] == "supervisor"
