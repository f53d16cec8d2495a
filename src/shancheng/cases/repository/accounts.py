"""SQL of accounts: users, login tokens, API keys and failed logins.

:mod:`shancheng.cases.accounts` decides (hashes, expiry, scopes, the throttle); this reads and
writes. Only hashes of secrets are ever passed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from shancheng.store.cases_tables import ApiKeyRow, LoginFailureRow, TokenRow, UserRow

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session


def user_named(session: Session, username: str) -> UserRow | None:
    """Return the user with this name, if any."""
    query = sa.select(UserRow).where(UserRow.username == username)
    return session.execute(query).scalar_one_or_none()


def add_user(session: Session, row: UserRow) -> UserRow:
    """Add a user row (the caller commits)."""
    session.add(row)
    return row


def add_token(session: Session, token_sha256: str, user_id: int, *, expires_at: datetime) -> None:
    """Add a login token by its hash."""
    session.add(TokenRow(token_sha256=token_sha256, user_id=user_id, expires_at=expires_at))


def delete_token(session: Session, token_sha256: str) -> bool:
    """Delete a login token (by its hash); return whether there was one (the caller commits)."""
    deleted = session.execute(sa.delete(TokenRow).where(TokenRow.token_sha256 == token_sha256))
    return bool(getattr(deleted, "rowcount", 0))


def token_owner(session: Session, token_sha256: str) -> tuple[TokenRow, UserRow] | None:
    """Return a token (by its hash) and its user, if any."""
    found = session.execute(
        sa.select(TokenRow, UserRow)
        .join(UserRow, UserRow.id == TokenRow.user_id)
        .where(TokenRow.token_sha256 == token_sha256)
    ).first()
    return None if found is None else (found[0], found[1])


def add_api_key(session: Session, row: ApiKeyRow) -> None:
    """Add an API key row (by its hash)."""
    session.add(row)


def api_key(session: Session, key_sha256: str) -> ApiKeyRow | None:
    """Return the API key with this hash, if any."""
    return session.get(ApiKeyRow, key_sha256)


def login_failures(session: Session, keys: list[str]) -> list[LoginFailureRow]:
    """Return the failure records of these accounts and addresses."""
    query = sa.select(LoginFailureRow).where(LoginFailureRow.key.in_(keys))
    return list(session.execute(query).scalars())


def count_login_failure(session: Session, keys: list[str], *, at: datetime) -> None:
    """Add one failure at ``at`` to each record (created when missing)."""
    for key in keys:
        row = session.get(LoginFailureRow, key)
        if row is None:
            session.add(LoginFailureRow(key=key, failures=1, last_at=at))
        else:
            row.failures += 1
            row.last_at = at


def forget_login_failures(session: Session, keys: list[str]) -> None:
    """Delete the failure records of these accounts and addresses."""
    session.execute(sa.delete(LoginFailureRow).where(LoginFailureRow.key.in_(keys)))
