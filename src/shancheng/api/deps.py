"""Dependencies of the endpoints: a database session, the current user, the clock, limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from shancheng.api.ratelimit import RateLimiter
from shancheng.cases import accounts
from shancheng.cases.center import Center, center_of
from shancheng.cases.permissions import Actor
from shancheng.config import Settings
from shancheng.errors import AuthenticationError

_bearer = HTTPBearer(auto_error=False, description="Token from POST /auth/token")


def get_session(request: Request) -> Iterator[Session]:
    """Yield a session bound to the center; closed after the response."""
    with request.app.state.sessions() as session:
        yield session


def now() -> datetime:
    """Return the current time (UTC); tests override this dependency to freeze the clock."""
    return datetime.now(UTC)


SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(now)]


def get_settings(request: Request) -> Settings:
    """Return the application's settings."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_center(session: SessionDep) -> Center:
    """Return the governance center bound to the sessions."""
    return center_of(session)


CenterDep = Annotated[Center, Depends(get_center)]


def current_user(
    session: SessionDep,
    at: NowDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """Return the user of the bearer token.

    Raises
    ------
    AuthenticationError
        No token, or an unknown or expired one (401).
    """
    if credentials is None:
        msg = "missing `Authorization: Bearer <token>` header; log in at POST /auth/token"
        raise AuthenticationError(msg)
    return accounts.actor_for_token(session, credentials.credentials, at=at)


CurrentUser = Annotated[Actor, Depends(current_user)]


def optional_user(
    session: SessionDep,
    at: NowDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor | None:
    """Return the user of the bearer token, or ``None`` without one (a bad token is still 401)."""
    if credentials is None:
        return None
    return accounts.actor_for_token(session, credentials.credentials, at=at)


OptionalUser = Annotated[Actor | None, Depends(optional_user)]


def client_address(request: Request) -> str:
    """Return the caller's address, the rate-limit key of anonymous reports."""
    return request.client.host if request.client else "unknown"


def rate_limit(request: Request, client: str) -> None:
    """Count one report for ``client`` against the application's limiter."""
    limiter: RateLimiter = request.app.state.limiter
    limiter.hit(client, now_s=time.monotonic())
