"""Who may do what to which case: roles, each scoped to a unit, as one table.

A user has a role and a unit (a city, district, street or community code). A case is *in
scope* when its location lies in the user's unit; a department handler must in addition belong
to the case's department; a citizen sees only the reports they made. :data:`ROLE_ACTIONS` is
the whole policy; :func:`check` refuses anything else with
:class:`~shancheng.errors.PermissionDeniedError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shancheng.cases.domain import Action
from shancheng.errors import PermissionDeniedError


class Role(StrEnum):
    """Roles of the governance center.

    ``CITIZEN`` 市民, ``INSPECTOR`` 监督员 (patrols, reports, verifies), ``DISPATCHER`` 值班长/
    派遣员 (registers, dispatches, closes), ``HANDLER`` 处置人员 of a department, ``SUPERVISOR``
    督办 (oversees, escalates, evaluates), ``ADMIN`` 管理员.
    """

    CITIZEN = "citizen"
    INSPECTOR = "inspector"
    DISPATCHER = "dispatcher"
    HANDLER = "handler"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Permission(StrEnum):
    """Things done to cases besides workflow actions."""

    VIEW = "view"
    SUBMIT = "submit"
    RATE = "rate"
    EVALUATE = "evaluate"
    MANAGE = "manage"


Verb = Action | Permission

_A = Action
ROLE_ACTIONS: dict[Role, frozenset[Verb]] = {
    Role.CITIZEN: frozenset({Permission.VIEW, Permission.SUBMIT, Permission.RATE}),
    Role.INSPECTOR: frozenset(
        {Permission.VIEW, Permission.SUBMIT, _A.VERIFY, _A.REWORK, _A.MERGE, _A.UNMERGE}
    ),
    Role.DISPATCHER: frozenset(
        {
            Permission.VIEW,
            Permission.SUBMIT,
            _A.REGISTER,
            _A.REJECT,
            _A.DISPATCH,
            _A.REASSIGN,
            _A.CLOSE,
            _A.SUSPEND,
            _A.RESUME,
            _A.ESCALATE,
            _A.MERGE,
            _A.UNMERGE,
        }
    ),
    Role.HANDLER: frozenset(
        {Permission.VIEW, _A.START, _A.RETURN, _A.RESPOND, _A.SUSPEND, _A.RESUME}
    ),
    Role.SUPERVISOR: frozenset(
        {
            Permission.VIEW,
            Permission.EVALUATE,
            _A.REASSIGN,
            _A.SUSPEND,
            _A.RESUME,
            _A.ESCALATE,
            _A.CLOSE,
        }
    ),
    Role.ADMIN: frozenset({*Action, *Permission}),
}
"""Every verb each role may use (within its scope)."""
del _A


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated user: name, role, unit and (for handlers) department."""

    username: str
    role: Role
    unit_code: str
    department: str | None = None


@dataclass(frozen=True, slots=True)
class CaseScope:
    """What the policy needs to know about a case."""

    community_code: str
    street_code: str
    district_code: str
    city_code: str
    department: str
    reporter: str


def in_unit(actor: Actor, case: CaseScope) -> bool:
    """Tell whether the case lies in the actor's unit (city, district, street or community)."""
    return actor.unit_code in {
        case.community_code,
        case.street_code,
        case.district_code,
        case.city_code,
    }


def allowed(actor: Actor, verb: Verb, case: CaseScope | None = None) -> bool:
    """Tell whether ``actor`` may ``verb`` (on ``case`` when the verb concerns one).

    Examples
    --------
    >>> street = Actor("wang", Role.DISPATCHER, "990101001")
    >>> case = CaseScope("990101001001", "990101001", "990101", "990100", "sanitation", "li")
    >>> allowed(street, Action.DISPATCH, case)
    True
    >>> other = CaseScope("990102001001", "990102001", "990102", "990100", "sanitation", "li")
    >>> allowed(street, Action.DISPATCH, other)
    False
    """
    if verb not in ROLE_ACTIONS[actor.role]:
        return False
    if case is None:
        return True
    if actor.role is Role.CITIZEN:
        return case.reporter == actor.username
    if actor.role is Role.HANDLER and actor.department != case.department:
        return False
    return in_unit(actor, case)


def check(actor: Actor, verb: Verb, case: CaseScope | None = None, *, case_id: int = 0) -> None:
    """Refuse with :class:`PermissionDeniedError` unless :func:`allowed`."""
    if allowed(actor, verb, case):
        return
    if verb not in ROLE_ACTIONS[actor.role]:
        msg = f"role {actor.role.value!r} may not {verb.value} cases"
    elif actor.role is Role.CITIZEN:
        msg = f"citizen {actor.username!r} may only {verb.value} their own reports"
    elif actor.role is Role.HANDLER and case is not None and actor.department != case.department:
        msg = (
            f"handler of department {actor.department!r} may not {verb.value} case {case_id}, "
            f"which belongs to department {case.department!r}"
        )
    else:
        msg = f"case {case_id} lies outside unit {actor.unit_code} of user {actor.username!r}"
    raise PermissionDeniedError(msg)
