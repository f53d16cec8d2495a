"""The lifelines pillar's public API: what the CLI, the API and the demo call.

Cases are opened only through an injected :data:`~shancheng.cases.sensor_intake.SensorCaseOpener`
(the application wires ``shancheng.cases.service.open_sensor_case``); this module never imports
the cases pillar's internals.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from shancheng.lifelines.accounting import (
    GRACE_MS,
    Accounting,
    Gap,
    Stamp,
    announce,
    open_gap_totals,
    waive_gap,
)
from shancheng.lifelines.alarms import (
    Alarm,
    AlarmAction,
    AlarmEngine,
    AlarmState,
    RuleKind,
    apply_action,
    confirm_alarm,
)
from shancheng.lifelines.criticality import rank_segments
from shancheng.lifelines.isolation import IsolationPlan, isolate_break
from shancheng.lifelines.mqtt import (
    Ingested,
    IngestStats,
    Message,
    MqttIngester,
    ingest_messages,
)
from shancheng.lifelines.pipes import PipeNetwork, from_city
from shancheng.lifelines.repository import (
    BatchResult,
    active_alarms,
    earlier_readings,
    latest_readings,
    list_alarms,
    load_alarm,
    load_sensors,
    register_sensors,
    save_alarm,
    store_batch,
)
from shancheng.lifelines.segments import attach_facilities, segment_network
from shancheng.lifelines.telemetry import ReadingParser, Rejection, observation_topic

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    import pandas as pd
    from sqlalchemy.engine import Engine

    from shancheng.data.city import City
    from shancheng.lifelines.sensors import Sensor
    from shancheng.lifelines.telemetry import Reading

logger = logging.getLogger(__name__)

CityNetwork = Literal["water", "gas"]
TIMELINE_LENGTH = 10_000
"""Alarm changes an :class:`AlarmDesk` keeps in memory (the store keeps every alarm)."""


def city_network(city: City, network: CityNetwork) -> PipeNetwork:
    """Return the City's water or gas pipe network, validated."""
    return from_city(city, network)


def plan_isolation(city: City, network: CityNetwork, link_id: str) -> IsolationPlan:
    """Plan the isolation of a break on ``link_id``, naming the critical facilities hit."""
    net = city_network(city, network)
    facilities = attach_facilities(net, city.facilities)
    return isolate_break(net, link_id, facilities=facilities)


def segment_criticality(city: City, network: CityNetwork) -> pd.DataFrame:
    """Rank every valve segment of the City's network by what isolating it takes out."""
    net = city_network(city, network)
    seg = segment_network(net)
    table = rank_segments(net, seg, attach_facilities(net, city.facilities))
    return table.sort_values("rank").reset_index(drop=True)


def ingest_from_broker(
    engine: Engine,
    *,
    host: str,
    port: int,
    client_id: str,
    share_group: str | None = None,
    stop: threading.Event | None = None,
    idle_exit_s: float | None = None,
    alarms: bool = True,
    desk: AlarmDesk | None = None,
    listener: Callable[[list[Reading], list[Alarm]], None] | None = None,
    grace_ms: int = GRACE_MS,
    retire: bool = False,
) -> IngestStats:
    """Run an MQTT ingester on the registry stored in ``engine`` until stopped or idle.

    With ``retire``, the ingester leaves its shared subscription at once (the group's other
    members take every new message), stores what its session still holds until nothing
    arrived for ``idle_exit_s`` (3 s by default), then ends the session on the broker. A
    retired ingester's session would otherwise keep taking its share of the group's messages
    for the session expiry (7 days), queued for nobody.

    With ``alarms``, every committed batch also goes through the alarm rules (of ``desk``
    when given: the server shares one desk between MQTT and HTTP ingest), silent sensors are
    checked every 30 s, gaps in a gateway's numbering raise (and, once filled, clear) its
    data-gap alarm, and the alarms raised or updated are stored (``lifelines_alarms``).
    ``listener`` hears every committed batch of readings and the alarms it changed.
    """
    with engine.connect() as conn:
        sensors = load_sensors(conn)
    desk = (desk or AlarmDesk(engine)) if alarms else None

    def on_readings(readings: list[Reading]) -> None:
        changed = desk.observe(readings, sensors) if desk else []
        if listener is not None:
            listener(readings, changed)

    def on_tick() -> None:
        changed = desk.check_offline(sensors) if desk else []
        if listener is not None and changed:
            listener([], changed)

    def on_gaps(account: Accounting) -> None:
        changed = desk.reconcile_gaps(account.gateways) if desk else []
        if listener is not None and changed:
            listener([], changed)

    ingester = MqttIngester(
        engine, sensors, host=host, port=port, client_id=client_id, share_group=share_group,
        on_readings=on_readings if (desk or listener) else None,
        on_tick=on_tick if desk else None, on_gaps=on_gaps if desk else None, grace_ms=grace_ms,
        retire=retire,
    )  # fmt: skip
    if retire and idle_exit_s is None:
        idle_exit_s = 3.0
    ingester.start()
    try:
        return ingester.run(stop or threading.Event(), idle_exit_s=idle_exit_s)
    finally:
        ingester.close(forget=retire)
        logger.info(
            "ingester %s: %d messages, %d readings, %d stored, %d duplicates, %d rejected",
            client_id, ingester.stats.messages, ingester.stats.readings, ingester.stats.stored,
            ingester.stats.duplicates, ingester.stats.rejected,
        )  # fmt: skip


@dataclass
class AlarmDesk:
    """The watch: feeds readings to the alarm engine and keeps every alarm in the store.

    Thread-safe: the server's MQTT ingester thread and its HTTP ingest share one desk.
    """

    engine: Engine
    alarms: AlarmEngine = field(default_factory=AlarmEngine)
    timeline: deque[Alarm] = field(default_factory=lambda: deque(maxlen=TIMELINE_LENGTH))
    lock: threading.RLock = field(default_factory=threading.RLock)

    def observe(self, readings: list[Reading], sensors: Mapping[str, Sensor]) -> list[Alarm]:
        """Run the rules on committed readings (time order per sensor) and store the alarms.

        The engine first takes each sensor's state from the store (its active alarms and
        latest earlier readings), so several server processes share one alarm state: an
        alarm another process raised is updated, not raised twice.
        """
        changed: list[Alarm] = []
        with self.lock:
            self._sync(readings, sensors)
            for reading in sorted(readings, key=lambda r: (r.sensor_id, r.observed_at_ms)):
                sensor = sensors.get(reading.sensor_id)
                if sensor is not None:
                    at = datetime.fromtimestamp(reading.observed_at_ms / 1000, tz=UTC)
                    changed += self.alarms.observe(sensor, reading.value, at)
            self._store(changed)
        return changed

    def _sync(self, readings: list[Reading], sensors: Mapping[str, Sensor]) -> None:
        """Load the stored state of every sensor of ``readings`` into the engine."""
        first: dict[str, int] = {}
        for reading in readings:
            first[reading.sensor_id] = min(
                reading.observed_at_ms, first.get(reading.sensor_id, reading.observed_at_ms)
            )
        known = [sid for sid in first if sid in sensors]
        if not known:
            return
        depth = max(
            (rules.stuck_count for s in known if (rules := self.alarms.rules_for(sensors[s]))),
            default=1,
        )
        with self.engine.connect() as conn:
            active = active_alarms(conn, known)
            recent = earlier_readings(conn, {s: first[s] for s in known}, limit=depth)
        for sensor_id in known:
            self.alarms.load(
                sensors[sensor_id], active.get(sensor_id, []), recent.get(sensor_id, [])
            )

    def _store(self, changed: list[Alarm]) -> None:
        """Write each changed alarm once (its latest state) and keep it in the timeline."""
        latest = {alarm.alarm_id: alarm for alarm in changed}
        if latest:
            with self.engine.begin() as conn:
                for alarm in latest.values():
                    save_alarm(conn, alarm)
        self.timeline.extend(changed)

    def check_offline(
        self, sensors: Mapping[str, Sensor], now: datetime | None = None
    ) -> list[Alarm]:
        """Raise offline alarms for sensors silent too long (only sensors heard from once)."""
        with self.lock:
            changed = self.alarms.check_offline(sensors, now or datetime.now(tz=UTC))
            self._store(changed)
        return changed

    def reconcile_gaps(
        self, gateways: set[str], now: datetime | None = None, *, actor: str = "backfill"
    ) -> list[Alarm]:
        """Make each gateway's data-gap alarm match its open gaps: raise, update or clear it.

        One active alarm per gateway (its id names the gateway and the time it was raised);
        its value is the number of messages still missing, its count the open gaps.
        """
        if not gateways:
            return []
        at = now or datetime.now(tz=UTC)
        with self.lock:
            with self.engine.connect() as conn:
                totals = open_gap_totals(conn, gateways)
                active = active_alarms(conn, sorted(gateways))
            changed = []
            for gateway in sorted(gateways):
                current = next(
                    (a for a in active.get(gateway, []) if a.rule is RuleKind.DATA_GAP), None
                )
                gaps, missing = totals.get(gateway, (0, 0))
                if gaps and current is None:
                    changed.append(_gap_alarm(gateway, gaps, missing, at))
                elif gaps and current is not None:
                    changed.append(
                        replace(current, count=gaps, value=float(missing), last_at=at,
                                message=_gap_message(gateway, gaps, missing))
                    )  # fmt: skip
                elif current is not None:
                    changed.append(apply_action(current, AlarmAction.CLEAR, at=at, actor=actor))
            self._store(changed)
        return changed

    def record(self, alarm: Alarm) -> None:
        """Store an alarm changed by an operator and tell the engine."""
        with self.lock:
            self.alarms.update(alarm)
            with self.engine.begin() as conn:
                save_alarm(conn, alarm)
            self.timeline.append(alarm)


def _gap_alarm(gateway: str, gaps: int, missing: int, at: datetime) -> Alarm:
    return Alarm(
        alarm_id=f"data_gap:{gateway}:{at:%Y%m%dT%H%M%S.%f}",
        sensor_id=gateway,
        rule=RuleKind.DATA_GAP,
        level=3,
        state=AlarmState.RAISED,
        raised_at=at,
        last_at=at,
        value=float(missing),
        message=_gap_message(gateway, gaps, missing),
        count=gaps,
        history=((AlarmState.RAISED, at, "accounting"),),
    )


def _gap_message(gateway: str, gaps: int, missing: int) -> str:
    return (
        f"gateway {gateway}: {missing:,} messages missing in {gaps} gap(s); "
        "its backfill closes them (GET /lifelines/telemetry/gaps)"
    )


@dataclass(frozen=True, slots=True)
class BackfillMessage:
    """One message of a gateway's buffer, posted back to close a gap."""

    seq: int
    topic: str
    payload: bytes


def backfill_messages(
    desk: AlarmDesk,
    sensors: Mapping[str, Sensor],
    gateway: str,
    epoch: int,
    messages: Sequence[BackfillMessage],
) -> tuple[Ingested, list[Alarm]]:
    """Ingest a gateway's buffered messages as the broker would have, then settle its alarm.

    The readings go through the same parser, store and alarm rules as live ones; the
    numbers fill the gateway's open gaps (and close those with nothing left missing).
    """
    batch = [Message(m.topic, m.payload, Stamp(gateway, epoch, m.seq)) for m in messages]
    with desk.lock:
        ingested = ingest_messages(desk.engine, ReadingParser(sensors), batch, via="backfill")
        changed = desk.observe(ingested.readings, sensors)
        changed += desk.reconcile_gaps({gateway})
    return ingested, changed


def gateway_heartbeat(desk: AlarmDesk, stamp: Stamp) -> tuple[Accounting, list[Alarm]]:
    """Record the last number a gateway sent; a loss at the stream's end goes on record.

    The numbers up to it still missing once the grace period has passed become a gap, with
    the gateway's data-gap alarm (see :func:`~shancheng.lifelines.accounting.announce`).
    """
    with desk.lock:
        with desk.engine.begin() as conn:
            now_ms = int(datetime.now(tz=UTC).timestamp() * 1000)
            account = announce(conn, stamp, now_ms=now_ms)
        changed = desk.reconcile_gaps({stamp.gateway}) if account.opened else []
    return account, changed


def waive_telemetry_gap(
    desk: AlarmDesk, gap_id: int, *, by: str, reason: str
) -> tuple[Gap, list[Alarm]]:
    """Close a gap as a known loss (staff); the gateway's data-gap alarm follows its open gaps.

    See :func:`~shancheng.lifelines.accounting.waive_gap` for what is kept.
    """
    with desk.lock:
        with desk.engine.begin() as conn:
            now_ms = int(datetime.now(tz=UTC).timestamp() * 1000)
            gap = waive_gap(conn, gap_id, by=by, reason=reason, now_ms=now_ms)
        changed = desk.reconcile_gaps({gap.gateway}, actor=by)
    return gap, changed


@dataclass(frozen=True, slots=True)
class HttpObservation:
    """One observation posted over HTTP (SensorThings-style), before validation."""

    sensor_id: str
    time: str
    value: object
    unit: str | None


@dataclass(frozen=True, eq=False)
class IngestOutcome:
    """What one HTTP ingest did: the batch counts, refusals, readings kept, alarms changed.

    ``rejections`` pairs each refusal with the position of its observation in the request.
    """

    result: BatchResult
    rejections: list[tuple[int, Rejection]]
    readings: list[Reading]
    alarms: list[Alarm]


def ingest_observations(
    desk: AlarmDesk,
    sensors: Mapping[str, Sensor],
    observations: Sequence[HttpObservation],
) -> IngestOutcome:
    """Store observations posted over HTTP exactly as MQTT messages would be, then run alarms.

    Each observation becomes the SensorThings message its sensor would publish, so the same
    parser refuses the same things (unknown sensor, wrong unit, bad or future time, out of
    range) and every refusal is stored in ``lifelines_rejections`` and counted.
    """
    parser = ReadingParser(sensors)
    readings: list[Reading] = []
    rejections: list[tuple[int, Rejection]] = []
    for number, item in enumerate(observations):
        topic = observation_topic(item.sensor_id)
        payload = {"phenomenonTime": item.time, "result": item.value,
                   "parameters": {"unit": item.unit}}  # fmt: skip
        accepted, refused = parser.parse(topic, json.dumps(payload).encode())
        readings += accepted
        rejections += [(number, r) for r in refused]
    with desk.lock:
        with desk.engine.begin() as conn:
            result = store_batch(conn, readings, [r for _n, r in rejections])
        changed = desk.observe(readings, sensors)
    return IngestOutcome(result, rejections, readings, changed)


def act_on_alarm(desk: AlarmDesk, alarm_id: str, action: AlarmAction, *, actor: str) -> Alarm:
    """Apply an operator's action (acknowledge, clear) to a stored alarm and store the result."""
    with desk.lock, desk.engine.connect() as conn:
        alarm = load_alarm(conn, alarm_id)
    changed = apply_action(alarm, action, at=datetime.now(tz=UTC), actor=actor)
    desk.record(changed)
    return changed


__all__ = [
    "AlarmAction",
    "AlarmDesk",
    "BackfillMessage",
    "HttpObservation",
    "IngestOutcome",
    "act_on_alarm",
    "apply_action",
    "backfill_messages",
    "city_network",
    "confirm_alarm",
    "gateway_heartbeat",
    "ingest_from_broker",
    "ingest_observations",
    "latest_readings",
    "list_alarms",
    "load_alarm",
    "plan_isolation",
    "register_sensors",
    "save_alarm",
    "segment_criticality",
]
