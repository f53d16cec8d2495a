"""Check from outside that the MQTT broker gives the ingesters what they rely on.

Run at every ingester start (``shancheng lifelines ingest``) and on its own
(``shancheng lifelines broker-check``). The CONNACK of an MQTT 5 connection tells whether the
broker supports QoS 1, wildcard and shared subscriptions and how long it keeps an absent
session; a probe then measures how many messages it queues for an absent session
(Mosquitto's ``max_queued_messages``, 1,000 by default) by leaving a probe session, publishing
more than that, and counting what comes back. What cannot be seen from outside (persistence
across a broker restart) is named in the report. The settings shipped in
``deploy/mosquitto/shancheng.conf`` pass every check.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

QUEUE_PROBE = 2_000
"""Messages the queue probe sends to an absent session (more than Mosquitto's default cap)."""
SESSION_EXPIRY_S = 7 * 24 * 3600
"""How long the ingester asks the broker to keep its session (as ``lifelines.mqtt``)."""


@dataclass
class BrokerReport:
    """What the check found.

    ``problems`` stop an ingester; ``warnings`` lose data silently unless gateways backfill;
    ``notes`` are what it measured, or could not.
    """

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem and no warning."""
        return not (self.problems or self.warnings)


def check_broker(
    host: str, port: int, *, shared: bool = True, probe: int = QUEUE_PROBE, timeout_s: float = 10
) -> BrokerReport:
    """Connect, read the broker's limits, and measure its queue for an absent session."""
    report = BrokerReport()
    client_id = f"shancheng-probe-{uuid.uuid4().hex[:10]}"
    topic = f"shancheng/probe/{client_id}"
    received: list[int] = []
    connack: dict[str, object] = {}
    subscribed = threading.Event()

    def on_connect(client: paho.Client, _u: object, _f: object, rc: object, props: object) -> None:
        connack.update(getattr(props, "json", dict)())
        connack["rc"] = str(rc)
        client.subscribe(topic, qos=1)

    def probe_session() -> paho.Client:
        client = _client(client_id)  # a new client each time (paho leaks a reused one's sockets)
        client.on_connect = on_connect
        client.on_subscribe = lambda *_: subscribed.set()
        client.on_message = lambda *_: received.append(1)
        _connect(client, host, port)
        return client

    probe_client = probe_session()
    try:
        if not subscribed.wait(timeout_s):
            report.problems.append(
                f"mqtt://{host}:{port}: no MQTT 5 subscription within {timeout_s} s"
            )
            return report
        _read_connack(connack, report, shared=shared)
        _stop(probe_client)
        sent = _publish(host, port, topic, probe, timeout_s)
        received.clear()
        probe_client = probe_session()
        _read_queue(_settled_count(received, sent, timeout_s), sent, report)
    finally:
        _stop(probe_client)
        _forget(host, port, client_id)
    report.notes.append(
        "not visible from outside: whether sessions and queues survive a broker restart "
        "(Mosquitto `persistence true`)"
    )
    return report


def _settled_count(received: list[int], expected: int, timeout_s: float) -> int:
    """How many arrived once the flow stopped (nothing new for half a second)."""
    deadline = time.monotonic() + timeout_s
    seen, quiet_since = -1, time.monotonic()
    while len(received) < expected and time.monotonic() < deadline:
        if len(received) != seen:
            seen, quiet_since = len(received), time.monotonic()
        elif time.monotonic() - quiet_since > 0.5:  # noqa: PLR2004 - a broker's queue flushes at once
            break
        time.sleep(0.02)
    return len(received)


def _read_connack(connack: dict[str, object], report: BrokerReport, *, shared: bool) -> None:
    if connack.get("MaximumQoS") == 0:
        report.problems.append("the broker supports QoS 0 only; the ingester needs QoS 1")
    if connack.get("WildcardSubscriptionAvailable") == 0:
        report.problems.append("the broker refuses wildcard subscriptions (v1.1/+/Observations)")
    if shared and connack.get("SharedSubscriptionAvailable") == 0:
        report.problems.append("the broker has no shared subscriptions: run one ingester only")
    expiry = connack.get("SessionExpiryInterval")
    if isinstance(expiry, int) and expiry < SESSION_EXPIRY_S:
        report.warnings.append(
            f"the broker keeps an absent session {expiry} s, not the {SESSION_EXPIRY_S} s asked: "
            "an ingester away longer loses its queue"
        )
    report.notes.append(f"CONNACK properties: {connack or 'none'}")


def _read_queue(received: int, sent: int, report: BrokerReport) -> None:
    if received >= sent:
        report.notes.append(f"queue for an absent session: kept all {sent:,} probe messages")
        return
    report.warnings.append(
        f"the broker kept {received:,} of {sent:,} messages for an absent session "
        "(Mosquitto `max_queued_messages`, default 1,000): what an ingester misses beyond that "
        "is dropped -- it shows as gaps on record, closed only by the gateways' backfill; "
        "deploy/mosquitto/shancheng.conf sets no cap"
    )


def _client(client_id: str) -> paho.Client:
    return paho.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )


def _connect(client: paho.Client, host: str, port: int) -> None:
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = SESSION_EXPIRY_S
    client.connect(host, port, keepalive=10, clean_start=False, properties=properties)
    client.loop_start()


def _stop(client: paho.Client) -> None:
    client.disconnect()
    client.loop_stop()


def _publish(host: str, port: int, topic: str, count: int, timeout_s: float) -> int:
    publisher = _client("")
    publisher.max_queued_messages_set(0)
    publisher.connect(host, port, keepalive=10)
    publisher.loop_start()
    try:
        infos = [publisher.publish(topic, b"p", qos=1) for _ in range(count)]
        deadline = time.monotonic() + timeout_s
        for info in infos:
            info.wait_for_publish(max(0.0, deadline - time.monotonic()))
        return sum(info.is_published() for info in infos)
    finally:
        _stop(publisher)


def _forget(host: str, port: int, client_id: str) -> None:
    """Drop the probe's session (a clean start with no expiry)."""
    client = _client(client_id)
    client.connect(host, port, keepalive=10, clean_start=True)
    client.loop_start()
    time.sleep(0.1)
    _stop(client)
