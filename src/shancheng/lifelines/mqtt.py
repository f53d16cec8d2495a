"""MQTT adapter: ingest SensorThings observations from a broker into the store (paho-mqtt).

At-least-once in, exactly-once stored. The ingester subscribes with QoS 1 on a persistent
session (``clean_session=False``, a fixed ``client_id``) and acknowledges messages *manually*,
only after the transaction holding their readings has committed. If it dies mid-stream, the
broker keeps every message it did not acknowledge (and queues new ones) for the session, and
redelivers them when the ingester comes back; the readings' ``(sensor_id, observed_at_ms)`` key
turns the redelivered ones into counted duplicates. So no reading the broker acknowledged to its
publisher is lost, and none is stored twice.

:class:`LoopbackBroker` is the in-process stand-in used when no broker runs (``make demo``): the
same topics and payloads, delivered synchronously to the same parser and store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from shancheng.errors import ConfigError
from shancheng.lifelines.repository import BatchResult, store_batch
from shancheng.lifelines.telemetry import (
    SUBSCRIPTION,
    Reading,
    ReadingParser,
    Rejection,
    encode_observations,
    observation_topic,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy.engine import Engine

    from shancheng.lifelines.sensors import Sensor

logger = logging.getLogger(__name__)

QOS = 1
SESSION_EXPIRY_S = 7 * 24 * 3600
"""The broker keeps an absent ingester's session (and its queued messages) this long."""
RECEIVE_MAXIMUM = 65_535
"""MQTT 5 Receive Maximum: how many unacknowledged messages the broker may send us at once.

Messages wait unacknowledged until their batch commits, so a small window (Mosquitto's default
for MQTT 3.1.1 clients is 20) would make the broker's per-client queue overflow and drop."""


def parse_mqtt_url(url: str) -> tuple[str, int]:
    """Host and port of ``mqtt://host:port`` (port 1883 by default).

    Examples
    --------
    >>> parse_mqtt_url("mqtt://127.0.0.1:1884")
    ('127.0.0.1', 1884)
    """
    parsed = urlparse(url)
    if parsed.scheme not in {"mqtt", "mqtts"} or not parsed.hostname:
        msg = f"setting `mqtt_url`: expected mqtt://host:port, got {url!r}"
        raise ConfigError(msg)
    return parsed.hostname, parsed.port or 1883


@dataclass
class IngestStats:
    """Running totals of an ingester."""

    messages: int = 0
    readings: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, result: BatchResult, messages: int, rejections: Sequence[Rejection]) -> None:
        """Count one stored batch."""
        self.messages += messages
        self.readings += result.received
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.rejected += result.rejected
        self.batches += 1
        self.reasons.update(r.reason for r in rejections)


def ingest_messages(
    engine: Engine,
    parser: ReadingParser,
    messages: Sequence[tuple[str, bytes]],
    *,
    stats: IngestStats | None = None,
) -> tuple[BatchResult, list[Reading]]:
    """Parse ``(topic, payload)`` messages and store them in one transaction.

    Returns the batch result and the accepted readings (for the alarm engine).
    """
    readings: list[Reading] = []
    rejections: list[Rejection] = []
    for topic, payload in messages:
        accepted, refused = parser.parse(topic, payload)
        readings += accepted
        rejections += refused
    with engine.begin() as conn:
        result = store_batch(conn, readings, rejections)
    if stats is not None:
        stats.add(result, len(messages), rejections)
    return result, readings


class MqttIngester:
    """Subscribe to every sensor's observations and store them in batches.

    Parameters
    ----------
    engine
        Database engine (migrated).
    sensors
        The registry.
    host, port
        The broker.
    client_id
        Fixed id of the persistent session; a restarted ingester must reuse it.
    batch_max
        Flush when this many messages wait.
    flush_interval_s
        Flush at least this often while messages wait.
    on_readings
        Called with each committed batch's accepted readings (e.g. the alarm engine).
    on_tick, tick_s
        Called every ``tick_s`` seconds while running (e.g. the offline-sensor check).
    """

    def __init__(
        self,
        engine: Engine,
        sensors: dict[str, Sensor],
        *,
        host: str,
        port: int,
        client_id: str,
        batch_max: int = 5_000,
        flush_interval_s: float = 0.05,
        on_readings: Callable[[list[Reading]], object] | None = None,
        on_tick: Callable[[], object] | None = None,
        tick_s: float = 30.0,
    ) -> None:
        self.engine = engine
        self.parser = ReadingParser(sensors)
        self.stats = IngestStats()
        self.batch_max = batch_max
        self.flush_interval_s = flush_interval_s
        self.on_readings = on_readings
        self.on_tick = on_tick
        self.tick_s = tick_s
        self.ready = threading.Event()
        self._pending: list[tuple[int, str, bytes]] = []
        self._lock = threading.Lock()
        self._host, self._port = host, port
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )  # fmt: skip
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    def _on_connect(self, client: paho.Client, *_args: Any) -> None:  # noqa: ANN401 - paho
        client.subscribe(SUBSCRIPTION, qos=QOS)

    def _on_subscribe(self, *_args: Any) -> None:  # noqa: ANN401 - paho
        self.ready.set()

    def _on_message(self, _client: paho.Client, _userdata: object, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self._pending.append((msg.mid, msg.topic, bytes(msg.payload)))

    def start(self) -> None:
        """Connect and start the network thread."""
        self._client.connect(
            self._host, self._port, keepalive=30, clean_start=False,
            properties=_session_properties(),
        )  # fmt: skip
        self._client.loop_start()

    def flush(self) -> BatchResult | None:
        """Store what has arrived, commit, then acknowledge those messages to the broker."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return None
        result, readings = ingest_messages(
            self.engine, self.parser, [(topic, payload) for _, topic, payload in batch],
            stats=self.stats,
        )  # fmt: skip
        for mid, _, _ in batch:
            self._client.ack(mid, QOS)
        if self.on_readings is not None and readings:
            self.on_readings(readings)
        return result

    def run(self, stop: threading.Event, *, idle_exit_s: float | None = None) -> IngestStats:
        """Flush in a loop until ``stop`` is set (or nothing arrived for ``idle_exit_s``)."""
        last_data = last_tick = time.monotonic()
        while not stop.is_set():
            if self.on_tick is not None and time.monotonic() - last_tick >= self.tick_s:
                self.on_tick()
                last_tick = time.monotonic()
            with self._lock:
                waiting = len(self._pending)
            if waiting < self.batch_max:
                stop.wait(self.flush_interval_s)
            if self.flush() is not None:
                last_data = time.monotonic()
            elif idle_exit_s is not None and time.monotonic() - last_data > idle_exit_s:
                break
        self.flush()
        return self.stats

    def close(self) -> None:
        """Disconnect (the broker keeps the session for the next start)."""
        self._client.disconnect()
        self._client.loop_stop()


class MqttPublisher:
    """Publish observations with QoS 1; :meth:`wait` returns once the broker acknowledged all."""

    def __init__(self, host: str, port: int, *, client_id: str = "") -> None:
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self._client.max_queued_messages_set(0)
        self._client.max_inflight_messages_set(1000)
        self._client.connect(host, port, keepalive=30)
        self._client.loop_start()
        self._infos: list[paho.MQTTMessageInfo] = []

    def publish(self, sensor: Sensor, times_ms: Sequence[int], values: Sequence[float]) -> None:
        """Publish one message holding these observations."""
        payload = encode_observations(sensor, times_ms, values)
        self.publish_raw(observation_topic(sensor.sensor_id), payload)

    def publish_raw(self, topic: str, payload: bytes) -> None:
        """Publish a ready-made payload (tests of bad input use this)."""
        self._infos.append(self._client.publish(topic, payload, qos=QOS))

    def wait(self, timeout_s: float = 60.0) -> int:
        """Wait for the broker's acknowledgements; return how many messages it acknowledged."""
        deadline = time.monotonic() + timeout_s
        for info in self._infos:
            info.wait_for_publish(max(0.0, deadline - time.monotonic()))
        done = sum(info.is_published() for info in self._infos)
        self._infos = [info for info in self._infos if not info.is_published()]
        return done

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()


def _session_properties() -> Properties:
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = SESSION_EXPIRY_S
    properties.ReceiveMaximum = RECEIVE_MAXIMUM
    return properties


def open_session(host: str, port: int, client_id: str, *, timeout_s: float = 10.0) -> None:
    """Create the ingester's persistent session and subscription on the broker, then leave.

    From then on the broker queues every observation for ``client_id`` even before the
    ingester first starts, so a deployment opens the session once, before sensors publish.
    """
    subscribed = threading.Event()
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.on_connect = lambda c, *_: c.subscribe(SUBSCRIPTION, qos=QOS)
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect(host, port, keepalive=10, clean_start=False, properties=_session_properties())
    client.loop_start()
    ok = subscribed.wait(timeout_s)
    client.disconnect()
    client.loop_stop()
    if not ok:
        msg = f"mqtt://{host}:{port}: no subscription acknowledgement within {timeout_s} s"
        raise ConfigError(msg)


def forget_session(host: str, port: int, client_id: str) -> None:
    """Ask the broker to drop a persistent session (connect once with a clean session)."""
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.connect(host, port, keepalive=10, clean_start=True)
    client.loop_start()
    time.sleep(0.2)
    client.disconnect()
    client.loop_stop()


@dataclass
class LoopbackBroker:
    """In-process stand-in for a broker when none runs: same topics, same payloads.

    Messages published here wait in order until :meth:`deliver` hands them to the ingestion
    path; nothing leaves the process. ``make demo`` uses it so the demo stays server-free.
    """

    queue: list[tuple[str, bytes]] = field(default_factory=list)

    def publish(self, sensor: Sensor, times_ms: Sequence[int], values: Sequence[float]) -> None:
        """Queue one message of observations."""
        self.queue.append(
            (observation_topic(sensor.sensor_id), encode_observations(sensor, times_ms, values))
        )

    def deliver(
        self, engine: Engine, parser: ReadingParser, *, stats: IngestStats | None = None
    ) -> tuple[BatchResult, list[Reading]]:
        """Ingest and store everything queued, in publishing order."""
        batch, self.queue = self.queue, []
        return ingest_messages(engine, parser, batch, stats=stats)
