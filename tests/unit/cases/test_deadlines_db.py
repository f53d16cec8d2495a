"""Stage deadlines on the working calendar, with a holiday and a pause, stored and escalated.

Hand-computed with the default office hours 08:30-12:00 and 14:00-17:30, Monday to Friday,
plus a holiday on Monday 30 November 2026. Exposed garbage (E0102) has 1 h to register, 1 h to
dispatch, 4 h to dispose; a missing manhole cover (E0401) has 2 natural hours to dispose.
"""

from dataclasses import replace
from datetime import date, datetime

import pytest
from tests.unit.cases.conftest import center_for

from shancheng.cases import repository, service
from shancheng.cases.calendar import CHINA_TZ, WorkingCalendar
from shancheng.cases.domain import Action
from shancheng.cases.intake import ReportIn

pytestmark = pytest.mark.services


def cst(*args):
    return datetime(*args, tzinfo=CHINA_TZ)


@pytest.fixture
def holiday_session(make_session, center):
    cal = WorkingCalendar(holidays=frozenset({date(2026, 11, 30)}))
    s = make_session(replace(center, calendar=cal, duplicate_radius_m=0.0))
    yield s
    s.close()


def test_deadlines_across_weekend_holiday_and_pause(holiday_session, admin, point):
    s = holiday_session
    case = service.submit_report(
        s, center_for(s), ReportIn("E0102", *point(skip=5)), at=cst(2026, 11, 27, 16)
    ).case
    assert case.deadline_at == cst(2026, 11, 27, 17)
    service.act(
        s, center_for(s), case.id, Action.REGISTER, actor=admin, at=cst(2026, 11, 27, 16, 30)
    )
    assert case.deadline_at == cst(2026, 11, 27, 17, 30)
    service.act(s, center_for(s), case.id, Action.DISPATCH, actor=admin, at=cst(2026, 11, 27, 17))
    # 0.5 h on Friday, Saturday/Sunday off, Monday a holiday, 3.5 h on Tuesday morning
    assert case.deadline_at == cst(2026, 12, 1, 12)
    assert case.expected_at == cst(2026, 12, 1, 12)
    service.act(s, center_for(s), case.id, Action.SUSPEND, actor=admin, at=cst(2026, 12, 1, 9))
    assert case.deadline_at is None
    assert (
        service.escalate_overdue(s, center_for(s), at=cst(2026, 12, 2, 11)) == []
    )  # frozen while suspended
    service.act(s, center_for(s), case.id, Action.RESUME, actor=admin, at=cst(2026, 12, 2, 9))
    # paused 3 + 3.5 (Tuesday) + 0.5 (Wednesday) = 7 working hours, added to the 4 h limit
    assert case.paused_s == 7 * 3600
    assert case.deadline_at == cst(2026, 12, 2, 12)
    assert service.escalate_overdue(s, center_for(s), at=cst(2026, 12, 2, 11, 59)) == []
    assert service.escalate_overdue(s, center_for(s), at=cst(2026, 12, 2, 14, 30)) == [case.id]
    s.expire_all()
    row = repository.get_case(s, case.id)
    assert (row.level, row.unit_code, row.escalations) == ("district", row.district_code, 1)
    # the district gets a fresh 4 h: 3 h on Wednesday afternoon, 1 h on Thursday
    assert row.deadline_at == cst(2026, 12, 3, 9, 30)
    assert service.escalate_overdue(s, center_for(s), at=cst(2026, 12, 3, 10)) == [case.id]
    s.expire_all()
    assert repository.get_case(s, case.id).level == "city"
    assert (
        service.escalate_overdue(s, center_for(s), at=cst(2026, 12, 10, 10)) == []
    )  # nothing above the city
    history = [(e.action, e.actor, e.note) for e in repository.events_of(s, case.id)]
    assert history[-2:] == [("escalate", "system", "overdue")] * 2


def test_on_time_flag_and_natural_clock(holiday_session, admin, point):
    s = holiday_session
    late = service.submit_report(
        s, center_for(s), ReportIn("E0102", *point(skip=6)), at=cst(2026, 11, 23, 9)
    ).case
    for action, at in (
        (Action.REGISTER, cst(2026, 11, 23, 9, 10)),
        (Action.DISPATCH, cst(2026, 11, 23, 9, 20)),
        (Action.START, cst(2026, 11, 23, 10)),
        (Action.RESPOND, cst(2026, 11, 23, 15, 30)),
    ):  # due 15:20 (lunch)
        service.act(s, center_for(s), late.id, action, actor=admin, at=at)
    assert late.closed_on_time is False
    urgent = service.submit_report(
        s, center_for(s), ReportIn("E0401", *point(skip=7)), at=cst(2026, 11, 28, 22)
    ).case  # a Saturday night
    assert urgent.deadline_at == cst(2026, 11, 28, 22, 30)  # 0.5 natural hours to register
    service.act(
        s, center_for(s), urgent.id, Action.REGISTER, actor=admin, at=cst(2026, 11, 28, 22, 10)
    )
    service.act(s, center_for(s), urgent.id, Action.DISPATCH, actor=admin, at=cst(2026, 11, 28, 23))
    assert urgent.deadline_at == cst(2026, 11, 29, 1)
    service.act(
        s, center_for(s), urgent.id, Action.START, actor=admin, at=cst(2026, 11, 28, 23, 30)
    )
    service.act(
        s, center_for(s), urgent.id, Action.RESPOND, actor=admin, at=cst(2026, 11, 29, 0, 45)
    )
    assert urgent.closed_on_time is True
