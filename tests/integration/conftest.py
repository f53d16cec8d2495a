"""Private Mosquitto brokers: one with the shipped settings, one with Mosquitto's defaults.

The machine's shared broker keeps the default ``max_queued_messages`` (1,000 per session) and,
when other tests load it, drops queued messages of an absent ingester ("Outgoing messages are
being dropped" in its log). Tests that depend on the broker's settings start their own broker
from the same Mosquitto binary on a free port: ``durable_broker`` runs the settings shipped in
deploy/mosquitto/shancheng.conf, ``default_broker`` none at all.
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


SHIPPED_CONF = Path(__file__).parents[2] / "deploy" / "mosquitto" / "shancheng.conf"


@pytest.fixture
def durable_broker(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A private Mosquitto with the shipped settings (deploy/mosquitto/shancheng.conf)."""
    store = tmp_path / "mosquitto-store"
    store.mkdir()
    shipped = SHIPPED_CONF.read_text().replace(
        "persistence_location /var/lib/mosquitto/", f"persistence_location {store}/"
    )
    yield from _private_broker(tmp_path, shipped)


@pytest.fixture
def default_broker(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A private Mosquitto with Mosquitto's own defaults (1,000 queued messages per session)."""
    yield from _private_broker(tmp_path, "")


def _private_broker(tmp_path: Path, settings: str) -> Iterator[tuple[str, int]]:
    if not Path(MOSQUITTO).is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("the mosquitto binary is required under CI=true")
        pytest.skip("the mosquitto binary is not installed")
    port = free_port()
    tmp_path = tmp_path / f"mosquitto-{port}"
    tmp_path.mkdir()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n{settings}")
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
