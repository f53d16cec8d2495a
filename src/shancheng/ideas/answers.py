"""The official answer to an idea: statuses, actions, and the one table between them.

``pending`` (awaiting an answer) → ``evaluating`` 评估中 → ``accepted`` 采纳 or ``declined``
不采纳 (a reason is required) → for accepted ideas ``in_progress`` 实施中 → ``done`` 已完成.
:data:`TRANSITIONS` is the whole workflow; :func:`next_status` refuses anything else.
"""

from __future__ import annotations

from enum import StrEnum

from shancheng.errors import CaseInputError, TransitionNotAllowedError


class AnswerStatus(StrEnum):
    """Where an idea's official answer stands."""

    PENDING = "pending"
    EVALUATING = "evaluating"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class AnswerAction(StrEnum):
    """What an official does to an idea's answer."""

    EVALUATE = "evaluate"
    ACCEPT = "accept"
    DECLINE = "decline"
    START = "start"
    FINISH = "finish"


_S, _A = AnswerStatus, AnswerAction
TRANSITIONS: dict[tuple[AnswerStatus, AnswerAction], AnswerStatus] = {
    (_S.PENDING, _A.EVALUATE): _S.EVALUATING,
    (_S.EVALUATING, _A.ACCEPT): _S.ACCEPTED,
    (_S.EVALUATING, _A.DECLINE): _S.DECLINED,
    (_S.ACCEPTED, _A.START): _S.IN_PROGRESS,
    (_S.IN_PROGRESS, _A.FINISH): _S.DONE,
}
"""Every allowed step of the answer workflow."""
del _S, _A

ANSWERED = frozenset(
    {AnswerStatus.ACCEPTED, AnswerStatus.DECLINED, AnswerStatus.IN_PROGRESS, AnswerStatus.DONE}
)
"""Statuses that count as answered (the due date is met by the first of them)."""


def next_status(status: AnswerStatus, action: AnswerAction, *, reason: str = "") -> AnswerStatus:
    """Return the status ``action`` leads to from ``status``; a decline needs a reason.

    Examples
    --------
    >>> next_status(AnswerStatus.EVALUATING, AnswerAction.ACCEPT).value
    'accepted'
    >>> next_status(AnswerStatus.PENDING, AnswerAction.ACCEPT)
    Traceback (most recent call last):
    ...
    shancheng.errors.TransitionNotAllowedError: cannot accept an idea whose answer is pending; allowed: evaluate
    """  # noqa: E501 - a doctest's expected line
    target = TRANSITIONS.get((status, action))
    if target is None:
        allowed = [a.value for (s, a) in TRANSITIONS if s is status] or ["none"]
        msg = (
            f"cannot {action.value} an idea whose answer is {status.value}; "
            f"allowed: {', '.join(allowed)}"
        )
        raise TransitionNotAllowedError(msg, status=status.value, action=action.value)
    if action is AnswerAction.DECLINE and not reason.strip():
        msg = "`reason`: declining an idea needs a reason the residents can read"
        raise CaseInputError(msg, field="reason")
    return target
