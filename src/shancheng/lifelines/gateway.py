"""A field gateway's side of telemetry accounting: number every message, keep a buffer, backfill.

A :class:`Gateway` gives each message it publishes the next sequence number of its boot epoch
and keeps the last ``buffer_size`` messages. When the platform has a gap on record for it
(``GET /lifelines/telemetry/gaps``), :meth:`Gateway.backfill` posts the missing messages from
the buffer (``POST /lifelines/telemetry/backfill``), which closes the gap. What fell out of the
buffer before the backfill stays on record as a gap: lost, but known to be lost.

The HTTP client is the standard library's: a gateway's program should not need the server's
dependencies.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from shancheng.lifelines.accounting import Stamp

BACKFILL_CHUNK = 500
"""Most messages per backfill request (the server's limit is the same)."""
BACKFILL_BYTES = 2_000_000
"""Most payload bytes per backfill request (the server takes 4 MiB with the defaults)."""


@dataclass(frozen=True, slots=True)
class BackfillReport:
    """What one backfill did: messages posted, and messages the buffer no longer had."""

    posted: int
    unavailable: int
    stored_readings: int


@dataclass
class Gateway:
    """Numbers messages within a boot epoch and remembers the recent ones for backfill.

    Parameters
    ----------
    gateway_id
        The source's name, the same on every message.
    epoch
        Boot epoch: a new one each start (default: the start time in ms), so a gateway that
        restarts and counts from 1 again is a new source, not a flood of duplicates.
    buffer_size
        How many recent messages are kept for backfill.
    """

    gateway_id: str
    epoch: int = field(default_factory=lambda: int(time.time() * 1000))
    buffer_size: int = 100_000
    next_seq: int = 1
    _buffer: deque[tuple[int, str, bytes]] = field(init=False)

    def __post_init__(self) -> None:
        """Make the buffer (a ring of ``buffer_size`` messages)."""
        self._buffer = deque(maxlen=self.buffer_size)

    def number(self, topic: str, payload: bytes) -> Stamp:
        """Give a message its stamp and keep it in the buffer."""
        stamp = Stamp(self.gateway_id, self.epoch, self.next_seq)
        self._buffer.append((self.next_seq, topic, payload))
        self.next_seq += 1
        return stamp

    def buffered(self, first_seq: int, last_seq: int) -> list[tuple[int, str, bytes]]:
        """Return the buffered messages numbered ``first_seq``..``last_seq`` still held."""
        if not self._buffer:
            return []
        oldest = self._buffer[0][0]
        start = max(first_seq, oldest) - oldest
        stop = min(last_seq, self._buffer[-1][0]) - oldest + 1
        return [self._buffer[i] for i in range(start, stop)] if stop > start else []

    def heartbeat(self, base_url: str, *, api_key: str, timeout_s: float = 30.0) -> int:
        """Tell the platform the last number sent; return how many messages it still misses.

        Over HTTP, so a broker that dropped the stream's last messages cannot drop this too:
        the platform puts them on record once its grace period (5 s) has passed.
        """
        if self.next_seq == 1:
            return 0
        body = {"gateway": self.gateway_id, "epoch": self.epoch, "last_seq": self.next_seq - 1}
        gaps = _request(f"{base_url}/lifelines/telemetry/heartbeat", api_key, body, timeout_s)
        return sum(int(g["missing"]) for g in gaps)

    def backfill(self, base_url: str, *, api_key: str, timeout_s: float = 30.0) -> BackfillReport:
        """Ask the platform which of this epoch's messages it misses and post them back."""
        query = urllib.parse.urlencode(
            {"gateway": self.gateway_id, "epoch": self.epoch, "state": "open", "limit": 1000}
        )
        gaps = _request(f"{base_url}/lifelines/telemetry/gaps?{query}", api_key, None, timeout_s)
        wanted = sum(int(g["missing"]) for g in gaps)
        messages = [m for g in gaps for m in self.buffered(g["first_seq"], g["last_seq"])]
        stored = 0
        for chunk in _chunks(messages):
            body = {
                "gateway": self.gateway_id,
                "epoch": self.epoch,
                "messages": [
                    {"seq": seq, "topic": topic, "payload": json.loads(payload)}
                    for seq, topic, payload in chunk
                ],
            }
            answer = _request(f"{base_url}/lifelines/telemetry/backfill", api_key, body, timeout_s)
            stored += int(answer["stored"])
        return BackfillReport(len(messages), max(0, wanted - len(messages)), stored)


def _chunks(messages: list[tuple[int, str, bytes]]) -> list[list[tuple[int, str, bytes]]]:
    """Split into requests of at most BACKFILL_CHUNK messages and about BACKFILL_BYTES."""
    chunks: list[list[tuple[int, str, bytes]]] = [[]]
    size = 0
    for message in messages:
        grow = len(message[1]) + len(message[2]) + 40
        if chunks[-1] and (len(chunks[-1]) >= BACKFILL_CHUNK or size + grow > BACKFILL_BYTES):
            chunks.append([])
            size = 0
        chunks[-1].append(message)
        size += grow
    return [chunk for chunk in chunks if chunk]


def _request(url: str, api_key: str, body: dict[str, Any] | None, timeout_s: float) -> Any:  # noqa: ANN401 - JSON
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - the platform's own http(s) URL
        url, data=data, method="GET" if body is None else "POST",
        headers={"X-API-Key": api_key, "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
        return json.loads(response.read())
