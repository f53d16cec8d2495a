"""The live demo: a gas leak next to a main, from telemetry to the governance case.

Gas telemetry streams in, a leak next to a main raises a graded alarm, the duty officer
confirms it and the governance center gets a case with the isolation plan.

Transport: the real MQTT broker when asked (:class:`MqttTransport`), otherwise the in-process
:class:`~shancheng.lifelines.mqtt.LoopbackBroker` with the same topics and payloads, so
``make demo`` needs no server.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import numpy as np

from shancheng.cases.sensor_intake import CaseRef, SensorReport
from shancheng.lifelines.alarms import AlarmAction, AlarmState, RuleKind, apply_action
from shancheng.lifelines.isolation import isolate_break
from shancheng.lifelines.mqtt import (
    IngestStats,
    LoopbackBroker,
    Message,
    MqttIngester,
    MqttPublisher,
    forget_session,
)
from shancheng.lifelines.repository import register_sensors
from shancheng.lifelines.segments import attach_facilities
from shancheng.lifelines.sensors import Sensor, sensors_from_city
from shancheng.lifelines.service import AlarmDesk, city_network, confirm_alarm
from shancheng.lifelines.telemetry import Reading, ReadingParser, observation_topic

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from shancheng.cases.sensor_intake import SensorCaseOpener
    from shancheng.data.city import City
    from shancheng.lifelines.alarms import Alarm
    from shancheng.lifelines.isolation import IsolationPlan

MAIN_DIAMETER_MM = 200
"""A gas pipe at least this wide is a main."""
LEAK_RAMP_LEL = (4.0, 9.0, 13.0, 21.0, 28.0, 37.0, 52.0, 61.0)
"""Methane (% LEL) at the leaking well, one value a minute once the leak starts."""
STEP_MS = 60_000


class Transport(Protocol):
    """Where the scenario publishes, and how it learns what was stored."""

    stats: IngestStats

    def send(self, sensor: Sensor, times_ms: list[int], values: list[float]) -> None:
        """Publish observations of one sensor."""

    def send_raw(self, topic: str, payload: bytes) -> None:
        """Publish a raw message."""

    def collect(self) -> list[Reading]:
        """Deliver what was published; return the readings newly accepted."""


@dataclass
class LoopbackTransport:
    """The in-process transport: :class:`LoopbackBroker` into the store."""

    engine: Engine
    parser: ReadingParser
    broker: LoopbackBroker = field(default_factory=LoopbackBroker)
    stats: IngestStats = field(default_factory=IngestStats)

    def send(self, sensor: Sensor, times_ms: list[int], values: list[float]) -> None:
        """Queue one message."""
        self.broker.publish(sensor, times_ms, values)

    def send_raw(self, topic: str, payload: bytes) -> None:
        """Queue a raw message."""
        self.broker.queue.append(Message(topic, payload))

    def collect(self) -> list[Reading]:
        """Ingest the queue in one transaction."""
        return self.broker.deliver(self.engine, self.parser, stats=self.stats).readings


class MqttTransport:
    """The real broker: a QoS 1 publisher and an ingester on a throw-away session."""

    def __init__(self, engine: Engine, sensors: dict[str, Sensor], host: str, port: int) -> None:
        self._client_id = f"shancheng-demo-{uuid.uuid4().hex[:8]}"
        self._host, self._port = host, port
        self._received: list[Reading] = []
        self._ingester = MqttIngester(
            engine, sensors, host=host, port=port, client_id=self._client_id,
            on_readings=self._received.extend,
        )  # fmt: skip
        self._ingester.start()
        self._ingester.ready.wait(10)
        self._publisher = MqttPublisher(host, port)
        self._sent = 0
        self.stats = self._ingester.stats

    def send(self, sensor: Sensor, times_ms: list[int], values: list[float]) -> None:
        """Publish one message with QoS 1."""
        self._publisher.publish(sensor, times_ms, values)
        self._sent += 1

    def send_raw(self, topic: str, payload: bytes) -> None:
        """Publish a raw message with QoS 1."""
        self._publisher.publish_raw(topic, payload)
        self._sent += 1

    def collect(self) -> list[Reading]:
        """Wait until the ingester has stored every message published so far."""
        self._publisher.wait()
        deadline = time.monotonic() + 30.0
        while self.stats.messages < self._sent and time.monotonic() < deadline:
            self._ingester.flush()
            time.sleep(0.01)
        readings, self._received[:] = list(self._received), []
        return readings

    def close(self) -> None:
        """Disconnect both clients and drop the session."""
        self._publisher.close()
        self._ingester.close()
        forget_session(self._host, self._port, self._client_id)


@dataclass
class DemoCaseDesk:
    """Stand-in for the governance center's ``open_sensor_case`` in the demo.

    Idempotent on ``alarm_id`` like the real one; the application wires the real opener.
    """

    reports: dict[str, tuple[CaseRef, SensorReport]] = field(default_factory=dict)

    def __call__(self, report: SensorReport) -> CaseRef:
        """Open (or find) the case of ``report``."""
        if report.alarm_id in self.reports:
            ref = self.reports[report.alarm_id][0]
            return CaseRef(ref.case_id, ref.reference, created=False)
        number = len(self.reports) + 1
        ref = CaseRef(case_id=number, reference=f"DEMO-{number:04d}", created=True)
        self.reports[report.alarm_id] = (ref, report)
        return ref


@dataclass
class ScenarioResult:
    """What happened in the live scenario."""

    transport: str
    leak_sensor: Sensor
    main_link_id: str
    stats: IngestStats
    timeline: list[Alarm]
    alarm: Alarm
    plan: IsolationPlan
    report: SensorReport | None


def leak_site(city: City) -> tuple[Sensor, str]:
    """Find the methane sensor next to the widest gas main, and that main's link id."""
    net = city_network(city, "gas")
    sensors = sensors_from_city(city)
    links = net.links[net.links["kind"] == "pipe"]
    best: tuple[float, str, str] | None = None
    for sensor in sensors.values():
        if sensor.network != "gas" or sensor.kind != "methane":
            continue
        touching = links[
            (links["from_node"] == sensor.element_id) | (links["to_node"] == sensor.element_id)
        ]
        if touching.empty:
            continue
        widest = touching.sort_values(["diameter_mm", "link_id"], ascending=[False, True]).iloc[0]
        key = (-float(widest["diameter_mm"]), sensor.sensor_id, str(widest["link_id"]))
        if best is None or key < best:
            best = key
    if best is None or -best[0] < MAIN_DIAMETER_MM:
        msg = f"City {city.name!r}: no methane sensor sits next to a gas main"
        raise ValueError(msg)
    return sensors[best[1]], best[2]


def run_gas_leak_scenario(
    city: City,
    engine: Engine,
    opener: SensorCaseOpener,
    *,
    mqtt: tuple[str, int] | None = None,
    minutes: int = 20,
    seed: int = 7,
) -> ScenarioResult:
    """Stream ``minutes`` of gas telemetry with a leak starting halfway; see the module doc."""
    sensors = sensors_from_city(city)
    gas = {k: s for k, s in sensors.items() if s.network == "gas"}
    with engine.begin() as conn:
        register_sensors(conn, sensors.values())
    leak_sensor, main_link = leak_site(city)
    transport: LoopbackTransport | MqttTransport
    if mqtt is None:
        transport = LoopbackTransport(engine, ReadingParser(sensors))
    else:
        transport = MqttTransport(engine, sensors, *mqtt)
    desk = AlarmDesk(engine)
    rng = np.random.default_rng(seed)
    start_ms = (int(time.time() * 1000) // STEP_MS - minutes) * STEP_MS
    try:
        for step in range(minutes):
            at_ms = start_ms + step * STEP_MS
            for sensor in gas.values():
                value = _normal_value(sensor, rng)
                leak_step = step - minutes // 2
                if sensor.sensor_id == leak_sensor.sensor_id and leak_step >= 0:
                    value = LEAK_RAMP_LEL[min(leak_step, len(LEAK_RAMP_LEL) - 1)]
                transport.send(sensor, [at_ms], [round(value, 3)])
            if step == 1:
                _send_bad_messages(transport, leak_sensor, at_ms)
            desk.observe(transport.collect(), sensors)
    finally:
        if isinstance(transport, MqttTransport):
            transport.close()
    alarm = desk.alarms.active[(leak_sensor.sensor_id, RuleKind.THRESHOLD)]
    net = city_network(city, "gas")
    plan = isolate_break(net, main_link, facilities=attach_facilities(net, city.facilities))
    now = datetime.now(tz=UTC)
    acknowledged = apply_action(alarm, AlarmAction.ACKNOWLEDGE, at=now, actor="duty-officer")
    desk.record(acknowledged)
    confirmed = confirm_alarm(
        acknowledged, leak_sensor, opener, at=now, actor="duty-officer", plan=plan.to_dict()
    )
    desk.record(confirmed)
    report = None
    if isinstance(opener, DemoCaseDesk):
        report = opener.reports[confirmed.alarm_id][1]
    return ScenarioResult(
        "mqtt" if mqtt else "loopback (in-process, no broker)", leak_sensor, main_link,
        transport.stats, list(desk.timeline), confirmed, plan, report,
    )  # fmt: skip


def _normal_value(sensor: Sensor, rng: np.random.Generator) -> float:
    if sensor.kind == "methane":
        return float(rng.uniform(0.0, 3.0))
    return float(sensor.range_max * rng.uniform(0.45, 0.55))


def _send_bad_messages(
    transport: LoopbackTransport | MqttTransport, sensor: Sensor, at_ms: int
) -> None:
    """Send a wrong unit, a future time and an unknown sensor (rejected, counted, logged)."""
    wrong_unit = {"phenomenonTime": _iso(at_ms), "result": 1.0, "parameters": {"unit": "ppm"}}
    future = {"phenomenonTime": _iso(at_ms + 86_400_000), "result": 1.0,
              "parameters": {"unit": sensor.unit}}  # fmt: skip
    transport.send_raw(observation_topic(sensor.sensor_id), json.dumps(wrong_unit).encode())
    transport.send_raw(observation_topic(sensor.sensor_id), json.dumps(future).encode())
    transport.send_raw(observation_topic("G99999"), json.dumps(future).encode())


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


__all__ = ["AlarmState", "DemoCaseDesk", "ScenarioResult", "leak_site", "run_gas_leak_scenario"]
