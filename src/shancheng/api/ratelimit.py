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


# KEYS[1] bucket; ARGV rate per second, burst. Redis' own clock, so all workers agree.
# Returns 0 when allowed, else the milliseconds until one token is back.
_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(b[1]), tonumber(b[2])
if tokens == nil then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
if tokens < 1 then
  return math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tokens - 1, 'at', now)
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return 0
"""


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
        self._async: tuple[asyncio.AbstractEventLoop, AsyncScript, redis.asyncio.Redis] | None = (
            None
        )

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
            wait_ms = int(self._script(keys=[self.prefix + client], args=self._args()))
        except redis.RedisError as exc:
            self._redis_failed(exc, client, now_s)
            return
        self._answer(client, wait_ms)

    async def ahit(self, client: str, *, now_s: float) -> None:
        """:meth:`hit` over an asynchronous connection, for the event loop."""
        if self.rate_per_min <= 0:
            return
        if self._redis_resting():
            self._in_memory(client, now_s)
            return
        import redis  # noqa: PLC0415 - only deployments that configure Redis need it

        try:
            script = self._async_script()
            wait_ms = int(await script(keys=[self.prefix + client], args=self._args()))
        except redis.RedisError as exc:
            self._redis_failed(exc, client, now_s)
            return
        self._answer(client, wait_ms)

    async def aclose(self) -> None:
        """Close the asynchronous connection of the running event loop, if it has one."""
        found, self._async = self._async, None
        if found is not None and found[0] is asyncio.get_running_loop():
            await found[2].aclose()

    def _async_script(self) -> AsyncScript:
        """Return the bucket script on an asynchronous client of the running event loop."""
        import redis.asyncio  # noqa: PLC0415 - optional server

        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            given = self.redis.connection_pool.connection_kwargs
            client = redis.asyncio.Redis(**{k: v for k, v in given.items() if k in _ASYNC_KWARGS})
            self._async = (loop, client.register_script(_BUCKET_LUA), client)
        return self._async[1]

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
