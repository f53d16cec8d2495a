"""Every legal and illegal transition through the service, on SQLite and PostgreSQL.

A legal action changes the stored status and appends exactly one event; an illegal one is
refused with TransitionNotAllowedError and leaves the row and its history untouched.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from tests.unit.cases.conftest import center_for

from shancheng.cases import repository, service
from shancheng.cases.domain import TRANSITIONS, Action, CaseStatus
from shancheng.cases.intake import ReportIn
from shancheng.errors import TransitionNotAllowedError

pytestmark = pytest.mark.services

A = Action
PATHS = {
    CaseStatus.REPORTED: [],
    CaseStatus.REGISTERED: [A.REGISTER],
    CaseStatus.REJECTED: [A.REJECT],
    CaseStatus.DISPATCHED: [A.REGISTER, A.DISPATCH],
    CaseStatus.IN_PROGRESS: [A.REGISTER, A.DISPATCH, A.START],
    CaseStatus.RESPONDED: [A.REGISTER, A.DISPATCH, A.START, A.RESPOND],
    CaseStatus.VERIFIED: [A.REGISTER, A.DISPATCH, A.START, A.RESPOND, A.VERIFY],
    CaseStatus.CLOSED: [A.REGISTER, A.DISPATCH, A.START, A.RESPOND, A.VERIFY, A.CLOSE],
    CaseStatus.MERGED: [A.MERGE],
}


class Walker:
    def __init__(self, session, admin, at, lonlat):
        self.session, self.admin, self.at, self.lonlat = session, admin, at, lonlat
        self.master = self.new()

    def new(self):
        report = ReportIn("E0102", *self.lonlat, description="垃圾堆积", reporter="li")
        return service.submit_report(
            self.session, center_for(self.session), report, at=self.at
        ).case.id

    def do(self, case_id, action, **kwargs):
        if action is A.MERGE:
            kwargs.setdefault("into", self.master)
        if action is A.REASSIGN:
            kwargs.setdefault("department", "city_management")
        self.at += timedelta(minutes=1)
        return service.act(
            self.session,
            center_for(self.session),
            case_id,
            action,
            actor=self.admin,
            at=self.at,
            **kwargs,
        )

    def case_in(self, status):
        case_id = self.new()
        for action in PATHS[status]:
            self.do(case_id, action)
        return case_id


def _state(session, case_id):
    session.expire_all()
    row = repository.get_case(session, case_id)
    events = session.execute(
        sa.select(sa.func.count())
        .select_from(repository.CaseEventRow)
        .where(repository.CaseEventRow.case_id == case_id)
    ).scalar_one()
    return row.status, row.version, row.suspended_since, events


def test_every_legal_transition_is_stored(quiet_session, admin, monday_9, point):
    walker = Walker(quiet_session, admin, monday_9, point(skip=3))
    for (status, action), target in TRANSITIONS.items():
        case_id = walker.case_in(status)
        if action is A.RESUME:
            walker.do(case_id, A.SUSPEND)
        before = _state(quiet_session, case_id)
        row = walker.do(case_id, action)
        after = _state(quiet_session, case_id)
        assert row.status == target.value, (status, action)
        assert after[0] == target.value
        assert after[3] == before[3] + 1, (status, action)
        last = repository.events_of(quiet_session, case_id)[-1]
        assert (last.action, last.from_status, last.to_status) == (
            action.value,
            status.value,
            target.value,
        )


def test_every_illegal_transition_is_refused_and_changes_nothing(
    quiet_session, admin, monday_9, point
):
    walker = Walker(quiet_session, admin, monday_9, point(skip=3))
    refused = 0
    for status in CaseStatus:
        case_id = walker.case_in(status)
        for action in Action:
            if (status, action) in TRANSITIONS:
                continue
            before = _state(quiet_session, case_id)
            with pytest.raises(TransitionNotAllowedError, match=f"cannot {action.value}"):
                walker.do(case_id, action)
            assert _state(quiet_session, case_id) == before, (status, action)
            refused += 1
    assert refused == len(CaseStatus) * len(Action) - len(TRANSITIONS)


def test_history_cannot_be_rewritten(quiet_session, admin, monday_9, point):
    walker = Walker(quiet_session, admin, monday_9, point(skip=3))
    case_id = walker.case_in(CaseStatus.DISPATCHED)
    for statement in (
        "update case_events set note = 'forged' where case_id = :id",
        "delete from case_events where case_id = :id",
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            quiet_session.execute(sa.text(statement), {"id": case_id})
        quiet_session.rollback()
    assert [e.action for e in repository.events_of(quiet_session, case_id)] == [
        "report",
        "register",
        "dispatch",
    ]
