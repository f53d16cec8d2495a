"""``/stream``: server-sent events of cases (per the caller's scope) and of lifelines.

``EventSource`` cannot send headers, so the bearer token comes as ``?access_token=``. Case
events are found by polling the append-only ``case_events`` table every second from the id
seen last, which works whatever process or worker changed the case. Alarms are read from the
alarms table every second in the same way (any process may raise, update or clear one);
readings, many a second, come from this process's hub (HTTP ingest and ``serve --mqtt``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from shancheng.api.deps import CityDep
from shancheng.api.events import event_stream
from shancheng.api.lifeline_scope import LifelineScope
from shancheng.api.live import LiveLifelines, alarm_json
from shancheng.api.policy import current_actor
from shancheng.api.routers.lifelines import LiveDep
from shancheng.api.schemas.cases import CaseRead
from shancheng.api.state import app_state
from shancheng.cases.service import CaseFeed
from shancheng.errors import AuthenticationError
from shancheng.lifelines.repository import recent_alarms

if TYPE_CHECKING:
    from shancheng.cases.permissions import Actor

router = APIRouter(prefix="/stream", tags=["stream"])
_LOOKBACK_MS = 24 * 3600 * 1000  # cleared alarms older than a day are no longer watched
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
async def lifelines(request: Request, live: LiveDep, city: CityDep) -> StreamingResponse:
    """Stream ``reading`` events as this process stores them, and ``alarm`` events from the store.

    Alarms are read from the database every second (raised, updated, acknowledged or cleared
    by any server process), so an operator sees every alarm whatever process raised it.
    """
    actor = await current_actor(request, query_token=True)
    scope = LifelineScope.of(actor, city) if actor is not None else LifelineScope(None, None)
    mine = scope.sensor_ids(city)
    # the registry gives each alarm its unit; a server that only streams has not loaded it yet
    await asyncio.to_thread(live.sensors, city.sensors.values)
    watch = await asyncio.to_thread(AlarmWatch.start, live)  # a query: off the event loop

    async def poll() -> list[tuple[str, Any]]:
        changed = await asyncio.to_thread(watch.changes)
        return [("alarm", a) for a in changed if mine is None or a["sensor_id"] in mine]

    stream = event_stream(
        live.hub, frozenset({"reading"}), request.is_disconnected, poll=poll, poll_s=1.0
    )
    return StreamingResponse(stream, media_type="text/event-stream", headers=_HEADERS)


@dataclass(eq=False)
class AlarmWatch:
    """The alarms one stream has shown, by id with what changes them (state, level, count)."""

    live: LiveLifelines
    seen: dict[str, tuple[str, int, int]]

    @classmethod
    def start(cls, live: LiveLifelines) -> AlarmWatch:
        """Begin at now: alarms already there are not news."""
        watch = cls(live, {})
        watch.changes()
        return watch

    def changes(self) -> list[dict[str, Any]]:
        """Return the alarms (as the API shows them) that changed since the last call.

        Read: every alarm not yet cleared, and those of the last day (a cleared alarm changes
        no more, so the window slides with the clock and the read stays small).
        """
        since_ms = int(time.time() * 1000) - _LOOKBACK_MS
        with self.live.engine.connect() as conn:
            alarms = recent_alarms(conn, since_ms=since_ms)
        out = []
        for alarm in sorted(alarms, key=lambda a: a.last_at):
            mark = (alarm.state.value, alarm.level, alarm.count)
            if self.seen.get(alarm.alarm_id) != mark:
                self.seen[alarm.alarm_id] = mark
                out.append(alarm_json(alarm, self.live.known_sensors()))
        return out


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
