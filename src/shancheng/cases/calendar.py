"""Working time: the clock that governance deadlines run on (工作时 / 工作日).

Chinese urban-management time limits are counted in working hours: the clock stops outside
office hours, at weekends and on public holidays, and runs on the make-up working days (调休)
that move a weekend day into the week. The default calendar knows mainland China's holidays and
make-up days from the packaged table ``holidays_cn.toml`` (the State Council's announcements,
2025 and 2026); :func:`load_holiday_table` reads another file of that shape. Emergencies count
natural hours instead (:meth:`WorkingCalendar.natural`). Times are aware datetimes; the calendar
works in China Standard Time (UTC+8, no daylight saving), so the answer does not depend on the
machine.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from importlib import resources
from typing import TYPE_CHECKING

from shancheng.errors import CaseInputError, ConfigError

if TYPE_CHECKING:
    from pathlib import Path

CHINA_TZ = timezone(timedelta(hours=8), "CST")
"""China Standard Time, UTC+8 all year."""
DAY_S = 86_400
_MAX_DAYS = 3_660  # ten years: a calendar with no working time in reach is a config error


@dataclass(frozen=True, slots=True)
class HolidayTable:
    """Days off on weekdays' footing (holidays) and weekend days worked (make-up days, 调休)."""

    holidays: frozenset[date]
    makeup_days: frozenset[date]
    years: tuple[int, ...]


def load_holiday_table(path: Path | None = None) -> HolidayTable:
    """Read a holiday table (default: the packaged ``holidays_cn.toml``, 2025 and 2026).

    The file lists ``years`` and one ``[[festival]]`` per holiday with ``name``, ``off_from``,
    ``off_to`` (TOML dates, the span off) and ``work`` (the make-up days).

    Raises
    ------
    ConfigError
        The file is not TOML, a field is missing or not a date, a span is reversed or outside
        ``years``, or a day is both off and worked (the message names the file and the field).

    Examples
    --------
    >>> table = load_holiday_table()
    >>> date(2026, 10, 1) in table.holidays, date(2026, 10, 10) in table.makeup_days
    (True, True)
    """
    if path is None:
        name = "shancheng/cases/holidays_cn.toml"
        text = (resources.files("shancheng.cases") / "holidays_cn.toml").read_text("utf-8")
    else:
        name = str(path)
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            msg = f"{name}: cannot read the holiday table ({exc.strerror})"
            raise ConfigError(msg) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{name}: not valid TOML ({exc})"
        raise ConfigError(msg) from exc
    years = data.get("years")
    if not isinstance(years, list) or not all(isinstance(y, int) for y in years):
        msg = f"{name}: `years` must list the years the table covers, e.g. years = [2026]"
        raise ConfigError(msg)
    holidays: set[date] = set()
    makeups: set[date] = set()
    for i, festival in enumerate(data.get("festival", []), start=1):
        where = f"{name}: festival {i} ({festival.get('name', '?')})"
        work = festival.get("work", [])
        work = work if isinstance(work, list) else [None]
        raw = [festival.get("off_from"), festival.get("off_to"), *work]
        if not all(isinstance(d, date) and not isinstance(d, datetime) for d in raw):
            msg = f"{where}: `off_from`, `off_to` and `work` must be dates such as 2026-10-01"
            raise ConfigError(msg)
        dates: list[date] = raw
        first, last = dates[0], dates[1]
        if last < first or any(d.year not in years for d in dates):
            msg = f"{where}: `off_from` must not be after `off_to`, and all days in `years`"
            raise ConfigError(msg)
        holidays.update(first + timedelta(days=n) for n in range((last - first).days + 1))
        makeups.update(work)
    both = holidays & makeups
    if both:
        msg = f"{name}: {min(both)} is both a day off and a make-up working day"
        raise ConfigError(msg)
    return HolidayTable(frozenset(holidays), frozenset(makeups), tuple(sorted(years)))


@functools.cache
def packaged_holidays() -> HolidayTable:
    """Return the packaged holiday table (read once)."""
    return load_holiday_table()


def _default_holidays() -> frozenset[date]:
    return packaged_holidays().holidays


def _default_makeup_days() -> frozenset[date]:
    return packaged_holidays().makeup_days


def _seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """Office hours, weekends, holidays and make-up days.

    Parameters
    ----------
    periods
        Working periods of a working day as ``(start, end)`` local times; ``end`` may be
        ``None`` for midnight at the end of the day. Default 08:30-12:00 and 14:00-17:30,
        seven working hours a day.
    weekend
        ISO weekday numbers that are not working days (6 = Saturday, 7 = Sunday).
    holidays
        Dates off although they fall on a weekday. Default: the packaged table of mainland
        China's public holidays (:func:`packaged_holidays`).
    makeup_days
        Dates worked although they fall on a weekend (调休). Default: the packaged table's.

    Examples
    --------
    >>> cal = WorkingCalendar()
    >>> friday_4pm = datetime(2026, 11, 20, 16, 0, tzinfo=CHINA_TZ)
    >>> cal.add_working_hours(friday_4pm, 4).isoformat()  # 1.5 h Friday, 2.5 h Monday
    '2026-11-23T11:00:00+08:00'
    """

    periods: tuple[tuple[time, time | None], ...] = (
        (time(8, 30), time(12, 0)),
        (time(14, 0), time(17, 30)),
    )
    weekend: frozenset[int] = frozenset({6, 7})
    holidays: frozenset[date] = field(default_factory=_default_holidays)
    makeup_days: frozenset[date] = field(default_factory=_default_makeup_days)

    def __post_init__(self) -> None:
        """Refuse empty, reversed or overlapping periods and holidays that are also make-ups."""
        if not self.periods:
            msg = "WorkingCalendar.periods must hold at least one (start, end) period, got ()"
            raise ConfigError(msg)
        previous_end = -1
        for start, end in self.periods:
            start_s, end_s = _seconds(start), DAY_S if end is None else _seconds(end)
            if not start_s < end_s or start_s < previous_end:
                msg = (
                    "WorkingCalendar.periods must be increasing, non-overlapping (start, end) "
                    f"pairs, got ({start}, {end})"
                )
                raise ConfigError(msg)
            previous_end = end_s
        both = self.holidays & self.makeup_days
        if both:
            msg = f"WorkingCalendar: {min(both)} is both a holiday and a make-up working day"
            raise ConfigError(msg)

    @classmethod
    def natural(cls) -> WorkingCalendar:
        """Every hour of every day counts (for emergencies, 自然时)."""
        return cls(
            periods=((time(0, 0), None),),
            weekend=frozenset(),
            holidays=frozenset(),
            makeup_days=frozenset(),
        )

    @classmethod
    def from_holiday_table(cls, table: HolidayTable) -> WorkingCalendar:
        """Return the default office hours and weekend with the days of ``table``."""
        return cls(holidays=table.holidays, makeup_days=table.makeup_days)

    @property
    def _spans(self) -> tuple[tuple[int, int], ...]:
        return tuple(
            (_seconds(start), DAY_S if end is None else _seconds(end))
            for start, end in self.periods
        )

    def is_working_day(self, day: date) -> bool:
        """Tell whether ``day`` is worked: a weekday that is no holiday, or a make-up day."""
        if day in self.makeup_days:
            return True
        return day.isoweekday() not in self.weekend and day not in self.holidays

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Working seconds in ``[start, end]`` (0 when ``end <= start``).

        Examples
        --------
        >>> cal = WorkingCalendar()
        >>> a = datetime(2026, 11, 23, 11, 0, tzinfo=CHINA_TZ)   # Monday 11:00
        >>> b = datetime(2026, 11, 23, 15, 0, tzinfo=CHINA_TZ)   # lunch break not counted
        >>> cal.working_seconds_between(a, b) / 3600
        2.0
        """
        a, b = _local(start, "start"), _local(end, "end")
        if b <= a:
            return 0.0
        total = 0.0
        day = a.date()
        spans = self._spans
        while day <= b.date():
            if self.is_working_day(day):
                midnight = datetime.combine(day, time(0, 0), tzinfo=CHINA_TZ)
                for start_s, end_s in spans:
                    lo = max(midnight + timedelta(seconds=start_s), a)
                    hi = min(midnight + timedelta(seconds=end_s), b)
                    if hi > lo:
                        total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total

    def add_working_seconds(self, start: datetime, seconds: float) -> datetime:
        """Return the moment when ``seconds`` of working time have passed since ``start``.

        The answer is the earliest such moment, so a limit that ends exactly at the close of
        office hours ends then, not at the next opening.

        Raises
        ------
        ConfigError
            If the calendar has no working time within ten years.
        """
        if seconds < 0:
            msg = f"working time to add must be >= 0 seconds, got {seconds!r}"
            raise ConfigError(msg)
        a = _local(start, "start")
        remaining = timedelta(seconds=seconds)
        day = a.date()
        spans = self._spans
        for _ in range(_MAX_DAYS):
            if self.is_working_day(day):
                midnight = datetime.combine(day, time(0, 0), tzinfo=CHINA_TZ)
                for start_s, end_s in spans:
                    lo = max(midnight + timedelta(seconds=start_s), a)
                    hi = midnight + timedelta(seconds=end_s)
                    if hi <= lo:
                        continue
                    if remaining <= hi - lo:
                        return lo + remaining
                    remaining -= hi - lo
            day += timedelta(days=1)
        msg = "WorkingCalendar has no working time within ten years; check weekend and holidays"
        raise ConfigError(msg)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """Shorthand for :meth:`add_working_seconds` in hours."""
        return self.add_working_seconds(start, hours * 3600.0)


def _local(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        msg = f"`{name}` must be a timezone-aware datetime, got naive {value.isoformat()}"
        raise CaseInputError(msg, field=name)
    return value.astimezone(CHINA_TZ)
