"""The living-circle report renders its maps and charts in headless Chromium (no internet)."""

import pytest

from shancheng.circles.evaluate import evaluate_city
from shancheng.circles.report import write_report
from shancheng.data.demo import DemoConfig, generate_demo_city


@pytest.mark.slow
def test_report_renders_every_figure_in_chromium(tmp_path, browser):
    """Uses the session's browser: a second sync Playwright in one process refuses to start
    while the first is open (whatever test of this worker opened it)."""
    evaluation = evaluate_city(generate_demo_city(DemoConfig.small()))
    report = write_report(evaluation, tmp_path)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri())
        images = page.evaluate(
            "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
        )
        headings = page.locator("h2").all_inner_texts()
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    finally:
        context.close()
    assert len(images) >= 7
    assert all(done and width > 300 and height > 100 for done, width, height in images)
    assert {
        "Coverage by street",
        "Coverage by community",
        "Gap areas",
        "Walk to the nearest facility",
    } <= set(headings)
    assert all(url.startswith(("file:", "data:")) for url in requests)  # nothing from the web
    assert (tmp_path / "report.png").stat().st_size > 50_000
