"""A synthetic day at the governance center, replayed through the real service.

:func:`synthetic_day` draws a day of reports on a city (seeded, so the same seed gives the same
day): citizens, Open311 apps and inspectors report common problems, with a few spots where the
same problem is reported again and again (duplicates, hotspots), plus lifeline alarms.
:func:`replay_day` feeds them to :mod:`~shancheng.cases.service` in time order and lets
simulated operators register, dispatch, handle, verify and close them, some late, some badly;
at the end of the day overdue cases are escalated. Everything goes through the public service
functions, with their permission checks and the database.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import numpy as np

from shancheng.cases import service
from shancheng.cases.calendar import CHINA_TZ
from shancheng.cases.domain import Action
from shancheng.cases.intake import ReportIn, Source
from shancheng.cases.permissions import Actor, Role
from shancheng.cases.sensor_intake import NetworkKind, SensorReport
from shancheng.errors import CaseError
from shancheng.geo.crs import utm_to_lonlat

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session

    from shancheng.cases.center import Center
    from shancheng.cases.routing import AdminIndex
    from shancheng.cases.taxonomy import Taxonomy

# relative frequency of the common categories in a day's reports
_WEIGHTS = {
    "E0102": 14,
    "E0502": 12,
    "E0501": 8,
    "E0601": 7,
    "E0404": 6,
    "C0110": 6,
    "E0201": 5,
    "E0103": 5,
    "E0503": 5,
    "E0301": 4,
    "E0101": 3,
    "E0603": 3,
    "E0506": 3,
    "E0604": 2,
    "E0505": 2,
    "C0302": 2,
    "E0401": 2,
    "E0403": 2,
    "E0602": 2,
    "C0207": 1,
}
_OPEN_H, _CLOSE_H = 7.0, 22.0
_SOURCES: tuple[Source, ...] = ("citizen", "open311", "inspector")
_TEXT = (
    "{zh}，请尽快处理。",
    "Please fix: {en}.",
    "{zh}已经好几天了，影响居民出行。",
    "{en} again at this spot.",
    "发现{zh}，附近居民反映强烈。",
)


@dataclass(frozen=True, slots=True)
class Arrival:
    """One report of the synthetic day (``alarm`` set for a lifeline alarm)."""

    at: datetime
    report: ReportIn | None = None
    alarm: SensorReport | None = None


def synthetic_day(
    admin: AdminIndex, taxonomy: Taxonomy, *, day: date, n_reports: int = 400, seed: int = 0
) -> list[Arrival]:
    """Draw a day of reports on the city of ``admin``, sorted by time.

    About a quarter of the reports fall within a few tens of metres of one of five hotspot
    cells; times follow a morning and an evening peak between 07:00 and 22:00.
    """
    rng = np.random.default_rng(seed)
    codes = [c for c in _WEIGHTS if c in taxonomy.categories]
    weights = np.array([_WEIGHTS[c] for c in codes], dtype=float)
    cells = np.array(sorted(admin.cell_units), dtype=np.int64)
    hot = rng.choice(cells, size=min(5, len(cells)), replace=False)
    hot_codes = rng.choice(codes, size=len(hot), p=weights / weights.sum())
    hours = np.concatenate([rng.normal(10.0, 1.5, n_reports), rng.normal(19.0, 1.5, n_reports)])
    hours = np.sort(rng.choice(hours[(hours > _OPEN_H) & (hours < _CLOSE_H)], n_reports))
    start = datetime.combine(day, time(0, 0), tzinfo=CHINA_TZ)
    arrivals: list[Arrival] = []
    for i in range(n_reports):
        if rng.random() < 0.25:  # noqa: PLR2004 - share of reports at hotspots
            k = int(rng.integers(len(hot)))
            cell, code, jitter = int(hot[k]), str(hot_codes[k]), 20.0
        else:
            cell = int(rng.choice(cells))
            code, jitter = str(rng.choice(codes, p=weights / weights.sum())), 45.0
        x, y = admin.grid.cell_center([cell])
        lon, lat = utm_to_lonlat(
            x + rng.uniform(-jitter, jitter),
            y + rng.uniform(-jitter, jitter),
            epsg=admin.crs_epsg,
        )
        category = taxonomy.category(code)
        text = str(rng.choice(_TEXT)).format(zh=category.name_zh, en=category.name_en)
        source = _SOURCES[int(rng.choice(3, p=[0.55, 0.25, 0.2]))]
        report = ReportIn(
            code,
            float(lon[0]),
            float(lat[0]),
            description=text,
            source=source,
            reporter=f"citizen-{i}",
            client=source,
        )
        arrivals.append(Arrival(start + timedelta(hours=float(hours[i])), report=report))
    arrivals.extend(_alarms(admin, rng, start))
    return sorted(arrivals, key=lambda a: a.at)


def _alarms(admin: AdminIndex, rng: np.random.Generator, start: datetime) -> list[Arrival]:
    cells = sorted(admin.cell_units)
    out = []
    networks: tuple[NetworkKind, ...] = ("water", "gas", "drainage")
    for k, network in enumerate(networks):
        x, y = admin.grid.cell_center([cells[int(rng.integers(len(cells)))]])
        lon, lat = utm_to_lonlat(x, y, epsg=admin.crs_epsg)
        alarm = SensorReport(
            f"replay-{network}-{k}",
            "",
            network,
            1 + k % 2,
            float(lon[0]),
            float(lat[0]),
            f"{network} alarm",
            "threshold crossed",
            f"S-{network}-{k}",
        )
        out.append(Arrival(start + timedelta(hours=8 + 5 * k, minutes=17), alarm=alarm))
    return out


@dataclass
class ReplayLog:
    """What happened: reports in, cases opened, duplicates linked, actions done or refused."""

    reports: int = 0
    cases: int = 0
    duplicates: int = 0
    alarms: int = 0
    refused: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    escalated: int = 0


def replay_day(
    session: Session,
    center: Center,
    arrivals: list[Arrival],
    *,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> ReplayLog:
    """Feed ``arrivals`` to the service and simulate the operators until the day ends."""
    rng = np.random.default_rng(seed + 1)
    city = center.city_code
    dispatcher = Actor("dispatch-center", Role.DISPATCHER, city)
    inspector = Actor("inspector-1", Role.INSPECTOR, city)
    log = ReplayLog()
    queue: list[tuple[datetime, int, int, Action]] = []
    order = itertools.count()
    end = arrivals[-1].at.replace(hour=23, minute=59) if arrivals else datetime.now(CHINA_TZ)
    for arrival in arrivals:
        _run_due(session, center, queue, arrival.at, dispatcher, inspector, rng, order, log)
        case_id = _arrive(session, center, arrival, log)
        if case_id is not None:
            minutes = float(rng.uniform(5, 50))
            heapq.heappush(
                queue,
                (arrival.at + timedelta(minutes=minutes), next(order), case_id, Action.REGISTER),
            )
        if progress is not None:
            progress(1)
    _run_due(session, center, queue, end, dispatcher, inspector, rng, order, log)
    log.escalated = len(service.escalate_overdue(session, center, at=end))
    return log


def _arrive(session: Session, center: Center, arrival: Arrival, log: ReplayLog) -> int | None:
    if arrival.alarm is not None:
        log.alarms += 1
        service.open_sensor_case(session, center, arrival.alarm, at=arrival.at)
        return None
    assert arrival.report is not None  # noqa: S101 - one of the two is set
    log.reports += 1
    result = service.submit_report(session, center, arrival.report, at=arrival.at)
    if result.linked_to is not None:
        log.duplicates += 1
        return None
    log.cases += 1
    return result.case.id


_NEXT_DELAY_MIN = {
    Action.REGISTER: (10, 60),
    Action.DISPATCH: (20, 90),
    Action.START: (60, 300),
    Action.RESPOND: (20, 60),
    Action.VERIFY: (5, 30),
    Action.REWORK: (60, 180),
}


def _run_due(
    session: Session,
    center: Center,
    queue: list[tuple[datetime, int, int, Action]],
    until: datetime,
    dispatcher: Actor,
    inspector: Actor,
    rng: np.random.Generator,
    order: itertools.count[int],
    log: ReplayLog,
) -> None:
    while queue and queue[0][0] <= until:
        at, _, case_id, action = heapq.heappop(queue)
        row = service.get_case(session, center, case_id, actor=dispatcher)
        handler = Actor(
            f"handler-{row.department}", Role.HANDLER, dispatcher.unit_code, row.department
        )
        actor = {
            Action.START: handler,
            Action.RESPOND: handler,
            Action.VERIFY: inspector,
            Action.REWORK: inspector,
        }.get(action, dispatcher)
        if action is Action.REGISTER and rng.random() < 0.05:  # noqa: PLR2004
            action = Action.REJECT
        try:
            service.act(session, center, case_id, action, actor=actor, at=at)
        except CaseError:
            log.refused += 1
            continue
        log.actions[action.value] = log.actions.get(action.value, 0) + 1
        following = _following(action, rng)
        if following is not None:
            low, high = _NEXT_DELAY_MIN.get(action, (10, 30))
            due = at + timedelta(minutes=float(rng.uniform(low, high)))
            heapq.heappush(queue, (due, next(order), case_id, following))
        elif action is Action.CLOSE:
            citizen = Actor(row.reporter, Role.CITIZEN, dispatcher.unit_code)
            service.rate_case(
                session, center, case_id, int(rng.choice([5, 4, 4, 3, 2])), actor=citizen
            )


def _following(action: Action, rng: np.random.Generator) -> Action | None:
    if action is Action.RESPOND:
        return Action.REWORK if rng.random() < 0.1 else Action.VERIFY  # noqa: PLR2004
    return {
        Action.REGISTER: Action.DISPATCH,
        Action.DISPATCH: Action.START,
        Action.START: Action.RESPOND,
        Action.REWORK: Action.RESPOND,
        Action.VERIFY: Action.CLOSE,
    }.get(action)
