"""The operations center as its users meet it, in headless Chromium on a real server.

Each role sees only its own actions and views; the first screen's figures equal the API's;
English and Chinese pages hold no text of the other language; the phone page's targets are
44 px; axe-core finds no serious or critical violation on any view; a report written offline
is delivered when the connection returns; the JavaScript stays within its budget.
"""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime

import pytest
from tests.e2e.dashboard import (
    PASSWORD,
    RENDER_BUDGET_MS,
    ROOT,
    SCREENSHOTS,
    WEB_DIST,
    cell_points,
    first_render_ms,
    login,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dashboard")]

AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
VIEWS = [
    "ops", "circles", "cases", "lifelines", "targets", "mobility", "credit", "ideas", "citizen",
]  # fmt: skip
READY = {
    "credit": ".credit > *",
    "ideas": "#ideas-title",
    "mobility": "#bottleneck-list tbody tr",
    "ops": "#worst-units tbody tr",
    "circles": ".table-box tbody tr",
    "cases": "#case-list table",
    "lifelines": "#sensor-table tbody tr",
    "targets": "article.target",
    "citizen": ".category-option",
}
CJK = re.compile(r"[\u3400-\u9fff]")
LATIN_WORD = re.compile(r"\b[A-Za-z]{3,}\b")
UNIT_SYMBOLS = {"kPa", "MPa", "bar"}  # SI and sensor units, the same in every language


def add_user(server, name, role, unit, department=None):
    """A user written straight into the server's SQLite database (no admin route makes users)."""
    from shancheng.cases import accounts
    from shancheng.cases.repository import accounts as users
    from shancheng.store import create_db_engine, session_factory

    engine = create_db_engine(f"sqlite:///{server.data_dir / 'center.sqlite'}")
    with session_factory(engine)() as session:
        if users.user_named(session, name) is None:  # not made by an earlier test
            accounts.create_user(
                session, name, PASSWORD, role=role, unit_code=unit, department=department
            )
    engine.dispose()


def a_reported_case(server, description="井盖松动"):
    from shancheng.data.city import read_city

    city = read_city(server.data_dir / "demo", verify=False)
    lon, lat = cell_points(city, "990101", 5)[2]
    status, body = server.call(
        "POST",
        "/cases",
        {"category_code": "C0101", "lon": lon, "lat": lat, "description": description},
        user="district-op",
    )
    assert status == 201, body
    return body["case"]


def visible_texts(page):
    """Every visible text node of the page but the language switch, with its element."""
    return page.evaluate(
        """() => {
        const out = [];
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
            const node = walker.currentNode, el = node.parentElement;
            const text = node.textContent.trim();
            if (!text || !el || el.closest('#lang, script, style, [hidden], .maplibregl-ctrl-attrib, .user-data')) continue;
            const box = el.getBoundingClientRect();
            if (box.width === 0 && box.height === 0) continue;
            out.push([text, el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className]);
        }
        // accessible names count too (screen readers say them)
        for (const el of document.querySelectorAll('[aria-label]')) {
            if (el.closest('[hidden], #lang')) continue;
            out.push([el.getAttribute('aria-label'), '@aria-label ' + el.tagName]);
        }
        return out;
    }"""
    )


def test_each_role_sees_only_its_actions_and_views(page, dashboard_server):
    from shancheng.cases.permissions import Role

    add_user(dashboard_server, "handler-san", Role.HANDLER, "990100", "water_utility")
    add_user(dashboard_server, "citizen-li", Role.CITIZEN, "990100")
    case = a_reported_case(dashboard_server)
    for user in ("district-op", "supervisor", "citizen-li"):
        status, api_case = dashboard_server.call("GET", f"/cases/{case['id']}", user=user)
        _, me = dashboard_server.call("GET", "/auth/me", user=user)
        login(page, dashboard_server.url, user=user, view="cases")
        page.locator("#case-list table").wait_for()
        # the menu: a view only when the user's routes admit it (from GET /auth/me)
        nav = set(page.locator("#nav a").evaluate_all("els => els.map(e => e.dataset.view)"))
        assert ("ops" in nav) == ("GET /city/indicators" in me["routes"]), user
        assert ("lifelines" in nav) == ("GET /lifelines/sensors" in me["routes"]), user
        if user == "citizen-li":
            assert status == 404  # another's report does not exist for a citizen
            assert nav == {"circles", "cases", "targets", "mobility", "credit", "ideas", "citizen"}
            _log_out_and_check_the_token_is_revoked(page, dashboard_server)
            continue
        page.locator(f"tr[data-case-id='{case['id']}']").click()
        page.locator("#case-title").wait_for()
        shown = page.locator("#case-detail [data-action]").evaluate_all(
            "els => els.map(e => e.dataset.action)"
        )
        assert shown == api_case["actions"], user  # the server's list, never a copy
        if user == "district-op":
            assert "register" in shown and "start" not in shown
        else:
            assert "verify" not in shown and "register" not in shown
        page.locator("#logout").click()
    # a handler opens the case view but is offered nothing on a case not yet dispatched to them
    login(page, dashboard_server.url, user="handler-san", view="cases")
    page.locator("#case-list table").wait_for()
    assert page.locator("#case-detail [data-action]").count() == 0


def _log_out_and_check_the_token_is_revoked(page, dashboard_server):
    """Log out with the button: the browser forgets its token and the server refuses it."""
    import urllib.error
    import urllib.request

    token = page.evaluate("sessionStorage.getItem('shancheng.token')")
    with page.expect_response(lambda r: r.request.method == "DELETE" and r.url.endswith(
            "/auth/token")) as answer:  # fmt: skip
        page.locator("#logout").click()
    assert answer.value.status == 204
    page.locator("#login").wait_for()
    assert page.evaluate("sessionStorage.getItem('shancheng.token')") is None
    req = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        dashboard_server.url + "/auth/me", headers={"Authorization": f"Bearer {token}"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=30)  # noqa: S310
    refused.value.close()
    assert refused.value.code == 401


def test_first_screen_figures_equal_the_api(page, dashboard_server):
    a_reported_case(dashboard_server, "井盖松动")
    login(page, dashboard_server.url, user="supervisor", view="ops")
    page.locator("#count-open").wait_for()
    page.locator("#worst-units tbody tr").first.wait_for()
    _, workflow = dashboard_server.call("GET", "/cases/workflow")
    open_statuses = [s["value"] for s in workflow["statuses"] if s["is_open"]]
    query = "&".join(f"status={s}" for s in open_statuses)
    import urllib.request

    def total(path):
        req = urllib.request.Request(  # noqa: S310 - localhost
            dashboard_server.url + path,
            headers={"Authorization": f"Bearer {dashboard_server.token('supervisor')}"},
        )
        with urllib.request.urlopen(req, timeout=60) as answer:  # noqa: S310 - localhost
            return int(answer.headers["X-Total-Count"])

    assert page.locator("#count-open").get_attribute("data-value") == str(
        total(f"/cases?limit=1&{query}")
    )
    assert page.locator("#count-overdue").get_attribute("data-value") == str(
        total("/cases?limit=1&overdue=true")
    )
    _, alarms = dashboard_server.call("GET", "/lifelines/alarms?active=true", user="supervisor")
    assert page.locator("#count-alarms").get_attribute("data-value") == str(len(alarms))
    # the worst units per measure and level: the API's figures, worst first
    _, measures = dashboard_server.call("GET", "/city/measures")
    _, districts = dashboard_server.call(
        "GET", "/city/indicators?level=district", user="supervisor"
    )
    for m in measures:
        row = page.locator(
            f"#worst-units tr[data-measure='{m['key']}'][data-unit-level='district']"
        )
        known = [d for d in districts if d[m["key"]] is not None]
        if not known:
            assert row.count() == 0
            continue
        # worst first: the lowest of a "higher is better" measure, the highest of the others
        want = sorted(known, key=lambda d: d[m["key"]], reverse=m["better"] == "lower")
        chips = row.locator("[data-code]")
        codes = chips.evaluate_all("els => els.map(e => e.dataset.code)")
        values = chips.evaluate_all("els => els.map(e => Number(e.dataset.value))")
        assert values == pytest.approx([d[m["key"]] for d in want[: len(values)]])
        assert len(codes) == min(3, len(known))
    # plan targets: an overdue target is flagged exactly when past due and not met
    _, targets = dashboard_server.call("GET", "/targets")
    today = datetime.now(UTC).date().isoformat()
    for target in targets:
        item = page.locator(f"#target-progress li[data-target-id='{target['target_id']}']")
        value, goal = target["city_value"], target["target_value"]
        met = value is not None and (
            value <= goal if target["direction"] == "at_most" else value >= goal
        )
        assert item.get_attribute("data-overdue") == str(target["due"] < today and not met).lower()
    # the trends: as many days as the API gives, drawn
    page.locator("#trend-cases canvas").first.wait_for()
    page.screenshot(path=str(SCREENSHOTS / "first-screen.png"), full_page=True)


def test_map_shows_streets_and_names_at_street_zoom(page, dashboard_server):
    from shancheng.data.city import read_city

    city = read_city(dashboard_server.data_dir / "demo", verify=False)
    streets = city.admin_units[city.admin_units["level"] == "street"]
    street = streets.iloc[0]
    at = street.geometry.representative_point()  # where the server puts the street's name
    login(page, dashboard_server.url, user="supervisor", view="ops")
    page.locator("#worst-units tbody tr").first.wait_for()
    page.wait_for_function("document.querySelector('#ops-map')?.dataset.idleMs")
    page.evaluate(
        "([lon, lat]) => window.__shanchengMaps.at(-1).jumpTo({center: [lon, lat], zoom: 15})",
        [at.x, at.y],
    )
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => { const m = window.__shanchengMaps.at(-1); return m.loaded() && m.areTilesLoaded(); }"
    )
    found = page.evaluate(
        """() => {
        const map = window.__shanchengMaps.at(-1);
        const rendered = (id) => map.getLayer(id) ? map.queryRenderedFeatures({layers: [id]}) : null;
        const names = (rendered('base-labels') || []).map(f => f.properties.name);
        return {roads: (rendered('base-roads') || []).length,
                classes: [...new Set((rendered('base-roads') || []).map(f => f.properties.class))],
                buildings: (rendered('base-buildings') || []).length,
                contours: (rendered('base-contours') || []).length,
                hillshade: !!map.getLayer('base-hillshade'),
                labels: names,
                text: JSON.stringify(map.getLayoutProperty('base-labels', 'text-field'))};
    }"""
    )
    assert found["roads"] > 10, found
    assert found["contours"] > 0 and found["hillshade"], found
    assert street["name"] in found["labels"], found
    assert "name_en" not in found["text"]  # Chinese page: the local names
    # pixels: the street zoom is drawn, not a blank background (many colours in the canvas)
    colours = page.evaluate(
        """() => { const c = window.__shanchengMaps.at(-1).getCanvas();
        const x = document.createElement('canvas'); x.width = 64; x.height = 64;
        const g = x.getContext('2d'); g.drawImage(c, 0, 0, 64, 64);
        const d = g.getImageData(0, 0, 64, 64).data; const seen = new Set();
        for (let i = 0; i < d.length; i += 4) seen.add((d[i] >> 4) + ',' + (d[i+1] >> 4) + ',' + (d[i+2] >> 4));
        return seen.size; }"""
    )
    assert colours > 20, colours
    page.screenshot(path=str(SCREENSHOTS / "base-map-street-zoom.png"))
    page.locator("#lang").click()
    text = page.evaluate(
        "JSON.stringify(window.__shanchengMaps.at(-1).getLayoutProperty('base-labels', 'text-field'))"
    )
    assert "name_en" in text  # English page: English names, the local one where none
    page.locator("#lang").click()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pages_hold_no_text_of_the_other_language(page, dashboard_server, lang):
    login(page, dashboard_server.url, user="supervisor", view="ops")
    page.locator("#worst-units tbody tr").first.wait_for()
    if (lang == "en") != (page.evaluate("document.documentElement.lang") == "en"):
        page.locator("#lang").click()
    for view in VIEWS:
        page.goto(f"{dashboard_server.url}/ui/#/{view}")
        page.locator(READY[view]).first.wait_for()
        page.wait_for_load_state("networkidle")
        texts = visible_texts(page)
        if lang == "en":
            wrong = [(t, where) for t, where in texts if CJK.search(t)]
        else:
            # codes and references (letters with digits) and unit symbols are not English
            wrong = [
                (t, where)
                for t, where in texts
                if any(
                    w not in UNIT_SYMBOLS for w in LATIN_WORD.findall(re.sub(r"\S*\d\S*", "", t))
                )
            ]
        assert wrong == [], (view, wrong[:10])


def test_phone_page_targets_are_44_px(browser, dashboard_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{dashboard_server.url}/ui/#/citizen")
        page.locator(".category-option").first.wait_for()
        # no category is chosen for the reporter
        assert page.locator("input[name=category]:checked").count() == 0
        small = page.evaluate(
            """() => Array.from(document.querySelectorAll(
                'button, a[href], select, textarea, input:not([type=radio]):not([type=checkbox]):not([type=hidden]), .category-option'
            )).filter(el => {
                const r = el.getBoundingClientRect();
                if (r.width === 0 && r.height === 0) return false;
                return r.width < 44 || r.height < 44;
            }).map(el => [el.outerHTML.slice(0, 80), el.getBoundingClientRect().width, el.getBoundingClientRect().height])"""
        )
        assert small == []
        # the category search narrows the picker
        page.locator("#category-search").fill("路灯")
        names = page.locator(".category-option").all_inner_texts()
        assert names and all("路灯" in n for n in names)
        page.screenshot(path=str(SCREENSHOTS / "citizen-phone.png"), full_page=True)
    finally:
        context.close()


def test_a_report_sent_offline_is_delivered_when_back_online(browser, dashboard_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{dashboard_server.url}/ui/#/citizen")
        page.locator(".category-option").first.wait_for()
        page.wait_for_function("document.querySelector('#citizen-map')?.dataset.idleMs")
        page.get_by_role("button", name=re.compile("图钉放在地图中心")).click()
        page.locator(".category-option").first.click()
        page.locator("textarea[name=description]").fill("离线上报的井盖")
        # installable: the manifest is served as one, the service worker holds the shell
        manifest = page.evaluate(
            """() => fetch(document.querySelector('link[rel=manifest]').href)
                .then(async r => [r.headers.get('content-type'), await r.json()])"""
        )
        assert manifest[0].startswith("application/manifest+json")
        assert manifest[1]["start_url"] == "/ui/#/citizen"
        worker = page.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)")
        assert worker.endswith("/ui/sw.js")
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        context.set_offline(True)
        # offline, the page itself still opens from the service worker's cache
        page.reload()
        page.locator(".category-option").first.wait_for()
        page.wait_for_function("document.querySelector('#citizen-map')?.dataset.idleMs")
        # the pin and the category are set before sending (on a loaded machine a click can land
        # before the reloaded page has wired it, and the form then only asks for them)
        ready = (
            "() => Boolean(document.querySelector('#citizen-map')?.dataset.pin"
            " && document.querySelector('input[name=category]:checked'))"
        )
        for _ in range(5):
            page.get_by_role("button", name=re.compile("图钉放在地图中心")).click()
            page.locator(".category-option").first.click()
            if page.evaluate(ready):
                break
            page.wait_for_timeout(500)
        assert page.evaluate(ready), "the pin or the category did not take"
        page.locator("textarea[name=description]").fill("离线上报的井盖")
        page.locator("form.report button[type=submit]").click()
        page.locator("#queued").wait_for()
        assert page.evaluate("JSON.parse(localStorage.getItem('shancheng.outbox')).length") == 1
        context.set_offline(False)
        reference = page.locator("#reference").inner_text(timeout=20_000)
        assert page.evaluate("JSON.parse(localStorage.getItem('shancheng.outbox')).length") == 0
        status, public = dashboard_server.call("GET", f"/cases/public/{reference}")
        assert status == 200 and public["reference"] == reference
        # the follow link opens the report's progress
        href = page.locator("#follow-link").get_attribute("href")
        page.goto(href)
        assert page.locator("#public-stage").get_attribute("data-stage") == public["stage"]
    finally:
        context.close()


def test_axe_finds_no_serious_violation_on_any_view(page, dashboard_server):
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: `make setup` installs the dashboard's npm packages")
    login(page, dashboard_server.url, user="supervisor", view="ops")
    page.locator("#worst-units tbody tr").first.wait_for()
    found = {}
    for view in VIEWS:
        page.goto(f"{dashboard_server.url}/ui/#/{view}")
        page.locator(READY[view]).first.wait_for()
        page.wait_for_load_state("networkidle")
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in result["violations"]
            if v["impact"] in {"serious", "critical"}
        ]
        if bad:
            found[view] = bad
    assert found == {}


def test_javascript_within_budget():
    """≤ 400 KB of JavaScript, gzipped, in the built dashboard (all of it, workers included)."""
    scripts = [*WEB_DIST.glob("assets/*.js"), *WEB_DIST.glob("assets/*.mjs"), WEB_DIST / "sw.js"]
    size = sum(len(gzip.compress(p.read_bytes(), 9)) for p in scripts if p.is_file())
    assert size <= 400 * 1024, f"{size / 1024:.0f} KB gzipped"
    assert size > 100 * 1024  # the check reads the real bundle (MapLibre alone is ~275 KB)


@pytest.mark.budget
def test_first_map_render_within_budget(browser, dashboard_server):
    """The first screen's map draws within 2 s of the navigation (the best of five cold loads).

    On the small demo city with the server warm: what the browser does (scripts, tiles, data,
    drawing), once the server has cut its tiles. `make test` runs it alone after the parallel
    run, so that the other worker's tests do not share the two cores with the browser; `make
    bench-dashboard` reports the median on the full demo city.
    """
    token = dashboard_server.token("supervisor")
    first_render_ms(browser, dashboard_server.url, "ops", token)  # the server cuts its tiles once
    times = sorted(first_render_ms(browser, dashboard_server.url, "ops", token) for _ in range(5))
    print(f"first map render, ms: {times}")  # noqa: T201 - the figures in the CI log
    assert times[0] <= RENDER_BUDGET_MS, times
