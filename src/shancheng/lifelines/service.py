"""The lifelines pillar's public API: what the CLI, the API and the demo call.

Cases are opened only through an injected :data:`~shancheng.cases.sensor_intake.SensorCaseOpener`
(the application wires ``shancheng.cases.service.open_sensor_case``); this module never imports
the cases pillar's internals.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import numpy as np
import sqlalchemy as sa

from shancheng.lifelines.alarms import (
    Alarm,
    AlarmAction,
    AlarmEngine,
    apply_action,
    confirm_alarm,
)
from shancheng.lifelines.isolation import (
    IsolationPlan,
    attach_facilities,
    isolate_break,
    rank_segments,
    segment_network,
)
from shancheng.lifelines.mqtt import IngestStats, MqttIngester
from shancheng.lifelines.pipes import PipeNetwork, from_city
from shancheng.lifelines.telemetry import load_sensors, register_sensors
from shancheng.store.lifelines_tables import AlarmRow

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd
    from sqlalchemy.engine import Connection, Engine

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
    stop: threading.Event | None = None,
    idle_exit_s: float | None = None,
    alarms: bool = True,
) -> IngestStats:
    """Run an MQTT ingester on the registry stored in ``engine`` until stopped or idle.

    With ``alarms``, every committed batch also goes through the alarm rules, silent sensors
    are checked every 30 s, and the alarms raised or updated are stored (``lifelines_alarms``).
    """
    with engine.connect() as conn:
        sensors = load_sensors(conn)
    desk = AlarmDesk(engine) if alarms else None
    ingester = MqttIngester(
        engine, sensors, host=host, port=port, client_id=client_id,
        on_readings=(lambda readings: desk.observe(readings, sensors)) if desk else None,
        on_tick=(lambda: desk.check_offline(sensors)) if desk else None,
    )  # fmt: skip
    ingester.start()
    try:
        return ingester.run(stop or threading.Event(), idle_exit_s=idle_exit_s)
    finally:
        ingester.close()
        logger.info(
            "ingester %s: %d messages, %d readings, %d stored, %d duplicates, %d rejected",
            client_id, ingester.stats.messages, ingester.stats.readings, ingester.stats.stored,
            ingester.stats.duplicates, ingester.stats.rejected,
        )  # fmt: skip


def save_alarm(conn: Connection, alarm: Alarm) -> None:
    """Insert or update an alarm row (its whole lifecycle history included)."""
    values = {
        "sensor_id": alarm.sensor_id,
        "rule": alarm.rule.value,
        "level": alarm.level,
        "state": alarm.state.value,
        "raised_at_ms": _ms(alarm.raised_at),
        "last_at_ms": _ms(alarm.last_at),
        "value": None if np.isnan(alarm.value) else alarm.value,
        "message": alarm.message,
        "count": alarm.count,
        "case_id": alarm.case.case_id if alarm.case else None,
        "case_reference": alarm.case.reference if alarm.case else None,
        "history": [[state.value, at.isoformat(), actor] for state, at, actor in alarm.history],
    }
    existing = conn.execute(
        sa.select(AlarmRow.alarm_id).where(AlarmRow.alarm_id == alarm.alarm_id)
    ).first()
    if existing is None:
        conn.execute(sa.insert(AlarmRow).values(alarm_id=alarm.alarm_id, **values))
    else:
        conn.execute(
            sa.update(AlarmRow).where(AlarmRow.alarm_id == alarm.alarm_id).values(**values)
        )


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


@dataclass
class AlarmDesk:
    """The watch: feeds readings to the alarm engine and keeps every alarm in the store."""

    engine: Engine
    alarms: AlarmEngine = field(default_factory=AlarmEngine)
    timeline: deque[Alarm] = field(default_factory=lambda: deque(maxlen=TIMELINE_LENGTH))

    def observe(self, readings: list[Reading], sensors: Mapping[str, Sensor]) -> list[Alarm]:
        """Run the rules on committed readings (time order per sensor) and store the alarms."""
        changed: list[Alarm] = []
        for reading in sorted(readings, key=lambda r: (r.sensor_id, r.observed_at_ms)):
            sensor = sensors.get(reading.sensor_id)
            if sensor is not None:
                at = datetime.fromtimestamp(reading.observed_at_ms / 1000, tz=UTC)
                changed += self.alarms.observe(sensor, reading.value, at)
        self._store(changed)
        return changed

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
        changed = self.alarms.check_offline(sensors, now or datetime.now(tz=UTC))
        self._store(changed)
        return changed

    def record(self, alarm: Alarm) -> None:
        """Store an alarm changed by an operator and tell the engine."""
        self.alarms.update(alarm)
        with self.engine.begin() as conn:
            save_alarm(conn, alarm)
        self.timeline.append(alarm)


__all__ = [
    "AlarmAction",
    "AlarmDesk",
    "apply_action",
    "city_network",
    "confirm_alarm",
    "ingest_from_broker",
    "plan_isolation",
    "register_sensors",
    "save_alarm",
    "segment_criticality",
]
