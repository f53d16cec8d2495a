"""Accounts: users with argon2 password hashes, expiring login tokens, scoped API keys.

Secrets never reach the database in clear: passwords are argon2id hashes, tokens and API keys
are stored as their sha256 (they are long random strings, so a fast hash suffices and lookups
stay one indexed query). A token past its expiry time is refused like a wrong one.

An API key carries scopes (:data:`KEY_SCOPES`): a citizen app's key reports, a gateway's key
ingests readings, another system's key reads analytics; a key is refused for anything else.
Logins are throttled per account and per client address, in the database so that every
server process counts the same failures: after :data:`FREE_FAILURES` failed attempts each
further one must wait twice as long as the one before (1 s, 2 s, 4 s ... up to 15 minutes),
refused with 429 and ``Retry-After`` before the password is even checked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shancheng.cases.permissions import Actor, Permission, Role, check
from shancheng.cases.repository import accounts as store
from shancheng.errors import (
    AuthenticationError,
    CaseInputError,
    PermissionDeniedError,
    RateLimitedError,
)
from shancheng.store.cases_tables import ApiKeyRow, UserRow

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password")  # equalises timing for unknown users
MIN_PASSWORD_CHARS = 10
KEY_SCOPES = ("report", "ingest", "gateway", "analytics")
"""What an API key may be for: Open311 reports, sensor readings (any gateway's telemetry),
one gateway's own telemetry (the gateway named like the key's client), read-only analytics."""
FREE_FAILURES = 5
MAX_WAIT_S = 900.0


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    role: Role,
    unit_code: str,
    department: str | None = None,
) -> UserRow:
    """Create a user with an argon2 password hash; commit.

    Raises
    ------
    CaseInputError
        Empty or taken user name, short password, or a handler without a department.
    """
    if not username.strip() or len(username) > 64 or not username.isprintable():  # noqa: PLR2004 - column width
        msg = f"`username` must be 1..64 characters, got {username!r}"
        raise CaseInputError(msg, field="username")
    if len(password) < MIN_PASSWORD_CHARS:
        msg = f"`password` must have at least {MIN_PASSWORD_CHARS} characters"
        raise CaseInputError(msg, field="password")
    if role is Role.HANDLER and not department:
        msg = "a handler needs `department`: the department whose cases they handle"
        raise CaseInputError(msg, field="department")
    if store.user_named(session, username) is not None:
        msg = f"`username` {username!r} is taken"
        raise CaseInputError(msg, field="username")
    row = UserRow(
        username=username,
        password_hash=_HASHER.hash(password),
        role=role.value,
        unit_code=unit_code,
        department=department,
        active=True,
    )
    store.add_user(session, row)
    session.commit()
    return row


def login(
    session: Session,
    username: str,
    password: str,
    *,
    at: datetime,
    ttl_h: float,
    client: str = "",
) -> str:
    """Check a password and return a new token valid for ``ttl_h`` hours; commit.

    ``client`` (the caller's address) is throttled like the account: failures of either
    make the next attempt wait.

    Raises
    ------
    RateLimitedError
        Too many failed attempts lately for this account or address (says when to retry).
    AuthenticationError
        Unknown user, wrong password or inactive account (one message for all three).
    """
    keys = [f"user:{username[:64]}", *([f"ip:{client[:64]}"] if client else [])]
    _check_throttle(session, keys, at=at)
    row = None
    if "\x00" not in username:
        row = store.user_named(session, username)
    try:
        _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        row = None
    if row is None or not row.active:
        _count_failure(session, keys, at=at)
        msg = "wrong user name or password"
        raise AuthenticationError(msg)
    _forget_failures(session, keys[:1])  # the account's; an address keeps its record
    token = secrets.token_urlsafe(32)
    store.add_token(session, _sha256(token), row.id, expires_at=at + timedelta(hours=ttl_h))
    session.commit()
    return token


def wait_after(failures: int) -> float:
    """Return the seconds a login must wait after ``failures`` failed attempts.

    Examples
    --------
    >>> [wait_after(n) for n in (4, 5, 6, 7, 30)]
    [0.0, 1.0, 2.0, 4.0, 900.0]
    """
    if failures < FREE_FAILURES:
        return 0.0
    return min(MAX_WAIT_S, 2.0 ** (failures - FREE_FAILURES))


def _check_throttle(session: Session, keys: list[str], *, at: datetime) -> None:
    for row in store.login_failures(session, keys):
        left = wait_after(row.failures) - (at - row.last_at).total_seconds()
        if left > 0:
            what = "account" if row.key.startswith("user:") else "address"
            msg = f"too many failed logins for this {what}; retry in {left:.0f} s"
            raise RateLimitedError(msg, retry_after_s=left)


def _count_failure(session: Session, keys: list[str], *, at: datetime) -> None:
    store.count_login_failure(session, keys, at=at)
    session.commit()


def _forget_failures(session: Session, keys: list[str]) -> None:
    store.forget_login_failures(session, keys)


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """A login token's user as stored, and when the token expires: what a lookup finds.

    Kept apart from the checks (:func:`check_token`) so that a lookup found a few seconds ago
    (:class:`~shancheng.cases.tokens.TokenCache`) is checked against the clock at each use.
    """

    actor: Actor
    expires_at: datetime
    active: bool


def token_digest(token: str) -> str:
    """Return the sha256 a token is stored and looked up by."""
    return _sha256(token)


def token_owner(session: Session, digest: str) -> TokenOwner | None:
    """Return the owner of the token with this sha256, if any (no check made)."""
    found = store.token_owner(session, digest)
    if found is None:
        return None
    row, user = found
    actor = Actor(user.username, Role(user.role), user.unit_code, user.department)
    return TokenOwner(actor, row.expires_at, active=user.active)


def check_token(owner: TokenOwner | None, *, at: datetime) -> Actor:
    """Return the user of a token found as ``owner`` (``None``: not found), valid at ``at``.

    Raises
    ------
    AuthenticationError
        Unknown or expired token, or inactive user.
    """
    if owner is None:
        msg = "unknown token; log in again at POST /auth/token"
        raise AuthenticationError(msg)
    if owner.expires_at <= at:
        msg = f"token expired at {owner.expires_at.isoformat()}; log in again"
        raise AuthenticationError(msg)
    if not owner.active:
        msg = f"user {owner.actor.username!r} is deactivated"
        raise AuthenticationError(msg)
    return owner.actor


def logout(session: Session, token: str) -> bool:
    """Revoke a login token at once (its row is deleted); return whether it existed; commit.

    The server's per-process cache of tokens found valid must forget it too
    (:meth:`~shancheng.cases.tokens.TokenCache.forget`); other server processes refuse it
    within their cache's few seconds.
    """
    found = store.delete_token(session, _sha256(token))
    session.commit()
    return found


def actor_for_token(session: Session, token: str, *, at: datetime) -> Actor:
    """Return the user a token belongs to.

    Raises
    ------
    AuthenticationError
        Unknown or expired token, or inactive user.
    """
    return check_token(token_owner(session, _sha256(token)), at=at)


def create_api_key(
    session: Session,
    name: str,
    *,
    actor: Actor,
    at: datetime,
    scopes: tuple[str, ...] = ("report",),
) -> str:
    """Issue an API key for client ``name`` with ``scopes`` (admins only); commit; return it.

    Raises
    ------
    CaseInputError
        An unknown scope (the message lists :data:`KEY_SCOPES`).
    """
    check(actor, Permission.MANAGE)
    unknown = [s for s in scopes if s not in KEY_SCOPES]
    if unknown or not scopes:
        msg = f"`scopes` must be some of {', '.join(KEY_SCOPES)}, got {list(scopes)}"
        raise CaseInputError(msg, field="scopes")
    key = "sck_" + secrets.token_urlsafe(24)
    store.add_api_key(
        session,
        ApiKeyRow(
            key_sha256=_sha256(key),
            name=name,
            active=True,
            created_at=at,
            scopes=",".join(dict.fromkeys(scopes)),
        ),
    )
    session.commit()
    return key


@dataclass
class ApiKeyCache:
    """Valid API keys seen in the last ``ttl_s`` seconds, so intake skips their lookup.

    Only valid keys are kept (an unknown or forged key is looked up every time), and a revoked
    key stops working after at most ``ttl_s``. Thread-safe; bounded in size.
    """

    ttl_s: float = 5.0
    max_keys: int = 10_000
    _keys: dict[str, tuple[str, frozenset[str], float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key_sha256: str, *, now_s: float) -> tuple[str, frozenset[str]] | None:
        """Return the client name and scopes of a key still fresh in the cache."""
        with self._lock:
            found = self._keys.get(key_sha256)
        if found is None or now_s - found[2] >= self.ttl_s:
            return None
        return found[0], found[1]

    def put(self, key_sha256: str, name: str, scopes: frozenset[str], *, now_s: float) -> None:
        """Remember a key found valid at ``now_s``."""
        with self._lock:
            if len(self._keys) >= self.max_keys:
                self._keys.clear()
            self._keys[key_sha256] = (name, scopes, now_s)


def cached_client(key: str, cache: ApiKeyCache, *, scope: str = "report") -> str | None:
    """Return the client of an API key found valid lately, or ``None`` to look it up.

    Raises
    ------
    AuthenticationError
        The key is missing.
    PermissionDeniedError
        The key is known but lacks ``scope``.
    """
    if not key:
        msg = "`api_key` is required to post a request"
        raise AuthenticationError(msg)
    found = cache.get(_sha256(key), now_s=time.monotonic())
    if found is None:
        return None
    return _in_scope(found[0], found[1], scope)


def client_for_api_key(
    session: Session, key: str, *, scope: str = "report", cache: ApiKeyCache | None = None
) -> str:
    """Return the client name of a valid API key that has ``scope``.

    Parameters
    ----------
    scope
        What the key is used for (:data:`KEY_SCOPES`).
    cache
        Keys found valid lately; a hit needs no database query.

    Raises
    ------
    AuthenticationError
        Missing, unknown or revoked key.
    PermissionDeniedError
        A valid key without ``scope`` (a citizen app's key posting sensor readings).
    """
    name, scopes = api_key_client(session, key, cache=cache)
    return _in_scope(name, scopes, scope)


def api_key_client(
    session: Session, key: str, *, cache: ApiKeyCache | None = None
) -> tuple[str, frozenset[str]]:
    """Return the client name and scopes of a valid API key.

    Raises
    ------
    AuthenticationError
        Missing, unknown or revoked key.
    """
    if not key:
        msg = "`api_key` is required to post a request"
        raise AuthenticationError(msg)
    digest = _sha256(key)
    now_s = time.monotonic()
    if cache is not None and (found := cache.get(digest, now_s=now_s)) is not None:
        return found
    row = store.api_key(session, digest)
    if row is None or not row.active or not hmac.compare_digest(row.key_sha256, digest):
        msg = "`api_key` is not valid"
        raise AuthenticationError(msg)
    scopes = frozenset(row.scopes.split(","))
    if cache is not None:
        cache.put(digest, row.name, scopes, now_s=now_s)
    return row.name, scopes


def _in_scope(name: str, scopes: frozenset[str], scope: str) -> str:
    if scope not in scopes:
        allowed = ", ".join(sorted(scopes))
        msg = f"the API key of {name!r} may not be used to {scope} (its scopes: {allowed})"
        raise PermissionDeniedError(msg)
    return name
