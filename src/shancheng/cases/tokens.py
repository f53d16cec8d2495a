"""Login tokens found on the event loop, and remembered for a few seconds per server process.

Every signed-in request needs its bearer token's user. Found with the ORM in a worker thread,
that lookup cost the server more CPU than the rest of a support of an idea (issue 21's load
benchmark, ``benchmarks/ideas_load.py``). Here:

- :class:`TokenCache` keeps a token found valid for ``ttl_s`` (5 s) in the process, with its
  expiry, so a user's next requests skip the database. The expiry and the user's ``active``
  flag are still checked at every use against the request's clock
  (:func:`~shancheng.cases.accounts.check_token`): an expired token is refused at once. A
  token that is unknown, or whose user is inactive, is never kept. :meth:`TokenCache.forget`
  drops a token at once (a logout or a revocation made in this process); made elsewhere (by
  another worker, or in the database), a revocation takes effect within ``ttl_s``.
- :class:`PostgresTokenReader` finds tokens on psycopg's asynchronous pool, with one prepared
  statement: the lookups that arrive while one query runs are answered by the next, together
  (a group read), so under load a query serves many requests.
- :class:`ThreadedTokenReader` finds them with the ORM in a worker thread (SQLite).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from shancheng.cases.accounts import TokenOwner, check_token, token_digest, token_owner
from shancheng.cases.async_store import autocommit_pool, conninfo_of
from shancheng.cases.permissions import Actor, Role

if TYPE_CHECKING:
    from datetime import datetime

    from psycopg_pool import AsyncConnectionPool
    from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "PostgresTokenReader",
    "ThreadedTokenReader",
    "TokenCache",
    "TokenReader",
    "actor_for",
]

logger = logging.getLogger(__name__)

# the digests come as one comma-separated text, not an array: psycopg would look up an array's
# element type at each call (sha256 hex digests hold no comma)
_OWNERS_SQL = """
SELECT t.token_sha256, t.expires_at, u.username, u.role, u.unit_code, u.department, u.active
FROM case_tokens t JOIN case_users u ON u.id = t.user_id
WHERE t.token_sha256 = ANY(string_to_array(%(digests)s, ','))
"""


@dataclass
class TokenCache:
    """Tokens found valid in the last ``ttl_s`` seconds (monotonic clock); thread-safe, bounded.

    Parameters
    ----------
    ttl_s
        How long a token found valid is trusted without the database, in seconds: a revocation
        made outside this process takes effect within it.
    max_tokens
        When full, the cache is emptied (entries are cheap to find again).
    """

    ttl_s: float = 5.0
    max_tokens: int = 100_000
    _tokens: dict[str, tuple[TokenOwner, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, digest: str, *, now_s: float) -> TokenOwner | None:
        """Return the owner of a token found valid less than ``ttl_s`` before ``now_s``."""
        found = self._tokens.get(digest)
        if found is None or now_s - found[1] >= self.ttl_s:
            return None
        return found[0]

    def put(self, digest: str, owner: TokenOwner, *, now_s: float) -> None:
        """Remember a token found at ``now_s`` (only an active user's)."""
        if not owner.active:
            return
        with self._lock:
            if len(self._tokens) >= self.max_tokens:
                self._tokens.clear()
            self._tokens[digest] = (owner, now_s)

    def forget(self, digest: str) -> None:
        """Drop a token at once (logged out or revoked in this process)."""
        with self._lock:
            self._tokens.pop(digest, None)

    def forget_user(self, username: str) -> None:
        """Drop every token of a user at once (deactivated, or a changed role, in this process)."""
        with self._lock:
            for digest in [d for d, (o, _) in self._tokens.items() if o.actor.username == username]:
                del self._tokens[digest]


class TokenReader(Protocol):
    """Find the owner of a token by its sha256, without blocking the event loop."""

    async def owner(self, digest: str) -> TokenOwner | None:
        """Return the token's owner as stored, or ``None`` when there is no such token."""
        ...

    async def close(self) -> None:
        """Release connections (the application's shutdown)."""
        ...


async def actor_for(token: str, reader: TokenReader, cache: TokenCache, *, at: datetime) -> Actor:
    """Return the user of ``token`` valid at ``at``: from ``cache`` while fresh, else ``reader``.

    Raises
    ------
    AuthenticationError
        Unknown or expired token, or inactive user.
    """
    digest = token_digest(token)
    now_s = time.monotonic()
    owner = cache.get(digest, now_s=now_s)
    if owner is None:
        owner = await reader.owner(digest)
        if owner is not None:
            cache.put(digest, owner, now_s=now_s)
    return check_token(owner, at=at)


class ThreadedTokenReader:
    """Find tokens with the ORM, each lookup in a worker thread with its own session."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        """Use ``sessions`` (any database)."""
        self._sessions = sessions

    async def owner(self, digest: str) -> TokenOwner | None:
        """Return the token's owner (a query in a worker thread)."""
        return await asyncio.to_thread(self._owner, digest)

    def _owner(self, digest: str) -> TokenOwner | None:
        with self._sessions() as session:
            return token_owner(session, digest)

    async def close(self) -> None:
        """Nothing to release: the sessions' engine is the application's."""


class PostgresTokenReader:
    """Find tokens on an asynchronous PostgreSQL pool, concurrent lookups in one query.

    The pool is opened on first use in the running event loop; used from another loop (a test
    client that starts one per request), it is replaced by a new pool for that loop.
    """

    def __init__(self, database_url: str, *, max_connections: int = 2) -> None:
        """Prepare a pool for ``database_url`` (a ``postgresql+psycopg://`` URL); no I/O yet."""
        self._conninfo = conninfo_of(database_url)
        self._max_connections = max_connections
        self._pool: AsyncConnectionPool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: dict[str, list[asyncio.Future[TokenOwner | None]]] = {}
        self._reading: asyncio.Task[None] | None = None

    async def owner(self, digest: str) -> TokenOwner | None:
        """Return the token's owner, found with the lookups waiting beside it."""
        loop = asyncio.get_running_loop()
        if self._pool is None or self._loop is not loop:
            await self._open(loop)
        answer: asyncio.Future[TokenOwner | None] = loop.create_future()
        self._waiting.setdefault(digest, []).append(answer)
        if self._reading is None or self._reading.done():
            self._reading = loop.create_task(self._read())
        return await answer

    async def _open(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._pool is not None:
            logger.debug("the event loop changed: a new connection pool for this one")
        pool = autocommit_pool(self._conninfo, self._max_connections, "shancheng-tokens")
        self._pool, self._loop = pool, loop
        self._waiting, self._reading = {}, None
        await pool.open(wait=True, timeout=10)

    async def _read(self) -> None:
        """Answer the waiting lookups, one query for all that waited, until none is left."""
        while self._waiting and self._pool is not None:
            batch, self._waiting = self._waiting, {}
            try:
                found = await self._query(self._pool, list(batch))
            except Exception as exc:  # handed to every lookup of the batch
                logger.exception("a lookup of %d tokens failed", len(batch))
                for answers in batch.values():
                    for answer in answers:
                        if not answer.done():
                            answer.set_exception(exc)
                continue
            for digest, answers in batch.items():
                for answer in answers:
                    if not answer.done():  # a request cancelled meanwhile
                        answer.set_result(found.get(digest))

    @staticmethod
    async def _query(pool: AsyncConnectionPool, digests: list[str]) -> dict[str, TokenOwner]:
        async with pool.connection() as conn:
            cursor = await conn.execute(_OWNERS_SQL, {"digests": ",".join(digests)}, prepare=True)
            rows = await cursor.fetchall()
        return {
            digest: TokenOwner(Actor(name, Role(role), unit, department), expires, active=active)
            for digest, expires, name, role, unit, department, active in rows
        }

    async def close(self) -> None:
        """Close the pool's connections (when it belongs to the running loop)."""
        pool, self._pool = self._pool, None
        if pool is not None and self._loop is asyncio.get_running_loop():
            await pool.close()
