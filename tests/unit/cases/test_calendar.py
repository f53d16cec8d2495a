"""Working time: hand-computed deadlines across lunch, weekends, holidays and make-up days."""

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shancheng.cases.calendar import CHINA_TZ, WorkingCalendar, load_holiday_table
from shancheng.errors import CaseInputError, ConfigError

H = 3600.0
DATA = Path(__file__).parents[2] / "data"


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
        # (no make-up days either: the packaged Sunday 4 January 2026 would be worked)
        WorkingCalendar(weekend=frozenset(range(1, 8)), makeup_days=frozenset()).add_working_hours(
            cst(2026, 1, 1), 1
        )
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


def test_default_calendar_knows_the_state_council_holidays():
    # National Day 2026: Thursday 1 .. Wednesday 7 October off, Saturday 10 October worked;
    # from Wednesday 30 Sep 16:30, 1 h that day, then Thu 8, Fri 9 and Sat 10 (7 h each)
    cal = WorkingCalendar()
    wednesday = cst(2026, 9, 30, 16, 30)
    assert cal.add_working_hours(wednesday, 1 + 7 + 7 + 2) == cst(2026, 10, 10, 10, 30)
    # Spring Festival 2026: Saturday 14 February worked, 15 .. 23 off, Saturday 28 worked
    assert cal.is_working_day(date(2026, 2, 14))
    assert not any(cal.is_working_day(date(2026, 2, d)) for d in range(15, 24))
    assert cal.is_working_day(date(2026, 2, 24))
    assert cal.is_working_day(date(2026, 2, 28))
    # 2025: New Year's Day off, Sunday 26 January and Saturday 8 February worked
    assert not cal.is_working_day(date(2025, 1, 1))
    assert cal.is_working_day(date(2025, 1, 26))
    assert cal.is_working_day(date(2025, 2, 8))
    # emergencies count every hour, holidays included
    nat = WorkingCalendar.natural()
    assert nat.add_working_hours(cst(2026, 10, 1, 0, 0), 24) == cst(2026, 10, 2, 0, 0)


def test_holiday_table_counts_every_day_announced():
    table = load_holiday_table()
    assert table.years == (2025, 2026)
    # 2025: 1 + 8 + 3 + 5 + 3 + 8 days off; 2026: 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert len([d for d in table.holidays if d.year == 2025]) == 28
    assert len([d for d in table.holidays if d.year == 2026]) == 33
    assert sorted(table.makeup_days) == [
        date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28),
        date(2025, 10, 11), date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28),
        date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10),
    ]  # fmt: skip
    assert all(d.isoweekday() in (6, 7) for d in table.makeup_days)


def test_a_holiday_file_replaces_the_packaged_table(tmp_path):
    from shancheng.api.app import apply_settings
    from shancheng.cases.center import Center
    from shancheng.config import Settings

    path = tmp_path / "holidays.toml"
    path.write_text(
        'years = [2027]\n[[festival]]\nname = "春节"\noff_from = 2027-02-05\n'
        "off_to = 2027-02-11\nwork = [2027-02-14]\n",
        encoding="utf-8",
    )
    center = apply_settings(
        Center(taxonomy=None, admin=None),  # type: ignore[arg-type]
        Settings(cases_holidays_file=path),
    )
    assert not center.calendar.is_working_day(date(2027, 2, 8))  # a Monday off
    assert center.calendar.is_working_day(date(2027, 2, 14))  # a Sunday worked
    assert center.calendar.is_working_day(date(2026, 10, 1))  # the packaged table is gone
    with pytest.raises(ConfigError, match=r"festival 1 \(春节 Spring Festival\).*off_from"):
        load_holiday_table(DATA / "bad_holidays_reversed.toml")
    with pytest.raises(ConfigError, match="cannot read the holiday table"):
        apply_settings(Center(None, None), Settings(cases_holidays_file=tmp_path / "nope.toml"))  # type: ignore[arg-type]
    path.write_text("years = [2027]\n[[festival]]\nname = 'x'\noff_from = 'soon'\n")
    with pytest.raises(ConfigError, match="`off_from`, `off_to` and `work` must be dates"):
        load_holiday_table(path)
