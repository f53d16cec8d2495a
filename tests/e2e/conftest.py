"""Fixtures of the dashboard's end-to-end tests: one server and one browser per worker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from tests.e2e.dashboard import (
    Server,
    chromium,
    is_local,
    require_dist,
    start_server,
    stop_server,
)

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="session")
def dashboard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_dist()
    server = start_server(tmp_path_factory.mktemp("dashboard"))
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium()
    from tests.e2e.dashboard import CHROMIUM_FLAGS

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, dashboard_server: Server) -> Iterator[Any]:
    """A fresh browser context; every request must stay on localhost (checked at the end)."""
    context = browser.new_context(viewport={"width": 1280, "height": 820}, locale="zh-CN")
    outside: list[str] = []

    def guard(route: Any) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("request", lambda r: None if is_local(r.url) else outside.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(15_000)
    yield page
    context.close()
    assert outside == [], f"requests left localhost: {outside}"
    assert errors == [], f"uncaught errors in the page: {errors}"
