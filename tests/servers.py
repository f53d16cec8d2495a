"""Real servers for the tests: a free local port, and an app served by uvicorn in a thread."""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Iterator


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def uvicorn_in_thread(
    app: Any, *, lifespan: Literal["on", "off"] = "off", start_timeout_s: float = 20.0
) -> Iterator[str]:
    """Serve ``app`` on a free port in a thread; yield its base URL; stop it and check it stopped."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped before it started"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        assert not thread.is_alive(), "uvicorn did not stop"


class StreamListener:
    """An operator on ``path``: records when each ``event`` arrives, by the field ``key``."""

    def __init__(self, url, token, event, key, *, until):
        self.arrived: dict[str, float] = {}
        self.events: dict[str, dict] = {}  # the first event of each key, as it arrived
        self.opened = threading.Event()
        self._args = (url, token, event, key, until)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self.opened.wait(30), "the stream did not open"

    def _run(self):
        import httpx2

        url, token, wanted, key, until = self._args
        with (
            httpx2.Client(timeout=30) as client,
            client.stream("GET", url, params={"access_token": token}) as r,
        ):
            assert r.status_code == 200, r.read()
            event = None
            for line in r.iter_lines():
                if line.startswith(": stream open"):
                    self.opened.set()
                elif line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == wanted:
                    data = json.loads(line[6:])
                    self.arrived.setdefault(data[key], time.monotonic())
                    self.events.setdefault(data[key], data)
                    if len(self.arrived) >= until:
                        return

    def join(self):
        self._thread.join(10)
