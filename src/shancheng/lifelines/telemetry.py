"""Sensor readings: parse SensorThings MQTT messages, reject bad ones, store and query them.

Messages follow OGC SensorThings' MQTT binding (docs/lifelines-telemetry.md): the topic
``v1.1/Datastreams(<sensor_id>)/Observations`` names the sensor, the payload is one
Observation ``{"phenomenonTime": ISO-8601 with zone, "result": number, "parameters":
{"unit": ...}}`` or a JSON array of them (our batching extension). :class:`ReadingParser`
turns a message into :class:`Reading` values and :class:`Rejection` records -- unknown sensor,
wrong unit, time in the future, value outside the sensor's range, malformed payload -- so one
bad observation never stops the stream.

:func:`store_batch` writes a batch of readings and rejections in one transaction. Readings are
keyed by ``(sensor_id, observed_at_ms)`` and inserted with ``ON CONFLICT DO NOTHING``: a
duplicate or redelivered message is counted and dropped, a late or out-of-order one lands in
its place. On PostgreSQL the rows go through ``COPY`` into a temporary table first (the fast
path); SQLite uses a multi-row ``INSERT``. :func:`query_readings` reads a sensor's time range,
downsampled into buckets for charts.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from shancheng.lifelines.sensors import Sensor

logger = logging.getLogger(__name__)

TOPIC_PREFIX = "v1.1/Datastreams("
TOPIC_SUFFIX = ")/Observations"
SUBSCRIPTION = "v1.1/+/Observations"
"""MQTT filter matching every Datastream's Observations topic."""
MAX_FUTURE_S = 300.0
"""Readings stamped more than this ahead of the receiving clock are rejected."""


def observation_topic(sensor_id: str) -> str:
    """Return the SensorThings MQTT topic of a sensor's observations.

    Examples
    --------
    >>> observation_topic("G00012")
    'v1.1/Datastreams(G00012)/Observations'
    """
    return f"{TOPIC_PREFIX}{sensor_id}{TOPIC_SUFFIX}"


def encode_observations(sensor: Sensor, times_ms: Sequence[int], values: Sequence[float]) -> bytes:
    """Payload of one or more observations of ``sensor`` (a JSON array when several)."""
    items = [
        {
            "phenomenonTime": _iso(t),
            "result": float(v),
            "parameters": {"unit": sensor.unit},
        }
        for t, v in zip(times_ms, values, strict=True)
    ]
    return json.dumps(items[0] if len(items) == 1 else items, separators=(",", ":")).encode()


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


class Reading(NamedTuple):
    """One accepted observation: sensor, phenomenon time (ms since epoch, UTC), value.

    A named tuple rather than a dataclass: hundreds of thousands are made per second.
    """

    sensor_id: str
    observed_at_ms: int
    value: float


@dataclass(frozen=True, slots=True)
class Rejection:
    """One refused message or observation, with the reason code and a readable detail."""

    topic: str
    reason: str
    detail: str


@dataclass
class ReadingParser:
    """Turn MQTT messages into readings, refusing what the registry says is wrong.

    Parameters
    ----------
    sensors
        The registry, keyed by ``sensor_id``.
    max_future_s
        Tolerance for clocks running ahead.
    clock
        Seconds since the epoch (injected in tests).
    """

    sensors: Mapping[str, Sensor]
    max_future_s: float = MAX_FUTURE_S
    clock: Callable[[], float] = time.time
    counts: Counter[str] = field(default_factory=Counter)

    def parse(self, topic: str, payload: bytes) -> tuple[list[Reading], list[Rejection]]:
        """Parse one message; every rejection is counted in ``counts`` and logged."""
        readings: list[Reading] = []
        rejections: list[Rejection] = []
        sensor = self._sensor(topic, rejections)
        if sensor is not None:
            try:
                data = json.loads(payload)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                rejections.append(Rejection(topic, "malformed", f"payload is not JSON ({exc})"))
            else:
                items = data if isinstance(data, list) else [data]
                limit_ms = int((self.clock() + self.max_future_s) * 1000)
                for number, item in enumerate(items):
                    outcome = _observation(sensor, item, limit_ms)
                    if isinstance(outcome, Reading):
                        readings.append(outcome)
                    else:
                        reason, detail = outcome
                        rejections.append(
                            Rejection(topic, reason, f"observation {number}: {detail}")
                        )
        self.counts["accepted"] += len(readings)
        for rejection in rejections:
            self.counts[rejection.reason] += 1
            logger.warning("rejected %s on %s: %s", rejection.reason, topic, rejection.detail)
        return readings, rejections

    def _sensor(self, topic: str, rejections: list[Rejection]) -> Sensor | None:
        if not (topic.startswith(TOPIC_PREFIX) and topic.endswith(TOPIC_SUFFIX)):
            rejections.append(
                Rejection(topic, "malformed", f"topic must be {observation_topic('<id>')}")
            )
            return None
        sensor_id = topic[len(TOPIC_PREFIX) : -len(TOPIC_SUFFIX)].strip("'")
        sensor = self.sensors.get(sensor_id)
        if sensor is None:
            rejections.append(
                Rejection(topic, "unknown_sensor", f"sensor {sensor_id!r} is not in the registry")
            )
        return sensor


def _observation(  # noqa: PLR0911 - one return per rejection reason
    sensor: Sensor,
    item: Any,  # noqa: ANN401 - raw JSON
    limit_ms: int,
) -> Reading | tuple[str, str]:
    """One observation checked against the registry: a reading or ``(reason, detail)``."""
    if not isinstance(item, dict) or "phenomenonTime" not in item or "result" not in item:
        return "malformed", "needs `phenomenonTime` and `result`"
    result = item["result"]
    if isinstance(result, bool) or not isinstance(result, int | float) or math.isnan(result):
        return "malformed", f"`result` must be a number, got {result!r}"
    unit = (item.get("parameters") or {}).get("unit")
    if unit != sensor.unit:
        return "wrong_unit", f"`parameters.unit` must be {sensor.unit!r}, got {unit!r}"
    try:
        stamp = datetime.fromisoformat(str(item["phenomenonTime"]))
    except ValueError:
        return "bad_time", f"`phenomenonTime` {item['phenomenonTime']!r} is not ISO 8601"
    if stamp.tzinfo is None:
        return "bad_time", f"`phenomenonTime` {item['phenomenonTime']!r} has no time zone"
    at_ms = round(stamp.timestamp() * 1000)
    if at_ms > limit_ms:
        return "future_time", f"`phenomenonTime` {item['phenomenonTime']} is in the future"
    value = float(result)
    if not sensor.range_min <= value <= sensor.range_max:
        return "out_of_range", (
            f"`result` {value:g} {sensor.unit} is outside the sensor's range "
            f"[{sensor.range_min:g}, {sensor.range_max:g}]"
        )
    return Reading(sensor.sensor_id, at_ms, value)


# --- the store --------------------------------------------------------------------------------
