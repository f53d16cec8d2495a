"""Request and response shapes of ``/lifelines``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class NetworkRead(BaseModel):
    """One pipe network."""

    network: str
    kind: str
    pipes: int
    length_m: float


class ReadingBucket(BaseModel):
    """Readings of one sensor in one time bucket (or one reading when not downsampled)."""

    time: datetime
    count: int
    min: float
    mean: float
    max: float


class AlarmRead(BaseModel):
    """An alarm and where it is in its lifecycle."""

    alarm_id: str
    sensor_id: str
    level: int
    rule: str
    value: float | None
    unit: str
    message: str
    raised_at: datetime
    last_at: datetime
    state: str
    count: int
    case_id: int | None
    case_reference: str | None


class ObservationIn(BaseModel):
    """One observation posted over HTTP (SensorThings-style)."""

    sensor_id: str = Field(max_length=64, examples=["W00001"])
    time: str = Field(max_length=64, examples=["2026-11-23T09:00:00+08:00"])
    value: float = Field(examples=[312.5])
    unit: str = Field(max_length=16, examples=["kPa"])


class RejectionRead(BaseModel):
    """One observation refused, with the reason code the MQTT path uses."""

    index: int
    reason: str
    detail: str


class IngestRead(BaseModel):
    """What an HTTP ingest did."""

    received: int
    stored: int
    duplicates: int
    rejected: int
    rejections: list[RejectionRead]
    alarms: list[AlarmRead]


class FacilityHit(BaseModel):
    """A critical facility losing service."""

    facility_id: str
    category: str
    name: str


class IsolationRead(BaseModel):
    """What closing the valves around a broken pipe takes out.

    ``isolated`` is false when a source inside the segment still feeds the break whatever the
    valve layer closes (``feeding_sources``, explained in ``notes``); ``also_close`` lists the
    pumps to stop and control valves to close besides the valves.
    """

    network: str
    pipe_id: str
    valves_to_close: list[str]
    isolated: bool
    also_close: list[str]
    feeding_sources: list[str]
    notes: list[str]
    segments_lost: int
    side_effect_segments: int
    customers: float
    residents: float
    pipe_length_m: float
    critical_facilities: list[FacilityHit]
    geometry: dict[str, object]


class GapRead(BaseModel):
    """A run of a gateway's messages that did not arrive (``missing`` of them still)."""

    gap_id: int
    gateway: str
    epoch: int
    first_seq: int
    last_seq: int
    missing: int
    filled_by_backfill: int
    filled_late: int
    detected_at_ms: int
    closed_at_ms: int | None
    waived_by: str | None = None
    """Who closed it as a known loss (``None``: still open, or filled)."""
    waived_reason: str | None = None
    arrived_after_waiver: int = 0
    """Messages of a waived gap that arrived after all (stored; ``missing`` is unchanged)."""


class WaiveIn(BaseModel):
    """Why a gap is a known loss (a gateway's buffer overwritten, a sensor swapped...)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class SourceRead(BaseModel):
    """A numbered source's account: what arrived, what was seen twice, how far all is known."""

    gateway: str
    epoch: int
    accounted_through: int
    highest_seq: int
    messages: int
    duplicates: int
    first_seen_ms: int
    last_seen_ms: int
    announced_seq: int
    open_gaps: int
    missing: int


class HeartbeatIn(BaseModel):
    """A gateway's heartbeat: the last number it sent in this epoch."""

    gateway: str = Field(min_length=1, max_length=64)
    epoch: int = Field(ge=1, lt=2**53)
    last_seq: int = Field(ge=1, lt=2**53)


class BackfillMessageIn(BaseModel):
    """One buffered message: its number, its topic and its SensorThings payload."""

    seq: int = Field(ge=1, lt=2**53)
    topic: str = Field(max_length=256, examples=["v1.1/Datastreams(W00001)/Observations"])
    payload: dict[str, Any] | list[dict[str, Any]] = Field(
        examples=[{"phenomenonTime": "2026-11-23T09:00:00+08:00", "result": 312.5,
                   "parameters": {"unit": "kPa"}}]
    )  # fmt: skip


class BackfillIn(BaseModel):
    """A gateway's buffer posted back to close its gaps."""

    gateway: str = Field(min_length=1, max_length=64)
    epoch: int = Field(ge=1, lt=2**53)
    messages: list[BackfillMessageIn] = Field(max_length=500)


class BackfillRead(BaseModel):
    """What a backfill did: numbers that filled gaps, duplicates, readings stored."""

    messages: int
    filled: int
    duplicates: int
    stored: int
    rejected: int
    gaps_closed: list[GapRead]
    still_open: list[GapRead]
