"""The FastAPI application: ``create_app(settings)`` wires database, center and routers."""

from __future__ import annotations

import gc
import logging
import mimetypes
import threading
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from shancheng import __version__
from shancheng.api.errors import RefuseNulBytes, install_error_handlers
from shancheng.api.limits import BodyLimit
from shancheng.api.live import LiveLifelines
from shancheng.api.policy import check_policy, enforce
from shancheng.api.ratelimit import limiter_from_settings
from shancheng.api.routers import (
    cases,
    circles,
    citizen,
    city,
    credit,
    ideas,
    lifelines,
    mobility,
    open311,
    stream,
    targets,
    tiles,
)
from shancheng.api.state import AppState, install_state, state_of
from shancheng.cases.accounts import ApiKeyCache
from shancheng.cases.async_store import PostgresCaseStore
from shancheng.cases.calendar import WorkingCalendar, load_holiday_table
from shancheng.cases.center import Center, CenterCache
from shancheng.cases.classify import TaxonomyClassifier
from shancheng.cases.routing import AdminIndex
from shancheng.cases.store import ThreadedCaseStore
from shancheng.cases.taxonomy import load_taxonomy
from shancheng.cases.tokens import PostgresTokenReader, ThreadedTokenReader, TokenCache
from shancheng.data.city import read_city
from shancheng.ideas.collector import SupportCollector
from shancheng.ideas.verification import RecordedVerifier
from shancheng.indicators.citystate import CityHolder
from shancheng.store import create_db_engine, session_factory

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from shancheng.cases.store import AsyncCaseStore
    from shancheng.cases.tokens import TokenReader
    from shancheng.config import Settings
    from shancheng.ideas.verification import Verifier
    from shancheng.indicators.citystate import CityState

logger = logging.getLogger(__name__)


def center_from_settings(settings: Settings) -> Center:
    """Build the governance center for the configured city (read from ``city_dir``)."""
    admin = AdminIndex.from_city(read_city(settings.city_dir, verify=False))
    return apply_settings(Center(load_taxonomy(), admin), settings)


def apply_settings(center: Center, settings: Settings) -> Center:
    """Return ``center`` with the intake limits and the holiday table of ``settings``."""
    calendar = center.calendar
    if settings.cases_holidays_file is not None:
        table = load_holiday_table(settings.cases_holidays_file)
        calendar = WorkingCalendar.from_holiday_table(table)
    return replace(
        center,
        calendar=calendar,
        duplicate_radius_m=settings.cases_duplicate_radius_m,
        duplicate_window_h=settings.cases_duplicate_window_h,
        max_photo_bytes=settings.cases_max_photo_bytes,
        anonymous_photo_bytes_per_day=settings.cases_anonymous_photo_bytes_per_day,
    )


def create_app(
    settings: Settings,
    *,
    center: Center | None = None,
    city_state: CityState | None = None,
    verifier: Verifier | None = None,
) -> FastAPI:
    """Create the API for ``settings`` (database URL, city, limits).

    Parameters
    ----------
    settings
        Where the database and the city are, and the intake limits.
    center
        The governance center to use; default: built from the configured city. The database
        must already be migrated (``shancheng serve`` does it first).
    city_state
        The dashboard's City and analyses; default: built from ``city_dir`` on first use.
    verifier
        Who counts as a verified resident for supporting ideas; default the verifications
        recorded in the database (:class:`~shancheng.ideas.verification.RecordedVerifier`).
    """
    app = FastAPI(
        lifespan=_lifespan,
        title="shancheng governance center",
        version=__version__,
        description=(
            "Citizen, inspector and sensor reports from intake to closure across city, "
            "district and street, and an Open311 GeoReport v2 server under /open311."
        ),
    )
    engine = create_db_engine(settings.resolved_database_url)
    sessions = session_factory(engine)
    seed = apply_settings(center, settings) if center else center_from_settings(settings)
    verifier = verifier or RecordedVerifier()
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        centers=CenterCache(seed),
        case_store=_case_store(settings, engine, sessions),
        limiter=limiter_from_settings(
            settings.cases_rate_per_min, settings.cases_rate_burst, settings.cases_rate_redis_url
        ),
        api_keys=ApiKeyCache(),
        tokens=_token_reader(settings, engine, sessions),
        token_cache=TokenCache(),
        classifier=TaxonomyClassifier(load_taxonomy()),
        live=LiveLifelines(engine),
        city=CityHolder(
            settings.city_dir, state=city_state, loader=lambda path: read_city(path, verify=False)
        ),
        ideas_verifier=verifier,
        ideas_supports=SupportCollector(sessions, verifier),
    )
    install_state(app, state)
    install_error_handlers(app)
    app.add_middleware(RefuseNulBytes)
    app.add_middleware(BodyLimit, settings=settings)
    # every route passes the access policy first (shancheng.api.policy: one table)
    guarded = [Depends(enforce)]
    # Open311 first: routes are matched in order, and intake is the hot path under load
    app.include_router(open311.router, dependencies=guarded)
    # then the ideas' supports, the other hot path (its own prefix: the order changes no match)
    app.include_router(ideas.router, dependencies=guarded)
    app.include_router(citizen.router, dependencies=guarded)  # before /cases/{case_id}
    app.include_router(cases.router, dependencies=guarded)
    app.include_router(city.router, dependencies=guarded)
    app.include_router(circles.router, dependencies=guarded)
    app.include_router(mobility.router, dependencies=guarded)
    app.include_router(lifelines.router, dependencies=guarded)
    app.include_router(stream.router, dependencies=guarded)
    app.include_router(targets.router, dependencies=guarded)
    app.include_router(credit.router, dependencies=guarded)
    tiles.install(app, settings, city=state.city, dependencies=guarded)
    mount_dashboard(app, settings.web_dist)
    check_policy(app)
    return app


def _case_store(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session]
) -> AsyncCaseStore:
    """Return the store Open311 intake uses on the event loop.

    On PostgreSQL the asynchronous store (unless ``cases_async_intake`` is off); elsewhere
    sessions in worker threads.
    """
    if settings.cases_async_intake and engine.dialect.name == "postgresql":
        return PostgresCaseStore(settings.resolved_database_url)
    return ThreadedCaseStore(sessions)


def _token_reader(
    settings: Settings, engine: Engine, sessions: sessionmaker[Session]
) -> TokenReader:
    """Return who finds the bearer tokens' users.

    On PostgreSQL on the event loop (unless ``cases_async_intake`` is off, as for the case
    store); elsewhere in worker threads.
    """
    if settings.cases_async_intake and engine.dialect.name == "postgresql":
        return PostgresTokenReader(settings.resolved_database_url)
    return ThreadedTokenReader(sessions)


def mount_dashboard(app: FastAPI, web_dist: Path) -> None:
    """Serve the built single-page app at ``/ui/`` (a JSON hint when it is not built)."""
    app.add_api_route("/", _to_dashboard, include_in_schema=False)
    if (web_dist / "index.html").is_file():
        # the web app manifest (installable PWA) has its own media type
        mimetypes.add_type("application/manifest+json", ".webmanifest")
        app.mount("/ui", StaticFiles(directory=web_dist, html=True), name="ui")
        return

    def not_built() -> JSONResponse:
        return JSONResponse(
            {
                "detail": f"the dashboard is not built: no {web_dist / 'index.html'}",
                "hint": "build the front end in web/ (npm run build), or use the API at /docs",
            },
            status_code=404,
        )

    app.add_api_route("/ui/", not_built, include_in_schema=False)
    app.add_api_route("/ui", not_built, include_in_schema=False)


def _warm_city(app: FastAPI) -> None:
    """Build the dashboard's City state now; a failure is logged and retried on first use."""
    try:
        state_of(app).city.get()
    except Exception:
        logger.exception("the dashboard could not evaluate the city at start-up")
    settle_heap()


def _warm_classifier(app: FastAPI) -> None:
    """Train the category classifier now, so the first request that needs it does not wait."""
    state_of(app).classifier()
    settle_heap()


def settle_heap() -> None:
    """Exempt every object alive now from garbage collection (``gc.freeze``).

    The City state, the taxonomy and the libraries loaded at start-up are hundreds of thousands
    of objects that live as long as the server. Scanned by every full collection, they stalled
    all requests of a worker for 0.4-0.6 s (the load test's p99); frozen, they are never
    scanned again. Called once start-up work is done.
    """
    gc.freeze()


def _to_dashboard() -> RedirectResponse:
    return RedirectResponse("/ui/")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the in-process MQTT ingester when ``serve_mqtt`` is set; stop it on shutdown."""
    state = state_of(app)
    if state.settings.serve_mqtt:
        state.live.start_mqtt(state.settings.mqtt_url, state.city.get().sensors.values)
    try:
        yield
    finally:
        state.live.stop()
        await state.limiter.aclose()
        await state.case_store.close()
        await state.tokens.close()
        await run_in_threadpool(state.ideas_supports.close)


def app_from_env() -> FastAPI:
    """Application factory for ``uvicorn --factory`` (settings from the environment)."""
    from shancheng.config import Settings  # noqa: PLC0415 - runtime import for the factory

    settings = Settings()
    app = create_app(settings)
    if settings.cases_classifier_warmup:
        # train now, in the background, so the first request that needs it does not wait
        threading.Thread(
            target=_warm_classifier, args=(app,), name="classifier-warmup", daemon=True
        ).start()
    # evaluate the city's circles now, so the dashboard's first request does not wait
    threading.Thread(target=_warm_city, args=(app,), name="city-warmup", daemon=True).start()
    settle_heap()  # what create_app loaded; the warm-up freezes the City state when done
    return app
