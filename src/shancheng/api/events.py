"""Live events for the dashboard: an in-process hub and its server-sent-events encoding.

Publishers are threads (the HTTP ingest runs in the thread pool, the MQTT ingester in its own
thread) or the event loop; each subscriber is one open ``EventSource`` with its own bounded
queue on the event loop, fed with ``call_soon_threadsafe``. A subscriber too slow to keep up
loses the oldest events (counted), never blocks the publishers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

logger = logging.getLogger(__name__)

QUEUE_SIZE = 1000
"""Events a subscriber may have waiting before the oldest are dropped."""
HEARTBEAT_S = 15.0
"""A comment line is sent after this much silence, so proxies keep the connection open."""


@dataclass(eq=False)
class Subscriber:
    """One listener: the topics it wants, its queue and its event loop."""

    topics: frozenset[str]
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[tuple[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: int = 0

    def offer(self, topic: str, data: Any) -> None:  # noqa: ANN401 - any JSON value
        """Queue an event (runs on the subscriber's loop)."""
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait((topic, data))


@dataclass(eq=False)
class EventHub:
    """Fan events out to the subscribers of their topic."""

    _subscribers: set[Subscriber] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def subscribe(self, topics: frozenset[str]) -> Subscriber:
        """Add a subscriber on the running event loop."""
        subscriber = Subscriber(topics, asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Remove a subscriber (its connection closed)."""
        with self._lock:
            self._subscribers.discard(subscriber)

    def publish(self, topic: str, data: Any) -> None:  # noqa: ANN401 - any JSON value
        """Send an event to every subscriber of ``topic``; safe from any thread."""
        with self._lock:
            targets = [s for s in self._subscribers if topic in s.topics]
        for subscriber in targets:
            with contextlib.suppress(RuntimeError):  # its loop has closed meanwhile
                subscriber.loop.call_soon_threadsafe(subscriber.offer, topic, data)

    @property
    def subscribers(self) -> int:
        """Number of open subscriptions."""
        with self._lock:
            return len(self._subscribers)


def sse(event: str, data: Any) -> bytes:  # noqa: ANN401 - any JSON value
    """Encode one server-sent event (``event:`` line, one ``data:`` line of JSON)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"event: {event}\ndata: {text}\n\n".encode()


async def event_stream(
    hub: EventHub,
    topics: frozenset[str],
    is_disconnected: Callable[[], Awaitable[bool]],
    *,
    poll: Callable[[], Awaitable[list[tuple[str, Any]]]] | None = None,
    poll_s: float = 1.0,
) -> AsyncIterator[bytes]:
    """Yield the hub's events of ``topics`` (and ``poll``'s, every ``poll_s``) until disconnect.

    The first chunk is a comment, so a client sees the stream open before any event. ``poll``
    runs on its own schedule, so a hub busy with readings (many a second) cannot hold back
    what only the poll finds (alarms and cases raised by other server processes).
    """
    loop = asyncio.get_running_loop()
    subscriber = hub.subscribe(topics)
    next_poll = loop.time() + poll_s
    last_sent = loop.time()
    try:
        yield b": stream open\n\n"
        while not await is_disconnected():
            try:
                wait = max(0.0, next_poll - loop.time())
                topic, data = await asyncio.wait_for(subscriber.queue.get(), timeout=wait)
            except TimeoutError:
                pass
            else:
                last_sent = loop.time()
                yield sse(topic, data)
            if loop.time() < next_poll:
                continue
            next_poll = loop.time() + poll_s
            if poll is not None:
                for topic, data in await poll():
                    last_sent = loop.time()
                    yield sse(topic, data)
            if loop.time() - last_sent >= HEARTBEAT_S:
                last_sent = loop.time()
                yield b": ping\n\n"
    finally:
        hub.unsubscribe(subscriber)
