"""Pure rules: phases, thresholds, the answer deadline, the answer workflow, permissions."""

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shancheng.cases.calendar import CHINA_TZ, WorkingCalendar
from shancheng.cases.permissions import Actor, Role
from shancheng.errors import CaseInputError, PermissionDeniedError, TransitionNotAllowedError
from shancheng.ideas.answers import TRANSITIONS, AnswerAction, AnswerStatus, next_status
from shancheng.ideas.permissions import ROLE_VERBS, IdeaVerb, check_verb
from shancheng.ideas.phases import Phase, PhaseClosedError, Phases, answer_due, threshold_of
from shancheng.ideas.suspicion import BurstRule, burst_start

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=CHINA_TZ)  # a Monday
DAY = timedelta(days=1)


def test_phase_boundaries_are_half_open():
    p = Phases((T0, T0 + 10 * DAY), (T0 + 5 * DAY, T0 + 20 * DAY),
               (T0 + 20 * DAY, T0 + 25 * DAY), (T0 + 25 * DAY, T0 + 30 * DAY))  # fmt: skip
    assert p.open_at(T0) == [Phase.COLLECTING]
    assert p.open_at(T0 + 5 * DAY) == [Phase.COLLECTING, Phase.SUPPORTING]
    assert p.open_at(T0 + 10 * DAY) == [Phase.SUPPORTING]  # collecting ended at its end
    assert p.open_at(T0 + 20 * DAY) == [Phase.REVIEW]
    assert p.open_at(T0 - timedelta(seconds=1)) == []
    with pytest.raises(PhaseClosedError, match="supporting phase runs from"):
        p.require(Phase.SUPPORTING, T0 + DAY, doing="support an idea")


def test_phases_out_of_order_or_naive_are_refused():
    with pytest.raises(CaseInputError, match="review.start"):
        Phases((T0, T0 + DAY), (T0, T0 + 5 * DAY), (T0 + 2 * DAY, T0 + 6 * DAY),
               (T0 + 6 * DAY, T0 + 7 * DAY))  # fmt: skip
    with pytest.raises(CaseInputError, match="start .* must come before end"):
        Phases((T0, T0), (T0, T0 + DAY), (T0 + DAY, T0 + 2 * DAY), (T0 + 2 * DAY, T0 + 3 * DAY))
    naive = datetime(2026, 11, 23, 9, 0)
    with pytest.raises(CaseInputError, match="timezone-aware"):
        Phases((naive, T0), (T0, T0 + DAY), (T0 + DAY, T0 + 2 * DAY), (T0 + 2 * DAY, T0 + 3 * DAY))


def test_threshold_as_count_or_population_share():
    assert threshold_of(supports=200, share=None, covered_population=0) == 200
    # 0.5 % of 81,234 residents = 406.17 -> 407 people
    assert threshold_of(supports=None, share=0.005, covered_population=81_234) == 407
    # an exact product is not rounded up past itself: 1 % of 1,000 = 10
    assert threshold_of(supports=None, share=0.01, covered_population=1_000) == 10
    with pytest.raises(CaseInputError, match="exactly one"):
        threshold_of(supports=10, share=0.1, covered_population=100)
    with pytest.raises(CaseInputError, match="covered population"):
        threshold_of(supports=None, share=0.1, covered_population=0)


def test_answer_due_counts_working_days_on_the_calendar():
    cal = WorkingCalendar()  # 7 working hours a day, weekends off
    # Friday 16:00 + 3 working days: 1.5 h Fri, 7 h Mon, 7 h Tue, 5.5 h Wed -> Wed 16:00
    friday_4pm = datetime(2026, 11, 20, 16, 0, tzinfo=CHINA_TZ)
    assert answer_due(cal, friday_4pm, 3) == datetime(2026, 11, 25, 16, 0, tzinfo=CHINA_TZ)
    # a holiday on Monday and a make-up Saturday: Sat 28 Nov is worked, Mon 30 Nov is not
    holiday = WorkingCalendar(holidays=frozenset({date(2026, 11, 30)}),
                              makeup_days=frozenset({date(2026, 11, 28)}))  # fmt: skip
    # Friday 27 Nov 17:30 (closing) + 2 days: all of Sat 28, then Tue 1 Dec -> Tue 17:30
    closing = datetime(2026, 11, 27, 17, 30, tzinfo=CHINA_TZ)
    assert answer_due(holiday, closing, 2) == datetime(2026, 12, 1, 17, 30, tzinfo=CHINA_TZ)
    # reached on a Sunday: the clock starts on Monday morning
    sunday = datetime(2026, 11, 22, 20, 0, tzinfo=CHINA_TZ)
    assert answer_due(cal, sunday, 1) == datetime(2026, 11, 23, 17, 30, tzinfo=CHINA_TZ)


@given(st.integers(min_value=1, max_value=30), st.integers(min_value=0, max_value=400))
def test_answer_due_spends_exactly_the_working_time(days, offset_h):
    cal = WorkingCalendar()
    start = T0 + timedelta(hours=offset_h)
    due = answer_due(cal, start, days)
    assert cal.working_seconds_between(start, due) == pytest.approx(days * 7 * 3600)


def test_every_answer_transition_and_nothing_else():
    expected = {
        ("pending", "evaluate"): "evaluating",
        ("evaluating", "accept"): "accepted",
        ("evaluating", "decline"): "declined",
        ("accepted", "start"): "in_progress",
        ("in_progress", "finish"): "done",
    }
    for status in AnswerStatus:
        for action in AnswerAction:
            key = (status.value, action.value)
            if key in expected:
                got = next_status(status, action, reason="不在规划范围内")
                assert got.value == expected[key]
            else:
                with pytest.raises(TransitionNotAllowedError):
                    next_status(status, action, reason="x")
    assert len(TRANSITIONS) == len(expected)
    with pytest.raises(CaseInputError, match="reason"):
        next_status(AnswerStatus.EVALUATING, AnswerAction.DECLINE, reason="  ")


def test_who_may_answer():
    evaluators = {r for r, verbs in ROLE_VERBS.items() if IdeaVerb.EVALUATE in verbs}
    deciders = {r for r, verbs in ROLE_VERBS.items() if IdeaVerb.ACCEPT in verbs}
    assert evaluators == {Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN}
    assert deciders == {Role.SUPERVISOR, Role.ADMIN}
    assert ROLE_VERBS[Role.CITIZEN] == {IdeaVerb.PROPOSE, IdeaVerb.SUPPORT}
    with pytest.raises(PermissionDeniedError, match="outside unit"):
        check_verb(Actor("s", Role.SUPERVISOR, "990102"), IdeaVerb.ACCEPT, "990101001", "990101")


def test_burst_needs_enough_new_accounts_within_the_window():
    rule = BurstRule(min_supports=3, window=timedelta(minutes=5))
    spaced = [T0 + timedelta(minutes=3 * i) for i in range(5)]  # one every 3 minutes
    assert burst_start(spaced, rule) is None
    packed = [T0 + timedelta(minutes=m) for m in (0, 30, 31, 33)]
    assert burst_start(packed, rule) == T0 + timedelta(minutes=30)
    assert rule.is_new(T0 - timedelta(days=6), T0)
    assert not BurstRule().is_new(T0 - timedelta(days=7), T0)
