from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from shancheng.lifelines.alarms import AlarmAction, apply_action
from shancheng.lifelines.sensors import Sensor
from shancheng.lifelines.service import AlarmDesk
from shancheng.lifelines.telemetry import Reading
from shancheng.store import create_db_engine

CH4 = Sensor("G1", "gas", "methane", "%LEL", 0, 100, 106.5, 29.5)
T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)


def _ms(at):
    return round(at.timestamp() * 1000)


def _alarms(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "select alarm_id, rule, level, state, count from lifelines_alarms order by alarm_id"
        )).all()


def test_desk_stores_raised_escalated_and_offline_alarms(sqlite_url):
    engine = create_db_engine(sqlite_url)
    desk = AlarmDesk(engine)
    sensors = {"G1": CH4}
    desk.observe([Reading("G1", _ms(T0), 12.0), Reading("G1", _ms(T0 + timedelta(minutes=1)),
                                                        30.0)], sensors)
    assert desk.check_offline(sensors, T0 + timedelta(minutes=5)) == []
    (offline,) = desk.check_offline(sensors, T0 + timedelta(minutes=12))
    rows = _alarms(engine)
    # 12 -> 30 % LEL in a minute is also faster than the 10 %/min rate rule
    assert [(r.rule, r.level, r.state) for r in rows] == [
        ("offline", 3, "raised"), ("rate_of_change", 2, "raised"), ("threshold", 2, "raised")]
    assert rows[2].count == 2
    acked = apply_action(offline, AlarmAction.ACKNOWLEDGE, at=T0, actor="op")
    desk.record(acked)
    assert [r.state for r in _alarms(engine)] == ["acknowledged", "raised", "raised"]
    engine.dispose()
