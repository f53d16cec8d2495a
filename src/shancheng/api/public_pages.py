"""Public pages kept for a second: the campaign page that everyone reads at once.

Anonymous readers of a campaign page all get the same answer, and during a campaign many read
it while supports pour in; building it (hundreds of ideas, their counts and deadlines) costs
more than a support. Each server process therefore keeps the anonymous answer for
``ttl_s`` (1 s): its support counts may be that much behind, as on any busy site's counters.
Signed-in readers (authors, staff) are never served from it. A change other than a support
(a proposal, moderation, a merge, an answer) made through this process empties it at once;
made through another process, it shows within ``ttl_s``.

A read that began before such a change must not put its older answer back: each entry is
taken under the generation it was read in, and a change starts a new generation.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

PUBLIC_PAGE_TTL_S = 1.0
"""How long an anonymous campaign page is served again (seconds)."""


class PublicPages:
    """Anonymous answers by key, for ``ttl_s`` seconds (thread-safe, bounded)."""

    def __init__(
        self,
        *,
        ttl_s: float = PUBLIC_PAGE_TTL_S,
        max_entries: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, bytes]] = OrderedDict()
        self._generation = 0

    def generation(self) -> int:
        """Return the generation a read begins in (pass it to :meth:`put`)."""
        with self._lock:
            return self._generation

    def get(self, key: Hashable) -> bytes | None:
        """Return the kept answer of ``key``, or ``None`` (never kept, expired, or changed)."""
        now = self._clock()
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] <= now:
                return None
            return found[1]

    def put(self, key: Hashable, body: bytes, generation: int) -> None:
        """Keep ``body`` for ``key`` unless a change came after its read began."""
        expires = self._clock() + self.ttl_s
        with self._lock:
            if generation != self._generation:
                return
            self._entries[key] = (expires, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def changed(self) -> None:
        """Forget every answer: something they show has changed."""
        with self._lock:
            self._generation += 1
            self._entries.clear()
