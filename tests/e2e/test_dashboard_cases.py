"""A district operator logs in, sees only their district's cases, opens one and dispatches it."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest
from tests.e2e.dashboard import DISTRICT, OTHER_DISTRICT, SCREENSHOTS, cell_points
from tests.e2e.dashboard import login as shared_login

from shancheng.data.city import read_city

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dashboard")]


def _png(red: int) -> str:
    """A 1×1 PNG of the given red value, base64 (two values → two different photos)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = zlib.compress(bytes([0, red, 0, 0]))
    head = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    return base64.b64encode(data).decode()


PHOTOS = [{"content_base64": _png(red), "content_type": "image/png"} for red in (200, 40)]


def _seed(server, city_points):
    ids = []
    for lon, lat in city_points:
        report = {
            "category_code": "C0110",
            "lon": lon,
            "lat": lat,
            "description": "路灯不亮 lamp out",
        }
        if not ids:
            report["photos"] = PHOTOS  # the first case carries two photos
        status, body = server.call("POST", "/cases", report, user="city-admin")
        assert status == 201, body
        ids.append(body["case"]["id"])
    return ids


@pytest.fixture(scope="module")
def seeded(dashboard_server):
    city = read_city(dashboard_server.data_dir / "demo", verify=False)
    mine = _seed(dashboard_server, cell_points(city, DISTRICT, 3))
    other = _seed(dashboard_server, cell_points(city, OTHER_DISTRICT, 1))
    return mine, other


def login(page, url, user="district-op"):
    shared_login(page, url, user)


def test_district_operator_dispatches_a_case_in_scope(page, dashboard_server, seeded):
    mine, other = seeded
    login(page, dashboard_server.url)
    rows = page.locator("#case-list tbody tr")
    rows.first.wait_for()
    shown = {int(x) for x in rows.evaluate_all("rs => rs.map(r => r.dataset.caseId)")}
    assert set(mine) <= shown
    assert not set(other) & shown  # the other district's case is out of scope

    case_id = mine[0]
    page.locator(f'#case-list tr[data-case-id="{case_id}"]').click()
    # every photo of the case is shown and its bytes load (1×1 PNGs from /blobs/{sha256})
    page.wait_for_function(
        "n => { const imgs = [...document.querySelectorAll('.photos img')];"
        " return imgs.length === n && imgs.every(i => i.complete && i.naturalWidth === 1); }",
        arg=len(PHOTOS),
    )
    page.locator('button[data-action="register"]').click()
    page.locator("#case-stage[data-stage='registered']").wait_for()
    page.locator('button[data-action="dispatch"]').click()
    page.locator("#case-stage[data-stage='dispatched']").wait_for()
    assert page.locator(".timeline li").count() >= 3  # report, register, dispatch
    page.screenshot(path=str(SCREENSHOTS / "cases.png"))

    status, case = dashboard_server.call("GET", f"/cases/{case_id}", user="city-admin")
    assert status == 200
    assert case["status"] == "dispatched"


def test_language_switch_is_persisted(page, dashboard_server):
    shared_login(page, dashboard_server.url, view="ops")
    page.locator(".table-box tbody tr").first.wait_for()  # signed in, the view is up
    nav = page.locator("#nav")
    nav.locator("a[data-view='cases']").wait_for()
    start = nav.inner_text()
    page.locator("#lang").click()
    switched = nav.inner_text()
    assert switched != start
    assert ("Cases" in switched) != ("Cases" in start)
    page.reload()
    nav.locator("a[data-view='cases']").wait_for()  # the menu waits for GET /auth/me
    assert page.locator("#nav").inner_text() == switched
    page.locator(".table-box tbody tr").first.wait_for()
    if "Cases" in switched:
        page.screenshot(path=str(SCREENSHOTS / "operations-en.png"))
    assert page.evaluate("document.documentElement.lang") in {"en", "zh-CN"}
