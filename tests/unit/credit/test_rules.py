"""Publicity deadlines, tier rules on hand-built histories, and the double-random draw."""

from datetime import date

import numpy as np
import pytest
from scipy.stats import binom

from shancheng.cases.calendar import WorkingCalendar
from shancheng.credit.decisions import (
    DecisionAction,
    DecisionStatus,
    next_status,
    publish_due,
)
from shancheng.credit.draw import draw_inspections
from shancheng.credit.tiers import CreditEvent, assess, load_rules, repair_possible_on
from shancheng.errors import QueryError, TransitionNotAllowedError

# the default calendar: the packaged State Council table (2026: Mid-Autumn 25-27 September and
# National Day 1-7 October off, Sunday 20 September and Saturday 10 October worked; Spring
# Festival 15-23 February off, Saturdays 14 and 28 February worked)
DEFAULT = WorkingCalendar()
WEEKENDS_ONLY = WorkingCalendar(holidays=frozenset(), makeup_days=frozenset())


def test_publicity_deadline_counts_working_days_across_national_day():
    # decided Tuesday 29 Sep: working days after it are Wed 30 Sep, (1-7 Oct off), Thu 8,
    # Fri 9, Sat 10 (make-up), Mon 12, Tue 13, Wed 14 -> the 7th is Wednesday 14 October
    assert publish_due(date(2026, 9, 29), DEFAULT) == date(2026, 10, 14)
    # on weekends alone it would be Thursday 8 October
    assert publish_due(date(2026, 9, 29), WEEKENDS_ONLY) == date(2026, 10, 8)
    # decided on Friday 18 Sep: Sun 20 Sep is a make-up day and counts, Fri 25 (Mid-Autumn)
    # does not: Sun 20, Mon 21, Tue 22, Wed 23, Thu 24, Mon 28, Tue 29
    assert publish_due(date(2026, 9, 18), DEFAULT) == date(2026, 9, 29)
    # decided on a holiday itself: Thu 8, Fri 9, Sat 10, Mon 12, Tue 13, Wed 14, Thu 15
    assert publish_due(date(2026, 10, 3), DEFAULT) == date(2026, 10, 15)
    # 2025 (1-8 October off, Sunday 28 September and Saturday 11 October worked): decided
    # Friday 26 Sep -> Sun 28, Mon 29, Tue 30, Thu 9, Fri 10, Sat 11, Mon 13
    assert publish_due(date(2025, 9, 26), DEFAULT) == date(2025, 10, 13)


def test_publicity_deadline_across_spring_festival_ends_on_a_make_up_saturday():
    # decided Thursday 12 Feb 2026: Fri 13, Sat 14 (make-up), (15-23 off), Tue 24, Wed 25,
    # Thu 26, Fri 27, Sat 28 (make-up) -> the 7th working day is Saturday 28 February
    due = publish_due(date(2026, 2, 12), DEFAULT)
    assert due == date(2026, 2, 28)
    assert due.isoweekday() == 6
    # on weekends alone: Fri 13, Mon 16, Tue 17, Wed 18, Thu 19, Fri 20, Mon 23
    assert publish_due(date(2026, 2, 12), WEEKENDS_ONLY) == date(2026, 2, 23)
    # 2025 (28 Jan - 4 Feb off, Sunday 26 Jan and Saturday 8 Feb worked): decided Friday
    # 24 Jan -> Sun 26, Mon 27, Wed 5, Thu 6, Fri 7, Sat 8, Mon 10
    assert publish_due(date(2025, 1, 24), DEFAULT) == date(2025, 2, 10)


def test_workflow_table_refuses_what_it_does_not_list():
    s, a = DecisionStatus, DecisionAction
    path = [a.DECIDE, a.PUBLISH, a.APPEAL, a.UPHOLD, a.CLOSE]
    status = s.PROPOSED
    for action in path:
        status = next_status(status, action)
    assert status is s.CLOSED
    with pytest.raises(TransitionNotAllowedError, match="allowed: decide, withdraw"):
        next_status(s.PROPOSED, a.PUBLISH, decision_id=4)
    with pytest.raises(TransitionNotAllowedError):
        next_status(s.DECIDED, a.APPEAL)  # an appeal comes after publication
    assert next_status(s.APPEALED, a.REVOKE) is s.REVOKED
    for action in DecisionAction:
        with pytest.raises(TransitionNotAllowedError):
            next_status(s.CLOSED, action)


RULES = load_rules()


def test_decay_by_half_life():
    # penalty -15, half-life 365 d: after 0 d -15; after 146 d -15 * 0.5 ** 0.4 = -11.37
    events = [CreditEvent("penalty", date(2026, 1, 1), "d1")]
    assert assess(events, RULES, on=date(2026, 1, 1)).score == 85.0
    later = assess(events, RULES, on=date(2026, 5, 27))  # 146 days
    assert later.score == pytest.approx(round(100 - 15 * 0.5**0.4, 1))
    assert later.tier == "B"
    [reason] = later.reasons
    assert (reason.code, reason.kind, reason.ref, reason.on) == (
        "counted",
        "penalty",
        "d1",
        date(2026, 1, 1),
    )
    assert reason.params == {"weight": -15.0, "factor": 0.7579, "age_days": 146,
                             "half_life_days": 365.0, "change": -11.37}  # fmt: skip
    assert reason.english() == (
        "penalty (d1, 2026-01-01): -15 x 0.76 (146 d, half-life 365 d) = -11.4"
    )
    # nothing counts before it happened
    assert assess(events, RULES, on=date(2025, 12, 31)).score == 100.0


def test_record_stops_counting_after_its_publicity_period():
    warning = [CreditEvent("warning", date(2026, 1, 1), "w1")]  # publicity 90 days
    assert assess(warning, RULES, on=date(2026, 3, 31)).score == pytest.approx(
        round(100 - 5 * 0.5 ** (89 / 180), 1)
    )  # day 89 still counts
    gone = assess(warning, RULES, on=date(2026, 4, 1))  # day 90
    assert gone.score == 100.0
    assert gone.tier == "A"
    assert (gone.reasons[0].code, gone.reasons[0].params) == ("expired", {"publicity_days": 90})
    assert "past its 90-day publicity" in gone.reasons[0].english()


def test_tiers_from_several_events_and_repair():
    # two severe penalties and a warning on the same day: 100 - 40 - 40 - 5 = 15 -> D
    day = date(2026, 3, 2)
    events = [
        CreditEvent("penalty_severe", day, "d1"),
        CreditEvent("penalty_severe", day, "d2"),
        CreditEvent("warning", day, "w1"),
    ]
    assert assess(events, RULES, on=day).tier == "D"
    assert assess(events, RULES, on=day).score == 15.0
    # a repair of d2 (granted 2027-03-02, its minimum publicity of 365 days passed) ends it:
    # on 2027-03-02 d1 counts -40 * 0.5 ** (365 / 730) = -28.28, the warning is past 90 days
    repaired = [
        events[0],
        CreditEvent("penalty_severe", day, "d2", date(2027, 3, 2), "fine paid, corrected"),
        events[2],
    ]
    after = assess(repaired, RULES, on=date(2027, 3, 2))
    assert after.score == pytest.approx(round(100 - 40 * 0.5**0.5, 1))
    assert after.tier == "C"
    [repair] = [r for r in after.reasons if r.code == "repaired"]
    assert (repair.ref, repair.params) == (
        "d2",
        {"repaired_on": "2027-03-02", "repair_reason": "fine paid, corrected"},
    )
    assert "repaired on 2027-03-02 (fine paid, corrected)" in repair.english()
    # the score never goes below 0
    many = [CreditEvent("penalty_severe", day, f"d{i}") for i in range(5)]
    assert assess(many, RULES, on=day).score == 0.0


def test_repair_opens_after_the_minimum_publicity():
    penalty = CreditEvent("penalty", date(2026, 1, 10), "d1")
    assert repair_possible_on(penalty, RULES) == date(2026, 4, 10)  # 90 days
    assert repair_possible_on(CreditEvent("warning", date(2026, 1, 10), "w"), RULES) is None


POPULATION = [(f"E{i:04d}", tier) for i, tier in enumerate("ABCD" * 250)]
POOL = [f"inspector{i}" for i in range(8)]


def test_draw_is_reproducible_from_its_seed():
    first = draw_inspections(POPULATION, POOL, rate_of=RULES.rate_of, seed=20261123)
    again = draw_inspections(list(reversed(POPULATION)), list(reversed(POOL)),
                             rate_of=RULES.rate_of, seed=20261123)  # fmt: skip
    assert first == again
    other = draw_inspections(POPULATION, POOL, rate_of=RULES.rate_of, seed=20261124)
    assert [p.code for p in other] != [p.code for p in first]
    assert all(len(set(p.inspectors)) == 2 for p in first)


def test_realised_rates_lie_within_binomial_bounds():
    # 200 draws of 250 entities per tier: the count drawn per tier over all draws is
    # Binomial(200 * 250, rate); it must fall inside the central 99.99 % interval
    counts = dict.fromkeys("ABCD", 0)
    for seed in range(200):
        for pick in draw_inspections(POPULATION, POOL, rate_of=RULES.rate_of, seed=seed):
            counts[pick.tier] += 1
    for tier, count in counts.items():
        n, p = 200 * 250, RULES.draw_rates[tier]
        low, high = binom.ppf(0.00005, n, p), binom.ppf(0.99995, n, p)
        assert low <= count <= high, (tier, count, low, high)
    # and per draw, each tier's count lies within its own bounds in all but a few draws
    outside = 0
    for seed in range(200):
        per = dict.fromkeys("ABCD", 0)
        for pick in draw_inspections(POPULATION, POOL, rate_of=RULES.rate_of, seed=seed):
            per[pick.tier] += 1
        for tier, k in per.items():
            low, high = (
                binom.ppf(0.005, 250, RULES.draw_rates[tier]),
                binom.ppf(0.995, 250, RULES.draw_rates[tier]),
            )
            outside += not low <= k <= high
    assert outside <= binom.ppf(0.9999, 800, 0.01 + 1e-9) + 4


def test_no_inspector_inspects_the_same_entity_twice_running():
    previous: dict[str, frozenset[str]] = {}
    population = [(f"E{i:03d}", "D") for i in range(60)]  # rate 0.8: most drawn each time
    pool = ["li", "wang", "zhang", "zhao", "chen"]
    for seed in range(30):
        picks = draw_inspections(population, pool, rate_of=RULES.rate_of, seed=seed,
                                 previous=previous)  # fmt: skip
        for pick in picks:
            assert not set(pick.inspectors) & previous.get(pick.code, frozenset())
            previous[pick.code] = frozenset(pick.inspectors)


def test_a_pool_too_small_is_refused_naming_the_entity():
    with pytest.raises(QueryError, match="entity E1 needs 2 inspectors other than li, wang"):
        draw_inspections([("E1", "D")], ["li", "wang", "zhao"], rate_of={"D": 1.0}.get, seed=1,
                         previous={"E1": frozenset({"li", "wang"})})  # fmt: skip


def test_selection_frequency_of_one_entity_matches_its_rate():
    hits = np.array([
        bool(draw_inspections([("E1", "C")], POOL, rate_of=RULES.rate_of, seed=s))
        for s in range(2000)
    ])  # fmt: skip
    low, high = binom.ppf(0.0001, 2000, 0.40), binom.ppf(0.9999, 2000, 0.40)
    assert low <= hits.sum() <= high
