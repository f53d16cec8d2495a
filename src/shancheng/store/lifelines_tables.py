"""ORM tables of the lifelines pillar: sensor registry, readings, rejections, alarms.

Readings are keyed by ``(sensor_id, observed_at_ms)``: the same sensor at the same phenomenon
time is the same reading, so a redelivered or duplicated message is ignored on insert
(``ON CONFLICT DO NOTHING``) and a late or out-of-order one simply lands in its place.
Times are integer milliseconds since the Unix epoch (UTC), exact and identical on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shancheng.store.base import Base


class SensorRow(Base):
    """One sensor of the registry (a SensorThings Thing + Datastream)."""

    __tablename__ = "lifelines_sensors"

    sensor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(16))
    range_min: Mapped[float] = mapped_column(Float)
    range_max: Mapped[float] = mapped_column(Float)
    element_kind: Mapped[str] = mapped_column(String(16))
    element_id: Mapped[str] = mapped_column(String(64))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    department: Mapped[str | None] = mapped_column(String(64), nullable=True)


class ReadingRow(Base):
    """One observation: sensor, phenomenon time (ms since epoch, UTC) and value."""

    __tablename__ = "lifelines_readings"

    sensor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    observed_at_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class RejectionRow(Base):
    """A message or observation refused at the boundary, with the reason."""

    __tablename__ = "lifelines_rejections"

    rejection_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at_ms: Mapped[int] = mapped_column(BigInteger)
    topic: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)


class AlarmRow(Base):
    """An alarm and its lifecycle history."""

    __tablename__ = "lifelines_alarms"

    alarm_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    sensor_id: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    raised_at_ms: Mapped[int] = mapped_column(BigInteger)
    last_at_ms: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer)
    case_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    case_reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    history: Mapped[list[list[str]]] = mapped_column(JSON)


Index("ix_lifelines_alarms_state", AlarmRow.state)
Index("ix_lifelines_rejections_reason", RejectionRow.reason)


class TelemetrySourceRow(Base):
    """Message accounting of one numbered source (a gateway or a sensor) in one boot epoch.

    ``accounted_through``: every sequence number up to it was received or lies in a gap on
    record; numbers above it that arrived wait in :class:`TelemetrySeqRow` until it moves.
    ``announced_seq``: the last number the gateway says it sent (its heartbeat over HTTP), so
    a loss at the end of a stream shows without a later message.
    """

    __tablename__ = "lifelines_telemetry_sources"

    gateway: Mapped[str] = mapped_column(String(64), primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    accounted_through: Mapped[int] = mapped_column(BigInteger)
    highest_seq: Mapped[int] = mapped_column(BigInteger)
    messages: Mapped[int] = mapped_column(BigInteger)
    duplicates: Mapped[int] = mapped_column(BigInteger)
    first_seen_ms: Mapped[int] = mapped_column(BigInteger)
    last_seen_ms: Mapped[int] = mapped_column(BigInteger)
    announced_seq: Mapped[int] = mapped_column(BigInteger)
    announced_at_ms: Mapped[int] = mapped_column(BigInteger)


class TelemetrySeqRow(Base):
    """A received sequence number above its source's ``accounted_through``.

    Or one that filled part of a gap still open (kept until the gap closes).
    """

    __tablename__ = "lifelines_telemetry_seqs"

    gateway: Mapped[str] = mapped_column(String(64), primary_key=True)
    epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    received_at_ms: Mapped[int] = mapped_column(BigInteger)


class TelemetryGapRow(Base):
    """A run of a source's messages that did not arrive: on record until every one is filled."""

    __tablename__ = "lifelines_telemetry_gaps"

    gap_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    gateway: Mapped[str] = mapped_column(String(64))
    epoch: Mapped[int] = mapped_column(BigInteger)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    missing: Mapped[int] = mapped_column(BigInteger)
    filled_by_backfill: Mapped[int] = mapped_column(BigInteger)
    filled_late: Mapped[int] = mapped_column(BigInteger)
    detected_at_ms: Mapped[int] = mapped_column(BigInteger)
    closed_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    waived_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The staff member who closed the gap as a known loss (``None``: filled or open)."""
    waived_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    arrived_after_waiver: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """Messages of a waived gap that arrived after all (stored, counted once each)."""


Index("ix_lifelines_telemetry_gaps_open", TelemetryGapRow.gateway, TelemetryGapRow.closed_at_ms)
