"""The dashboard's first map render and its JavaScript, against the issue's budget.

Starts ``shancheng serve`` on the demo city (the full one; ``--small`` for the small one) with
a fresh database, opens each map view in headless Chromium (Debian's) as the supervisor and
measures, from the navigation's start, when the map last finished drawing once the network is
quiet (``data-idle-ms``, set on MapLibre's ``idle``): the first render as a user waits for it,
tiles, data layers and base map included. Three loads per view, median reported. Also the
gzipped size of every script the dashboard ships. Budget: ≤ 2 s, ≤ 400 KB.

Run: ``.venv/bin/python benchmarks/dashboard_render.py [--small]`` (``make bench-dashboard``).
"""

from __future__ import annotations

import gzip
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.dashboard import (  # noqa: E402 - the repository root first
    CHROMIUM_FLAGS,
    RENDER_BUDGET_MS,
    RENDER_READY,
    WEB_DIST,
    first_render_ms,
    start_server,
    stop_server,
)

JS_BUDGET_KB = 400


def script_kb() -> float:
    """Gzipped kilobytes of every script in web/dist."""
    files = [*WEB_DIST.glob("assets/*.js"), *WEB_DIST.glob("assets/*.mjs"), WEB_DIST / "sw.js"]
    return sum(len(gzip.compress(p.read_bytes(), 9)) for p in files if p.is_file()) / 1024


def main() -> None:
    from playwright.sync_api import sync_playwright

    small = "--small" in sys.argv
    print(
        f"load average at start {os.getloadavg()[0]:.1f}; demo city {'small' if small else 'full'}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), small=small)
        try:
            token = server.token("supervisor")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS
                )
                for view in RENDER_READY:
                    times = [first_render_ms(browser, server.url, view, token) for _ in range(3)]
                    median = statistics.median(times)
                    verdict = "within" if median <= RENDER_BUDGET_MS else "OVER"
                    print(
                        f"{view:8s} first map render: median {median:6.0f} ms "
                        f"(runs {', '.join(f'{t:.0f}' for t in times)}) - {verdict} the "
                        f"{RENDER_BUDGET_MS} ms budget"
                    )
                browser.close()
        finally:
            stop_server(server)
    kb = script_kb()
    verdict = "within" if kb <= JS_BUDGET_KB else "OVER"
    print(f"JavaScript shipped: {kb:.0f} KB gzipped - {verdict} the {JS_BUDGET_KB} KB budget")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
