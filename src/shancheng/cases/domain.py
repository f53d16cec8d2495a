"""The case and its workflow as data: statuses, actions and the table of legal transitions.

A governance case moves through the stages of GB/T 30428's workflow: reported → registered
(立案) or rejected → dispatched (派遣) → in progress (处置) → responded (反馈) → verified (核查)
→ closed (结案). Side roads: the handling department returns a case to the dispatcher (退回),
the dispatcher reassigns it, the clock is suspended and resumed, the case is escalated one
level up, a failed verification sends it back to work (返工), and a duplicate report is merged
into an open case (and can be unmerged). Everything here is pure: no database, no clock.

:data:`TRANSITIONS` is the whole workflow; :func:`shancheng.cases.workflow.apply` refuses
anything it does not list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime


class CaseStatus(StrEnum):
    """Stage of a case.

    ``REPORTED`` 上报, ``REGISTERED`` 立案, ``REJECTED`` 不予立案, ``DISPATCHED`` 派遣,
    ``IN_PROGRESS`` 处置, ``RESPONDED`` 反馈, ``VERIFIED`` 核查, ``CLOSED`` 结案, ``MERGED``
    合并 (a duplicate folded into another open case).
    """

    REPORTED = "reported"
    REGISTERED = "registered"
    REJECTED = "rejected"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESPONDED = "responded"
    VERIFIED = "verified"
    CLOSED = "closed"
    MERGED = "merged"

    @property
    def is_open(self) -> bool:
        """True until the case is closed, rejected or merged away."""
        return self not in FINAL_STATUSES

    @property
    def name_zh(self) -> str:
        """The Chinese name of the stage (shown in Open311 ``status_notes``)."""
        return _STATUS_ZH[self]


_STATUS_ZH = {
    CaseStatus.REPORTED: "上报",
    CaseStatus.REGISTERED: "立案",
    CaseStatus.REJECTED: "不予立案",
    CaseStatus.DISPATCHED: "派遣",
    CaseStatus.IN_PROGRESS: "处置",
    CaseStatus.RESPONDED: "反馈",
    CaseStatus.VERIFIED: "核查",
    CaseStatus.CLOSED: "结案",
    CaseStatus.MERGED: "合并",
}

FINAL_STATUSES = frozenset({CaseStatus.CLOSED, CaseStatus.REJECTED, CaseStatus.MERGED})
# the same sets as stored values, in workflow order (SQL filters, tables, the dashboard)
OPEN_STATUS_VALUES = tuple(s.value for s in CaseStatus if s not in FINAL_STATUSES)
FINAL_STATUS_VALUES = tuple(s.value for s in CaseStatus if s in FINAL_STATUSES)


class Action(StrEnum):
    """What an actor does to a case.

    ``REPORT`` 上报 (the first event of every case; not a transition), ``REGISTER`` 立案,
    ``REJECT`` 不予立案, ``DISPATCH`` 派遣, ``START`` 接单处置,
    ``RETURN`` 退回 (the department hands it back to the dispatcher), ``REASSIGN`` 改派,
    ``RESPOND`` 反馈, ``VERIFY`` 核查通过, ``REWORK`` 返工 (verification failed), ``CLOSE``
    结案, ``SUSPEND``/``RESUME`` 挂起/恢复 (the deadline clock stops and restarts),
    ``ESCALATE`` 升级 (one level up), ``MERGE``/``UNMERGE`` 合并/撤销合并.
    """

    REPORT = "report"
    REGISTER = "register"
    REJECT = "reject"
    DISPATCH = "dispatch"
    START = "start"
    RETURN = "return"
    REASSIGN = "reassign"
    RESPOND = "respond"
    VERIFY = "verify"
    REWORK = "rework"
    CLOSE = "close"
    SUSPEND = "suspend"
    RESUME = "resume"
    ESCALATE = "escalate"
    MERGE = "merge"
    UNMERGE = "unmerge"


S, A = CaseStatus, Action
TRANSITIONS: dict[tuple[CaseStatus, Action], CaseStatus] = {
    (S.REPORTED, A.REGISTER): S.REGISTERED,
    (S.REPORTED, A.REJECT): S.REJECTED,
    (S.REPORTED, A.MERGE): S.MERGED,
    (S.REPORTED, A.ESCALATE): S.REPORTED,
    (S.REGISTERED, A.DISPATCH): S.DISPATCHED,
    (S.REGISTERED, A.MERGE): S.MERGED,
    (S.REGISTERED, A.ESCALATE): S.REGISTERED,
    (S.DISPATCHED, A.START): S.IN_PROGRESS,
    (S.DISPATCHED, A.RETURN): S.REGISTERED,
    (S.DISPATCHED, A.REASSIGN): S.DISPATCHED,
    (S.DISPATCHED, A.SUSPEND): S.DISPATCHED,
    (S.DISPATCHED, A.RESUME): S.DISPATCHED,
    (S.DISPATCHED, A.ESCALATE): S.DISPATCHED,
    (S.IN_PROGRESS, A.RESPOND): S.RESPONDED,
    (S.IN_PROGRESS, A.RETURN): S.REGISTERED,
    (S.IN_PROGRESS, A.REASSIGN): S.DISPATCHED,
    (S.IN_PROGRESS, A.SUSPEND): S.IN_PROGRESS,
    (S.IN_PROGRESS, A.RESUME): S.IN_PROGRESS,
    (S.IN_PROGRESS, A.ESCALATE): S.IN_PROGRESS,
    (S.RESPONDED, A.VERIFY): S.VERIFIED,
    (S.RESPONDED, A.REWORK): S.IN_PROGRESS,
    (S.VERIFIED, A.CLOSE): S.CLOSED,
    (S.MERGED, A.UNMERGE): S.REPORTED,
}
"""Every legal ``(status, action) → new status``; anything else is refused."""
del S, A

CLOCK_ACTIONS = frozenset({Action.SUSPEND, Action.RESUME})
"""Actions that only stop or restart the deadline clock (the status stays)."""


class Level(StrEnum):
    """Handling level of the three-level center: street 街道, district 区, city 市."""

    STREET = "street"
    DISTRICT = "district"
    CITY = "city"

    @property
    def up(self) -> Level | None:
        """The next level up (street → district → city), ``None`` above the city."""
        order = list(Level)
        index = order.index(self)
        return order[index + 1] if index + 1 < len(order) else None


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One append-only entry of a case's history.

    Attributes
    ----------
    action
        What was done.
    from_status, to_status
        Status before and after (equal for clock actions, escalation and reassignment).
    actor
        Who did it (user name, ``system`` or ``sensor:<id>``).
    at
        When, timezone-aware.
    note
        Free text from the actor (reason for rejection, result of the work...).
    data
        Structured details: new department, level, merged-into case id...
    """

    action: Action
    from_status: CaseStatus
    to_status: CaseStatus
    actor: str
    at: datetime
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ClockState:
    """The deadline clock of the current stage.

    Attributes
    ----------
    stage_started_at
        When the current stage began.
    limit_s
        Time allowed for the stage, in working seconds (or natural seconds for emergencies).
    paused_s
        Working seconds spent suspended in this stage so far (added to the allowance).
    suspended_since
        Start of the current suspension, ``None`` when the clock runs.
    """

    stage_started_at: datetime
    limit_s: float
    paused_s: float = 0.0
    suspended_since: datetime | None = None

    @property
    def suspended(self) -> bool:
        """True while the clock is stopped."""
        return self.suspended_since is not None
