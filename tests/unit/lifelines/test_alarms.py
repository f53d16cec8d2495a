from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shancheng.cases.sensor_intake import CaseRef
from shancheng.errors import AlarmStateError
from shancheng.lifelines.alarms import (
    AlarmAction,
    AlarmEngine,
    AlarmState,
    RuleKind,
    apply_action,
    confirm_alarm,
)
from shancheng.lifelines.sensors import Sensor

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CH4 = Sensor("G00001", "gas", "methane", "%LEL", 0, 100, 106.55, 29.56, element_id="J12")
PRESSURE = Sensor("W00001", "water", "pressure", "kPa", 0, 1000, 106.5, 29.5)


def _feed(engine, sensor, values, step_s=60):
    out = []
    for i, v in enumerate(values):
        out += engine.observe(sensor, v, T0 + timedelta(seconds=step_s * i))
    return out


def test_methane_levels_are_graded_and_deduplicated():
    engine = AlarmEngine()
    changes = _feed(engine, CH4, [2.0, 12.0, 14.0, 30.0, 55.0])
    threshold = [a for a in changes if a.rule == RuleKind.THRESHOLD]
    assert [a.level for a in threshold] == [3, 3, 2, 1]
    assert len({a.alarm_id for a in threshold}) == 1  # one alarm, escalated
    active = engine.active[("G00001", RuleKind.THRESHOLD)]
    assert (active.level, active.count, active.state) == (1, 4, AlarmState.RAISED)


def test_threshold_alarm_clears_when_the_gas_is_gone():
    engine = AlarmEngine()
    changes = _feed(engine, CH4, [12.0, 11.0, 3.0])
    assert changes[-1].state == AlarmState.CLEARED
    assert ("G00001", RuleKind.THRESHOLD) not in engine.active


def test_rate_of_change_on_a_pressure_drop():
    engine = AlarmEngine()
    changes = _feed(engine, PRESSURE, [400.0, 398.0, 300.0])  # -98 kPa in one minute
    rate = [a for a in changes if a.rule == RuleKind.RATE]
    assert len(rate) == 1
    assert rate[0].level == 2
    assert "98.0 kPa/min" in rate[0].message


def test_stuck_value_after_its_count():
    engine = AlarmEngine()
    changes = _feed(engine, PRESSURE, [350.0] * 47)
    assert not [a for a in changes if a.rule == RuleKind.STUCK]
    changes = engine.observe(PRESSURE, 350.0, T0 + timedelta(hours=2))
    assert [a.rule for a in changes] == [RuleKind.STUCK]


def test_offline_after_silence_and_back_online():
    engine = AlarmEngine()
    _feed(engine, CH4, [1.0])
    assert engine.check_offline({CH4.sensor_id: CH4}, T0 + timedelta(seconds=599)) == []
    raised = engine.check_offline({CH4.sensor_id: CH4}, T0 + timedelta(seconds=601))
    assert [(a.rule, a.state) for a in raised] == [(RuleKind.OFFLINE, AlarmState.RAISED)]
    back = engine.observe(CH4, 1.0, T0 + timedelta(seconds=700))
    assert [(a.rule, a.state) for a in back] == [(RuleKind.OFFLINE, AlarmState.CLEARED)]


def test_late_reading_is_ignored_by_the_engine():
    engine = AlarmEngine()
    _feed(engine, CH4, [1.0, 1.0])
    assert engine.observe(CH4, 80.0, T0) == []


def test_lifecycle_refuses_a_cleared_alarm():
    engine = AlarmEngine()
    alarm = _feed(engine, CH4, [30.0])[0]
    acked = apply_action(alarm, AlarmAction.ACKNOWLEDGE, at=T0, actor="op")
    cleared = apply_action(acked, AlarmAction.CLEAR, at=T0, actor="op")
    with pytest.raises(AlarmStateError, match="cannot confirm an alarm that is cleared"):
        apply_action(cleared, AlarmAction.CONFIRM, at=T0, actor="op")
    assert [h[0] for h in cleared.history] == ["raised", "acknowledged", "cleared"]


def test_confirm_hands_the_report_with_the_plan_to_the_opener():
    received = []

    def opener(report):
        received.append(report)
        return CaseRef(case_id=7, reference="LL-7", created=True)

    alarm = _feed(AlarmEngine(), CH4, [60.0])[0]
    plan = {"valves_to_close": ["V3", "V9"], "impact": {"residents": 120}}
    confirmed = confirm_alarm(alarm, CH4, opener, at=T0, actor="op", plan=plan)
    assert confirmed.state == AlarmState.CONFIRMED
    assert confirmed.case == CaseRef(7, "LL-7", created=True)
    (report,) = received
    assert report.alarm_id == alarm.alarm_id
    assert (report.network, report.level, report.department_hint) == ("gas", 1, "gas_utility")
    assert report.category_code == "lifeline.gas_alarm"
    assert report.attachments["isolation_plan"]["valves_to_close"] == ["V3", "V9"]
    assert (report.lon, report.lat) == (106.55, 29.56)


def test_refused_confirmation_opens_no_case():
    calls = []
    alarm = _feed(AlarmEngine(), CH4, [60.0])[0]
    cleared = apply_action(alarm, AlarmAction.CLEAR, at=T0, actor="op")
    with pytest.raises(AlarmStateError):
        confirm_alarm(cleared, CH4, calls.append, at=T0, actor="op")
    assert calls == []


def test_gas_pressure_limits_scale_with_the_sensor_range():
    street = Sensor("G2", "gas", "pressure", "kPa", 0, 10, 106.5, 29.5)
    station = Sensor("G3", "gas", "pressure", "kPa", 0, 400, 106.5, 29.5)
    engine = AlarmEngine()
    assert engine.observe(street, 2.5, T0) == []  # 25 % of a 10 kPa range: normal
    (alarm,) = engine.observe(station, 30.0, T0)  # 7.5 % of 400 kPa: level 1, too low
    assert (alarm.rule, alarm.level) == (RuleKind.THRESHOLD, 1)
