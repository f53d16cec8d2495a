"""The server's live lifelines: one alarm desk, the sensor registry, and the event hub.

HTTP ingest and the in-process MQTT ingester (``shancheng serve --mqtt``) share one
:class:`~shancheng.lifelines.service.AlarmDesk`, so rate-of-change and stuck-value rules see
every reading whatever way it came, and both announce readings and alarms on the hub that the
``/stream/lifelines`` endpoint relays.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shancheng.api.events import EventHub
from shancheng.lifelines.mqtt import parse_mqtt_url
from shancheng.lifelines.repository import load_sensors, register_sensors
from shancheng.lifelines.service import AlarmDesk, ingest_from_broker

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from sqlalchemy.engine import Engine

    from shancheng.lifelines.alarms import Alarm
    from shancheng.lifelines.sensors import Sensor
    from shancheng.lifelines.telemetry import Reading

logger = logging.getLogger(__name__)


def alarm_json(alarm: Alarm, sensors: dict[str, Sensor]) -> dict[str, Any]:
    """Return the alarm as the API shows it (``AlarmRead``)."""
    sensor = sensors.get(alarm.sensor_id)
    value = alarm.value
    return {
        "alarm_id": alarm.alarm_id,
        "sensor_id": alarm.sensor_id,
        "level": alarm.level,
        "rule": alarm.rule.value,
        "value": None if value != value else value,  # NaN (offline) as null  # noqa: PLR0124
        "unit": sensor.unit if sensor else "",
        "message": alarm.message,
        "raised_at": alarm.raised_at.isoformat(),
        "last_at": alarm.last_at.isoformat(),
        "state": alarm.state.value,
        "count": alarm.count,
        "case_id": alarm.case.case_id if alarm.case else None,
        "case_reference": alarm.case.reference if alarm.case else None,
    }


@dataclass(eq=False)
class LiveLifelines:
    """Shared by the routers and the ingester thread of one server process."""

    engine: Engine
    hub: EventHub = field(default_factory=EventHub)
    desk: AlarmDesk = field(init=False)
    _sensors: dict[str, Sensor] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        """Open the alarm desk on the server's database."""
        self.desk = AlarmDesk(self.engine)

    def sensors(self, city_sensors: Callable[[], Iterable[Sensor]]) -> dict[str, Sensor]:
        """Return the stored registry, first adding the City's sensors to it (kept as they are)."""
        with self._lock:
            if self._sensors is None:
                with self.engine.begin() as conn:
                    register_sensors(conn, city_sensors())
                with self.engine.connect() as conn:
                    self._sensors = load_sensors(conn)
            return self._sensors

    def known_sensors(self) -> dict[str, Sensor]:
        """Return the registry as loaded so far (empty before the first use)."""
        return self._sensors or {}

    def announce(self, readings: list[Reading], alarms: list[Alarm]) -> None:
        """Publish readings and changed alarms to the stream's subscribers."""
        for reading in readings:
            self.hub.publish(
                "reading",
                {
                    "sensor_id": reading.sensor_id,
                    "time": datetime.fromtimestamp(reading.observed_at_ms / 1000, UTC).isoformat(),
                    "value": reading.value,
                },
            )
        registry = self._sensors or {}
        for alarm in alarms:
            self.hub.publish("alarm", alarm_json(alarm, registry))

    def start_mqtt(self, mqtt_url: str, city_sensors: Callable[[], Iterable[Sensor]]) -> None:
        """Run the MQTT ingester in a daemon thread of this process, on the shared desk."""
        self.sensors(city_sensors)
        host, port = parse_mqtt_url(mqtt_url)

        def run() -> None:
            try:
                ingest_from_broker(
                    self.engine, host=host, port=port, client_id=f"shancheng-serve-{os.getpid()}",
                    stop=self._stop, desk=self.desk, listener=self.announce,
                )  # fmt: skip
            except Exception:
                logger.exception("the MQTT ingester of the server stopped")

        self._thread = threading.Thread(target=run, name="mqtt-ingester", daemon=True)
        self._thread.start()
        logger.info("MQTT ingester started on %s:%d", host, port)

    def stop(self) -> None:
        """Stop the ingester thread, if any."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
