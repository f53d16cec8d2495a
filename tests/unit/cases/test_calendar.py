"""Working time: hand-computed deadlines across lunch, weekends, holidays and make-up days."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shancheng.cases.calendar import CHINA_TZ, WorkingCalendar
from shancheng.errors import CaseInputError, ConfigError

H = 3600.0


def cst(*args):
    return datetime(*args, tzinfo=CHINA_TZ)


CAL = WorkingCalendar()  # 08:30-12:00, 14:00-17:30, Monday-Friday


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (cst(2026, 11, 23, 9, 0), 2, cst(2026, 11, 23, 11, 0)),  # inside the morning
        (cst(2026, 11, 23, 11, 0), 2, cst(2026, 11, 23, 15, 0)),  # across lunch
        (cst(2026, 11, 23, 7, 0), 1, cst(2026, 11, 23, 9, 30)),  # before opening
        (cst(2026, 11, 23, 12, 30), 1, cst(2026, 11, 23, 15, 0)),  # during lunch
        (cst(2026, 11, 23, 17, 0), 0.5, cst(2026, 11, 23, 17, 30)),  # ends at closing, not next day
        (cst(2026, 11, 27, 16, 0), 4, cst(2026, 11, 30, 11, 0)),  # Friday → Monday
        (cst(2026, 11, 28, 10, 0), 1, cst(2026, 11, 30, 9, 30)),  # from a Saturday
        (cst(2026, 11, 23, 9, 0), 14, cst(2026, 11, 25, 9, 0)),  # 6.5 + 7 + 0.5 h
        (cst(2026, 11, 23, 9, 0), 0, cst(2026, 11, 23, 9, 0)),
    ],
)
def test_add_working_hours(start, hours, expected):
    assert CAL.add_working_hours(start, hours) == expected


def test_holidays_and_makeup_days():
    # National Day week off (Thursday 1 .. Wednesday 7 October 2026), Saturday 10 worked
    holidays = frozenset(date(2026, 10, d) for d in range(1, 8))
    cal = WorkingCalendar(holidays=holidays, makeup_days=frozenset({date(2026, 10, 10)}))
    wednesday = cst(2026, 9, 30, 16, 30)
    # 1 h on Wed 30 Sep, then nothing until Thursday 8 Oct (7 h), Friday 9 (7 h), Sat 10 (7 h)
    assert cal.add_working_hours(wednesday, 1 + 7 + 7 + 2) == cst(2026, 10, 10, 10, 30)
    assert cal.working_seconds_between(wednesday, cst(2026, 10, 12, 8, 30)) == 22 * H
    assert not cal.is_working_day(date(2026, 10, 5))
    assert cal.is_working_day(date(2026, 10, 10))


def test_between_across_weekend_and_other_time_zones():
    fri = cst(2026, 11, 27, 8, 0)
    mon_utc = cst(2026, 11, 30, 10, 0).astimezone(UTC)
    assert mon_utc.hour == 2
    assert CAL.working_seconds_between(fri, mon_utc) == (7 + 1.5) * H
    assert CAL.working_seconds_between(mon_utc, fri) == 0


def test_natural_clock_counts_every_hour():
    nat = WorkingCalendar.natural()
    assert nat.add_working_hours(cst(2026, 11, 28, 23, 0), 2) == cst(2026, 11, 29, 1, 0)
    assert nat.working_seconds_between(cst(2026, 11, 27, 0, 0), cst(2026, 11, 30, 0, 0)) == 72 * H


def test_bad_calendars_and_naive_times_are_refused():
    with pytest.raises(ConfigError, match="periods"):
        WorkingCalendar(periods=((time(12), time(9)),))
    with pytest.raises(ConfigError, match="both a holiday and a make-up"):
        WorkingCalendar(
            holidays=frozenset({date(2026, 1, 1)}), makeup_days=frozenset({date(2026, 1, 1)})
        )
    with pytest.raises(ConfigError, match="no working time"):
        WorkingCalendar(weekend=frozenset(range(1, 8))).add_working_hours(cst(2026, 1, 1), 1)
    with pytest.raises(CaseInputError, match="timezone-aware"):
        CAL.add_working_hours(datetime(2026, 1, 1), 1)


@settings(max_examples=60, deadline=None)
@given(
    offset_min=st.integers(0, 60 * 24 * 21),
    seconds=st.integers(0, 3600 * 60),
    holiday_offsets=st.sets(st.integers(0, 30), max_size=4),
)
def test_add_then_measure_gives_back_the_same_working_time(offset_min, seconds, holiday_offsets):
    base = cst(2026, 11, 2, 0, 0)
    holidays = frozenset(base.date() + timedelta(days=d) for d in holiday_offsets)
    cal = WorkingCalendar(holidays=holidays)
    start = base + timedelta(minutes=offset_min)
    end = cal.add_working_seconds(start, seconds)
    assert cal.working_seconds_between(start, end) == pytest.approx(seconds)
    # and it is the earliest such moment: a minute earlier there was less working time
    if seconds > 60:
        assert cal.working_seconds_between(start, end - timedelta(minutes=1)) < seconds
