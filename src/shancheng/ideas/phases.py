"""Campaign phases and thresholds: pure rules, no database.

A campaign (a participatory process, after Decidim and CONSUL) runs four phases — collecting
(征集: ideas are proposed), supporting (支持: residents support them), review (评审: officials
answer) and results (公布) — each a half-open interval ``[start, end)`` of aware times.
Collecting and supporting may overlap (people support while others still propose); review
starts no earlier than supporting ends, results no earlier than review starts.

An idea whose supports reach the campaign's threshold is owed an official answer within a
number of working days on the governance center's calendar (:func:`answer_due`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from shancheng.errors import CaseInputError, TransitionNotAllowedError

if TYPE_CHECKING:
    from datetime import datetime

    from shancheng.cases.calendar import WorkingCalendar


class Phase(StrEnum):
    """The phases of a campaign.

    ``collecting`` 征集, ``supporting`` 支持, ``review`` 评审, ``results`` 公布.
    """

    COLLECTING = "collecting"
    SUPPORTING = "supporting"
    REVIEW = "review"
    RESULTS = "results"


class PhaseClosedError(TransitionNotAllowedError):
    """The campaign is not in the phase the request needs (no idea outside collecting...)."""


@dataclass(frozen=True, slots=True)
class Phases:
    """The four phases of a campaign, each ``(start, end)`` with ``start < end``.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> d = lambda day: datetime(2026, 12, day, tzinfo=UTC)
    >>> p = Phases((d(1), d(10)), (d(5), d(20)), (d(20), d(25)), (d(25), d(31)))
    >>> [ph.value for ph in p.open_at(d(7))]
    ['collecting', 'supporting']
    """

    collecting: tuple[datetime, datetime]
    supporting: tuple[datetime, datetime]
    review: tuple[datetime, datetime]
    results: tuple[datetime, datetime]

    def __post_init__(self) -> None:
        """Refuse naive times, empty phases and phases out of order."""
        for phase in Phase:
            start, end = self.span(phase)
            for value, side in ((start, "start"), (end, "end")):
                if value.tzinfo is None or value.utcoffset() is None:
                    msg = f"`phases.{phase.value}.{side}` must be timezone-aware, got {value}"
                    raise CaseInputError(msg, field=f"phases.{phase.value}.{side}")
            if not start < end:
                msg = f"`phases.{phase.value}`: start {start} must come before end {end}"
                raise CaseInputError(msg, field=f"phases.{phase.value}")
        order = (
            (self.supporting[0] >= self.collecting[0], "supporting.start", "collecting.start"),
            (self.review[0] >= self.supporting[1], "review.start", "supporting.end"),
            (self.results[0] >= self.review[0], "results.start", "review.start"),
        )
        for ok, later, earlier in order:
            if not ok:
                msg = f"`phases.{later}` must not come before `phases.{earlier}`"
                raise CaseInputError(msg, field=f"phases.{later}")

    def span(self, phase: Phase) -> tuple[datetime, datetime]:
        """Return ``(start, end)`` of ``phase``."""
        return {
            Phase.COLLECTING: self.collecting,
            Phase.SUPPORTING: self.supporting,
            Phase.REVIEW: self.review,
            Phase.RESULTS: self.results,
        }[phase]

    def is_open(self, phase: Phase, at: datetime) -> bool:
        """Tell whether ``at`` lies in ``[start, end)`` of ``phase``."""
        start, end = self.span(phase)
        return start <= at < end

    def open_at(self, at: datetime) -> list[Phase]:
        """Return the phases open at ``at``, in order."""
        return [phase for phase in Phase if self.is_open(phase, at)]

    def require(self, phase: Phase, at: datetime, *, doing: str) -> None:
        """Refuse with :class:`PhaseClosedError` unless ``phase`` is open at ``at``."""
        if self.is_open(phase, at):
            return
        start, end = self.span(phase)
        msg = (
            f"cannot {doing}: the {phase.value} phase runs from {start.isoformat()} to "
            f"{end.isoformat()}, and it is {at.isoformat()}"
        )
        raise PhaseClosedError(
            msg, status=",".join(p.value for p in self.open_at(at)), action=doing
        )


def threshold_of(*, supports: int | None, share: float | None, covered_population: int) -> int:
    """Return the number of supports that makes an official answer due.

    Give a count (``supports``) or a share of the covered population (``share``, 0-1, rounded
    up to whole people); never both.

    Examples
    --------
    >>> threshold_of(supports=None, share=0.001, covered_population=123_456)
    124
    >>> threshold_of(supports=50, share=None, covered_population=0)
    50
    """
    if (supports is None) == (share is None):
        msg = "give exactly one of `threshold_supports` and `threshold_share`"
        raise CaseInputError(msg, field="threshold_supports")
    if supports is not None:
        if supports < 1:
            msg = f"`threshold_supports` must be >= 1, got {supports}"
            raise CaseInputError(msg, field="threshold_supports")
        return supports
    assert share is not None  # noqa: S101 - narrowed by the check above
    if not 0 < share <= 1:
        msg = f"`threshold_share` must lie in (0, 1], got {share}"
        raise CaseInputError(msg, field="threshold_share")
    if covered_population < 1:
        msg = (
            "`threshold_share` needs the covered population, got "
            f"{covered_population}; give `threshold_supports` instead"
        )
        raise CaseInputError(msg, field="covered_population")
    return max(1, math.ceil(share * covered_population - 1e-9))


def answer_due(calendar: WorkingCalendar, reached_at: datetime, working_days: int) -> datetime:
    """Return when the official answer to an idea that reached its threshold is due.

    ``working_days`` full working days of the calendar (its office hours per day) counted from
    ``reached_at``: the clock stops outside office hours, at weekends and on holidays.

    Examples
    --------
    >>> from datetime import datetime
    >>> from shancheng.cases.calendar import CHINA_TZ, WorkingCalendar
    >>> friday_4pm = datetime(2026, 11, 20, 16, 0, tzinfo=CHINA_TZ)
    >>> answer_due(WorkingCalendar(), friday_4pm, 2).isoformat()
    '2026-11-24T16:00:00+08:00'
    """
    if working_days < 1:
        msg = f"`answer_working_days` must be >= 1, got {working_days}"
        raise CaseInputError(msg, field="answer_working_days")
    per_day_s = sum(
        (end.hour * 3600 + end.minute * 60 if end is not None else 86_400)
        - (start.hour * 3600 + start.minute * 60)
        for start, end in calendar.periods
    )
    return calendar.add_working_seconds(reached_at, per_day_s * working_days)
