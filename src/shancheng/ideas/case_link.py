"""The contract by which an accepted idea opens a governance case (a problem to fix).

The ideas service never writes cases: it builds an :class:`IdeaCaseRequest` and hands it to an
:data:`IdeaCaseOpener`. The application wires :func:`cases_opener`, which submits the request
as a citizen's report through :func:`shancheng.cases.service.submit_report` — the same
validation, routing (point → grid cell → street → department and level) and duplicate linking
as any report — with the idea's author as the reporter, so the author follows the case as
their own report. Tests of the ideas pillar may pass a fake opener.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shancheng.cases import service as cases
from shancheng.cases.service import ReportIn

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from shancheng.cases.center import Center


@dataclass(frozen=True, slots=True)
class IdeaCaseRequest:
    """An accepted idea, as the governance center receives it."""

    idea_id: int
    category_code: str
    lon: float
    lat: float
    title: str
    description: str
    reporter: str


@dataclass(frozen=True, slots=True)
class OpenedCase:
    """The case opened for an idea: its id and public reference."""

    case_id: int
    reference: str


IdeaCaseOpener = Callable[[IdeaCaseRequest], OpenedCase]
"""A callable that opens the case for an accepted idea (committing it)."""


def cases_opener(session: Session, center: Center, *, at: datetime) -> IdeaCaseOpener:
    """Return an opener that submits the idea as a report through the cases service."""

    def open_case(request: IdeaCaseRequest) -> OpenedCase:
        report = ReportIn(
            request.category_code,
            request.lon,
            request.lat,
            title=request.title,
            description=request.description,
            source="citizen",
            reporter=request.reporter,
            client=f"ideas:{request.idea_id}",
        )
        intake = cases.submit_report(session, center, report, at=at)
        return OpenedCase(intake.case.id, str(intake.case.reference))

    return open_case
