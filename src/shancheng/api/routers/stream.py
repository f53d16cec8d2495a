"""``/stream``: server-sent events of cases (per the caller's scope) and of lifelines.

``EventSource`` cannot send headers, so the bearer token comes as ``?access_token=``. Case
events are found by polling the append-only ``case_events`` table every second from the id
seen last, which works whatever process or worker changed the case; lifeline events come
from the in-process hub (HTTP ingest and ``shancheng serve --mqtt``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from shancheng.api.events import event_stream
from shancheng.api.policy import current_actor
from shancheng.api.routers.lifelines import LiveDep
from shancheng.api.schemas.cases import CaseRead
from shancheng.api.state import app_state
from shancheng.cases.views import CaseFeed
from shancheng.errors import AuthenticationError

if TYPE_CHECKING:
    from shancheng.cases.permissions import Actor

router = APIRouter(prefix="/stream", tags=["stream"])
_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.get("/cases", response_class=StreamingResponse, include_in_schema=False)
async def cases(
    request: Request,
    live: LiveDep,
    access_token: Annotated[str, Query(max_length=128)] = "",
) -> StreamingResponse:
    """Stream ``case`` events (the case JSON) on every report and transition in scope."""
    del access_token  # read by the access policy (shancheng.api.policy.current_actor)
    state = app_state(request)
    sessions = state.sessions
    actor = await current_actor(request, query_token=True)
    if actor is None:  # the policy lets no anonymous caller through; kept as a guard
        msg = "the case stream needs `access_token`"
        raise AuthenticationError(msg)
    feed = await asyncio.to_thread(_start_feed, sessions)
    city_code = state.centers.seed.city_code

    async def poll() -> list[tuple[str, Any]]:
        rows = await asyncio.to_thread(_changes, sessions, feed, actor, city_code)
        return [("case", row) for row in rows]

    stream = event_stream(live.hub, frozenset(), request.is_disconnected, poll=poll, poll_s=1.0)
    return StreamingResponse(stream, media_type="text/event-stream", headers=_HEADERS)


@router.get("/lifelines", response_class=StreamingResponse, include_in_schema=False)
async def lifelines(request: Request, live: LiveDep) -> StreamingResponse:
    """Stream ``reading`` and ``alarm`` events as they are stored."""
    stream = event_stream(live.hub, frozenset({"reading", "alarm"}), request.is_disconnected)
    return StreamingResponse(stream, media_type="text/event-stream", headers=_HEADERS)


def _start_feed(sessions: Any) -> CaseFeed:  # noqa: ANN401 - sessionmaker
    with sessions() as session:
        return CaseFeed.start(session)


def _changes(
    sessions: Any,  # noqa: ANN401 - sessionmaker
    feed: CaseFeed,
    actor: Actor,
    city_code: str,
) -> list[dict[str, Any]]:
    with sessions() as session:
        rows = feed.poll(session, actor=actor, city_code=city_code)
        return [CaseRead.model_validate(row).model_dump(mode="json") for row in rows]
