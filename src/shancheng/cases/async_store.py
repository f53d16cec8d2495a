"""The asynchronous PostgreSQL store: Open311 intake and lookups on psycopg's asynchronous pool.

The session's store (:class:`~shancheng.cases.store.SessionCaseStore`) runs the ORM's unit
of work; under a load of hundreds of reports a second, handing it to a worker thread costs
more CPU than everything else a report needs. This adapter of the same interface
(:class:`~shancheng.cases.store.AsyncCaseStore`) stores the same planned case in one
statement on a pooled asynchronous connection, whose data-modifying parts insert the case,
its events and its photos. Its SQL is built from the table definitions: the column lists from
the tables, the duplicate search compiled from the one expression of
:mod:`~shancheng.cases.duplicates`.

Reports written while a batch is being written go together in the next one: one transaction
sent as one pipeline (group commit), so that one round trip and one flush of the log to disk
serve them all. The open cases they repeat get their duplicate counts in one UPDATE, locked in
id order so that two writers never wait on each other in a cycle. A report is answered only
once its batch is committed, so an acknowledged report is stored; a batch that fails is
written again one report at a time, so one bad report does not sink the others. A test stores
the same planned cases through this store and the session's and compares the rows.

A request read back by its reference is one statement too: the case, the reference of the case
it duplicates and its first photo.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.engine import make_url

from shancheng.cases import repository
from shancheng.cases.draft import DRAFT_NAMES, CaseDraft, draft_columns
from shancheng.cases.duplicates import compiled_for, found
from shancheng.cases.store import Stored, StoredRequest
from shancheng.store.cases_tables import CaseEventRow, CaseRow

if TYPE_CHECKING:
    from datetime import datetime

    from shancheng.cases.duplicates import DuplicateSearch, Nearby
    from shancheng.cases.intake import PlannedCase

__all__ = ["PostgresCaseStore", "autocommit_pool", "conninfo_of"]

logger = logging.getLogger(__name__)

_PSYCOPG = psycopg.dialect()  # type: ignore[no-untyped-call]
_DUPLICATE = compiled_for(_PSYCOPG)
_NAMES = ", ".join(c.name for c in CaseRow.__table__.columns if c.name != "id")
_EVENT_COLUMNS = [c for c in CaseEventRow.__table__.columns if c.name not in {"id", "case_id"}]
_EVENT_NAMES = ", ".join(c.name for c in _EVENT_COLUMNS)
# the record type json_to_recordset reads the events as, from the table's own column types
_EVENT_TYPES = ", ".join(f"{c.name} {c.type.compile(dialect=_PSYCOPG)}" for c in _EVENT_COLUMNS)

_STORE_SQL = f"""
WITH c AS (
  INSERT INTO cases ({_NAMES})
  SELECT {_NAMES} FROM json_populate_record(NULL::cases, %(case)s::json)
  RETURNING id
), e AS (
  INSERT INTO case_events (case_id, {_EVENT_NAMES})
  SELECT c.id, {_EVENT_NAMES}
  FROM c, json_to_recordset(%(events)s::json) AS v({_EVENT_TYPES})
), p AS (
  SELECT n, sha, mime, decode(content, 'base64') AS content
  FROM ROWS FROM (json_to_recordset(%(photos)s::json) AS (sha text, mime text, content text))
    WITH ORDINALITY AS x(sha, mime, content, n)
), b AS (
  INSERT INTO case_blobs (sha256, content_type, size_bytes, content, created_at)
  SELECT DISTINCT ON (sha) sha, mime, length(content), content, %(reported_at)s FROM p
  ON CONFLICT (sha256) DO NOTHING
), a AS (
  INSERT INTO case_attachments (case_id, event_seq, kind, blob_sha256, data, created_at)
  SELECT c.id, 1, x.kind, x.sha, x.data, %(reported_at)s
  FROM c, (
    SELECT 0 AS part, n, 'photo' AS kind, sha, NULL::json AS data FROM p
    UNION ALL
    SELECT 1, n, 'photo_url', NULL, json_build_object('media_url', url)
    FROM json_array_elements_text(%(urls)s::json) WITH ORDINALITY AS u(url, n)
  ) AS x
  ORDER BY x.part, x.n
)
SELECT id FROM c
"""  # noqa: S608 - built once from the table's own column names


def conninfo_of(database_url: str) -> str:
    """Return the libpq connection string of a SQLAlchemy PostgreSQL URL."""
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def autocommit_pool(conninfo: str, max_size: int, name: str) -> AsyncConnectionPool:
    """Return an unopened pool of 1 to ``max_size`` asynchronous autocommit connections."""
    return AsyncConnectionPool(
        conninfo,
        min_size=1,
        max_size=max_size,
        kwargs={"autocommit": True},
        open=False,
        name=name,
    )


def _store_params(planned: PlannedCase, at: datetime) -> dict[str, Any]:
    params: dict[str, Any] = {"case": orjson.dumps(draft_columns(planned.row)).decode()}
    params["events"] = orjson.dumps(
        [
            {
                "seq": seq,
                "action": e.action.value,
                "from_status": e.from_status.value,
                "to_status": e.to_status.value,
                "actor": e.actor,
                "at": e.at.isoformat(),
                "note": e.note,
                "data": repository.jsonable(e.data),
            }
            for seq, e in enumerate(planned.events, start=1)
        ]
    ).decode()
    # JSON text, not arrays: psycopg finds an array's element type per call, costly when empty
    params["photos"] = orjson.dumps(
        [
            {
                "sha": hashlib.sha256(p.content).hexdigest(),
                "mime": mime,
                "content": base64.b64encode(p.content).decode(),
            }
            for p, mime in planned.photos
        ]
    ).decode()
    params["urls"] = orjson.dumps(planned.urls).decode()
    params["reported_at"] = at
    return params


# the open cases a batch repeats, locked in id order (two batches never wait on each other in a
# cycle), then their duplicate counts raised and versions bumped in one statement
_LOCK_SQL = "SELECT id FROM cases WHERE id = ANY(%(ids)s) ORDER BY id FOR NO KEY UPDATE"
_COUNT_SQL = """
UPDATE cases SET duplicates = duplicates + d.n, version = version + d.n
FROM (SELECT unnest(%(ids)s::int[]) AS id, unnest(%(counts)s::int[]) AS n) AS d
WHERE cases.id = d.id
"""

_READ_SQL = f"""
SELECT {", ".join("c." + name for name in DRAFT_NAMES)},
       p.reference AS parent_reference, a.blob_sha256, a.media_url
FROM cases c
LEFT JOIN cases p ON p.id = c.parent_id
LEFT JOIN LATERAL (
  SELECT blob_sha256, data ->> 'media_url' AS media_url FROM case_attachments
  WHERE case_id = c.id AND kind IN ('photo', 'photo_url')
  ORDER BY id LIMIT 1
) a ON true
WHERE c.reference = %(reference)s
"""  # noqa: S608 - built once from the draft's own field names


_MAX_BATCH = 64


@dataclass(slots=True)
class _Pending:
    """A planned report waiting for the writer, and the future its request awaits."""

    planned: PlannedCase
    at: datetime
    done: asyncio.Future[Stored]

    def finish(self, outcome: Stored | Exception) -> None:
        """Answer the waiting request (unless it went away)."""
        if self.done.done():
            return
        if isinstance(outcome, Exception):
            self.done.set_exception(outcome)
        else:
            self.done.set_result(outcome)


async def _write_batch(pool: AsyncConnectionPool, batch: list[_Pending]) -> list[Stored]:
    """Write ``batch`` in one transaction, sent as one pipeline; return what each became."""
    repeated = Counter(i.planned.master.id for i in batch if i.planned.master is not None)
    ids = sorted(repeated)
    async with pool.connection() as conn:
        async with conn.pipeline(), conn.transaction():
            cursors = [
                await conn.execute(_STORE_SQL, _store_params(i.planned, i.at), prepare=True)
                for i in batch
            ]
            if len(ids) > 1:
                await conn.execute(_LOCK_SQL, {"ids": ids}, prepare=True)
            if ids:
                counts = [repeated[i] for i in ids]
                await conn.execute(_COUNT_SQL, {"ids": ids, "counts": counts}, prepare=True)
        stored = []
        for item, cursor in zip(batch, cursors, strict=True):
            row = await cursor.fetchone()
            assert row is not None  # noqa: S101 - INSERT ... RETURNING gives one row
            planned = item.planned
            planned.row.id = int(row[0])
            master = planned.master
            stored.append(
                Stored(
                    planned.row.id,
                    str(planned.row.reference),
                    master.id if master is not None else None,
                    master.reference if master is not None else None,
                )
            )
    return stored


class PostgresCaseStore:
    """A pool of asynchronous PostgreSQL connections that stores and reads Open311 requests.

    The pool is opened on first use in the running event loop and closed by the application's
    shutdown (:meth:`close`). A pool belongs to one event loop: used from another one (a test
    client that starts a loop per request), it is replaced by a new pool for that loop.
    """

    def __init__(
        self, database_url: str, *, max_connections: int = 8, group_commit: bool = True
    ) -> None:
        """Prepare a pool for ``database_url`` (a ``postgresql+psycopg://`` URL); no I/O yet.

        ``group_commit`` off writes each report in its own transaction, at once.
        """
        self._group_commit = group_commit
        self._conninfo = conninfo_of(database_url)
        self._max_connections = max_connections
        self._pool: AsyncConnectionPool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: deque[_Pending] = deque()
        self._writer: asyncio.Task[None] | None = None

    async def _ready(self) -> AsyncConnectionPool:
        loop = asyncio.get_running_loop()
        if self._pool is None or self._loop is not loop:
            if self._pool is not None:
                logger.debug("the event loop changed: a new connection pool for this one")
            pool = autocommit_pool(self._conninfo, self._max_connections, "shancheng-cases")
            self._pool, self._loop = pool, loop
            self._pending, self._writer = deque(), None
            await pool.open(wait=True, timeout=10)
        return self._pool

    async def close(self) -> None:
        """Close the pool's connections (when it belongs to the running loop)."""
        pool, self._pool = self._pool, None
        if pool is not None and self._loop is asyncio.get_running_loop():
            await pool.close()

    async def find_duplicate(self, search: DuplicateSearch) -> Nearby | None:
        """Return the open case ``search`` finds (the compiled duplicate query)."""
        pool = await self._ready()
        async with pool.connection() as conn:
            cursor = await conn.execute(_DUPLICATE.sql, _DUPLICATE.params(search), prepare=True)
            return found(await cursor.fetchone())

    async def insert(self, planned: PlannedCase, *, at: datetime) -> Stored:
        """Store a planned case, committed when this returns.

        Reports written while a batch is being written are written together in the next one,
        in one transaction: one commit for many reports. Reports that arrive within the same
        few milliseconds therefore do not see each other as duplicates (as with any two
        concurrent requests); an inspector can merge them.
        """
        pool = await self._ready()
        item = _Pending(planned, at, asyncio.get_running_loop().create_future())
        if not self._group_commit:
            [stored] = await _write_batch(pool, [item])
            return stored
        self._pending.append(item)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending(pool))
        return await item.done

    async def _write_pending(self, pool: AsyncConnectionPool) -> None:
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(len(self._pending), _MAX_BATCH))]
            try:
                stored = await _write_batch(pool, batch)
            except Exception:  # noqa: BLE001 - each report is retried alone and gets its own error
                logger.warning("a batch of %d reports failed; writing them one by one", len(batch))
                for item in batch:
                    try:
                        [one] = await _write_batch(pool, [item])
                    except Exception as exc:  # noqa: BLE001 - handed to the report's request
                        item.finish(exc)
                    else:
                        item.finish(one)
                continue
            for item, result in zip(batch, stored, strict=True):
                item.finish(result)

    async def by_reference(self, reference: str) -> StoredRequest | None:
        """Return the case with this public reference, or ``None``."""
        pool = await self._ready()
        async with pool.connection() as conn:
            cursor = await conn.execute(_READ_SQL, {"reference": reference}, prepare=True)
            row = await cursor.fetchone()
        if row is None:
            return None
        n = len(DRAFT_NAMES)
        case = CaseDraft(**dict(zip(DRAFT_NAMES, row[:n], strict=True)))
        return StoredRequest(case, row[n], row[n + 1], row[n + 2])
