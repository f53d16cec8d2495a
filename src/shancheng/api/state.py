"""The application's state, typed: what ``create_app`` builds once and every endpoint reads.

Starlette's ``app.state`` is an untyped bag; the application keeps one :class:`AppState` in it
(``app.state.shancheng``) and endpoints reach it through :func:`app_state` (or the
``StateDep`` dependency), so every attribute has a type the checker sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from shancheng.api.public_pages import PublicPages

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker
    from starlette.requests import HTTPConnection

    from shancheng.api.live import LiveLifelines
    from shancheng.api.ratelimit import Limiter
    from shancheng.cases.accounts import ApiKeyCache
    from shancheng.cases.center import CenterCache
    from shancheng.cases.classify import TaxonomyClassifier
    from shancheng.cases.store import AsyncCaseStore
    from shancheng.cases.tokens import TokenCache, TokenReader
    from shancheng.config import Settings
    from shancheng.ideas.collector import SupportCollector
    from shancheng.ideas.verification import Verifier
    from shancheng.indicators.citystate import CityHolder

_KEY = "shancheng"


@dataclass(slots=True)
class AppState:
    """Everything the endpoints share, built by :func:`~shancheng.api.app.create_app`.

    Attributes
    ----------
    settings
        The settings the application was created with.
    engine, sessions
        The database engine and its session factory.
    centers
        The governance center's configuration, kept current (:class:`CenterCache`).
    case_store
        The store Open311 intake and lookups use on the event loop (asynchronous PostgreSQL,
        or sessions in worker threads).
    limiter, api_keys
        Rate limits per client, and the recently seen Open311 API keys.
    tokens, token_cache
        Who a bearer token belongs to (asynchronous PostgreSQL, or the ORM in worker
        threads), and the tokens found valid in the last seconds
        (:mod:`shancheng.cases.tokens`).
    classifier
        The category classifier (trained in the background, retrained on taxonomy edits).
    live
        The lifelines hub: telemetry, alarms and their live stream.
    city
        The dashboard's City and analyses, built on first use.
    ideas_verifier
        Who counts as a verified resident for supporting ideas
        (:class:`~shancheng.ideas.verification.Verifier`).
    ideas_supports
        The group commit of supports and withdrawals
        (:class:`~shancheng.ideas.collector.SupportCollector`).
    public_pages
        Anonymous campaign pages kept for a second (:mod:`shancheng.api.public_pages`).
    """

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    centers: CenterCache
    case_store: AsyncCaseStore
    limiter: Limiter
    api_keys: ApiKeyCache
    tokens: TokenReader
    token_cache: TokenCache
    classifier: TaxonomyClassifier
    live: LiveLifelines
    city: CityHolder
    ideas_verifier: Verifier
    ideas_supports: SupportCollector
    public_pages: PublicPages = field(default_factory=PublicPages)


def install_state(app: FastAPI, state: AppState) -> None:
    """Keep ``state`` in ``app`` (read back by :func:`app_state`)."""
    setattr(app.state, _KEY, state)


def state_of(app: FastAPI) -> AppState:
    """Return the state :func:`install_state` kept in ``app``."""
    return cast("AppState", getattr(app.state, _KEY))


def app_state(connection: HTTPConnection) -> AppState:
    """Return the application's state for a request or a websocket."""
    return state_of(connection.app)
