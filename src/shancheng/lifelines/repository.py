"""SQL of the lifelines pillar, and nothing else: the sensor registry, readings, rejections, alarms.

Every function takes an open connection and leaves committing to the caller (the service,
the ingester); the rules that decide what to store live in :mod:`~shancheng.lifelines.alarms`,
:mod:`~shancheng.lifelines.telemetry` and :mod:`~shancheng.lifelines.service`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from shancheng.cases.sensor_intake import CaseRef
from shancheng.errors import NotFoundError
from shancheng.lifelines.alarms import Alarm, AlarmState, RuleKind
from shancheng.store.lifelines_tables import AlarmRow, ReadingRow, RejectionRow, SensorRow

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from sqlalchemy.engine import Connection

    from shancheng.lifelines.sensors import Sensor
    from shancheng.lifelines.telemetry import Reading, Rejection


def register_sensors(conn: Connection, sensors: Iterable[Sensor]) -> int:
    """Add sensors to the registry table (existing ids are kept as they are)."""
    rows = [
        {
            "sensor_id": s.sensor_id, "network": s.network, "kind": s.kind, "unit": s.unit,
            "range_min": s.range_min, "range_max": s.range_max, "element_kind": s.element_kind,
            "element_id": s.element_id, "lon": s.lon, "lat": s.lat, "department": s.department,
        }
        for s in sensors
    ]  # fmt: skip
    if not rows:
        return 0
    stmt = dialect_insert(conn, SensorRow).on_conflict_do_nothing(index_elements=["sensor_id"])
    return int(conn.execute(stmt, rows).rowcount or 0)


def load_sensors(conn: Connection) -> dict[str, Sensor]:
    """Read the registry table as ``{sensor_id: Sensor}``."""
    from shancheng.lifelines.sensors import Sensor  # noqa: PLC0415 - avoid a cycle at import

    rows = conn.execute(sa.select(SensorRow.__table__)).mappings()
    return {row["sensor_id"]: Sensor(**row) for row in rows}


def dialect_insert(conn: Connection, table: type[Any]) -> Any:  # noqa: ANN401 - dialect insert
    """``INSERT`` of the connection's dialect (PostgreSQL or SQLite), for ``ON CONFLICT``."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one :func:`store_batch` call did."""

    received: int
    stored: int
    duplicates: int
    rejected: int


def store_batch(
    conn: Connection, readings: Sequence[Reading], rejections: Sequence[Rejection] = ()
) -> BatchResult:
    """Insert readings (duplicates ignored) and rejections; the caller commits.

    Returns the number newly stored; ``received - stored`` were already there (redelivered
    or duplicated messages).
    """
    stored = _copy_readings(conn, readings) if conn.dialect.name == "postgresql" else 0
    if conn.dialect.name != "postgresql" and readings:
        stmt = (
            dialect_insert(conn, ReadingRow)
            .on_conflict_do_nothing(index_elements=["sensor_id", "observed_at_ms"])
            .returning(ReadingRow.observed_at_ms)
        )
        stored = len(conn.execute(stmt, [_row(r) for r in readings]).all())
    if rejections:
        now_ms = int(time.time() * 1000)
        conn.execute(
            sa.insert(RejectionRow),
            [
                {"received_at_ms": now_ms, "topic": r.topic[:256], "reason": r.reason,
                 "detail": r.detail[:_DETAIL_CHARS]}
                for r in rejections
            ],
        )  # fmt: skip
    return BatchResult(len(readings), stored, len(readings) - stored, len(rejections))


def _row(reading: Reading) -> dict[str, Any]:
    return {
        "sensor_id": reading.sensor_id,
        "observed_at_ms": reading.observed_at_ms,
        "value": reading.value,
    }


def _copy_readings(conn: Connection, readings: Sequence[Reading]) -> int:
    """PostgreSQL: COPY into a temporary table, then one INSERT ... ON CONFLICT DO NOTHING."""
    if not readings:
        return 0
    conn.execute(
        sa.text(
            "CREATE TEMP TABLE IF NOT EXISTS readings_in "
            "(sensor_id varchar(64), observed_at_ms bigint, value double precision) "
            "ON COMMIT DELETE ROWS"
        )
    )
    raw = conn.connection.driver_connection
    if raw is None:  # pragma: no cover - a live connection always has one
        msg = "no DB-API connection behind the SQLAlchemy connection"
        raise RuntimeError(msg)
    # sensor ids come from the registry (no tabs or newlines); floats print exactly with repr
    text = "".join([f"{s}\t{t}\t{v!r}\n" for s, t, v in readings])
    with (
        raw.cursor() as cursor,
        cursor.copy("COPY readings_in (sensor_id, observed_at_ms, value) FROM STDIN") as copy,
    ):
        copy.write(text)
    result = conn.execute(
        sa.text(
            "INSERT INTO lifelines_readings (sensor_id, observed_at_ms, value) "
            "SELECT sensor_id, observed_at_ms, value FROM readings_in "
            "ON CONFLICT DO NOTHING"
        )
    )
    conn.execute(sa.text("DELETE FROM readings_in"))
    return int(result.rowcount)


def query_readings(
    conn: Connection,
    sensor_id: str,
    start_ms: int,
    end_ms: int,
    *,
    bucket_s: float | None = None,
) -> pd.DataFrame:
    """Read one sensor's readings with ``start_ms <= observed_at_ms < end_ms``, in time order.

    Parameters
    ----------
    bucket_s
        Downsample into buckets of this many seconds (for charts).

    Returns
    -------
    pandas.DataFrame
        Raw: ``observed_at_ms, value``. Downsampled: ``bucket_start_ms, count, min, mean, max``.
    """
    if bucket_s is None:
        rows = conn.execute(
            sa.select(ReadingRow.observed_at_ms, ReadingRow.value)
            .where(ReadingRow.sensor_id == sensor_id)
            .where(ReadingRow.observed_at_ms >= start_ms, ReadingRow.observed_at_ms < end_ms)
            .order_by(ReadingRow.observed_at_ms)
        ).all()
        return pd.DataFrame(rows, columns=["observed_at_ms", "value"])
    bucket_ms = max(1, int(bucket_s * 1000))
    rows = conn.execute(
        sa.text(
            "SELECT CAST(observed_at_ms / :b AS BIGINT) * :b AS bucket_start_ms, count(*), "
            "min(value), avg(value), max(value) FROM lifelines_readings "
            "WHERE sensor_id = :s AND observed_at_ms >= :t0 AND observed_at_ms < :t1 "
            "GROUP BY 1 ORDER BY 1"
        ),
        {"b": bucket_ms, "s": sensor_id, "t0": start_ms, "t1": end_ms},
    ).all()
    return pd.DataFrame(rows, columns=["bucket_start_ms", "count", "min", "mean", "max"])


def rejection_counts(conn: Connection) -> dict[str, int]:
    """How many rejections the store has logged, by reason."""
    rows = conn.execute(
        sa.select(RejectionRow.reason, sa.func.count()).group_by(RejectionRow.reason)
    ).all()
    return {str(reason): int(count) for reason, count in rows}


_DETAIL_CHARS = 300


def save_alarm(conn: Connection, alarm: Alarm) -> None:
    """Insert or update an alarm row (its whole lifecycle history included)."""
    values = {
        "sensor_id": alarm.sensor_id,
        "rule": alarm.rule.value,
        "level": alarm.level,
        "state": alarm.state.value,
        "raised_at_ms": _ms(alarm.raised_at),
        "last_at_ms": _ms(alarm.last_at),
        "value": None if np.isnan(alarm.value) else alarm.value,
        "message": alarm.message,
        "count": alarm.count,
        "case_id": alarm.case.case_id if alarm.case else None,
        "case_reference": alarm.case.reference if alarm.case else None,
        "history": [[state.value, at.isoformat(), actor] for state, at, actor in alarm.history],
    }
    existing = conn.execute(
        sa.select(AlarmRow.alarm_id).where(AlarmRow.alarm_id == alarm.alarm_id)
    ).first()
    if existing is None:
        conn.execute(sa.insert(AlarmRow).values(alarm_id=alarm.alarm_id, **values))
    else:
        conn.execute(
            sa.update(AlarmRow).where(AlarmRow.alarm_id == alarm.alarm_id).values(**values)
        )


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def latest_readings(conn: Connection) -> dict[str, tuple[int, float]]:
    """Return each sensor's newest reading: ``sensor_id -> (observed_at_ms, value)``."""
    newest = (
        sa.select(ReadingRow.sensor_id, sa.func.max(ReadingRow.observed_at_ms).label("at"))
        .group_by(ReadingRow.sensor_id)
        .subquery()
    )
    rows = conn.execute(
        sa.select(ReadingRow.sensor_id, ReadingRow.observed_at_ms, ReadingRow.value).join(
            newest,
            sa.and_(
                ReadingRow.sensor_id == newest.c.sensor_id,
                ReadingRow.observed_at_ms == newest.c.at,
            ),
        )
    ).all()
    return {str(s): (int(t), float(v)) for s, t, v in rows}


def active_alarms(conn: Connection, sensor_ids: list[str]) -> dict[str, list[Alarm]]:
    """Return the stored alarms not yet cleared of the given sensors, by sensor."""
    query = sa.select(AlarmRow).where(
        AlarmRow.sensor_id.in_(sensor_ids), AlarmRow.state != AlarmState.CLEARED.value
    )
    found: dict[str, list[Alarm]] = {}
    for row in conn.execute(query).all():
        alarm = _alarm(row)
        found.setdefault(alarm.sensor_id, []).append(alarm)
    return found


def earlier_readings(
    conn: Connection, before_ms: Mapping[str, int], *, limit: int
) -> dict[str, list[tuple[datetime, float]]]:
    """Return each sensor's latest ``limit`` stored readings before its time, oldest first.

    One query for all sensors (a window over the readings of each, cut at its own time).
    """
    if not before_ms:
        return {}
    cut = sa.or_(
        *(
            sa.and_(ReadingRow.sensor_id == sid, ReadingRow.observed_at_ms < ms)
            for sid, ms in before_ms.items()
        )
    )
    rank = sa.func.row_number().over(
        partition_by=ReadingRow.sensor_id, order_by=ReadingRow.observed_at_ms.desc()
    )
    ranked = (
        sa.select(ReadingRow.sensor_id, ReadingRow.observed_at_ms, ReadingRow.value,
                  rank.label("rn"))
        .where(cut)
        .subquery()
    )  # fmt: skip
    rows = conn.execute(
        sa.select(ranked.c.sensor_id, ranked.c.observed_at_ms, ranked.c.value)
        .where(ranked.c.rn <= limit)
        .order_by(ranked.c.sensor_id, ranked.c.observed_at_ms)
    ).all()
    found: dict[str, list[tuple[datetime, float]]] = {}
    for sensor_id, ms, value in rows:
        found.setdefault(sensor_id, []).append(
            (datetime.fromtimestamp(ms / 1000, tz=UTC), float(value))
        )
    return found


def recent_alarms(conn: Connection, *, since_ms: int) -> list[Alarm]:
    """Return the alarms not yet cleared, and those changed since ``since_ms`` (the live list)."""
    query = sa.select(AlarmRow).where(
        sa.or_(AlarmRow.state != AlarmState.CLEARED.value, AlarmRow.last_at_ms >= since_ms)
    )
    return [_alarm(row) for row in conn.execute(query).all()]


def list_alarms(conn: Connection, *, state: AlarmState | None = None) -> list[Alarm]:
    """Return the stored alarms (one state or all), newest first."""
    query = sa.select(AlarmRow).order_by(AlarmRow.raised_at_ms.desc(), AlarmRow.alarm_id)
    if state is not None:
        query = query.where(AlarmRow.state == state.value)
    return [_alarm(row) for row in conn.execute(query).all()]


def load_alarm(conn: Connection, alarm_id: str) -> Alarm:
    """Return one stored alarm.

    Raises
    ------
    NotFoundError
        No alarm has that id.
    """
    row = conn.execute(sa.select(AlarmRow).where(AlarmRow.alarm_id == alarm_id)).first()
    if row is None:
        msg = f"no alarm {alarm_id[:128]!r}"
        raise NotFoundError(msg, field="alarm_id")
    return _alarm(row)


def _alarm(row: sa.Row[Any]) -> Alarm:
    m = row._mapping  # noqa: SLF001 - SQLAlchemy's public row mapping
    case = None
    if m["case_id"] is not None:
        case = CaseRef(int(m["case_id"]), str(m["case_reference"] or ""), created=False)
    return Alarm(
        alarm_id=str(m["alarm_id"]),
        sensor_id=str(m["sensor_id"]),
        rule=RuleKind(m["rule"]),
        level=int(m["level"]),
        state=AlarmState(m["state"]),
        raised_at=datetime.fromtimestamp(m["raised_at_ms"] / 1000, tz=UTC),
        last_at=datetime.fromtimestamp(m["last_at_ms"] / 1000, tz=UTC),
        value=float("nan") if m["value"] is None else float(m["value"]),
        message=str(m["message"]),
        count=int(m["count"]),
        case=case,
        history=tuple(
            (AlarmState(state), datetime.fromisoformat(at), str(actor))
            for state, at, actor in (m["history"] or [])
        ),
    )
