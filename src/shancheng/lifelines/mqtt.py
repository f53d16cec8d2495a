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

Every reading is accounted for, whatever the broker's settings: messages numbered by their
gateway (MQTT 5 user properties ``gateway``, ``epoch``, ``seq``) are booked in the same
transaction as their readings (:mod:`~shancheng.lifelines.accounting`), so a message the broker
dropped (a capped queue while the ingester was away) becomes a gap on record, with a data-gap
alarm, until the gateway's backfill closes it. Several ingesters share the work through one
MQTT 5 shared subscription (``$share/<group>/…``), each with its own persistent session.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from shancheng.errors import ConfigError
from shancheng.lifelines.accounting import (
    GRACE_MS,
    Accounting,
    Stamp,
    Via,
    account_messages,
    parse_stamp,
    sweep_gaps,
)
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

    from shancheng.lifelines.gateway import Gateway
    from shancheng.lifelines.sensors import Sensor

logger = logging.getLogger(__name__)

QOS = 1
SESSION_EXPIRY_S = 7 * 24 * 3600
"""The broker keeps an absent ingester's session (and its queued messages) this long."""
RECEIVE_MAXIMUM = 65_535
"""MQTT 5 Receive Maximum: how many unacknowledged messages the broker may send us at once.

Messages wait unacknowledged until their batch commits, so a small window (Mosquitto's default
for MQTT 3.1.1 clients is 20) would make the broker's per-client queue overflow and drop."""
SHARE_GROUP = "shancheng"
"""The default shared subscription group of ``shancheng lifelines ingest`` (the setting
``mqtt_share_group``): every ingester in it gets a share of the messages."""
PUBLISH_WINDOW = 20_000
"""Most messages a publisher keeps unacknowledged (MQTT packet ids are 16-bit: 65,535)."""


def subscription(share_group: str | None) -> str:
    """Return the topic filter an ingester subscribes to (shared when a group is given).

    Examples
    --------
    >>> subscription("shancheng")
    '$share/shancheng/v1.1/+/Observations'
    >>> subscription(None)
    'v1.1/+/Observations'
    """
    if not share_group:
        return SUBSCRIPTION
    if any(c in share_group for c in "/+#"):
        msg = f"`share_group`: {share_group!r} may not contain '/', '+' or '#'"
        raise ConfigError(msg)
    return f"$share/{share_group}/{SUBSCRIPTION}"


class Message(NamedTuple):
    """One MQTT message as the ingester keeps it until its batch commits."""

    topic: str
    payload: bytes
    stamp: Stamp | str | None = None  # a reason when the user properties were broken


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
    numbered: int = 0
    duplicate_messages: int = 0
    gaps_opened: int = 0
    gaps_closed: int = 0

    def add(self, batch: Ingested, messages: int, rejections: Sequence[Rejection]) -> None:
        """Count one stored batch."""
        result = batch.result
        self.messages += messages
        self.readings += result.received
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.rejected += result.rejected
        self.batches += 1
        self.reasons.update(r.reason for r in rejections)
        self.count_account(batch.account)

    def count_account(self, account: Accounting) -> None:
        """Count what message accounting found (a batch's, or a sweep's)."""
        self.numbered += account.received
        self.duplicate_messages += account.duplicates
        self.gaps_opened += len(account.opened)
        self.gaps_closed += len(account.closed)


@dataclass(frozen=True, slots=True)
class Ingested:
    """One committed batch: the store's counts, the readings kept, the message accounting."""

    result: BatchResult
    readings: list[Reading]
    account: Accounting


def ingest_messages(
    engine: Engine,
    parser: ReadingParser,
    messages: Sequence[Message],
    *,
    via: Via = "mqtt",
    stats: IngestStats | None = None,
    grace_ms: int = GRACE_MS,
) -> Ingested:
    """Parse messages, then book their numbers and store their readings in one transaction.

    A message whose numbering is broken is still read (its readings are kept) and the
    numbering is refused as ``bad_sequence``.
    """
    readings: list[Reading] = []
    rejections: list[Rejection] = []
    stamps: list[Stamp] = []
    for message in messages:
        accepted, refused = parser.parse(message.topic, message.payload)
        readings += accepted
        rejections += refused
        if isinstance(message.stamp, Stamp):
            stamps.append(message.stamp)
        elif isinstance(message.stamp, str):
            rejections.append(Rejection(message.topic, "bad_sequence", message.stamp))
            parser.counts["bad_sequence"] += 1
    with engine.begin() as conn:
        # accounting first: it locks the batch's sources in order (see accounting's docstring)
        account = (
            account_messages(conn, stamps, now_ms=_now_ms(), via=via, grace_ms=grace_ms)
            if stamps
            else Accounting()
        )
        result = store_batch(conn, readings, rejections)
    batch = Ingested(result, readings, account)
    if stats is not None:
        stats.add(batch, len(messages), rejections)
    return batch


def sweep(engine: Engine, *, grace_ms: int = GRACE_MS) -> Accounting:
    """Put on record every hole that waited past the grace period (one transaction)."""
    with engine.begin() as conn:
        return sweep_gaps(conn, now_ms=_now_ms(), grace_ms=grace_ms)


def _now_ms() -> int:
    return int(time.time() * 1000)


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
    share_group
        Join this MQTT 5 shared subscription (``None``: a plain one).
    batch_max
        Flush when this many messages wait.
    flush_interval_s
        Flush at least this often while messages wait.
    on_readings
        Called with each committed batch's accepted readings (e.g. the alarm engine).
    on_tick, tick_s
        Called every ``tick_s`` seconds while running (e.g. the offline-sensor check).
    on_gaps
        Called when gaps opened or closed (e.g. the data-gap alarm).
    grace_ms, sweep_s
        A hole becomes a gap once its next message waited ``grace_ms``; holes are swept
        every ``sweep_s`` seconds even when their source is silent.
    """

    def __init__(
        self,
        engine: Engine,
        sensors: dict[str, Sensor],
        *,
        host: str,
        port: int,
        client_id: str,
        share_group: str | None = None,
        batch_max: int = 5_000,
        flush_interval_s: float = 0.05,
        on_readings: Callable[[list[Reading]], object] | None = None,
        on_tick: Callable[[], object] | None = None,
        tick_s: float = 30.0,
        on_gaps: Callable[[Accounting], object] | None = None,
        grace_ms: int = GRACE_MS,
        sweep_s: float = 1.0,
        retire: bool = False,
    ) -> None:
        self.engine = engine
        self.retire = retire
        self.parser = ReadingParser(sensors)
        self.stats = IngestStats()
        self.batch_max = batch_max
        self.flush_interval_s = flush_interval_s
        self.on_readings = on_readings
        self.on_tick = on_tick
        self.tick_s = tick_s
        self.on_gaps = on_gaps
        self.grace_ms = grace_ms
        self.sweep_s = sweep_s
        self.topic_filter = subscription(share_group)
        self.ready = threading.Event()
        self._pending: list[tuple[int, Message]] = []
        self._lock = threading.Lock()
        self._host, self._port = host, port
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )  # fmt: skip
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_unsubscribe = self._on_unsubscribe
        self._client.on_message = self._on_message

    def _on_connect(self, client: paho.Client, *_args: Any) -> None:  # noqa: ANN401 - paho
        if self.retire:  # take no new share; what the session holds still arrives
            client.unsubscribe(self.topic_filter)
        else:
            client.subscribe(self.topic_filter, qos=QOS)

    def _on_subscribe(self, *_args: Any) -> None:  # noqa: ANN401 - paho
        logger.info("ingester subscribed to %s", self.topic_filter)
        self.ready.set()

    def _on_unsubscribe(self, *_args: Any) -> None:  # noqa: ANN401 - paho
        logger.info("retiring ingester left %s; draining its session", self.topic_filter)
        self.ready.set()

    def _on_message(self, _client: paho.Client, _userdata: object, msg: paho.MQTTMessage) -> None:
        pairs = getattr(msg.properties, "UserProperty", None) or ()
        message = Message(msg.topic, bytes(msg.payload), parse_stamp(pairs))
        with self._lock:
            self._pending.append((msg.mid, message))

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
        ingested = ingest_messages(
            self.engine, self.parser, [message for _, message in batch], stats=self.stats,
            grace_ms=self.grace_ms,
        )  # fmt: skip
        for mid, _ in batch:
            self._client.ack(mid, QOS)
        if self.on_readings is not None and ingested.readings:
            self.on_readings(ingested.readings)
        self._report_gaps(ingested.account)
        return ingested.result

    def sweep(self) -> Accounting:
        """Put on record the holes of silent sources (see :func:`sweep`)."""
        account = sweep(self.engine, grace_ms=self.grace_ms)
        self.stats.count_account(account)
        self._report_gaps(account)
        return account

    def _report_gaps(self, account: Accounting) -> None:
        for gap in account.opened:
            logger.warning(
                "data gap: gateway %s epoch %d missed messages %d-%d (%d)",
                gap.gateway, gap.epoch, gap.first_seq, gap.last_seq, gap.size,
            )  # fmt: skip
        if self.on_gaps is not None and (account.opened or account.closed):
            self.on_gaps(account)

    def run(self, stop: threading.Event, *, idle_exit_s: float | None = None) -> IngestStats:
        """Flush in a loop until ``stop`` is set (or nothing arrived for ``idle_exit_s``)."""
        last_data = last_tick = last_sweep = time.monotonic()
        while not stop.is_set():
            if self.on_tick is not None and time.monotonic() - last_tick >= self.tick_s:
                self.on_tick()
                last_tick = time.monotonic()
            if time.monotonic() - last_sweep >= self.sweep_s:
                self.sweep()
                last_sweep = time.monotonic()
            with self._lock:
                waiting = len(self._pending)
            if waiting < self.batch_max:
                stop.wait(self.flush_interval_s)
            if self.flush() is not None:
                last_data = time.monotonic()
            elif idle_exit_s is not None and time.monotonic() - last_data > idle_exit_s:
                break
        self.flush()
        self.sweep()
        return self.stats

    def close(self, *, forget: bool = False) -> None:
        """Disconnect; the broker keeps the session for the next start unless ``forget``."""
        if forget:  # MQTT 5: a session expiry of 0 on DISCONNECT ends the session now
            properties = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = 0
            self._client.disconnect(properties=properties)
        else:
            self._client.disconnect()
        self._client.loop_stop()


class MqttPublisher:
    """Publish observations with QoS 1; :meth:`wait` returns once the broker acknowledged all.

    With a :class:`~shancheng.lifelines.gateway.Gateway`, every message carries the gateway's
    numbering (MQTT 5 user properties) and stays in its buffer for backfill. At most
    ``window`` messages wait unacknowledged: publishing blocks while the window is full, so
    any number of messages can be sent (MQTT's packet ids run out at 65,535).
    """

    def __init__(
        self, host: str, port: int, *, client_id: str = "", gateway: Gateway | None = None,
        window: int = PUBLISH_WINDOW,
    ) -> None:  # fmt: skip
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        self._client.max_queued_messages_set(0)
        self._client.max_inflight_messages_set(1000)
        self._client.connect(host, port, keepalive=30)
        self._client.loop_start()
        self.gateway = gateway
        self.window = window
        self.acknowledged = 0
        self._infos: deque[paho.MQTTMessageInfo] = deque()

    def publish(self, sensor: Sensor, times_ms: Sequence[int], values: Sequence[float]) -> None:
        """Publish one message holding these observations."""
        payload = encode_observations(sensor, times_ms, values)
        self.publish_raw(observation_topic(sensor.sensor_id), payload)

    def publish_raw(self, topic: str, payload: bytes) -> None:
        """Publish a ready-made payload (tests of bad input use this)."""
        while len(self._infos) >= self.window:
            self._settle(self._infos[0], time.monotonic() + 60.0)
        properties = None
        if self.gateway is not None:
            stamp = self.gateway.number(topic, payload)
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.UserProperty = [
                ("gateway", stamp.gateway), ("epoch", str(stamp.epoch)), ("seq", str(stamp.seq)),
            ]  # fmt: skip
        self._infos.append(self._client.publish(topic, payload, qos=QOS, properties=properties))

    def _settle(self, info: paho.MQTTMessageInfo, deadline: float) -> bool:
        """Wait for the oldest message's acknowledgement; drop it from the window."""
        info.wait_for_publish(max(0.0, deadline - time.monotonic()))
        if not info.is_published():
            return False
        self._infos.popleft()
        self.acknowledged += 1
        return True

    def wait(self, timeout_s: float = 60.0) -> int:
        """Wait for the broker's acknowledgements; return how many came since the last call."""
        deadline = time.monotonic() + timeout_s
        while self._infos and self._settle(self._infos[0], deadline):
            pass
        done, self.acknowledged = self.acknowledged, 0
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


def open_session(
    host: str, port: int, client_id: str, *, share_group: str | None = None,
    timeout_s: float = 10.0,
) -> None:  # fmt: skip
    """Create the ingester's persistent session and subscription on the broker, then leave.

    From then on the broker queues every observation for ``client_id`` even before the
    ingester first starts, so a deployment opens the session once, before sensors publish.
    """
    subscribed = threading.Event()
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    topic_filter = subscription(share_group)
    client.on_connect = lambda c, *_: c.subscribe(topic_filter, qos=QOS)
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

    queue: list[Message] = field(default_factory=list)

    def publish(self, sensor: Sensor, times_ms: Sequence[int], values: Sequence[float]) -> None:
        """Queue one message of observations."""
        self.queue.append(
            Message(
                observation_topic(sensor.sensor_id), encode_observations(sensor, times_ms, values)
            )
        )

    def deliver(
        self, engine: Engine, parser: ReadingParser, *, stats: IngestStats | None = None
    ) -> Ingested:
        """Ingest and store everything queued, in publishing order."""
        batch, self.queue = self.queue, []
        return ingest_messages(engine, parser, batch, stats=stats)
