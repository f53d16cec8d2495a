"""A Mosquitto configured as docs/lifelines-telemetry.md asks for production.

The machine's shared broker keeps the default ``max_queued_messages`` (1,000 per session) and,
when other tests load it, drops queued messages of an absent ingester ("Outgoing messages are
being dropped" in its log). The durability test needs the documented production setting, so it
starts its own broker from the same Mosquitto binary on a free port.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.servers import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@pytest.fixture
def durable_broker(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A private Mosquitto with unlimited per-session queues (``max_queued_messages 0``)."""
    if not Path(MOSQUITTO).is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("the mosquitto binary is required under CI=true")
        pytest.skip("the mosquitto binary is not installed")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 0\nmax_inflight_messages 0\n"
    )
    log = tmp_path / "mosquitto.log"
    with log.open("wb") as sink:
        broker = subprocess.Popen(
            [MOSQUITTO, "-c", str(conf)], stdout=sink, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if broker.poll() is not None or time.monotonic() > deadline:
                broker.kill()
                broker.wait()
                err = log.read_text(errors="replace")[-500:]
                pytest.fail(f"private mosquitto did not start on port {port}: {err}")
            time.sleep(0.05)
    yield "127.0.0.1", port
    broker.terminate()
    broker.wait(timeout=10)
