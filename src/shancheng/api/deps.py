"""Dependencies of the endpoints: a database session, the current user, the clock, limits."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from shancheng.api.ratelimit import Limiter
from shancheng.cases import accounts
from shancheng.cases.center import Center, center_of, fresh_center_of
from shancheng.cases.permissions import Actor
from shancheng.config import Settings
from shancheng.errors import AuthenticationError

_bearer = HTTPBearer(auto_error=False, description="Token from POST /auth/token")


# The cheap dependencies below are ``async def`` on purpose: FastAPI runs a plain ``def``
# dependency in a worker thread, and those hand-offs cost more CPU than the work itself.


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Yield a session bound to the center; closed after the response.

    Opening a session does no I/O (the connection is taken on first use, in the endpoint's
    thread), so this runs on the event loop.
    """
    with request.app.state.sessions() as session:
        yield session


async def now() -> datetime:
    """Return the current time (UTC); tests override this dependency to freeze the clock."""
    return datetime.now(UTC)


SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(now)]


def clock(request: Request) -> datetime:
    """Return the current time as :data:`NowDep` would, for hot paths that take no dependencies.

    Solving even one dependency costs a hot endpoint a measurable share of its CPU; the
    override a test installs for :func:`now` is honoured all the same.
    """
    override = request.app.dependency_overrides.get(now)
    return override() if override is not None else datetime.now(UTC)


async def get_settings(request: Request) -> Settings:
    """Return the application's settings."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_center(session: SessionDep) -> Center:
    """Return the governance center bound to the sessions, with the taxonomy's edits.

    Reading the edits is a query, done in a worker thread once per ``rules_ttl_s``; the
    rest of the time the cached center is returned on the event loop.
    """
    center = fresh_center_of(session)
    if center is None:
        center = await run_in_threadpool(center_of, session)
    return center


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
    limiter: Limiter = request.app.state.limiter
    limiter.hit(client, now_s=time.monotonic())


async def rate_limit_async(request: Request, client: str) -> None:
    """:func:`rate_limit` for the event loop (a Redis limiter does not block it)."""
    limiter: Limiter = request.app.state.limiter
    await limiter.ahit(client, now_s=time.monotonic())
