"""Suspicious support patterns: many new accounts supporting one idea within minutes.

A burst of supports from accounts created (or verified) only days before is how a campaign is
gamed with bought or scripted accounts. Such supports are counted like any other — dropping
them silently would punish real newcomers — but the idea is flagged for the moderators, who
look and decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime


@dataclass(frozen=True, slots=True)
class BurstRule:
    """``min_supports`` supports from new accounts within ``window`` make a burst.

    An account is new when it was created less than ``new_account_age`` before its support.
    """

    min_supports: int = 20
    window: timedelta = timedelta(minutes=10)
    new_account_age: timedelta = timedelta(days=7)

    def is_new(self, account_created_at: datetime, at: datetime) -> bool:
        """Tell whether an account created at ``account_created_at`` is new at ``at``."""
        return at - account_created_at < self.new_account_age


def burst_start(new_account_supports: Sequence[datetime], rule: BurstRule) -> datetime | None:
    """Return the start of the first window holding ``rule.min_supports`` new-account supports.

    ``new_account_supports`` are the times of the supports from new accounts (any order).

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> t = [datetime(2026, 12, 1, 9, m, tzinfo=UTC) for m in (0, 1, 2, 30)]
    >>> burst_start(t, BurstRule(min_supports=3)).minute
    0
    >>> burst_start(t, BurstRule(min_supports=4)) is None
    True
    """
    times = sorted(new_account_supports)
    k = rule.min_supports
    for i in range(len(times) - k + 1):
        if times[i + k - 1] - times[i] <= rule.window:
            return times[i]
    return None
