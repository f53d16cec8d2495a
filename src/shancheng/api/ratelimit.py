"""Per-client rate limits for intake: a token bucket for each API key, user or address.

Two limiters with one ``hit`` method. :class:`RateLimiter` keeps the buckets in the process
(thread-safe; each server worker has its own, so N workers allow N times the rate): the
default, needing no server. :class:`RedisRateLimiter` keeps them in Redis, updated by one
atomic script per report, so the limit holds across workers and hosts; when Redis cannot be
reached it falls back to an in-process limiter (retrying Redis every 5 s) and logs it, so
intake keeps working.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from shancheng.errors import RateLimitedError

if TYPE_CHECKING:
    import redis
    import redis.asyncio
    from redis.commands.core import AsyncScript

logger = logging.getLogger(__name__)

_MAX_CLIENTS = 100_000
# the settings of the synchronous client that its asynchronous twin takes over
_ASYNC_KWARGS = frozenset(
    {"host", "port", "db", "username", "password", "socket_timeout", "socket_connect_timeout"}
)
_RETRY_S = 5.0  # after a Redis failure, limit in memory this long before trying Redis again


class Limiter(Protocol):
    """Anything that counts one report per call and refuses a client over its rate."""

    def hit(self, client: str, *, now_s: float) -> None:
        """Take one token from ``client``'s bucket or raise :class:`RateLimitedError`."""

    async def ahit(self, client: str, *, now_s: float) -> None:
        """:meth:`hit` for the event loop: waiting on a server does not block it."""

    async def aclose(self) -> None:
        """Close what :meth:`ahit` opened in the running event loop."""


def _refuse(client: str, rate_per_min: float, retry_s: float) -> RateLimitedError:
    msg = (
        f"client {client!r} sent more than {rate_per_min:g} reports a minute; "
        f"retry in {retry_s:.1f} s"
    )
    return RateLimitedError(msg, retry_after_s=retry_s)


@dataclass
class RateLimiter:
    """Allow ``rate_per_min`` reports a minute per client, with bursts of ``burst``.

    Examples
    --------
    >>> limiter = RateLimiter(rate_per_min=60, burst=2)
    >>> limiter.hit("a", now_s=0.0); limiter.hit("a", now_s=0.0)
    >>> limiter.hit("a", now_s=1.0)  # one token refilled after a second
    """

    rate_per_min: float
    burst: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, client: str, *, now_s: float) -> None:
        """Take one token from ``client``'s bucket.

        Raises
        ------
        RateLimitedError
            The bucket is empty; ``retry_after_s`` says when one token is back.
        """
        if self.rate_per_min <= 0:
            return
        rate_s = self.rate_per_min / 60.0
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.burst), now_s))
            tokens = min(float(self.burst), tokens + (now_s - last) * rate_s)
            if tokens < 1.0:
                raise _refuse(client, self.rate_per_min, (1.0 - tokens) / rate_s)
            if len(self._buckets) >= _MAX_CLIENTS and client not in self._buckets:
                self._buckets.clear()  # bounded memory; forgetting clients only loosens limits
            self._buckets[client] = (tokens - 1.0, now_s)

    async def ahit(self, client: str, *, now_s: float) -> None:
        """:meth:`hit` (in memory: nothing to wait for)."""
        self.hit(client, now_s=now_s)

    async def aclose(self) -> None:
        """Nothing to close."""


# KEYS the buckets, one per hit (a client may come several times); ARGV rate per second, burst.
# Redis' own clock, so all workers agree. Returns, per hit, 0 when allowed, else the
# milliseconds until one token is back.
_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for i, key in ipairs(KEYS) do
  local b = redis.call('HMGET', key, 'tokens', 'at')
  local tokens, at = tonumber(b[1]), tonumber(b[2])
  if tokens == nil then tokens, at = burst, now end
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
  if tokens < 1 then
    out[i] = math.ceil((1 - tokens) / rate * 1000)
  else
    redis.call('HSET', key, 'tokens', tokens - 1, 'at', now)
    redis.call('EXPIRE', key, math.ceil(burst / rate) + 1)
    out[i] = 0
  end
end
return out
"""


@dataclass
class _Lane:
    """The asynchronous Redis client of one event loop, and the hits waiting for it."""

    loop: asyncio.AbstractEventLoop
    client: redis.asyncio.Redis
    script: AsyncScript
    waiting: list[tuple[str, asyncio.Future[int]]] = field(default_factory=list)
    sender: asyncio.Task[None] | None = None


@dataclass
class RedisRateLimiter:
    """The token buckets of :class:`RateLimiter`, kept in Redis and shared by all workers.

    Parameters
    ----------
    redis
        A ``redis.Redis`` connection (pool) to the server holding the buckets.
    prefix
        Prefix of the bucket keys (one hash per client, expiring once full again).
    """

    redis: redis.Redis
    rate_per_min: float
    burst: int
    prefix: str = "shancheng:rate:"
    _fallback: RateLimiter | None = None

    def __post_init__(self) -> None:
        """Register the bucket script (sent once, then called by its hash)."""
        self._script = self.redis.register_script(_BUCKET_LUA)
        self._fallback = RateLimiter(self.rate_per_min, self.burst)
        self._down_since: float | None = None
        self._async: _Lane | None = None

    def hit(self, client: str, *, now_s: float) -> None:
        """Take one token from ``client``'s bucket in Redis (in memory if Redis is down).

        Raises
        ------
        RateLimitedError
            The bucket is empty; ``retry_after_s`` says when one token is back.
        """
        if self.rate_per_min <= 0:
            return
        if self._redis_resting():
            self._in_memory(client, now_s)  # Redis was down a moment ago: no wait
            return
        import redis  # noqa: PLC0415 - only deployments that configure Redis need it

        try:
            [wait_ms] = self._script(keys=[self.prefix + client], args=self._args())
        except redis.RedisError as exc:
            self._redis_failed(exc, client, now_s)
            return
        self._answer(client, wait_ms)

    async def ahit(self, client: str, *, now_s: float) -> None:
        """:meth:`hit` over an asynchronous connection, for the event loop.

        Hits that arrive while one script call is on its way go together in the next call
        (one round trip and one script run for many reports), as intake's group commit does.
        """
        if self.rate_per_min <= 0:
            return
        if self._redis_resting():
            self._in_memory(client, now_s)
            return
        import redis  # noqa: PLC0415 - only deployments that configure Redis need it

        lane = self._lane()
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        lane.waiting.append((self.prefix + client, done))
        if lane.sender is None or lane.sender.done():
            lane.sender = asyncio.create_task(self._send(lane))
        try:
            wait_ms = await done
        except redis.RedisError as exc:
            self._redis_failed(exc, client, now_s)
            return
        self._answer(client, wait_ms)

    async def _send(self, lane: _Lane) -> None:
        while lane.waiting:
            batch = list(lane.waiting)
            lane.waiting.clear()
            try:
                waits = await lane.script(keys=[key for key, _ in batch], args=self._args())
            except Exception as exc:  # noqa: BLE001 - handed to each waiting hit
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), wait_ms in zip(batch, waits, strict=True):
                if not done.done():
                    done.set_result(int(wait_ms))

    async def aclose(self) -> None:
        """Close the asynchronous connection of the running event loop, if it has one."""
        lane, self._async = self._async, None
        if lane is not None and lane.loop is asyncio.get_running_loop():
            await lane.client.aclose()

    def _lane(self) -> _Lane:
        """Return the asynchronous client and queue of the running event loop."""
        import redis.asyncio  # noqa: PLC0415 - optional server

        loop = asyncio.get_running_loop()
        if self._async is None or self._async.loop is not loop:
            given = self.redis.connection_pool.connection_kwargs
            client = redis.asyncio.Redis(**{k: v for k, v in given.items() if k in _ASYNC_KWARGS})
            self._async = _Lane(loop, client, client.register_script(_BUCKET_LUA))
        return self._async

    def _args(self) -> list[float]:
        return [self.rate_per_min / 60.0, float(self.burst)]

    def _redis_resting(self) -> bool:
        return self._down_since is not None and time.monotonic() - self._down_since < _RETRY_S

    def _in_memory(self, client: str, now_s: float) -> None:
        assert self._fallback is not None  # noqa: S101 - set in __post_init__
        self._fallback.hit(client, now_s=now_s)

    def _redis_failed(self, exc: Exception, client: str, now_s: float) -> None:
        if self._down_since is None:
            logger.warning("rate limits: Redis unreachable (%s); limiting in memory", exc)
        self._down_since = time.monotonic()
        self._in_memory(client, now_s)

    def _answer(self, client: str, wait_ms: int) -> None:
        if self._down_since is not None:
            logger.warning("rate limits: Redis is back; limiting across workers again")
            self._down_since = None
        if wait_ms > 0:
            raise _refuse(client, self.rate_per_min, wait_ms / 1000.0)


def limiter_from_settings(rate_per_min: float, burst: int, redis_url: str | None) -> Limiter:
    """Return the Redis limiter when ``redis_url`` is set, else the in-process one."""
    if not redis_url:
        return RateLimiter(rate_per_min, burst)
    import redis  # noqa: PLC0415 - optional server

    connection = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return RedisRateLimiter(connection, rate_per_min, burst)
