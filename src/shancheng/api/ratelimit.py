"""Per-client rate limits for intake: a token bucket for each API key, user or address.

Two limiters with one ``hit`` method. :class:`RateLimiter` keeps the buckets in the process
(thread-safe; each server worker has its own, so N workers allow N times the rate): the
default, needing no server. :class:`RedisRateLimiter` keeps them in Redis, updated by one
atomic script per report, so the limit holds across workers and hosts; when Redis cannot be
reached it falls back to an in-process limiter (retrying Redis every 5 s) and logs it, so
intake keeps working.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from shancheng.errors import RateLimitedError

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

_MAX_CLIENTS = 100_000
_RETRY_S = 5.0  # after a Redis failure, limit in memory this long before trying Redis again


class Limiter(Protocol):
    """Anything that counts one report per call and refuses a client over its rate."""

    def hit(self, client: str, *, now_s: float) -> None:
        """Take one token from ``client``'s bucket or raise :class:`RateLimitedError`."""


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

    def hit(self, client: str, *, now_s: float) -> None:
        """Take one token from ``client``'s bucket in Redis (in memory if Redis is down).

        Raises
        ------
        RateLimitedError
            The bucket is empty; ``retry_after_s`` says when one token is back.
        """
        if self.rate_per_min <= 0:
            return
        import redis  # noqa: PLC0415 - only deployments that configure Redis need it

        assert self._fallback is not None  # noqa: S101 - set in __post_init__
        if self._down_since is not None and time.monotonic() - self._down_since < _RETRY_S:
            self._fallback.hit(client, now_s=now_s)  # Redis was down a moment ago: no wait
            return
        try:
            wait_ms = int(
                self._script(
                    keys=[self.prefix + client], args=[self.rate_per_min / 60.0, self.burst]
                )
            )
        except redis.RedisError as exc:
            if self._down_since is None:
                logger.warning("rate limits: Redis unreachable (%s); limiting in memory", exc)
            self._down_since = time.monotonic()
            self._fallback.hit(client, now_s=now_s)
            return
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
