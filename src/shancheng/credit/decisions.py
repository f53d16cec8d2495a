"""The workflow of an enforcement decision (行政处罚决定), and its publicity deadline.

A decision is proposed by an inspector or handler from a case, decided by the officer in
charge (a supervisor), published (双公示: within 7 working days of the decision) and closed
when carried out. After publication the entity may appeal (行政复议/诉讼): the appeal is upheld
(back to published) or the decision revoked (withdrawn from publicity and from credit). A
proposal may be withdrawn before it is decided. :data:`TRANSITIONS` is the whole workflow;
:func:`next_status` refuses anything else.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from shancheng.errors import TransitionNotAllowedError

if TYPE_CHECKING:
    from shancheng.cases.calendar import WorkingCalendar

PUBLICITY_WORKING_DAYS = 7
"""Decisions and licences are published within this many working days of the decision."""


class DecisionKind(StrEnum):
    """``PENALTY`` 行政处罚 (a fine or other sanction), ``WARNING`` 警告."""

    PENALTY = "penalty"
    WARNING = "warning"


class DecisionStatus(StrEnum):
    """Where a decision stands.

    ``PROPOSED`` 拟处罚, ``DECIDED`` 已决定, ``PUBLISHED`` 已公示, ``APPEALED`` 复议/诉讼中,
    ``CLOSED`` 已执行结案, ``REVOKED`` 已撤销, ``WITHDRAWN`` 撤回 (a proposal not pursued).
    """

    PROPOSED = "proposed"
    DECIDED = "decided"
    PUBLISHED = "published"
    APPEALED = "appealed"
    CLOSED = "closed"
    REVOKED = "revoked"
    WITHDRAWN = "withdrawn"


class DecisionAction(StrEnum):
    """What is done to a decision (besides proposing it)."""

    DECIDE = "decide"
    WITHDRAW = "withdraw"
    PUBLISH = "publish"
    APPEAL = "appeal"
    UPHOLD = "uphold"
    REVOKE = "revoke"
    CLOSE = "close"


_S, _A = DecisionStatus, DecisionAction
TRANSITIONS: dict[tuple[DecisionStatus, DecisionAction], DecisionStatus] = {
    (_S.PROPOSED, _A.DECIDE): _S.DECIDED,
    (_S.PROPOSED, _A.WITHDRAW): _S.WITHDRAWN,
    (_S.DECIDED, _A.PUBLISH): _S.PUBLISHED,
    (_S.PUBLISHED, _A.APPEAL): _S.APPEALED,
    (_S.APPEALED, _A.UPHOLD): _S.PUBLISHED,
    (_S.APPEALED, _A.REVOKE): _S.REVOKED,
    (_S.PUBLISHED, _A.CLOSE): _S.CLOSED,
}
"""(status, action) → next status: the whole workflow."""
del _S, _A

PUBLIC_STATUSES = frozenset(
    {DecisionStatus.PUBLISHED, DecisionStatus.APPEALED, DecisionStatus.CLOSED}
)
"""Statuses in which a decision is on the public page."""
COUNTING_STATUSES = frozenset({DecisionStatus.DECIDED, *PUBLIC_STATUSES})
"""Statuses in which a decision counts in the entity's credit."""


def next_status(
    status: DecisionStatus, action: DecisionAction, *, decision_id: int = 0
) -> DecisionStatus:
    """Return the status ``action`` leads to from ``status``.

    Raises
    ------
    TransitionNotAllowedError
        The workflow has no such step (the message lists the actions that are allowed).

    Examples
    --------
    >>> next_status(DecisionStatus.PROPOSED, DecisionAction.DECIDE).value
    'decided'
    """
    target = TRANSITIONS.get((status, action))
    if target is None:
        possible = sorted(a.value for (s, a) in TRANSITIONS if s is status) or ["none"]
        msg = (
            f"decision {decision_id} is {status.value}: it cannot be {action.value}d here; "
            f"allowed: {', '.join(possible)}"
        )
        raise TransitionNotAllowedError(msg, status=status.value, action=action.value)
    return target


def publish_due(
    decided_on: date, calendar: WorkingCalendar, *, working_days: int = PUBLICITY_WORKING_DAYS
) -> date:
    """Return the last day to publish a decision made on ``decided_on``.

    The day of the decision does not count; the deadline is the ``working_days``-th working day
    after it on the governance calendar (holidays and make-up days included).

    Examples
    --------
    >>> from shancheng.cases.calendar import WorkingCalendar
    >>> publish_due(date(2026, 11, 23), WorkingCalendar()).isoformat()  # Monday -> Wednesday
    '2026-12-02'
    """
    day, left = decided_on, working_days
    while left > 0:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            left -= 1
    return day
