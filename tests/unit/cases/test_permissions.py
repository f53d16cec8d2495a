"""The full permission matrix: each role × each action × own unit / other unit.

The expected matrix is written here by hand from the roles of the issue (citizen, inspector,
dispatcher, department handler, supervisor, admin); the service must allow exactly those
cells on SQLite and PostgreSQL, and refuse the others with PermissionDeniedError.
"""

from datetime import timedelta

import pytest
from tests.unit.cases.conftest import center_for

from shancheng.cases import service
from shancheng.cases.domain import Action, CaseStatus
from shancheng.cases.intake import ReportIn
from shancheng.cases.permissions import Actor, CaseScope, Permission, Role, allowed
from shancheng.errors import CaseNotFoundError, PermissionDeniedError, TransitionNotAllowedError

A, P = Action, Permission
WORKFLOW = [a for a in Action if a is not A.REPORT]
VERBS = [*WORKFLOW, P.VIEW, P.RATE]
EXPECTED = {
    "citizen": {"view", "rate"},
    "inspector": {"view", "verify", "rework", "merge", "unmerge"},
    "dispatcher": {
        "view",
        "register",
        "reject",
        "dispatch",
        "reassign",
        "close",
        "suspend",
        "resume",
        "escalate",
        "merge",
        "unmerge",
    },
    "handler": {"view", "start", "return", "respond", "suspend", "resume"},
    "supervisor": {"view", "reassign", "suspend", "resume", "escalate", "close"},
    "admin": {v.value for v in VERBS},
}
PATHS = {
    CaseStatus.REPORTED: [],
    CaseStatus.REGISTERED: [A.REGISTER],
    CaseStatus.DISPATCHED: [A.REGISTER, A.DISPATCH],
    CaseStatus.IN_PROGRESS: [A.REGISTER, A.DISPATCH, A.START],
    CaseStatus.RESPONDED: [A.REGISTER, A.DISPATCH, A.START, A.RESPOND],
    CaseStatus.VERIFIED: [A.REGISTER, A.DISPATCH, A.START, A.RESPOND, A.VERIFY],
    CaseStatus.CLOSED: [A.REGISTER, A.DISPATCH, A.START, A.RESPOND, A.VERIFY, A.CLOSE],
    CaseStatus.MERGED: [A.MERGE],
}
NEEDS = {
    A.REGISTER: CaseStatus.REPORTED,
    A.REJECT: CaseStatus.REPORTED,
    A.MERGE: CaseStatus.REPORTED,
    A.DISPATCH: CaseStatus.REGISTERED,
    A.START: CaseStatus.DISPATCHED,
    A.RETURN: CaseStatus.DISPATCHED,
    A.REASSIGN: CaseStatus.DISPATCHED,
    A.SUSPEND: CaseStatus.DISPATCHED,
    A.RESUME: CaseStatus.DISPATCHED,
    A.ESCALATE: CaseStatus.DISPATCHED,
    A.RESPOND: CaseStatus.IN_PROGRESS,
    A.VERIFY: CaseStatus.RESPONDED,
    A.REWORK: CaseStatus.RESPONDED,
    A.CLOSE: CaseStatus.VERIFIED,
    A.UNMERGE: CaseStatus.MERGED,
    P.VIEW: CaseStatus.DISPATCHED,
    P.RATE: CaseStatus.CLOSED,
}


def actors(street):
    return {
        "citizen": Actor("citizen1", Role.CITIZEN, "990100"),
        "inspector": Actor("insp", Role.INSPECTOR, street),
        "dispatcher": Actor("disp", Role.DISPATCHER, street),
        "handler": Actor("hand", Role.HANDLER, street, department="sanitation"),
        "supervisor": Actor("sup", Role.SUPERVISOR, street),
        "admin": Actor("adm", Role.ADMIN, street),
    }


def test_matrix_is_the_policy_table():
    own = CaseScope("990101001001", "990101001", "990101", "990100", "sanitation", "citizen1")
    other = CaseScope("990102001001", "990102001", "990102", "990100", "sanitation", "someone")
    for role, actor in actors("990101001").items():
        for verb in VERBS:
            assert allowed(actor, verb, own) is (verb.value in EXPECTED[role]), (role, verb)
            assert allowed(actor, verb, other) is False, (role, verb)
    wrong_dept = Actor("h2", Role.HANDLER, "990101001", department="gardens")
    assert not allowed(wrong_dept, P.VIEW, own)
    district = Actor("d", Role.DISPATCHER, "990101")  # a district sees its streets
    assert allowed(district, A.DISPATCH, own) and not allowed(district, A.DISPATCH, other)
    assert allowed(actors("x")["citizen"], P.SUBMIT) and not allowed(
        actors("x")["handler"], P.SUBMIT
    )


@pytest.mark.services
def test_service_enforces_the_full_matrix(quiet_session, admin, point, streets, monday_9):
    s = quiet_session
    at = [monday_9]
    master = {}

    def tick():
        at[0] += timedelta(minutes=1)
        return at[0]

    def case_in(status, street, reporter):
        lonlat = point(street=street, skip=3)
        case_id = service.submit_report(
            s, center_for(s), ReportIn("E0102", *lonlat, reporter=reporter), at=tick()
        ).case.id
        for action in PATHS[status]:
            into = (
                master.setdefault(
                    street,
                    service.submit_report(
                        s, center_for(s), ReportIn("E0102", *lonlat), at=tick()
                    ).case.id,
                )
                if action is A.MERGE
                else None
            )
            service.act(s, center_for(s), case_id, action, actor=admin, at=tick(), into=into)
        return case_id

    def attempt(actor, verb, case_id, street):
        if verb is P.VIEW:
            return service.get_case(s, center_for(s), case_id, actor=actor)
        if verb is P.RATE:
            return service.rate_case(s, center_for(s), case_id, 4, actor=actor)
        if (
            verb is A.RESUME
            and service.get_case(s, center_for(s), case_id, actor=admin).suspended_since is None
        ):
            service.act(s, center_for(s), case_id, A.SUSPEND, actor=admin, at=tick())
        extra = {}
        if verb is A.MERGE:
            extra["into"] = master.setdefault(street, case_in(CaseStatus.REPORTED, street, "x"))
        if verb is A.REASSIGN:
            extra["department"] = "city_management"
        return service.act(s, center_for(s), case_id, verb, actor=actor, at=tick(), **extra)

    results = {}
    pool = {}  # a refused attempt changes nothing, so its case serves the next role
    own_street, other_street = streets[0], streets[2]
    for role, actor in actors(own_street).items():
        for verb in VERBS:
            for where, street in (("own", own_street), ("other", other_street)):
                reporter = "citizen1" if where == "own" else "someone"
                key = (verb, where)
                if key not in pool:
                    pool[key] = case_in(NEEDS[verb], street, reporter)
                try:
                    attempt(actor, verb, pool[key], street)
                    results[role, verb.value, where] = True
                    if verb is not P.VIEW:
                        del pool[key]
                except (PermissionDeniedError, CaseNotFoundError):  # outside scope: not found
                    results[role, verb.value, where] = False
    expected = {
        (role, verb.value, where): where == "own" and verb.value in EXPECTED[role]
        for role in EXPECTED
        for verb in VERBS
        for where in ("own", "other")
    }
    assert results == expected
    assert len(results) == 6 * len(VERBS) * 2


@pytest.mark.services
def test_the_offered_actions_are_exactly_those_the_service_accepts(
    quiet_session, admin, point, streets, monday_9
):
    """What the dashboard shows (allowed_actions) is what act() then does, role by stage."""
    s = quiet_session
    at = [monday_9]

    def tick():
        at[0] += timedelta(minutes=1)
        return at[0]

    def case_in(status, street, *, suspended=False):
        lonlat = point(street=street, skip=4)
        report = ReportIn("E0102", *lonlat, reporter="citizen1")
        case_id = service.submit_report(s, center_for(s), report, at=tick()).case.id
        for action in [*PATHS[status], *([A.SUSPEND] if suspended else [])]:
            into = (
                service.submit_report(
                    s, center_for(s), ReportIn("E0102", *lonlat), at=tick()
                ).case.id
                if action is A.MERGE
                else None
            )
            service.act(s, center_for(s), case_id, action, actor=admin, at=tick(), into=into)
        return case_id

    def try_act(actor, action, case_id, street):
        extra = {}
        if action is A.MERGE:
            extra["into"] = case_in(CaseStatus.REPORTED, street)
        if action is A.REASSIGN:
            extra["department"] = "city_management"
        try:
            service.act(s, center_for(s), case_id, action, actor=actor, at=tick(), **extra)
        except (PermissionDeniedError, TransitionNotAllowedError, CaseNotFoundError):
            return False
        return True

    own, other = streets[0], streets[2]
    offered_somewhere = set()
    stages = [(status, False) for status in PATHS] + [(CaseStatus.DISPATCHED, True)]
    for status, suspended in stages:
        for where, street in (("own", own), ("other", other)):
            for role, actor in actors(own).items():
                case_id = case_in(status, street, suspended=suspended)
                row = service.get_case(s, center_for(s), case_id, actor=admin)
                offered = service.allowed_actions(center_for(s), row, actor=actor)
                if where == "other":
                    assert offered == [], (status, role)
                for action in offered:  # each succeeds on a fresh case in this stage
                    fresh = case_in(status, street, suspended=suspended)
                    assert try_act(actor, action, fresh, street), (status, role, action)
                    offered_somewhere.add(action)
                refused = [a for a in A if a is not A.REPORT and a not in offered]
                for action in refused:  # refused: nothing changes, so one case serves all
                    assert not try_act(actor, action, case_id, street), (status, role, action)
    assert offered_somewhere == set(A) - {A.REPORT}  # every action is offered somewhere
