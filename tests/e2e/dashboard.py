"""The dashboard end to end: a real server (uvicorn in a subprocess) on the small demo city.

Helpers shared by ``test_dashboard_*.py``: start the server on a free port with a fresh SQLite
database and users, log in over HTTP, and open pages in headless Debian Chromium with every
request checked to stay on this machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
WEB_DIST = ROOT / "web" / "dist"
# The screenshots in docs/ are refreshed only on request (SHANCHENG_UPDATE_SCREENSHOTS=1), so
# that `make test` leaves the checkout clean; otherwise they go to a scratch folder.
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("SHANCHENG_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "shancheng-screenshots"
)
SCREENSHOTS.mkdir(parents=True, exist_ok=True)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    # WebGL for MapLibre without a GPU: Chromium's software rasteriser
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
]
PASSWORD = "correct-horse-42"
DISTRICT = "990101"
OTHER_DISTRICT = "990102"
CITY = "990100"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def chromium() -> str:
    """Debian's Chromium (never a downloaded browser); skip, or fail under CI, when absent."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (make setup installs it)")
        pytest.skip("chromium is not installed; `make setup` installs it")
    return path


def require_dist() -> None:
    """The built SPA (make setup builds it); skip, or fail under CI, when absent."""
    if not (WEB_DIST / "index.html").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("web/dist is missing: `make setup` builds the dashboard")
        pytest.skip("web/dist is missing; run `make setup` (npm ci + build)")


@dataclass
class Server:
    """A running server: its base URL, data folder and a few HTTP helpers."""

    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    api_key: str = ""
    tokens: dict[str, str] = field(default_factory=dict)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        user: str | None = None,
        api_key: bool = False,
    ) -> tuple[int, Any]:
        """Send a JSON request (as ``user``, or with the API key); return status and body."""
        headers = {"Accept": "application/json"}
        if api_key:
            headers["X-API-Key"] = self.api_key
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if user:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        req = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
            self.url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=180) as answer:  # noqa: S310 - localhost
                raw = answer.read()
                return answer.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, json.loads(raw) if raw else None

    def token(self, user: str) -> str:
        if user not in self.tokens:
            form = urllib.parse.urlencode({"username": user, "password": PASSWORD}).encode()
            req = urllib.request.Request(self.url + "/auth/token", data=form, method="POST")  # noqa: S310
            with urllib.request.urlopen(req, timeout=30) as answer:  # noqa: S310 - localhost
                self.tokens[user] = json.loads(answer.read())["access_token"]
        return self.tokens[user]


def login(page: Any, url: str, user: str = "supervisor", view: str = "cases") -> None:
    """Open ``view`` and sign in as ``user`` on the login form it shows to anonymous visitors."""
    page.goto(f"{url}/ui/#/{view}")
    page.get_by_label(re.compile("用户名|User name")).fill(user)
    page.get_by_label(re.compile("密码|Password")).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^(登录|Log in)$")).click()


def cell_points(city: Any, district: str, n: int) -> list[tuple[float, float]]:
    """``n`` points (cell centres, lon/lat) spread over a district of the demo city."""
    cells = city.grid_cells[city.grid_cells["district_code"] == district]
    step = max(1, len(cells) // n)
    picked = cells.iloc[::step].head(n)
    return [(float(p.x), float(p.y)) for p in picked.geometry.representative_point()]


def start_server(tmp: Path, *, small: bool = True) -> Server:
    """Write the (small) demo city and users, start the server, wait until it answers."""
    from shancheng.cases import accounts
    from shancheng.cases.permissions import Actor, Role
    from shancheng.data.demo import DemoConfig, write_demo_city
    from shancheng.store import create_db_engine, session_factory, upgrade_database

    write_demo_city(tmp / "demo", DemoConfig.small() if small else DemoConfig())
    db_url = f"sqlite:///{tmp / 'center.sqlite'}"
    upgrade_database(db_url)
    engine = create_db_engine(db_url)
    with session_factory(engine)() as session:
        for name, role, unit in [
            ("district-op", Role.DISPATCHER, DISTRICT),
            ("city-admin", Role.ADMIN, CITY),
            ("supervisor", Role.SUPERVISOR, CITY),
        ]:
            accounts.create_user(session, name, PASSWORD, role=role, unit_code=unit)
        api_key = accounts.create_api_key(
            session,
            "e2e sensors",
            actor=Actor("e2e", Role.ADMIN, CITY),
            at=datetime.now(UTC),
            scopes=("ingest", "report"),
        )
        session.commit()
    engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "SHANCHENG_DATA_DIR": str(tmp),
        "SHANCHENG_DATABASE_URL": db_url,
        "SHANCHENG_CASES_CLASSIFIER_WARMUP": "false",
        "SHANCHENG_QUIET": "1",
        "SHANCHENG_WEB_DIST": str(WEB_DIST),
    }
    shancheng = Path(sys.executable).with_name("shancheng")
    process = subprocess.Popen(
        [str(shancheng), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=tmp
    )
    server = Server(f"http://127.0.0.1:{port}", tmp, process, api_key=api_key)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}")
        try:
            if server.call("GET", "/health")[0] == 200:
                warm_up(server)
                return server
        except OSError:
            pass
        time.sleep(0.3)
    process.kill()
    pytest.fail("the server did not answer /health within 180 s")


def warm_up(server: Server) -> None:
    """Wait for what the server builds on first use (the City's analyses, the tile index), so
    the pages' 15 s action timeouts measure the page, not a cold start on a busy machine."""
    for path in ("/city/indicators?level=district", "/circles/categories", "/tiles/walk.json"):
        status, body = server.call("GET", path, user="supervisor")
        assert status == 200, (path, body)


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def is_local(url: str) -> bool:
    """Whether a request stays on this machine (or is inline data)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme in {"data", "blob", "about"}:
        return True
    return parsed.hostname in LOCAL_HOSTS


RENDER_BUDGET_MS = 2000
"""The first map render's budget (issue: ≤ 2 s on the demo city on this machine)."""
RENDER_READY = {
    "ops": "#worst-units tbody tr",
    "cases": "#case-list table",
    "citizen": ".category-option",
}


def first_render_ms(browser: Any, url: str, view: str, token: str) -> float:
    """One cold load of a view (new context, no cache): ms until the map last drew."""
    context = browser.new_context(viewport={"width": 1280, "height": 820}, locale="zh-CN")
    context.add_init_script(
        f"sessionStorage.setItem('shancheng.token', {token!r});"
        "sessionStorage.setItem('shancheng.user', 'supervisor');"
    )
    page = context.new_page()
    try:
        page.goto(f"{url}/ui/#/{view}")
        page.locator(RENDER_READY[view]).first.wait_for(timeout=60_000)
        page.wait_for_load_state("networkidle")
        # the map's tiles are fetched by its web workers, which `networkidle` does not watch:
        # wait until every map has its style and tiles and has stopped drawing for a second
        page.wait_for_function(MAPS_DRAWN, timeout=60_000)
        idle = page.evaluate(IDLE_MS)
        for _ in range(20):
            page.wait_for_timeout(1000)
            page.wait_for_function(MAPS_DRAWN, timeout=60_000)
            again = page.evaluate(IDLE_MS)
            if again == idle:
                return float(idle)
            idle = again
        msg = f"the map of {view} kept drawing for 20 s"
        raise AssertionError(msg)
    finally:
        context.close()


MAPS_DRAWN = """() => {
  const maps = window.__shanchengMaps || [];
  return maps.length > 0 && maps.every((m) => m.loaded() && m.areTilesLoaded())
    && document.querySelector('.map')?.dataset.idleMs;
}"""
"""Whether every map of the page has its style and tiles and has drawn them at least once."""
IDLE_MS = "Number(document.querySelector('.map').dataset.idleMs)"
