"""Per-client rate limits for intake: a token bucket for each API key, user or address.

In-process and thread-safe; each server process keeps its own buckets (a deployment with many
processes divides the rate among them or puts a shared limiter in front).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from shancheng.errors import RateLimitedError

_MAX_CLIENTS = 100_000


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
                retry = (1.0 - tokens) / rate_s
                msg = (
                    f"client {client!r} sent more than {self.rate_per_min:g} reports a minute; "
                    f"retry in {retry:.1f} s"
                )
                raise RateLimitedError(msg, retry_after_s=retry)
            if len(self._buckets) >= _MAX_CLIENTS and client not in self._buckets:
                self._buckets.clear()  # bounded memory; forgetting clients only loosens limits
            self._buckets[client] = (tokens - 1.0, now_s)
