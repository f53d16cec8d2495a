"""Accounts: users with argon2 password hashes, expiring login tokens, Open311 API keys.

Secrets never reach the database in clear: passwords are argon2id hashes, tokens and API keys
are stored as their sha256 (they are long random strings, so a fast hash suffices and lookups
stay one indexed query). A token past its expiry time is refused like a wrong one.
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

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shancheng.cases.permissions import Actor, Permission, Role, check
from shancheng.errors import AuthenticationError, CaseInputError
from shancheng.store.cases_tables import ApiKeyRow, TokenRow, UserRow

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password")  # equalises timing for unknown users
MIN_PASSWORD_CHARS = 10


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
    taken = session.execute(sa.select(UserRow.id).where(UserRow.username == username)).first()
    if taken is not None:
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
    session.add(row)
    session.commit()
    return row


def login(session: Session, username: str, password: str, *, at: datetime, ttl_h: float) -> str:
    """Check a password and return a new token valid for ``ttl_h`` hours; commit.

    Raises
    ------
    AuthenticationError
        Unknown user, wrong password or inactive account (one message for all three).
    """
    row = None
    if "\x00" not in username:
        row = session.execute(
            sa.select(UserRow).where(UserRow.username == username)
        ).scalar_one_or_none()
    try:
        _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        row = None
    if row is None or not row.active:
        msg = "wrong user name or password"
        raise AuthenticationError(msg)
    token = secrets.token_urlsafe(32)
    session.add(
        TokenRow(
            token_sha256=_sha256(token), user_id=row.id, expires_at=at + timedelta(hours=ttl_h)
        )
    )
    session.commit()
    return token


def actor_for_token(session: Session, token: str, *, at: datetime) -> Actor:
    """Return the user a token belongs to.

    Raises
    ------
    AuthenticationError
        Unknown or expired token, or inactive user.
    """
    found = session.execute(
        sa.select(TokenRow, UserRow)
        .join(UserRow, UserRow.id == TokenRow.user_id)
        .where(TokenRow.token_sha256 == _sha256(token))
    ).first()
    if found is None:
        msg = "unknown token; log in again at POST /auth/token"
        raise AuthenticationError(msg)
    token_row, user = found
    if token_row.expires_at <= at:
        msg = f"token expired at {token_row.expires_at.isoformat()}; log in again"
        raise AuthenticationError(msg)
    if not user.active:
        msg = f"user {user.username!r} is deactivated"
        raise AuthenticationError(msg)
    return Actor(user.username, Role(user.role), user.unit_code, user.department)


def create_api_key(session: Session, name: str, *, actor: Actor, at: datetime) -> str:
    """Issue an Open311 API key for client ``name`` (admins only); commit; return the key."""
    check(actor, Permission.MANAGE)
    key = "sck_" + secrets.token_urlsafe(24)
    session.add(ApiKeyRow(key_sha256=_sha256(key), name=name, active=True, created_at=at))
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
    _keys: dict[str, tuple[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key_sha256: str, *, now_s: float) -> str | None:
        """Return the client name of a key still fresh in the cache."""
        with self._lock:
            found = self._keys.get(key_sha256)
        if found is None or now_s - found[1] >= self.ttl_s:
            return None
        return found[0]

    def put(self, key_sha256: str, name: str, *, now_s: float) -> None:
        """Remember a key found valid at ``now_s``."""
        with self._lock:
            if len(self._keys) >= self.max_keys:
                self._keys.clear()
            self._keys[key_sha256] = (name, now_s)


def cached_client(key: str, cache: ApiKeyCache) -> str | None:
    """Return the client of an API key found valid lately, or ``None`` to look it up.

    Raises
    ------
    AuthenticationError
        The key is missing.
    """
    if not key:
        msg = "`api_key` is required to post a request"
        raise AuthenticationError(msg)
    return cache.get(_sha256(key), now_s=time.monotonic())


def client_for_api_key(session: Session, key: str, *, cache: ApiKeyCache | None = None) -> str:
    """Return the client name of a valid API key.

    Parameters
    ----------
    cache
        Keys found valid lately; a hit needs no database query.

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
    if cache is not None and (name := cache.get(digest, now_s=now_s)) is not None:
        return name
    row = session.get(ApiKeyRow, digest)
    if row is None or not row.active or not hmac.compare_digest(row.key_sha256, digest):
        msg = "`api_key` is not valid"
        raise AuthenticationError(msg)
    if cache is not None:
        cache.put(digest, row.name, now_s=now_s)
    return row.name
