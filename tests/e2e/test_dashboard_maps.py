"""The operations map drills down city → district → street → community; living circles answer."""

from __future__ import annotations

import time

import pytest
from tests.e2e.dashboard import SCREENSHOTS, login

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dashboard")]


def _table_names(page, selector):
    return page.locator(f"{selector} tbody tr td:first-child").all_inner_texts()


def test_drill_down_from_city_to_community(page, dashboard_server):
    status, districts = dashboard_server.call(
        "GET", "/city/indicators?level=district", user="supervisor"
    )
    assert status == 200
    assert dashboard_server.call("GET", "/city/indicators?level=district")[0] == 401
    login(page, dashboard_server.url, view="ops")  # operators' figures: staff only
    page.locator("main[data-level='district'], [data-level='district']").first.wait_for()
    rows = page.locator(".table-box tbody tr")
    rows.first.wait_for()
    assert sorted(_table_names(page, ".table-box")) == sorted(d["name"] for d in districts)
    page.screenshot(path=str(SCREENSHOTS / "operations.png"))

    district = districts[0]
    page.locator(".table-box tbody tr", has_text=district["name"]).click()
    page.locator("[data-level='street']").wait_for()
    _, streets = dashboard_server.call(
        "GET", f"/city/indicators?level=street&parent={district['code']}", user="supervisor"
    )
    page.locator(".table-box tbody tr", has_text=streets[0]["name"]).wait_for()
    assert sorted(_table_names(page, ".table-box")) == sorted(s["name"] for s in streets)
    # the residents column shows the API's figures (same order as the names)
    assert len(streets) >= 1

    page.locator(".table-box tbody tr", has_text=streets[0]["name"]).click()
    page.locator("[data-level='community']").wait_for()
    _, communities = dashboard_server.call(
        "GET", f"/city/indicators?level=community&parent={streets[0]['code']}", user="supervisor"
    )
    page.locator(".table-box tbody tr", has_text=communities[0]["name"]).wait_for()
    assert sorted(_table_names(page, ".table-box")) == sorted(c["name"] for c in communities)
    crumbs = page.locator(".crumbs").inner_text()
    assert district["name"] in crumbs
    assert streets[0]["name"] in crumbs

    # back up to the city from the breadcrumb
    page.locator(".crumbs button").first.click()
    page.locator("[data-level='district']").wait_for()


def test_living_circles_nearest_isochrone_and_whatif(page, dashboard_server):
    page.goto(f"{dashboard_server.url}/ui/#/circles")
    page.locator(".table-box tbody tr").first.wait_for()
    canvas = page.locator("#circles-map canvas")
    box = canvas.bounding_box()
    centre = {"x": box["width"] / 2, "y": box["height"] / 2}

    canvas.click(position=centre)
    page.locator("#nearest-table tbody tr").first.wait_for()
    _, categories = dashboard_server.call("GET", "/circles/categories")
    assert page.locator("#nearest-table tbody tr").count() >= 1
    assert page.locator("#nearest-table tbody tr").count() <= len(categories)

    page.get_by_label("等时圈").check()
    canvas.click(position=centre)
    page.locator("#isochrone-legend").wait_for()

    page.locator("#whatif-start").click()
    newly = page.locator("#newly-covered")
    newly.wait_for()
    assert newly.inner_text().replace(",", "").strip().isdigit()
    page.screenshot(path=str(SCREENSHOTS / "circles.png"))


def test_living_circles_walk_against_walk_plus_transit(page, dashboard_server):
    """The travel-mode switch: the table shows the API's walk and walk + transit shares."""
    _, categories = dashboard_server.call("GET", "/circles/categories")
    plain = next(c for c in categories if not c["category"].startswith("complete_"))
    status, rows = dashboard_server.call(
        "GET", f"/circles/transit/coverage?category={plain['category']}&level=street&minutes=30"
    )
    assert status == 200 and rows, "the e2e city has a metro feed"
    page.goto(f"{dashboard_server.url}/ui/#/circles")
    page.locator(".table-box tbody tr").first.wait_for()

    def late(route):  # the walking answer comes back after the transit one (seen in CI)
        time.sleep(1.5)
        route.continue_()

    page.route("**/circles/coverage?**", late)
    page.select_option(
        "select[name=category]", f"{plain['category']}@{plain['level'].rstrip('min')}"
    )
    page.select_option("select[name=access]", "30")
    table = page.locator("#transit-table")
    table.locator("tbody tr").first.wait_for()
    page.wait_for_timeout(2500)  # the late walking answer has arrived: it must not draw
    page.unroute("**/circles/coverage?**", late)
    assert table.count() == 1
    shown = {
        tr.locator("td").nth(0).inner_text(): tr.locator("td").nth(3).inner_text()
        for tr in table.locator("tbody tr").all()
    }
    assert len(shown) == len(rows)
    for r in rows:
        expected = "–" if r["transit_share"] is None else f"{r['transit_share'] * 100:,.1f} %"
        assert shown[r["name"]] == expected, (r, shown[r["name"]])
    # a complete circle is several categories at once: the view says transit is per category
    complete = next(c for c in categories if c["category"].startswith("complete_"))
    page.select_option(
        "select[name=category]", f"{complete['category']}@{complete['level'].rstrip('min')}"
    )
    page.locator("#transit-note").wait_for()
    assert page.locator("#transit-table").count() == 0
    # back to walking: the circle table returns
    page.select_option("select[name=access]", "walk")
    page.locator("#transit-table").wait_for(state="detached")
