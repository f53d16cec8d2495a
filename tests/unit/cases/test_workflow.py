"""The pure workflow: every legal transition is taken, every other pair is refused."""

from datetime import UTC, datetime

import pytest

from shancheng.cases.domain import TRANSITIONS, Action, CaseStatus, Level
from shancheng.cases.workflow import CaseSnapshot, apply
from shancheng.errors import TransitionNotAllowedError

AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)

# The workflow of the issue, written out by hand (not read from TRANSITIONS).
EXPECTED = {
    ("reported", "register"): "registered",
    ("reported", "reject"): "rejected",
    ("reported", "merge"): "merged",
    ("reported", "escalate"): "reported",
    ("registered", "dispatch"): "dispatched",
    ("registered", "merge"): "merged",
    ("registered", "escalate"): "registered",
    ("dispatched", "start"): "in_progress",
    ("dispatched", "return"): "registered",
    ("dispatched", "reassign"): "dispatched",
    ("dispatched", "suspend"): "dispatched",
    ("dispatched", "resume"): "dispatched",
    ("dispatched", "escalate"): "dispatched",
    ("in_progress", "respond"): "responded",
    ("in_progress", "return"): "registered",
    ("in_progress", "reassign"): "dispatched",
    ("in_progress", "suspend"): "in_progress",
    ("in_progress", "resume"): "in_progress",
    ("in_progress", "escalate"): "in_progress",
    ("responded", "verify"): "verified",
    ("responded", "rework"): "in_progress",
    ("verified", "close"): "closed",
    ("merged", "unmerge"): "reported",
}
ALL_PAIRS = [(s, a) for s in CaseStatus for a in Action]


def test_table_is_the_issue_workflow():
    assert {(s.value, a.value): t.value for (s, a), t in TRANSITIONS.items()} == EXPECTED


@pytest.mark.parametrize(("status", "action"), ALL_PAIRS, ids=lambda v: v.value)
def test_every_pair_is_taken_or_refused(status, action):
    suspended = action is Action.RESUME  # resume needs a stopped clock
    case = CaseSnapshot(status, suspended=suspended, level=Level.STREET)
    expected = EXPECTED.get((status.value, action.value))
    if expected is None:
        with pytest.raises(TransitionNotAllowedError, match=f"cannot {action.value}") as info:
            apply(case, action, actor="x", at=AT)
        assert info.value.status == status.value
        assert info.value.action == action.value
    else:
        event = apply(case, action, actor="x", at=AT, note="n", data={"k": 1})
        assert (event.from_status, event.to_status) == (status, CaseStatus(expected))
        assert (event.actor, event.at, event.note, event.data) == ("x", AT, "n", {"k": 1})


def test_final_statuses_allow_only_unmerge():
    for status in (CaseStatus.CLOSED, CaseStatus.REJECTED):
        for action in Action:
            with pytest.raises(TransitionNotAllowedError, match="nothing"):
                apply(CaseSnapshot(status), action, actor="x", at=AT)


def test_clock_state_guards():
    running = CaseSnapshot(CaseStatus.DISPATCHED, suspended=False)
    stopped = CaseSnapshot(CaseStatus.DISPATCHED, suspended=True)
    with pytest.raises(TransitionNotAllowedError, match="running"):
        apply(running, Action.RESUME, actor="x", at=AT)
    with pytest.raises(TransitionNotAllowedError, match="already suspended"):
        apply(stopped, Action.SUSPEND, actor="x", at=AT)
    with pytest.raises(TransitionNotAllowedError, match="resume its clock first"):
        apply(stopped, Action.START, actor="x", at=AT)
    assert apply(stopped, Action.ESCALATE, actor="x", at=AT).to_status is CaseStatus.DISPATCHED


def test_escalation_stops_at_city_level():
    apply(
        CaseSnapshot(CaseStatus.DISPATCHED, level=Level.DISTRICT), Action.ESCALATE, actor="x", at=AT
    )
    with pytest.raises(TransitionNotAllowedError, match="city level"):
        apply(
            CaseSnapshot(CaseStatus.DISPATCHED, level=Level.CITY), Action.ESCALATE, actor="x", at=AT
        )
    assert [Level.STREET.up, Level.DISTRICT.up, Level.CITY.up] == [Level.DISTRICT, Level.CITY, None]
