"""Who may do what in enforcement: the governance center's roles mapped to credit verbs.

Enforcement uses the roles of :mod:`shancheng.cases.permissions` (one account per person). The
officer who decides a penalty is a supervisor (执法机关负责人); inspectors link cases to
entities and propose decisions; dispatchers publish and close. Every verb is scoped to the
actor's unit, like cases: an entity is in scope when its place lies in that unit.
"""

from __future__ import annotations

from enum import StrEnum

from shancheng.cases.permissions import Actor, Role
from shancheng.errors import PermissionDeniedError


class CreditVerb(StrEnum):
    """What is done in enforcement."""

    VIEW = "view"
    REGISTER = "register"
    LINK = "link"
    PROPOSE = "propose"
    DECIDE = "decide"
    WITHDRAW = "withdraw"
    PUBLISH = "publish"
    APPEAL = "appeal"
    UPHOLD = "uphold"
    REVOKE = "revoke"
    CLOSE = "close"
    REPAIR = "repair"
    DRAW = "draw"
    INSPECT = "inspect"


_V = CreditVerb
_OFFICER = {
    _V.DECIDE,
    _V.WITHDRAW,
    _V.APPEAL,
    _V.UPHOLD,
    _V.REVOKE,
    _V.REPAIR,
    _V.DRAW,
    _V.REGISTER,
}
ROLE_VERBS: dict[Role, frozenset[CreditVerb]] = {
    Role.CITIZEN: frozenset(),
    Role.INSPECTOR: frozenset({_V.VIEW, _V.LINK, _V.PROPOSE, _V.INSPECT}),
    Role.DISPATCHER: frozenset({_V.VIEW, _V.LINK, _V.PUBLISH, _V.CLOSE}),
    Role.HANDLER: frozenset({_V.VIEW, _V.PROPOSE}),
    Role.SUPERVISOR: frozenset({_V.VIEW, _V.LINK, _V.PROPOSE, _V.PUBLISH, _V.CLOSE, *_OFFICER}),
    Role.ADMIN: frozenset(CreditVerb),
}
"""Every credit verb each role may use (within its unit)."""
del _V, _OFFICER


def in_scope(actor: Actor, *units: str) -> bool:
    """Tell whether the actor's unit is one of ``units`` (community, street, district, city)."""
    return actor.unit_code in units


def check_verb(actor: Actor, verb: CreditVerb, *units: str) -> None:
    """Refuse with :class:`PermissionDeniedError` unless the role has ``verb`` in scope.

    ``units`` are the codes of the units holding the thing acted on (none: no scope check).
    """
    if verb not in ROLE_VERBS[actor.role]:
        msg = f"role {actor.role.value!r} may not {verb.value} in enforcement"
        raise PermissionDeniedError(msg)
    if units and not in_scope(actor, *units):
        msg = f"this lies outside unit {actor.unit_code} of user {actor.username!r}"
        raise PermissionDeniedError(msg)
