"""Apply an action to a case, and run the stage clock on a working calendar.

:func:`apply` is the only way a case changes status: it looks the ``(status, action)`` pair up
in :data:`~shancheng.cases.domain.TRANSITIONS` and returns the event to append, or raises
:class:`~shancheng.errors.TransitionNotAllowedError`. The clock functions turn events into
deadlines: each clocked stage (register, dispatch, dispose, verify) has its own time limit from
the taxonomy, the limit counts working time, a suspension stops the clock and its working
time is added back on resume, and a reassignment, return, rework or escalation restarts it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from shancheng.cases.domain import (
    CLOCK_ACTIONS,
    TRANSITIONS,
    Action,
    CaseEvent,
    CaseStatus,
    ClockState,
    Level,
)
from shancheng.errors import TransitionNotAllowedError

if TYPE_CHECKING:
    from datetime import datetime

    from shancheng.cases.calendar import WorkingCalendar

ClockStage = Literal["register", "dispatch", "dispose", "verify"]

CLOCK_STAGE: dict[CaseStatus, ClockStage] = {
    CaseStatus.REPORTED: "register",
    CaseStatus.REGISTERED: "dispatch",
    CaseStatus.DISPATCHED: "dispose",
    CaseStatus.IN_PROGRESS: "dispose",
    CaseStatus.RESPONDED: "verify",
}
"""Which time limit runs in each open status (verified cases wait only for closing)."""

_RESTARTING = frozenset({Action.REASSIGN, Action.RETURN, Action.REWORK, Action.ESCALATE})


@dataclass(frozen=True, slots=True)
class CaseSnapshot:
    """What :func:`apply` needs to know about a case: status, clock state and level."""

    status: CaseStatus
    suspended: bool = False
    level: Level = Level.STREET


def apply(
    case: CaseSnapshot,
    action: Action,
    *,
    actor: str,
    at: datetime,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Return the event of doing ``action`` to ``case``, or refuse it.

    Parameters
    ----------
    case
        Current status, clock state and handling level.
    action
        What the actor does.
    actor
        Who does it.
    at
        When (timezone-aware).
    note, data
        Free text and structured details kept with the event.

    Raises
    ------
    TransitionNotAllowedError
        The status does not allow the action, the clock is already in the requested state,
        or an escalation is asked above the city level.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> at = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
    >>> apply(CaseSnapshot(CaseStatus.REPORTED), Action.REGISTER, actor="li", at=at).to_status
    <CaseStatus.REGISTERED: 'registered'>
    """
    target = TRANSITIONS.get((case.status, action))
    if target is None:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s is case.status)
        msg = (
            f"cannot {action.value} a case that is {case.status.value} "
            f"({case.status.name_zh}); allowed: {', '.join(allowed) or 'nothing (final)'}"
        )
        raise TransitionNotAllowedError(msg, status=case.status.value, action=action.value)
    if action is Action.SUSPEND and case.suspended:
        msg = "cannot suspend a case whose clock is already suspended; resume it first"
        raise TransitionNotAllowedError(msg, status=case.status.value, action=action.value)
    if action is Action.RESUME and not case.suspended:
        msg = "cannot resume a case whose clock is running; suspend it first"
        raise TransitionNotAllowedError(msg, status=case.status.value, action=action.value)
    if case.suspended and action not in CLOCK_ACTIONS and action is not Action.ESCALATE:
        msg = f"cannot {action.value} a suspended case; resume its clock first"
        raise TransitionNotAllowedError(msg, status=case.status.value, action=action.value)
    if action is Action.ESCALATE and case.level.up is None:
        msg = "cannot escalate a case already handled at city level (the top of the hierarchy)"
        raise TransitionNotAllowedError(msg, status=case.status.value, action=action.value)
    return CaseEvent(action, case.status, target, actor, at, note, dict(data or {}))


def next_clock(
    clock: ClockState | None,
    event: CaseEvent,
    *,
    limit_s: float | None,
    calendar: WorkingCalendar,
) -> ClockState | None:
    """Return the stage clock after ``event``.

    Parameters
    ----------
    clock
        Clock before the event (``None`` for a case without a running clock).
    event
        The event just applied.
    limit_s
        Time limit of the stage the case is in *after* the event, in clock seconds;
        ``None`` when that stage has no limit.
    calendar
        The calendar the limit counts on.

    Returns
    -------
    ClockState or None
        ``None`` once the case is in a stage without a clock (verified, or final).
    """
    if event.action is Action.SUSPEND and clock is not None:
        return replace(clock, suspended_since=event.at)
    if event.action is Action.RESUME and clock is not None and clock.suspended_since is not None:
        paused = calendar.working_seconds_between(clock.suspended_since, event.at)
        return replace(clock, paused_s=clock.paused_s + paused, suspended_since=None)
    stage_after = CLOCK_STAGE.get(event.to_status)
    if stage_after is None or limit_s is None:
        return None
    same_stage = CLOCK_STAGE.get(event.from_status) == stage_after
    if clock is not None and same_stage and event.action not in _RESTARTING:
        return clock
    return ClockState(stage_started_at=event.at, limit_s=limit_s)


def deadline(clock: ClockState, calendar: WorkingCalendar) -> datetime | None:
    """When the stage's time runs out; ``None`` while the clock is suspended."""
    if clock.suspended:
        return None
    return calendar.add_working_seconds(clock.stage_started_at, clock.limit_s + clock.paused_s)


def is_overdue(clock: ClockState, at: datetime, calendar: WorkingCalendar) -> bool:
    """Tell whether the stage has used more working time than its limit by ``at``.

    A suspended clock is frozen at the moment of suspension.
    """
    until = clock.suspended_since if clock.suspended_since is not None else at
    used_s = calendar.working_seconds_between(clock.stage_started_at, until) - clock.paused_s
    return used_s > clock.limit_s
