"""Alarm rules, graded levels, deduplication and the alarm lifecycle (pure: no IO, no DB).

Four rules, configured per sensor kind in :data:`DEFAULT_RULES` (data, not code):

* **threshold** -- graded levels, 1 = most severe; methane in % LEL by default at 10 / 25 / 50
  (level 3 / 2 / 1), the usual steps of gas-detector alarms; low and high pressure limits.
* **rate of change** -- ``|Δvalue / Δt|`` above a limit per minute (a burst drops pressure fast).
* **stuck value** -- the same value (within ``stuck_tolerance``) for ``stuck_count`` readings.
* **offline** -- no reading for ``offline_after_s``.

An :class:`AlarmEngine` keeps one active alarm per ``(sensor, rule)``: a repeated trigger updates
it (count, last time, the worst level seen) instead of raising a second one. An alarm's
lifecycle is the table :data:`TRANSITIONS`: raised → acknowledged → confirmed, and cleared from
any of them; :func:`apply_action` refuses anything else. Confirming builds the governance
case's :class:`~shancheng.cases.sensor_intake.SensorReport`, with the isolation plan attached,
and hands it to the injected opener (see :func:`confirm_alarm`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from shancheng.cases.sensor_intake import CaseRef, SensorCaseOpener, SensorReport
from shancheng.errors import AlarmStateError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from shancheng.lifelines.sensors import Sensor


class AlarmState(StrEnum):
    """Where an alarm is in its lifecycle (报警 raised, 确认 confirmed, 消警 cleared)."""

    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    CONFIRMED = "confirmed"
    CLEARED = "cleared"


class AlarmAction(StrEnum):
    """What an operator (or the engine) does to an alarm."""

    ACKNOWLEDGE = "acknowledge"
    CONFIRM = "confirm"
    CLEAR = "clear"


class RuleKind(StrEnum):
    """The alarm rules: four per sensor, a zone's leak, a gateway's missing messages.

    The leak comes from ``lifelines.leak_watch``, the data gap from ``lifelines.accounting``.
    """

    THRESHOLD = "threshold"
    RATE = "rate_of_change"
    STUCK = "stuck_value"
    OFFLINE = "offline"
    LEAK = "leak"
    DATA_GAP = "data_gap"


TRANSITIONS: dict[tuple[AlarmState, AlarmAction], AlarmState] = {
    (AlarmState.RAISED, AlarmAction.ACKNOWLEDGE): AlarmState.ACKNOWLEDGED,
    (AlarmState.RAISED, AlarmAction.CONFIRM): AlarmState.CONFIRMED,
    (AlarmState.ACKNOWLEDGED, AlarmAction.CONFIRM): AlarmState.CONFIRMED,
    (AlarmState.RAISED, AlarmAction.CLEAR): AlarmState.CLEARED,
    (AlarmState.ACKNOWLEDGED, AlarmAction.CLEAR): AlarmState.CLEARED,
    (AlarmState.CONFIRMED, AlarmAction.CLEAR): AlarmState.CLEARED,
}
"""The only allowed moves of an alarm."""


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Alarm rules of one sensor kind.

    Attributes
    ----------
    high_levels
        ``(limit, level)`` pairs: a value at or above ``limit`` raises ``level`` (1 = worst).
    low_levels
        ``(limit, level)`` pairs: a value at or below ``limit`` raises ``level``.
    max_rate_per_min
        Largest allowed ``|Δvalue|`` per minute (``None``: no rate rule).
    stuck_count, stuck_tolerance
        This many consecutive readings within the tolerance raise a stuck-value alarm.
    offline_after_s
        Silence longer than this raises an offline alarm.
    relative
        Threshold limits are fractions of the sensor's ``range_max`` (gas pressures differ
        by three orders of magnitude between a gate station and a street main).
    """

    high_levels: tuple[tuple[float, int], ...] = ()
    low_levels: tuple[tuple[float, int], ...] = ()
    max_rate_per_min: float | None = None
    stuck_count: int = 12
    stuck_tolerance: float = 0.0
    offline_after_s: float = 900.0
    rate_level: int = 2
    stuck_level: int = 3
    offline_level: int = 3
    relative: bool = False


DEFAULT_RULES: dict[str, RuleSet] = {
    "gas.methane": RuleSet(high_levels=((50.0, 1), (25.0, 2), (10.0, 3)), max_rate_per_min=10.0,
                           stuck_count=288, offline_after_s=600.0),
    "gas.pressure": RuleSet(low_levels=((0.1, 1), (0.2, 2)), high_levels=((0.95, 2),),
                            relative=True, stuck_count=48, stuck_tolerance=1e-6),
    "gas.flow": RuleSet(stuck_count=48, stuck_tolerance=1e-6),
    "water.pressure": RuleSet(low_levels=((100.0, 1), (150.0, 2)), high_levels=((900.0, 2),),
                              max_rate_per_min=50.0, stuck_count=48, stuck_tolerance=1e-6),
    "water.flow": RuleSet(stuck_count=48, stuck_tolerance=1e-6),
    "water.level": RuleSet(low_levels=((0.5, 1), (1.0, 2)), high_levels=((11.5, 2),),
                           stuck_count=96, stuck_tolerance=1e-6),
}  # fmt: skip
"""Default rules per ``network.kind`` (units as the registry's: %LEL, kPa, m3/h, m)."""


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm: what raised it, how bad it is, and where it is in its lifecycle."""

    alarm_id: str
    sensor_id: str
    rule: RuleKind
    level: int
    state: AlarmState
    raised_at: datetime
    last_at: datetime
    value: float
    message: str
    count: int = 1
    case: CaseRef | None = None
    history: tuple[tuple[AlarmState, datetime, str], ...] = field(default_factory=tuple)


def apply_action(alarm: Alarm, action: AlarmAction, *, at: datetime, actor: str) -> Alarm:
    """Move ``alarm`` by ``action``; refuse what :data:`TRANSITIONS` does not allow.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> a = Alarm("a1", "G1", RuleKind.THRESHOLD, 2, AlarmState.RAISED, t, t, 30.0, "CH4")
    >>> apply_action(a, AlarmAction.ACKNOWLEDGE, at=t, actor="op").state
    <AlarmState.ACKNOWLEDGED: 'acknowledged'>
    """
    target = TRANSITIONS.get((alarm.state, action))
    if target is None:
        msg = f"alarm {alarm.alarm_id!r}: cannot {action.value} an alarm that is {alarm.state}"
        raise AlarmStateError(msg)
    return replace(alarm, state=target, history=(*alarm.history, (target, at, actor)))


@dataclass
class _Track:
    last_time: datetime | None = None
    last_value: float | None = None
    same_count: int = 0


class AlarmEngine:
    """Apply the rules reading by reading, keeping one active alarm per (sensor, rule).

    Parameters
    ----------
    rules
        Rules per ``network.kind`` (or plain ``kind``); sensors without rules raise nothing.
    """

    def __init__(self, rules: Mapping[str, RuleSet] | None = None) -> None:
        self.rules = dict(DEFAULT_RULES if rules is None else rules)
        self.active: dict[tuple[str, RuleKind], Alarm] = {}
        self._tracks: dict[str, _Track] = {}

    def observe(self, sensor: Sensor, value: float, at: datetime) -> list[Alarm]:
        """Feed one reading (in time order per sensor); return the alarms raised or updated.

        Readings older than the sensor's last one are ignored here (the store keeps them).
        Alarms whose condition has ended are cleared automatically by the ``engine`` actor.
        """
        rules = self.rules_for(sensor)
        track = self._tracks.setdefault(sensor.sensor_id, _Track())
        if rules is None or (track.last_time is not None and at <= track.last_time):
            return []
        changed: list[Alarm] = []
        self._resolve(sensor, RuleKind.OFFLINE, None, value, at, changed, "")
        scale = sensor.range_max if rules.relative else 1.0
        level = _graded(rules, value / scale if scale else value)
        text = "" if level is None else f"{sensor.kind} {value:g} {sensor.unit}"
        self._resolve(sensor, RuleKind.THRESHOLD, level, value, at, changed, text)
        rate_level = None
        if rules.max_rate_per_min is not None and track.last_time is not None:
            minutes = (at - track.last_time).total_seconds() / 60.0
            rate = abs(value - (track.last_value or 0.0)) / max(minutes, 1e-9)
            if rate > rules.max_rate_per_min:
                rate_level = rules.rate_level
                text = f"{sensor.kind} changed {rate:.1f} {sensor.unit}/min"
        self._resolve(sensor, RuleKind.RATE, rate_level, value, at, changed, text)
        same = track.last_value is not None and abs(value - track.last_value) <= max(
            rules.stuck_tolerance, 0.0
        )
        track.same_count = track.same_count + 1 if same else 1
        stuck = rules.stuck_level if track.same_count >= rules.stuck_count else None
        text = (
            ""
            if stuck is None
            else f"{sensor.kind} stuck at {value:g} {sensor.unit} for {track.same_count} readings"
        )
        self._resolve(sensor, RuleKind.STUCK, stuck, value, at, changed, text)
        track.last_time, track.last_value = at, value
        return changed

    def rules_for(self, sensor: Sensor) -> RuleSet | None:
        """Return the rules of ``network.kind``, else of ``kind``, else none."""
        return self.rules.get(f"{sensor.network}.{sensor.kind}", self.rules.get(sensor.kind))

    def check_offline(self, sensors: Mapping[str, Sensor], now: datetime) -> list[Alarm]:
        """Raise an offline alarm for every known sensor silent longer than its rule allows."""
        changed: list[Alarm] = []
        for sensor_id, track in self._tracks.items():
            sensor = sensors.get(sensor_id)
            rules = self.rules_for(sensor) if sensor else None
            if sensor is None or rules is None or track.last_time is None:
                continue
            silent_s = (now - track.last_time).total_seconds()
            if silent_s > rules.offline_after_s:
                text = f"no reading for {silent_s:.0f} s"
                level = rules.offline_level
                self._resolve(sensor, RuleKind.OFFLINE, level, float("nan"), now, changed, text)
        return changed

    def _resolve(
        self,
        sensor: Sensor,
        rule: RuleKind,
        level: int | None,
        value: float,
        at: datetime,
        changed: list[Alarm],
        message: str,
    ) -> None:
        key = (sensor.sensor_id, rule)
        current = self.active.get(key)
        if level is None and current is None:
            return
        if level is None:
            if current is not None:
                cleared = apply_action(current, AlarmAction.CLEAR, at=at, actor="engine")
                cleared = replace(cleared, last_at=at)
                del self.active[key]
                changed.append(cleared)
            return
        if current is None:
            stamp = at.strftime("%Y%m%dT%H%M%S")
            alarm = Alarm(f"{sensor.sensor_id}:{rule.value}:{stamp}", sensor.sensor_id, rule,
                          level, AlarmState.RAISED, at, at, value, message,
                          history=((AlarmState.RAISED, at, "engine"),))  # fmt: skip
        else:
            text = message if level <= current.level else current.message
            alarm = replace(current, level=min(current.level, level), last_at=at, value=value,
                            count=current.count + 1, message=text)  # fmt: skip
        self.active[key] = alarm
        changed.append(alarm)

    def load(
        self,
        sensor: Sensor,
        active: list[Alarm],
        recent: list[tuple[datetime, float]],
    ) -> None:
        """Take a sensor's state from the store: its active alarms and its latest readings.

        Several processes watch the same sensors; before a batch each takes from the store
        what the others may have changed (``recent``: the latest readings before the batch,
        newest last), so one process's memory is never the only record.
        """
        sensor_id = sensor.sensor_id
        rules = self.rules_for(sensor)
        tolerance = max(rules.stuck_tolerance, 0.0) if rules is not None else 0.0
        for key in [k for k in self.active if k[0] == sensor_id]:
            del self.active[key]
        for alarm in active:
            self.active[(sensor_id, alarm.rule)] = alarm
        if not recent:
            self._tracks.pop(sensor_id, None)
            return
        last_time, last_value = recent[-1]
        same = 1
        for _time, value in reversed(recent[:-1]):
            if abs(value - last_value) > tolerance:
                break
            same += 1
        self._tracks[sensor_id] = _Track(last_time, last_value, same)

    def update(self, alarm: Alarm) -> None:
        """Store an alarm changed outside the engine (acknowledged, confirmed)."""
        key = (alarm.sensor_id, alarm.rule)
        if alarm.state == AlarmState.CLEARED:
            self.active.pop(key, None)
        elif key in self.active:
            self.active[key] = alarm


def _graded(rules: RuleSet, value: float) -> int | None:
    """Return the worst level ``value`` reaches, or ``None``."""
    levels = [level for limit, level in rules.high_levels if value >= limit]
    levels += [level for limit, level in rules.low_levels if value <= limit]
    return min(levels) if levels else None


CATEGORY_CODES: dict[str, str] = {
    "water": "lifeline.water_alarm",
    "gas": "lifeline.gas_alarm",
    "drainage": "lifeline.drainage_alarm",
}
"""Case category per network (the governance taxonomy's pipeline-alarm events)."""
DEPARTMENTS: dict[str, str] = {
    "water": "water_utility",
    "gas": "gas_utility",
    "drainage": "drainage_utility",
}
"""Owning utility's department per network, used when a sensor names none."""


def sensor_report(
    alarm: Alarm, sensor: Sensor, *, plan: Mapping[str, Any] | None = None
) -> SensorReport:
    """Build the governance case's report for a confirmed ``alarm``, plan attached."""
    title = f"{sensor.network} alarm level {alarm.level}: {alarm.message}"
    description = (
        f"Sensor {sensor.sensor_id} ({sensor.kind}, {sensor.unit}) on element "
        f"{sensor.element_id or '?'}: {alarm.rule.value} rule, level {alarm.level}, "
        f"raised {alarm.raised_at.isoformat()}, last {alarm.last_at.isoformat()}, "
        f"{alarm.count} trigger(s)."
    )
    attachments: dict[str, Any] = {"rule": alarm.rule.value, "value": alarm.value}
    if plan is not None:
        attachments["isolation_plan"] = dict(plan)
    return SensorReport(
        alarm_id=alarm.alarm_id,
        category_code=CATEGORY_CODES[sensor.network],
        network=sensor.network,
        level=alarm.level,
        lon=sensor.lon,
        lat=sensor.lat,
        title=title,
        description=description,
        sensor_id=sensor.sensor_id,
        department_hint=sensor.department or DEPARTMENTS[sensor.network],
        attachments=attachments,
    )


def confirm_alarm(
    alarm: Alarm,
    sensor: Sensor,
    opener: SensorCaseOpener,
    *,
    at: datetime,
    actor: str,
    plan: Mapping[str, Any] | None = None,
) -> Alarm:
    """Confirm ``alarm`` and open (or find) its governance case through ``opener``.

    The transition is checked first, so a refused confirmation opens no case; the opener is
    idempotent on ``alarm_id``, so a retried confirmation finds the same case.
    """
    confirmed = apply_action(alarm, AlarmAction.CONFIRM, at=at, actor=actor)
    case = opener(sensor_report(alarm, sensor, plan=plan))
    return replace(confirmed, case=case)
