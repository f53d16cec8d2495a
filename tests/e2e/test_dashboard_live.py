"""Live pages: a sensor alarm appears without reloading; a citizen's report reaches the operator."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from tests.e2e.dashboard import DISTRICT, PASSWORD, SCREENSHOTS, cell_points, login

from shancheng.data.city import read_city

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dashboard")]

SENSOR = "W00000"  # a water-pressure sensor of the small demo city (kPa, low limits 150 / 100)


def test_sensor_alarm_appears_live(page, dashboard_server):
    login(page, dashboard_server.url, view="lifelines")  # critical infrastructure: staff only
    page.locator("#alarm-list").wait_for()
    page.locator("#sensor-table tbody tr").first.wait_for()
    assert page.locator(f"#alarm-list li[data-sensor-id='{SENSOR}']").count() == 0
    # wait until the page holds the stream open, then post a reading over the HTTP ingest
    page.wait_for_function("document.querySelector('.panel h2 .badge').dataset.live === 'up'")
    at = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    status, answer = dashboard_server.call(
        "POST",
        "/lifelines/readings",
        {"sensor_id": SENSOR, "time": at, "value": 50.0, "unit": "kPa"},
        api_key=True,
    )
    assert status == 200, answer
    assert answer["alarms"], answer  # 50 kPa is below the lowest limit: an alarm is raised
    alarm = page.locator(f"#alarm-list li[data-sensor-id='{SENSOR}']")
    alarm.wait_for(timeout=20_000)
    assert "50" in alarm.inner_text()
    # the sensor's chart shows the reading
    alarm.get_by_role("button", name=re.compile("读数|Readings")).click()
    page.locator("#sensor-chart canvas").wait_for()

    # isolation of a pipe entered by id (the keyboard's way to what a click on the map does)
    _, pipes = dashboard_server.call("GET", "/lifelines/pipes?network=water", user="supervisor")
    pipe_id = pipes["features"][len(pipes["features"]) // 2]["properties"]["pipe_id"]
    _, iso = dashboard_server.call(
        "GET", f"/lifelines/isolation?network=water&pipe={pipe_id}", user="supervisor"
    )
    page.get_by_label(re.compile("管段编号|Pipe id")).fill(str(pipe_id))
    page.locator("#isolate-form button").click()
    page.locator("#valves").wait_for()
    shown = page.locator("#valves").inner_text()
    none = "\u2013"  # the en dash the page shows for "no valve"
    assert shown == (", ".join(str(v) for v in iso["valves_to_close"]) or none)
    page.screenshot(path=str(SCREENSHOTS / "lifelines.png"))


def test_citizen_report_reaches_the_operator(page, dashboard_server):
    city = read_city(dashboard_server.data_dir / "demo", verify=False)
    lon, lat = cell_points(city, DISTRICT, 1)[0]
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    # the link carries the place (as a QR code on a lamp post would); the pin sits there
    page.goto(f"{dashboard_server.url}/ui/#/citizen?lon={lon}&lat={lat}")
    page.locator("#citizen-map[data-pin]").wait_for()
    pinned = page.locator("#citizen-map").get_attribute("data-pin")
    assert [round(float(v), 5) for v in pinned.split(",")] == [round(lon, 5), round(lat, 5)]
    page.locator(".category-option:has(input[value='C0110'])").click()
    page.get_by_label(re.compile("问题描述|What is wrong")).fill(
        "路灯整夜不亮 street light out all night"
    )
    page.get_by_role("button", name=re.compile("^(提交|Submit)$")).click()
    reference = page.locator("#reference").inner_text(timeout=20_000).strip()
    assert reference
    page.get_by_role("button", name=re.compile("^(查询|Look up)$")).click()
    page.locator("#public-stage").wait_for()
    # the address now holds the link to follow this report (bookmark, share)
    assert page.url.endswith(f"#/citizen?ref={reference}")
    page.screenshot(path=str(SCREENSHOTS / "citizen.png"), full_page=True)

    # the district operator finds it in the list
    page.set_viewport_size({"width": 1280, "height": 820})
    page.goto(f"{dashboard_server.url}/ui/#/cases")
    page.get_by_label(re.compile("用户名|User name")).fill("district-op")
    page.get_by_label(re.compile("密码|Password")).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^(登录|Log in)$")).click()
    page.locator(f"#case-list tr[data-reference='{reference}']").wait_for()


def test_a_new_case_appears_live_without_reload(page, dashboard_server):
    """The real server and clock: the badge lights when the stream is up, a case arrives."""
    city = read_city(dashboard_server.data_dir / "demo", verify=False)
    lon, lat = cell_points(city, DISTRICT, 5)[4]
    login(page, dashboard_server.url, user="district-op", view="cases")
    badge = page.locator("#cases-title .badge")
    page.wait_for_function(
        "el => /实时|Live/.test(el.textContent)", arg=badge.element_handle(), timeout=15_000
    )  # the stream answered: no fallback to polling
    page.locator("#case-list").wait_for()
    status, answer = dashboard_server.call(
        "POST",
        "/cases",
        {"category_code": "E0404", "lon": lon, "lat": lat, "description": "live e2e"},
    )
    assert status == 201, answer
    reference = answer["case"]["reference"]
    # polling would take 10 s; the stream brings it within a few
    page.locator(f"#case-list tr[data-reference='{reference}']").wait_for(timeout=5_000)
