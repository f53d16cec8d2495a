"""Who may do what in a campaign: the governance center's roles mapped to participation verbs.

Residents (citizens) propose, support and withdraw; moderators (inspectors and dispatchers of
the unit) hide, restore and merge; officials answer: a dispatcher evaluates and runs the
accepted work, a supervisor (the official who signs the answer) accepts or declines, and opens
a campaign. Every staff verb is scoped to the actor's unit, as for cases: an idea is in scope
when its place (or, without one, its campaign's units) lies in that unit.
"""

from __future__ import annotations

from enum import StrEnum

from shancheng.cases.permissions import Actor, Role
from shancheng.errors import PermissionDeniedError


class IdeaVerb(StrEnum):
    """What is done in a campaign."""

    PROPOSE = "propose"
    SUPPORT = "support"
    MODERATE = "moderate"
    MERGE = "merge"
    CAMPAIGN = "campaign"
    EVALUATE = "evaluate"
    ACCEPT = "accept"
    DECLINE = "decline"
    START = "start"
    FINISH = "finish"
    STAFF_VIEW = "staff_view"


_V = IdeaVerb
_RESIDENT = frozenset({_V.PROPOSE, _V.SUPPORT})
ROLE_VERBS: dict[Role, frozenset[IdeaVerb]] = {
    Role.CITIZEN: _RESIDENT,
    Role.INSPECTOR: _RESIDENT | {_V.MODERATE, _V.MERGE, _V.STAFF_VIEW},
    Role.DISPATCHER: _RESIDENT
    | {_V.MODERATE, _V.MERGE, _V.EVALUATE, _V.START, _V.FINISH, _V.STAFF_VIEW},
    Role.HANDLER: _RESIDENT | {_V.START, _V.FINISH, _V.STAFF_VIEW},
    Role.SUPERVISOR: _RESIDENT
    | {_V.MODERATE, _V.MERGE, _V.CAMPAIGN, _V.EVALUATE, _V.ACCEPT, _V.DECLINE, _V.STAFF_VIEW},
    Role.ADMIN: frozenset(IdeaVerb),
}
"""Every participation verb each role may use (staff verbs within its unit)."""
del _V, _RESIDENT


def may(actor: Actor, verb: IdeaVerb, *units: str) -> bool:
    """Tell whether the actor's role has ``verb`` and (when ``units`` are given) the scope."""
    if verb not in ROLE_VERBS[actor.role]:
        return False
    return not units or actor.unit_code in units


def check_verb(actor: Actor, verb: IdeaVerb, *units: str) -> None:
    """Refuse with :class:`PermissionDeniedError` unless :func:`may`."""
    if verb not in ROLE_VERBS[actor.role]:
        msg = f"role {actor.role.value!r} may not {verb.value} in a campaign"
        raise PermissionDeniedError(msg)
    if units and actor.unit_code not in units:
        msg = f"this lies outside unit {actor.unit_code} of user {actor.username!r}"
        raise PermissionDeniedError(msg)
