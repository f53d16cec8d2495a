"""Dependencies of the endpoints: a database session, the current user, the clock, limits."""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from shancheng.api.policy import current_actor
from shancheng.api.state import AppState, app_state
from shancheng.cases.center import Center, CenterCache
from shancheng.cases.permissions import Actor
from shancheng.config import Settings
from shancheng.errors import AuthenticationError
from shancheng.indicators.citystate import CityState

_bearer = HTTPBearer(auto_error=False, description="Token from POST /auth/token")


# The cheap dependencies below are ``async def`` on purpose: FastAPI runs a plain ``def``
# dependency in a worker thread, and those hand-offs cost more CPU than the work itself. They
# take the request, not :data:`StateDep`: FastAPI solves each dependency of a dependency in
# full at every request, which costs more than reading the state from the request.


async def get_state(request: Request) -> AppState:
    """Return the application's typed state."""
    return app_state(request)


StateDep = Annotated[AppState, Depends(get_state)]


async def get_session(request: Request) -> AsyncIterator[Session]:
    """Yield a database session; closed after the response.

    Opening a session does no I/O (the connection is taken on first use, in the endpoint's
    thread), so this runs on the event loop.
    """
    with app_state(request).sessions() as session:
        yield session


async def now() -> datetime:
    """Return the current time (UTC); tests override this dependency to freeze the clock."""
    return datetime.now(UTC)


SessionDep = Annotated[Session, Depends(get_session)]
NowDep = Annotated[datetime, Depends(now)]


async def clock_now(request: Request) -> datetime:
    """Return the current time as :data:`NowDep` would, for code that takes no dependencies.

    The override a test installs for :func:`now` is honoured, whether it is a plain function
    or a coroutine function like :func:`now` itself; without one, the real clock.
    """
    override = request.app.dependency_overrides.get(now)
    if override is None:
        return datetime.now(UTC)
    value = override()
    if inspect.isawaitable(value):
        value = await value
    when: datetime = value
    return when


async def get_settings(request: Request) -> Settings:
    """Return the application's settings."""
    return app_state(request).settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_center(request: Request) -> Center:
    """Return the governance center with the database's configuration tables.

    Reading the tables is three small queries, done in a worker thread once per
    ``ttl_s``; the rest of the time the cached center is returned on the event loop.
    """
    return await current_center(app_state(request))


async def current_center(state: AppState) -> Center:
    """Return ``state``'s current center; the tables are read in a worker thread when stale."""
    center = state.centers.fresh()
    if center is None:
        center = await run_in_threadpool(_read_center, state)
    return center


def _read_center(state: AppState) -> Center:
    with state.sessions() as session:
        return state.centers.current(session)


CenterDep = Annotated[Center, Depends(get_center)]


async def get_centers(request: Request) -> CenterCache:
    """Return the cache of the center's configuration (for admin edits, which drop it)."""
    return app_state(request).centers


CentersDep = Annotated[CenterCache, Depends(get_centers)]


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """Return the user of the bearer token.

    The token is looked up once per request (by the access policy, which every route passes
    first; :func:`~shancheng.api.policy.current_actor` keeps the answer on the request).

    Raises
    ------
    AuthenticationError
        No token, or an unknown or expired one (401).
    """
    actor = None if credentials is None else await current_actor(request)
    if actor is None:
        msg = "missing `Authorization: Bearer <token>` header; log in at POST /auth/token"
        raise AuthenticationError(msg)
    return actor


CurrentUser = Annotated[Actor, Depends(current_user)]


async def optional_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor | None:
    """Return the user of the bearer token, or ``None`` without one (a bad token is still 401)."""
    if credentials is None:
        return None
    return await current_actor(request)


OptionalUser = Annotated[Actor | None, Depends(optional_user)]
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
"""The request's ``Authorization: Bearer`` credentials as sent (``None`` without them)."""


def client_address(request: Request) -> str:
    """Return the caller's address, the rate-limit key of anonymous reports."""
    return request.client.host if request.client else "unknown"


def rate_limit(request: Request, client: str) -> None:
    """Count one report for ``client`` against the application's limiter."""
    app_state(request).limiter.hit(client, now_s=time.monotonic())


async def rate_limit_async(request: Request, client: str) -> None:
    """:func:`rate_limit` for the event loop (a Redis limiter does not block it)."""
    await app_state(request).limiter.ahit(client, now_s=time.monotonic())


async def get_city_state(request: Request) -> CityState:
    """Return the application's City state (built on first use, in a worker thread)."""
    holder = app_state(request).city
    if holder.state is not None:
        return holder.state
    return await run_in_threadpool(holder.get)


CityDep = Annotated[CityState, Depends(get_city_state)]
