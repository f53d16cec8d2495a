"""Every control of every view has a label (aria), and the drill-down works from the keyboard."""

from __future__ import annotations

import re

import pytest
from tests.e2e.dashboard import PASSWORD, login

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dashboard")]

# controls without an accessible name: a heuristic of the accessible-name rules (aria-label,
# aria-labelledby, <label for>, a wrapping <label>, or the text/title of a button or link)
UNLABELLED = """
() => Array.from(document.querySelectorAll(
    'input, select, textarea, button, a[href], [role="region"]'
)).filter(el => {
    if (el.closest('[hidden]') || el.type === 'hidden') return false;
    if ((el.getAttribute('aria-label') || '').trim()) return false;
    if (el.getAttribute('aria-labelledby')) return false;
    if (el.id && document.querySelector(`label[for="${el.id}"]`)) return false;
    if (el.closest('label')) return false;
    if (['BUTTON', 'A'].includes(el.tagName) && (el.textContent.trim() || el.title)) return false;
    return true;
}).map(el => el.outerHTML.slice(0, 120))
"""

VIEWS = [
    "ops", "circles", "cases", "lifelines", "targets", "mobility", "credit", "ideas", "citizen",
]  # fmt: skip
READY = {
    "ops": ".table-box tbody tr",
    "circles": ".table-box tbody tr",
    "cases": "#case-list",
    "lifelines": "#sensor-table tbody tr",
    "targets": "article.target",
    "mobility": "#bottleneck-list tbody tr",
    "credit": ".credit > *",
    "ideas": "#ideas-title",
    "citizen": "#citizen-map canvas",
}


def test_every_control_is_labelled_in_both_languages(page, dashboard_server):
    page.goto(f"{dashboard_server.url}/ui/#/cases")
    page.get_by_label(re.compile("用户名|User name")).fill("district-op")
    page.get_by_label(re.compile("密码|Password")).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^(登录|Log in)$")).click()
    for lang in ("zh", "en"):
        for view in VIEWS:
            page.goto(f"{dashboard_server.url}/ui/#/{view}")
            page.locator(READY[view]).first.wait_for()
            assert page.evaluate(UNLABELLED) == [], f"{view} ({lang})"
        page.locator("#lang").click()
    # the check does see a bare control
    page.evaluate("document.body.append(document.createElement('input'))")
    assert page.evaluate(UNLABELLED) == ["<input>"]


def test_drill_down_by_keyboard(page, dashboard_server):
    login(page, dashboard_server.url, view="ops")
    first = page.locator(".table-box tbody tr").first
    first.wait_for()
    name = first.locator("td").first.inner_text()
    first.focus()
    page.keyboard.press("Enter")
    page.locator("[data-level='street']").wait_for()
    assert name in page.locator(".crumbs").inner_text()
    # the keyboard stays in the table, on the next level's first row (not back at the top)
    page.wait_for_function("document.activeElement?.closest('.table-box tbody') !== null")
    page.keyboard.press("Enter")
    page.locator("[data-level='community']").wait_for()
