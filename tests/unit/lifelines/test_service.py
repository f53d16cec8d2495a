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
        return conn.execute(
            sa.text(
                "select alarm_id, rule, level, state, count from lifelines_alarms order by alarm_id"
            )
        ).all()


def test_desk_stores_raised_escalated_and_offline_alarms(sqlite_url):
    engine = create_db_engine(sqlite_url)
    desk = AlarmDesk(engine)
    sensors = {"G1": CH4}
    desk.observe(
        [Reading("G1", _ms(T0), 12.0), Reading("G1", _ms(T0 + timedelta(minutes=1)), 30.0)], sensors
    )
    assert desk.check_offline(sensors, T0 + timedelta(minutes=5)) == []
    (offline,) = desk.check_offline(sensors, T0 + timedelta(minutes=12))
    rows = _alarms(engine)
    # 12 -> 30 % LEL in a minute is also faster than the 10 %/min rate rule
    assert [(r.rule, r.level, r.state) for r in rows] == [
        ("offline", 3, "raised"),
        ("rate_of_change", 2, "raised"),
        ("threshold", 2, "raised"),
    ]
    assert rows[2].count == 2
    acked = apply_action(offline, AlarmAction.ACKNOWLEDGE, at=T0, actor="op")
    desk.record(acked)
    assert [r.state for r in _alarms(engine)] == ["acknowledged", "raised", "raised"]
    engine.dispose()


def test_two_processes_share_one_alarm_state_through_the_store(db_url):
    """Two desks (two server processes) on one database: no duplicate alarm, no lost clear,
    and a rate of change measured across a reading the other one took."""
    from shancheng.lifelines.repository import store_batch
    from shancheng.store import upgrade_database

    upgrade_database(db_url)
    engine = create_db_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("delete from lifelines_alarms"))
        conn.execute(sa.text("delete from lifelines_readings"))
    one, two = AlarmDesk(engine), AlarmDesk(engine)
    sensors = {"G1": CH4}

    def take(desk, minutes, value):
        reading = Reading("G1", _ms(T0 + timedelta(minutes=minutes)), value)
        with engine.begin() as conn:
            store_batch(conn, [reading])
        return desk.observe([reading], sensors)

    take(one, 0, 30.0)  # level 2 on desk one
    take(two, 10, 31.0)  # desk two updates the same alarm (it never saw the first reading)
    rows = _alarms(engine)
    assert [(r.rule, r.state, r.count) for r in rows] == [("threshold", "raised", 2)]
    take(one, 20, 5.0)  # back to normal on desk one: the alarm desk two updated is cleared
    assert [(r.rule, r.state) for r in _alarms(engine)] == [("threshold", "cleared")]
    take(two, 20.5, 25.0)  # +20 %LEL in 30 s after desk one's reading: rate of change
    rules = {(r.rule, r.state) for r in _alarms(engine)}
    assert ("rate_of_change", "raised") in rules
    engine.dispose()
