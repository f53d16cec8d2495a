"""A month of enforcement on the demo city: cases, penalties, publicity, tiers, one draw.

:func:`run_credit_demo` registers the traders of :mod:`~shancheng.credit.demo_traders`, then
lives a month day by day through the public functions only: inspectors report problems at the
stalls (:func:`shancheng.cases.service.submit_report`), link each case to the trader the
suggestions name, and the center handles the case to its close; a trader's second case brings a
warning, later ones a penalty (heavy from the fourth), proposed by the inspector and decided by
the officer the next working day, some withdrawn; the publicity office publishes what is decided
on Mondays and Thursdays that are working days (so within 3 working days, well inside the 7);
one decision is appealed and upheld, older ones closed. At the month's end the tiers are
reassessed and one "double random" draw is made and carried out (a failed inspection opens a
case). The month crosses Mid-Autumn and National Day 2026 (25 September and 1-7 October off,
20 September and 10 October worked), so publicity deadlines count across the holidays.
Everything follows from one seed.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import numpy as np
import sqlalchemy as sa

from shancheng.cases import service as cases
from shancheng.cases.calendar import CHINA_TZ, WorkingCalendar
from shancheng.cases.domain import Action, CaseStatus
from shancheng.cases.permissions import Actor, Role
from shancheng.credit import service
from shancheng.credit.decisions import DecisionAction, DecisionKind, DecisionStatus
from shancheng.credit.demo_traders import demo_traders
from shancheng.credit.inspections import Outcome, draw_picks, record_result, run_draw
from shancheng.store.credit_tables import (
    CaseLinkRow,
    DecisionEventRow,
    DecisionRow,
    DrawRow,
    EntityRow,
    TierChangeRow,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shancheng.cases.center import Center
    from shancheng.credit.demo_traders import DemoTrader
    from shancheng.data.city import City

logger = logging.getLogger(__name__)

DEMO_START = date(2026, 9, 21)
"""First day of the demo month (a Monday); the month runs across National Day 2026."""
DEMO_CALENDAR = WorkingCalendar()
"""The governance calendar of the demo month: the default one, whose packaged holiday table
has Mid-Autumn (25-27 September 2026) and National Day (1-7 October) off, and Sunday 20
September and Saturday 10 October worked."""
PUBLICITY_WEEKDAYS = frozenset({1, 4})
"""ISO weekdays on which the publicity office publishes what was decided (Monday, Thursday)."""
INSPECTORS = ("insp-chen", "insp-he", "insp-li", "insp-liu", "insp-wang", "insp-zhou")
"""The inspectors of the demo (the draw's pool)."""
CATEGORIES = {
    "night_market": ("E0506", "E0501", "E0602", "E0601", "E0201"),
    "tourist_street": ("E0604", "E0501", "E0602", "E0201"),
}
"""Case categories by kind of site: night market order, street vending, fumes, noise, ads."""
LEGAL_BASIS = {
    "E0602": ("中华人民共和国大气污染防治法", "第一百一十八条"),
    "E0601": ("中华人民共和国噪声污染防治法", ""),
    "E0604": ("重庆市旅游条例", ""),
}
"""Law (and article where the demo knows it) of a decision by case category."""
DEFAULT_BASIS = ("重庆市市容环境卫生管理条例", "")
RISK_PER_DAY = (0.005, 0.03, 0.1)
"""A trader's daily chance of a case, by risk group (most traders are in the first)."""
RISK_SHARES = (0.6, 0.3, 0.1)


@dataclass(frozen=True, slots=True)
class CreditDemoSummary:
    """What the demo month produced."""

    entities: int
    individual_traders: int
    cases: int
    cases_linked: int
    suggested_first: int  # cases whose first suggestion was the trader responsible
    decisions: dict[str, int]  # by status
    appeals: int
    published: int
    published_on_time: int
    max_publish_working_days: int
    tiers: dict[str, int]
    tier_changes: int  # audited changes after the first assessment
    draw_id: int
    draw_seed: int
    picks: tuple[tuple[str, str, tuple[str, ...], str], ...]  # code, tier, team, outcome
    inspections_failed: int


@dataclass(frozen=True, slots=True)
class _Staff:
    inspector: Actor
    dispatcher: Actor
    officer: Actor


def run_credit_demo(
    session: Session,
    center: Center,
    city: City,
    *,
    seed: int = 0,
    start: date = DEMO_START,
    days: int = 30,
    per_site: int = 6,
) -> CreditDemoSummary:
    """Register the demo traders and live ``days`` days of enforcement from ``start``.

    ``center`` gets the demo's calendar (:data:`DEMO_CALENDAR`); the database should hold no
    cases or credit records yet (the summary counts everything in it).
    """
    center = replace(center, calendar=DEMO_CALENDAR)
    city_code = center.city_code
    staff = _Staff(
        Actor(INSPECTORS[0], Role.INSPECTOR, city_code),
        Actor("dispatch-center", Role.DISPATCHER, city_code),
        Actor("officer-zhang", Role.SUPERVISOR, city_code),
    )
    rng = np.random.default_rng(seed)
    traders = demo_traders(city, center.admin, seed=seed, per_site=per_site, licensed_by=start)
    service.import_entities(
        session, center, [t.entity for t in traders], actor=staff.officer,
        at=_at(start - timedelta(days=1), 9), source="shancheng credit demo",
    )  # fmt: skip
    risk = rng.choice(RISK_PER_DAY, size=len(traders), p=RISK_SHARES)
    month = _Month(session, center, staff, rng)
    for offset in range(days):
        day = start + timedelta(days=offset)
        month.decide_and_publish(day)
        for index in np.flatnonzero(rng.random(len(traders)) < risk):
            month.case_about(traders[int(index)], day)
    end = _at(start + timedelta(days=days - 1), 18)
    service.reassess_all(session, at=end, actor=staff.officer)
    draw = run_draw(
        session, center, plan=f"夜市与旅游街区 {start:%Y-%m} 双随机抽查", inspectors=INSPECTORS,
        seed=seed, actor=staff.officer, at=end,
    )  # fmt: skip
    outcomes = _inspect(session, center, draw.id, rng, at=end + timedelta(hours=1))
    return _summary(session, center, month, draw, outcomes)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=CHINA_TZ)


class _Month:
    """The demo month's state: cases per trader, open decisions, and the staff at work."""

    def __init__(
        self, session: Session, center: Center, staff: _Staff, rng: np.random.Generator
    ) -> None:
        self.session, self.center, self.staff, self.rng = session, center, staff, rng
        self.cases_of: Counter[str] = Counter()
        self.proposed: list[tuple[int, date]] = []  # decision id, proposed on
        self.cases = 0
        self.suggested_first = 0
        self.appealed = False

    def case_about(self, demo_trader: DemoTrader, day: date) -> None:
        """Report a problem at a trader as an inspector, link it, and handle the case."""
        rng, inspector, trader = self.rng, self.staff.inspector, demo_trader.entity
        category = str(rng.choice(CATEGORIES[demo_trader.site.kind]))
        at = _at(day, int(rng.integers(10, 22)), int(rng.integers(0, 60)))
        report = cases.ReportIn(
            category, lon=trader.lon, lat=trader.lat, address=trader.address,
            description=f"{trader.name} 现场检查发现问题", source="inspector",
        )  # fmt: skip
        # every inspection visit is its own case: no folding into a neighbour's open case
        intake = cases.submit_report(
            self.session, self.center.without_duplicates(), report, at=at, actor=inspector
        )
        case_id = intake.case.id
        self.cases += 1
        suggestions = service.suggest_entities(self.session, self.center, case_id, actor=inspector)
        self.suggested_first += bool(suggestions) and suggestions[0].entity.code == trader.code
        service.link_case(self.session, self.center, case_id, trader.code, actor=inspector, at=at)
        self._handle(case_id, at)
        self.cases_of[trader.code] += 1
        repeat = self.cases_of[trader.code]
        if repeat >= 2:  # noqa: PLR2004 - a warning on the second case, penalties after
            self._propose(case_id, trader.code, category, repeat, at + timedelta(minutes=30))

    def _handle(self, case_id: int, at: datetime) -> None:
        row = cases.get_case(self.session, self.center, case_id, actor=self.staff.dispatcher)
        handler = Actor("handler", Role.HANDLER, self.center.city_code, row.department)
        steps = {
            CaseStatus.REPORTED: (Action.REGISTER, self.staff.dispatcher),
            CaseStatus.REGISTERED: (Action.DISPATCH, self.staff.dispatcher),
            CaseStatus.DISPATCHED: (Action.START, handler),
            CaseStatus.IN_PROGRESS: (Action.RESPOND, handler),
            CaseStatus.RESPONDED: (Action.VERIFY, self.staff.inspector),
            CaseStatus.VERIFIED: (Action.CLOSE, self.staff.dispatcher),
        }
        status = CaseStatus(row.status)
        while status in steps:
            at += timedelta(minutes=int(self.rng.integers(5, 40)))
            action, actor = steps[status]
            row = cases.act(self.session, self.center, case_id, action, actor=actor, at=at)
            status = CaseStatus(row.status)

    def _propose(self, case_id: int, code: str, category: str, repeat: int, at: datetime) -> None:
        law, article = LEGAL_BASIS.get(category, DEFAULT_BASIS)
        kind = DecisionKind.WARNING if repeat == 2 else DecisionKind.PENALTY  # noqa: PLR2004
        amount = 0.0
        if kind is DecisionKind.PENALTY:
            amount = 20_000.0 if repeat >= 4 else 500.0 * int(self.rng.integers(1, 11))  # noqa: PLR2004
        proposal = service.DecisionIn(
            case_id, code, kind, ((law, article),), f"第 {repeat} 次现场检查发现同类问题", amount
        )
        row = service.propose_decision(
            self.session, self.center, proposal, actor=self.staff.inspector, at=at
        )
        self.proposed.append((row.id, at.date()))

    def decide_and_publish(self, day: date) -> None:
        """Do the officer's and the publicity office's work of one day (working days only)."""
        calendar = self.center.calendar
        if not calendar.is_working_day(day):
            return
        officer, dispatcher = self.staff.officer, self.staff.dispatcher
        waiting, self.proposed = self.proposed, []
        for decision_id, proposed_on in waiting:
            if proposed_on >= day:
                self.proposed.append((decision_id, proposed_on))
                continue
            action = DecisionAction.WITHDRAW if self.rng.random() < 0.1 else DecisionAction.DECIDE  # noqa: PLR2004
            service.act_on_decision(
                self.session, self.center, decision_id, action, actor=officer, at=_at(day, 10)
            )
        if day.isoweekday() in PUBLICITY_WEEKDAYS:
            service.publish_due_decisions(
                self.session, self.center, at=_at(day, 16), actor=dispatcher
            )
        self._appeal_and_close(day)

    def _appeal_and_close(self, day: date) -> None:
        officer, dispatcher = self.staff.officer, self.staff.dispatcher
        published = service.list_decisions(self.session, self.center, actor=officer)
        for row in sorted(published, key=lambda r: r.id):
            if row.status != DecisionStatus.PUBLISHED.value or row.published_at is None:
                continue
            age = (day - row.published_at.astimezone(CHINA_TZ).date()).days
            if not self.appealed and row.kind == DecisionKind.PENALTY.value and age >= 1:
                self._act(row.id, DecisionAction.APPEAL, officer, day, "当事人申请行政复议")
                self._act(row.id, DecisionAction.UPHOLD, officer, day, "复议维持原决定")
                self.appealed = True
            elif age >= 10:  # noqa: PLR2004 - carried out ten days after publication
                self._act(row.id, DecisionAction.CLOSE, dispatcher, day, "已执行")

    def _act(
        self, decision_id: int, action: DecisionAction, actor: Actor, day: date, note: str
    ) -> None:
        hour = {DecisionAction.APPEAL: 11, DecisionAction.UPHOLD: 15}.get(action, 17)
        service.act_on_decision(
            self.session,
            self.center,
            decision_id,
            action,
            actor=actor,
            at=_at(day, hour),
            note=note,
        )


def _inspect(
    session: Session, center: Center, draw_id: int, rng: np.random.Generator, *, at: datetime
) -> dict[str, str]:
    """Carry out the drawn inspections: a C or D trader fails half the time, others a tenth."""
    outcomes: dict[str, str] = {}
    for pick, code in draw_picks(session, draw_id):
        entity = session.scalars(sa.select(EntityRow).where(EntityRow.code == code)).one()
        chance = 0.5 if entity.tier in {"C", "D"} else 0.1
        outcome: Outcome = "failed" if rng.random() < chance else "passed"
        inspector = Actor(pick.inspectors[0], Role.INSPECTOR, center.city_code)
        record_result(session, center, pick.id, outcome, actor=inspector, at=at, note="抽查不合格")
        outcomes[code] = outcome
    return outcomes


def _summary(
    session: Session,
    center: Center,
    month: _Month,
    draw: DrawRow,
    outcomes: dict[str, str],
) -> CreditDemoSummary:
    entities = list(session.scalars(sa.select(EntityRow)))
    decisions = list(session.scalars(sa.select(DecisionRow)))
    published = [d for d in decisions if d.published_at is not None and d.decided_at is not None]
    delays = [
        _working_days(center.calendar, _day(d.decided_at), _day(d.published_at)) for d in published
    ]
    on_time = sum(
        d.publish_due is not None and _day(d.published_at) <= d.publish_due for d in published
    )
    changes = session.scalar(
        sa.select(sa.func.count()).select_from(TierChangeRow).where(TierChangeRow.from_tier != "")
    )
    tier_at_draw = dict(draw.population)
    picks = tuple(
        (code, tier_at_draw[code], tuple(pick.inspectors), outcomes.get(code, ""))
        for pick, code in draw_picks(session, draw.id)
    )
    linked = session.scalar(sa.select(sa.func.count()).select_from(CaseLinkRow))
    appeals = session.scalar(
        sa.select(sa.func.count()).where(DecisionEventRow.action == DecisionAction.APPEAL.value)
    )
    summary = CreditDemoSummary(
        entities=len(entities),
        individual_traders=sum(e.kind == "individual" for e in entities),
        cases=month.cases,
        cases_linked=int(linked or 0),
        suggested_first=month.suggested_first,
        decisions=dict(sorted(Counter(d.status for d in decisions).items())),
        appeals=int(appeals or 0),
        published=len(published),
        published_on_time=int(on_time),
        max_publish_working_days=max(delays, default=0),
        tiers=dict(sorted(Counter(e.tier for e in entities).items())),
        tier_changes=int(changes or 0),
        draw_id=draw.id,
        draw_seed=draw.seed,
        picks=picks,
        inspections_failed=sum(o == "failed" for o in outcomes.values()),
    )
    logger.info("credit demo: %d entities, %d cases, %d decisions", summary.entities,
                summary.cases, len(decisions))  # fmt: skip
    return summary


def _day(at: datetime | None) -> date:
    assert at is not None  # noqa: S101 - filtered by the caller
    return at.astimezone(CHINA_TZ).date()


def _working_days(calendar: WorkingCalendar, decided: date, published: date) -> int:
    """Working days after ``decided`` up to and including ``published``."""
    return sum(
        calendar.is_working_day(decided + timedelta(days=k))
        for k in range(1, (published - decided).days + 1)
    )
