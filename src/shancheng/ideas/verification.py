"""Who may support: residents whose account is verified, by phone or by an identity provider.

The check is an interface (:class:`Verifier`), so a deployment plugs in its own — an SMS code
service, the city's identity provider (e.g. the "渝快办" account), a national digital ID.
Shipped here:

- :class:`RecordedVerifier` reads the verifications recorded in ``ideas_residents`` (what a
  phone-code or identity-provider step writes through :func:`record_verification`);
- :class:`AllowListVerifier`, the test implementation: a fixed set of verified residents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol

import sqlalchemy as sa

from shancheng.errors import CaseInputError
from shancheng.store.ideas_tables import ResidentRow

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from sqlalchemy.orm import Session

Method = Literal["phone", "idp", "test"]
METHODS: tuple[str, ...] = ("phone", "idp", "test")


@dataclass(frozen=True, slots=True)
class Verified:
    """A verified resident: how, and when their account was created."""

    username: str
    method: str
    account_created_at: datetime


class Verifier(Protocol):
    """Tells whether a signed-in user is a verified resident (``None``: not verified)."""

    def verified(self, session: Session, username: str) -> Verified | None:
        """Return the user's verification, or ``None``."""
        ...

    def verified_many(self, session: Session, usernames: Iterable[str]) -> dict[str, Verified]:
        """Return the verifications of those of ``usernames`` who are verified."""
        ...


class RecordedVerifier:
    """Verifications recorded in the ``ideas_residents`` table."""

    def verified(self, session: Session, username: str) -> Verified | None:
        """Return the recorded verification of ``username``, if any."""
        return self.verified_many(session, [username]).get(username)

    def verified_many(self, session: Session, usernames: Iterable[str]) -> dict[str, Verified]:
        """Return the recorded verifications of ``usernames`` (one query)."""
        rows = session.execute(
            sa.select(
                ResidentRow.username, ResidentRow.method, ResidentRow.account_created_at
            ).where(ResidentRow.username.in_(list(usernames)))
        ).all()
        return {r.username: Verified(r.username, r.method, r.account_created_at) for r in rows}


@dataclass(frozen=True)
class AllowListVerifier:
    """The test implementation: these usernames are verified, with these account ages."""

    created_at: Mapping[str, datetime] = field(default_factory=dict)
    default_created_at: datetime = datetime(2020, 1, 1, tzinfo=UTC)
    everyone: bool = False

    def verified(self, session: Session, username: str) -> Verified | None:
        """Return a verification for listed usernames (for anyone when ``everyone``)."""
        del session
        if username in self.created_at:
            return Verified(username, "test", self.created_at[username])
        if self.everyone:
            return Verified(username, "test", self.default_created_at)
        return None

    def verified_many(self, session: Session, usernames: Iterable[str]) -> dict[str, Verified]:
        """Return the verifications of the listed (or, with ``everyone``, all) usernames."""
        found = {u: self.verified(session, u) for u in usernames}
        return {u: v for u, v in found.items() if v is not None}


def record_verification(
    session: Session,
    username: str,
    *,
    method: str,
    at: datetime,
    account_created_at: datetime | None = None,
    unit_code: str = "",
) -> ResidentRow:
    """Record (or refresh) that ``username`` was verified by ``method`` at ``at``; no commit."""
    if method not in METHODS:
        msg = f"`method` must be one of {', '.join(METHODS)}, got {method[:20]!r}"
        raise CaseInputError(msg, field="method")
    row = session.get(ResidentRow, username)
    if row is None:
        row = ResidentRow(
            username=username,
            method=method,
            unit_code=unit_code,
            account_created_at=account_created_at or at,
            verified_at=at,
        )
        session.add(row)
    else:
        row.method, row.verified_at = method, at
    return row
