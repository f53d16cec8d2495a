"""Screenshots of every view in both languages, for docs/ (`make screenshots` refreshes them).

Each view is shot once its data and map have drawn; under `make test` the files go to a
scratch folder, so the checkout stays clean. The shots double as a smoke test: every view
opens without an error in both languages, as the supervisor and (citizen page) on a phone.
"""

from __future__ import annotations

import pytest
from tests.e2e.dashboard import SCREENSHOTS, login
from tests.e2e.test_ops_center import READY, VIEWS

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dashboard")]

NAMES = {"ops": "operations"}


def settle(page, view):
    page.locator(READY[view]).first.wait_for()
    if view == "ops":
        page.locator("#count-open").wait_for()  # the live counts come after the map
    page.wait_for_load_state("networkidle")
    if page.locator(".map").count():
        page.wait_for_function("() => document.querySelector('.map')?.dataset.idleMs")
    page.wait_for_timeout(400)  # the last tiles fade in


def test_every_view_in_both_languages(page, dashboard_server):
    login(page, dashboard_server.url, user="supervisor", view="ops")
    page.locator(READY["ops"]).first.wait_for()
    for lang in ("zh", "en"):
        if (lang == "en") != (page.evaluate("document.documentElement.lang") == "en"):
            page.locator("#lang").click()
        for view in VIEWS:
            if view == "citizen":
                page.set_viewport_size({"width": 390, "height": 844})
            page.goto(f"{dashboard_server.url}/ui/#/{view}")
            settle(page, view)
            suffix = "" if lang == "zh" else "-en"
            page.screenshot(
                path=str(SCREENSHOTS / f"{NAMES.get(view, view)}{suffix}.png"),
                full_page=view in {"ops", "targets", "citizen"},
            )
            page.set_viewport_size({"width": 1280, "height": 820})
