"""``/lifelines``: pipe networks, sensors and their readings, alarms, HTTP ingest, isolation."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

import geopandas as gpd
import numpy as np
import shapely
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from shancheng.api.deps import CityDep, CurrentUser, NowDep, SessionDep
from shancheng.api.geojson import feature_collection
from shancheng.api.lifeline_scope import LifelineScope
from shancheng.api.live import LiveLifelines, alarm_json
from shancheng.api.policy import current_actor
from shancheng.api.schemas.lifelines import (
    AlarmRead,
    BackfillIn,
    BackfillRead,
    FacilityHit,
    GapRead,
    HeartbeatIn,
    IngestRead,
    IsolationRead,
    NetworkRead,
    ObservationIn,
    ReadingBucket,
    RejectionRead,
    SourceRead,
    WaiveIn,
)
from shancheng.api.state import app_state
from shancheng.cases import accounts
from shancheng.cases.permissions import Role
from shancheng.errors import NotFoundError, PermissionDeniedError, QueryError
from shancheng.indicators.citystate import CityState
from shancheng.lifelines.accounting import Stamp, list_gaps, list_sources
from shancheng.lifelines.alarms import AlarmAction, AlarmState
from shancheng.lifelines.isolation import isolate_break
from shancheng.lifelines.repository import (
    latest_readings,
    list_alarms,
    load_alarm,
    query_readings,
)
from shancheng.lifelines.service import (
    BackfillMessage,
    HttpObservation,
    act_on_alarm,
    backfill_messages,
    gateway_heartbeat,
    ingest_observations,
    waive_telemetry_gap,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shancheng.lifelines.sensors import Sensor

router = APIRouter(prefix="/lifelines", tags=["lifelines"])
MAX_INGEST = 1000
"""Observations one HTTP ingest request may carry."""
MAX_BUCKETS = 5000
"""Most points a readings request returns (longer spans need a larger bucket)."""


def get_live(request: Request) -> LiveLifelines:
    """Return the server's live lifelines (alarm desk, registry, event hub)."""
    return app_state(request).live


LiveDep = Annotated[LiveLifelines, Depends(get_live)]


def registry(city: CityDep, live: LiveDep) -> dict[str, Sensor]:
    """Return the stored sensor registry (the City's sensors added on first use)."""
    return live.sensors(city.sensors.values)


RegistryDep = Annotated[dict[str, Any], Depends(registry)]


async def lifeline_scope(request: Request, city: CityDep) -> LifelineScope:
    """Return the signed-in user's part of the lifelines (their unit, their networks)."""
    actor = await current_actor(request)
    if actor is None:  # the access policy lets only staff through to the routes that scope
        return LifelineScope(None, None)
    return LifelineScope.of(actor, city)


ScopeDep = Annotated[LifelineScope, Depends(lifeline_scope)]


@router.get("/networks")
def networks(city: CityDep, scope: ScopeDep) -> list[NetworkRead]:
    """List the City's pipe networks (those the user sees) with their pipe count and length."""
    return [
        NetworkRead(
            network=name,
            kind=model.network.network,
            pipes=len(model.lines),
            length_m=round(float(np.nansum(model.lines["length_m"].to_numpy())), 1),
        )
        for name, model in city.pipes.items()
        if scope.sees_network(name)
    ]


@router.get("/pipes")
def pipes(
    city: CityDep, scope: ScopeDep, network: Annotated[str, Query(max_length=16)] = "water"
) -> Any:  # noqa: ANN401
    """Return the pipes of one network the user sees as GeoJSON lines (WGS84)."""
    model = city.pipe_model(network)
    if not scope.whole:
        mask = scope.pipe_mask(city, network)
        lines = model.lines[mask].rename(columns={"link_id": "pipe_id"})
        return feature_collection(
            lines, ["pipe_id", "kind", "diameter_mm", "material", "length_m"], tolerance_deg=0
        )

    def build() -> dict[str, Any]:
        lines = model.lines.rename(columns={"link_id": "pipe_id"})
        return feature_collection(
            lines, ["pipe_id", "kind", "diameter_mm", "material", "length_m"], tolerance_deg=0
        )

    return city.cached(f"pipes:{network}", build)


@router.get("/sensors")
def sensors(
    city: CityDep,
    live: LiveDep,
    sensors: RegistryDep,
    scope: ScopeDep,
    response: Response,
    network: Annotated[str | None, Query(max_length=64, description="Only this network's")] = None,
    q: Annotated[str | None, Query(max_length=64, description="Sensor ids containing this")] = None,
    limit: Annotated[
        int | None, Query(ge=1, le=10_000, description="One page of the table")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Return the sensors the user sees as GeoJSON points with their last value and state.

    Without ``limit``, all of them (the map); with it, one page of the table, sensors in alarm
    first, then without data, then by id, and ``X-Total-Count`` says how many match in all.
    """
    with live.engine.connect() as conn:
        last = latest_readings(conn)
        active = list_alarms(conn)
    alarmed = {a.sensor_id for a in active if a.state is not AlarmState.CLEARED}
    frame = city.city.sensors.copy()
    mine = scope.sensor_ids(city)
    if mine is not None:
        frame = frame[frame["sensor_id"].astype(str).isin(mine)]
    ids = frame["sensor_id"].astype(str).to_numpy()
    frame["last_value"] = [last[s][1] if s in last else None for s in ids]
    frame["last_time"] = [
        datetime.fromtimestamp(last[s][0] / 1000, UTC).isoformat() if s in last else None
        for s in ids
    ]
    frame["state"] = ["alarm" if s in alarmed else ("ok" if s in last else "no_data") for s in ids]
    frame["unit"] = [sensors[s].unit if s in sensors else "" for s in ids]
    if network is not None:
        frame = frame[frame["network"].astype(str) == network]
    if q:
        frame = frame[frame["sensor_id"].astype(str).str.contains(q, case=False, regex=False)]
    if limit is not None:
        rank = frame["state"].map({"alarm": 0, "no_data": 1}).fillna(2)
        order = np.lexsort((frame["sensor_id"].astype(str).to_numpy(), rank.to_numpy()))
        response.headers["X-Total-Count"] = str(len(frame))
        frame = frame.iloc[order[offset : offset + limit]]
    return feature_collection(
        frame,
        ["sensor_id", "network", "kind", "unit", "last_value", "last_time", "state"],
        tolerance_deg=0,
    )


@router.get("/sensors/{sensor_id}/readings")
def readings(
    sensor_id: str,
    live: LiveDep,
    sensors: RegistryDep,
    city: CityDep,
    scope: ScopeDep,
    at: NowDep,
    start: datetime | None = None,
    end: datetime | None = None,
    bucket_s: Annotated[float | None, Query(gt=0, le=86400 * 31)] = None,
) -> list[ReadingBucket]:
    """Return one sensor's readings (default the last 24 h), downsampled into buckets."""
    if sensor_id not in sensors:
        msg = f"`sensor_id`: no sensor {sensor_id[:64]!r} in the registry"
        raise NotFoundError(msg, field="sensor_id")
    scope.check_sensor(city, sensor_id)
    end = _aware(end or at, "end")
    start = _aware(start or end - timedelta(hours=24), "start")
    if start >= end:
        msg = f"`start` ({start.isoformat()}) must be before `end` ({end.isoformat()})"
        raise QueryError(msg, field="start")
    span_s = (end - start).total_seconds()
    if bucket_s is None and span_s > MAX_BUCKETS:
        bucket_s = span_s / MAX_BUCKETS
    if bucket_s is not None and span_s / bucket_s > MAX_BUCKETS:
        msg = (
            f"`bucket_s`: {span_s:.0f} s in buckets of {bucket_s:g} s exceeds {MAX_BUCKETS} points"
        )
        raise QueryError(msg, field="bucket_s")
    start_ms, end_ms = round(start.timestamp() * 1000), round(end.timestamp() * 1000)
    with live.engine.connect() as conn:
        table = query_readings(conn, sensor_id, start_ms, end_ms, bucket_s=bucket_s)
    if bucket_s is None:
        return [
            ReadingBucket(time=_time(t), count=1, min=v, mean=v, max=v)
            for t, v in table[["observed_at_ms", "value"]].itertuples(index=False)
        ]
    return [
        ReadingBucket(time=_time(t), count=int(n), min=lo, mean=mid, max=hi)
        for t, n, lo, mid, hi in table[
            ["bucket_start_ms", "count", "min", "mean", "max"]
        ].itertuples(index=False)
    ]


@router.get("/alarms")
def alarms(
    live: LiveDep,
    sensors: RegistryDep,
    city: CityDep,
    scope: ScopeDep,
    state: AlarmState | None = None,
    *,
    active: bool = False,
) -> list[AlarmRead]:
    """List the alarms, newest first: one state, or (``active``) every one not yet cleared."""
    with live.engine.connect() as conn:
        found = list_alarms(conn, state=state)
    if active:
        found = [a for a in found if a.state is not AlarmState.CLEARED]
    mine = scope.sensor_ids(city)
    if mine is not None:
        found = [a for a in found if a.sensor_id in mine]
    return [AlarmRead.model_validate(alarm_json(a, sensors)) for a in found]


@router.post("/alarms/{alarm_id}/acknowledge")
def acknowledge(
    alarm_id: str,
    user: CurrentUser,
    live: LiveDep,
    sensors: RegistryDep,
    city: CityDep,
    scope: ScopeDep,
) -> AlarmRead:
    """Acknowledge an alarm of a sensor in the user's scope (operators: not citizens)."""
    if user.role is Role.CITIZEN:
        msg = f"user {user.username!r} ({user.role.value}) may not acknowledge alarms"
        raise PermissionDeniedError(msg)
    with live.engine.connect() as conn:
        mine = scope.sensor_ids(city)
        if mine is not None and load_alarm(conn, alarm_id).sensor_id not in mine:
            msg = f"no alarm {alarm_id[:128]!r}"
            raise NotFoundError(msg, field="alarm_id")
    changed = act_on_alarm(live.desk, alarm_id, AlarmAction.ACKNOWLEDGE, actor=user.username)
    live.announce([], [changed])
    return AlarmRead.model_validate(alarm_json(changed, sensors))


@router.post("/readings")
def ingest(
    body: ObservationIn | list[ObservationIn],
    session: SessionDep,
    live: LiveDep,
    sensors: RegistryDep,
    x_api_key: Annotated[str | None, Header(max_length=128)] = None,
    api_key: Annotated[str | None, Query(max_length=128)] = None,
) -> IngestRead:
    """Store observations posted over HTTP with the MQTT path's checks, then run the alarms.

    Needs an API key with the ``ingest`` scope (``X-API-Key`` header or ``api_key``) or a
    staff token; a citizen app's reporting key is refused. Refused observations are
    counted and stored with their reason, as on MQTT; the others are kept.
    """
    _ingest_key(session, x_api_key or api_key)
    items = body if isinstance(body, list) else [body]
    if len(items) > MAX_INGEST:
        msg = f"`body`: at most {MAX_INGEST} observations per request, got {len(items)}"
        raise QueryError(msg, field="body")
    outcome = ingest_observations(
        live.desk,
        sensors,
        [HttpObservation(o.sensor_id, o.time, o.value, o.unit) for o in items],
    )
    live.announce(outcome.readings, outcome.alarms)
    result = outcome.result
    return IngestRead(
        received=len(items),
        stored=result.stored,
        duplicates=result.duplicates,
        rejected=result.rejected,
        rejections=[
            RejectionRead(index=n, reason=r.reason, detail=r.detail) for n, r in outcome.rejections
        ],
        alarms=[AlarmRead.model_validate(alarm_json(a, sensors)) for a in outcome.alarms],
    )


@router.get("/telemetry/gaps")
def telemetry_gaps(
    session: SessionDep,
    live: LiveDep,
    gateway: Annotated[str | None, Query(max_length=64)] = None,
    epoch: Annotated[int | None, Query(ge=1, lt=2**53)] = None,
    state: Literal["open", "closed", "all"] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    x_api_key: Annotated[str | None, Header(max_length=128)] = None,
    api_key: Annotated[str | None, Query(max_length=128)] = None,
) -> list[GapRead]:
    """Return the gaps on record in gateways' numbering, newest first.

    A gateway asks for its own open gaps (``gateway``, ``epoch``) with its key, then posts
    the missing messages from its buffer to ``POST /lifelines/telemetry/backfill``. A key
    with the ``gateway`` scope sees only the gateway named like its client (the default);
    an ``ingest`` key sees any gateway.
    """
    gateway = _gateway_key(session, x_api_key or api_key, gateway)
    with live.engine.connect() as conn:
        gaps = list_gaps(
            conn, gateway=gateway, epoch=epoch, state=state, limit=limit, offset=offset
        )
    return [GapRead.model_validate(asdict(gap)) for gap in gaps]


@router.get("/telemetry/sources")
def telemetry_sources(
    live: LiveDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[SourceRead]:
    """Return every numbered source's account (messages, duplicates, open gaps)."""
    with live.engine.connect() as conn:
        rows = list_sources(conn, limit=limit, offset=offset)
    return [SourceRead.model_validate(row) for row in rows]


@router.post("/telemetry/gaps/{gap_id}/waive")
def telemetry_waive(
    gap_id: Annotated[int, Path(ge=1, lt=2**31)],
    body: WaiveIn,
    user: CurrentUser,
    live: LiveDep,
) -> GapRead:
    """Close an open gap as a known loss, with the reason (supervisors and admins).

    For messages no backfill will bring (the gateway's buffer was overwritten, a sensor was
    swapped): the gap stops counting as open and the gateway's data-gap alarm clears with its
    last open gap; the record keeps how many were lost, who waived them and why.
    """
    gap, changed = waive_telemetry_gap(live.desk, gap_id, by=user.username, reason=body.reason)
    live.announce([], changed)
    return GapRead.model_validate(asdict(gap))


@router.post("/telemetry/heartbeat")
def telemetry_heartbeat(
    body: HeartbeatIn,
    session: SessionDep,
    live: LiveDep,
    x_api_key: Annotated[str | None, Header(max_length=128)] = None,
    api_key: Annotated[str | None, Query(max_length=128)] = None,
) -> list[GapRead]:
    """Take a gateway's heartbeat (the last number it sent); return its open gaps.

    Over HTTP, so no broker can drop it: messages up to that number still missing after the
    grace period (5 s) are put on record as a gap, even when nothing was sent after them.
    """
    _gateway_key(session, x_api_key or api_key, body.gateway)
    _, changed = gateway_heartbeat(live.desk, Stamp(body.gateway, body.epoch, body.last_seq))
    live.announce([], changed)
    with live.engine.connect() as conn:
        gaps = list_gaps(conn, gateway=body.gateway, epoch=body.epoch, limit=1000)
    return [GapRead.model_validate(asdict(gap)) for gap in gaps]


@router.post("/telemetry/backfill")
def telemetry_backfill(
    body: BackfillIn,
    session: SessionDep,
    live: LiveDep,
    sensors: RegistryDep,
    x_api_key: Annotated[str | None, Header(max_length=128)] = None,
    api_key: Annotated[str | None, Query(max_length=128)] = None,
) -> BackfillRead:
    """Take a gateway's buffered messages back: they fill its gaps and run the alarms.

    Each message goes through the MQTT path's checks; its readings are stored once (a
    reading that already arrived is a duplicate), and a gap with nothing left missing closes
    (the gateway's data-gap alarm clears with the last one).
    """
    _gateway_key(session, x_api_key or api_key, body.gateway)
    ingested, changed = backfill_messages(
        live.desk, sensors, body.gateway, body.epoch,
        # the standard library's JSON: a payload may hold integers beyond 64 bits (orjson's
        # limit), which the parser then refuses like any bad value
        [BackfillMessage(m.seq, m.topic, json.dumps(m.payload).encode()) for m in body.messages],
    )  # fmt: skip
    live.announce(ingested.readings, changed)
    with live.engine.connect() as conn:
        still_open = list_gaps(conn, gateway=body.gateway, epoch=body.epoch, limit=1000)
    account, result = ingested.account, ingested.result
    return BackfillRead(
        messages=len(body.messages),
        filled=account.filled,
        duplicates=account.duplicates,
        stored=result.stored,
        rejected=result.rejected,
        gaps_closed=[GapRead.model_validate(asdict(g)) for g in account.closed],
        still_open=[GapRead.model_validate(asdict(g)) for g in still_open],
    )


def _ingest_key(session: Session, key: str | None) -> None:
    """Check a gateway's key has the ingest scope (without one, the policy let staff in)."""
    if key:
        accounts.client_for_api_key(session, key, scope="ingest")


def _gateway_key(session: Session, key: str | None, gateway: str | None) -> str | None:
    """Check the key may touch ``gateway``'s telemetry; return the gateway to use.

    An ``ingest`` key (an ingester, a trusted integrator) may touch any gateway's; a
    ``gateway`` key only the gateway named like its client (and it names that one when the
    request names none). Without a key the policy let staff in.

    Raises
    ------
    PermissionDeniedError
        A ``gateway`` key used for another gateway, or a key with neither scope.
    """
    if not key:
        return gateway
    name, scopes = accounts.api_key_client(session, key)
    if "ingest" in scopes:
        return gateway
    if "gateway" not in scopes:
        allowed = ", ".join(sorted(scopes))
        msg = (
            f"the API key of {name!r} may not be used for telemetry (its scopes: {allowed}; "
            "telemetry needs `ingest` or `gateway`)"
        )
        raise PermissionDeniedError(msg)
    if gateway is not None and gateway != name:
        msg = f"the API key of gateway {name!r} may touch only its own telemetry, not {gateway!r}"
        raise PermissionDeniedError(msg)
    return name


@router.get("/isolation")
def isolation(
    city: CityDep,
    scope: ScopeDep,
    network: Annotated[str, Query(max_length=16)] = "water",
    pipe: Annotated[str | None, Query(max_length=64)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
) -> IsolationRead:
    """Plan the isolation of a break on a pipe (or the pipe nearest to a point)."""
    model = city.pipe_model(network)
    if pipe is None:
        if lon is None or lat is None:
            msg = "`pipe`: give a pipe id, or `lon` and `lat` to take the nearest pipe"
            raise QueryError(msg, field="pipe")
        x, y = city.to_utm(lon, lat)
        nearest = int(model.tree.nearest(shapely.Point(x, y)))
        pipe = str(model.lines["link_id"].iloc[nearest])
    elif pipe not in set(model.network.links["link_id"]):
        msg = f"`pipe`: no pipe {pipe!r} in the {network} network"
        raise NotFoundError(msg, field="pipe")
    rows = np.flatnonzero(model.lines["link_id"].astype(str).to_numpy() == str(pipe))
    if not scope.whole and (len(rows) == 0 or not scope.pipe_mask(city, network)[rows[0]]):
        msg = f"`pipe`: no pipe {pipe!r} in the {network} network"
        raise NotFoundError(msg, field="pipe")
    plan = isolate_break(model.network, pipe, seg=model.segmentation, facilities=model.facilities)
    return IsolationRead(
        network=network,
        pipe_id=plan.link_id,
        valves_to_close=plan.valves_to_close,
        isolated=plan.isolated,
        also_close=plan.also_close,
        feeding_sources=plan.feeding_sources,
        notes=plan.notes,
        segments_lost=int(plan.impact["segments"]),
        side_effect_segments=len(plan.cut_off_segments),
        customers=float(plan.impact["customers"]),
        residents=float(plan.impact["residents"]),
        pipe_length_m=float(plan.impact["pipe_length_m"]),
        critical_facilities=[
            FacilityHit(facility_id=str(f), category=str(c), name=str(n))
            for f, c, n in plan.facilities[["facility_id", "category", "name"]].itertuples(
                index=False
            )
        ],
        geometry=_isolation_geometry(city, network, plan.segment, plan.cut_off_segments,
                                     plan.valves_to_close),
    )  # fmt: skip


def _isolation_geometry(
    city: CityState, network: str, segment: int, cut_off: list[int], valves: list[str]
) -> dict[str, Any]:
    """Return the pipes out of service (``role`` lost or cut_off) and the valves to close."""
    model = city.pipe_model(network)
    net, seg = model.network, model.segmentation
    link_segment = seg.link_segment[net.links["kind"].to_numpy() != "valve"]
    lost = link_segment == segment
    out = lost | np.isin(link_segment, np.asarray(cut_off, dtype=np.int64))
    xy = net.nodes.set_index("node_id")[["x", "y"]]
    valve_rows = net.valves[net.valves["valve_id"].isin(valves)]
    points = xy.loc[valve_rows["node_id"].astype(str).tolist()].to_numpy(dtype=np.float64)
    frame = gpd.GeoDataFrame(
        {
            "id": [*model.lines["link_id"].to_numpy()[out], *valve_rows["valve_id"].astype(str)],
            "role": [*np.where(lost[out], "lost", "cut_off"), *["valve"] * len(valve_rows)],
        },
        geometry=[*model.lines.geometry.to_numpy()[out], *(shapely.Point(p) for p in points)],
        crs=model.lines.crs,
    )
    return feature_collection(frame, ["id", "role"], tolerance_deg=0)


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        msg = f"`{field}`: {value.isoformat()} has no time zone; add +08:00 or Z"
        raise QueryError(msg, field=field)
    return value


def _time(ms: object) -> datetime:
    return datetime.fromtimestamp(int(str(ms)) / 1000, UTC)
