"""Apply a workflow action to a stored case: status, clock, assignment and history together.

The pure rules live in :mod:`~shancheng.cases.workflow`; this module turns one decision into
one consistent set of row changes plus the appended event, inside the caller's transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shancheng.cases import repository
from shancheng.cases.domain import Action, CaseEvent, CaseStatus, ClockState, Level
from shancheng.cases.routing import Assignment, Location
from shancheng.cases.stage_limits import stage_limit_s
from shancheng.cases.workflow import CLOCK_STAGE, CaseSnapshot, apply, deadline, next_clock

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from shancheng.cases.center import Center
    from shancheng.cases.draft import CaseDraft
    from shancheng.store.cases_tables import CaseEventRow, CaseRow


def snapshot(row: CaseRow | CaseDraft) -> CaseSnapshot:
    """Return what the pure workflow needs to know about a stored case."""
    return CaseSnapshot(CaseStatus(row.status), row.suspended_since is not None, Level(row.level))


def location_of(row: CaseRow, city_code: str) -> Location:
    """Return the stored location of a case in a city with code ``city_code``."""
    return Location(
        row.lon,
        row.lat,
        row.x_utm,
        row.y_utm,
        row.cell_id,
        row.community_code,
        row.street_code,
        row.district_code,
        city_code,
    )


def clock_of(row: CaseRow | CaseDraft) -> ClockState | None:
    """Return the stage clock stored on a case row."""
    if row.stage_started_at is None or row.stage_limit_s is None:
        return None
    return ClockState(row.stage_started_at, row.stage_limit_s, row.paused_s, row.suspended_since)


def transition(
    session: Session,
    center: Center,
    row: CaseRow,
    action: Action,
    *,
    actor: str,
    at: datetime,
    note: str = "",
    data: dict[str, Any] | None = None,
    assignment: Assignment | None = None,
) -> CaseEventRow:
    """Apply ``action`` to the stored case ``row`` and append its event.

    Parameters
    ----------
    assignment
        New department/level/unit (dispatch with a choice, reassignment, escalation).

    Raises
    ------
    TransitionNotAllowedError
        The workflow refuses the action; nothing is changed.
    """
    event = change_row(
        center,
        row,
        action,
        actor=actor,
        at=at,
        note=note,
        data=data,
        assignment=assignment,
    )
    return repository.append_event(session, row.id, event)


def change_row(
    center: Center,
    row: CaseRow | CaseDraft,
    action: Action,
    *,
    actor: str,
    at: datetime,
    note: str = "",
    data: dict[str, Any] | None = None,
    assignment: Assignment | None = None,
) -> CaseEvent:
    """Apply ``action`` to ``row`` in memory and return the event, without storing it.

    :func:`transition` stores it at once; intake uses this to write a new case already in its
    final state (a duplicate is inserted merged, with both events in one statement). Stage
    deadlines follow the center's per-district stage limits.
    """
    details = dict(data or {})
    if assignment is not None:
        details.update(
            department=assignment.department,
            level=assignment.level.value,
            unit=assignment.unit_code,
        )
    event = apply(snapshot(row), action, actor=actor, at=at, note=note, data=details)
    if assignment is not None:
        row.department, row.level, row.unit_code = (
            assignment.department,
            assignment.level.value,
            assignment.unit_code,
        )
    _update_clock(center, row, event)
    _update_counters(row, event)
    row.status = event.to_status.value
    row.updated_at = at
    return event


def _update_clock(center: Center, row: CaseRow | CaseDraft, event: CaseEvent) -> None:
    category = center.taxonomy.category(row.category_code)
    calendar = center.calendar_for(category)
    stage = CLOCK_STAGE.get(event.to_status)
    limit_s = (
        stage_limit_s(category, stage, row.district_code, center.stage_limits)
        if stage is not None
        else None
    )
    before = clock_of(row)
    if event.action is Action.RESPOND and before is not None:
        due = deadline(before, calendar)
        row.closed_on_time = due is not None and event.at <= due
    clock = next_clock(before, event, limit_s=limit_s, calendar=calendar)
    if clock is None:
        row.stage_started_at = row.stage_limit_s = row.suspended_since = row.deadline_at = None
        row.paused_s = 0.0
        return
    row.stage_started_at, row.stage_limit_s = clock.stage_started_at, clock.limit_s
    row.paused_s, row.suspended_since = clock.paused_s, clock.suspended_since
    row.deadline_at = deadline(clock, calendar)
    if stage == "dispose" and row.deadline_at is not None:
        row.expected_at = row.deadline_at


def _update_counters(row: CaseRow | CaseDraft, event: CaseEvent) -> None:
    if event.action is Action.REWORK:
        row.reworks += 1
    elif event.action is Action.ESCALATE:
        row.escalations += 1
    if event.to_status is CaseStatus.CLOSED:
        row.closed_at = event.at
