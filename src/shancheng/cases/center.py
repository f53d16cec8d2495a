"""The governance center's configuration, and the cache that keeps it current.

A :class:`Center` is an immutable snapshot of what every service call needs besides the
database: the taxonomy (with the admins' edits), the city's hierarchy (for routing), the
working calendar, the intake limits, and the two configuration tables admins edit at run time
(the jurisdiction table and the per-district stage limits). Service functions take it as an
argument (:mod:`~shancheng.cases.service`); nothing is hidden in the database session.

A :class:`CenterCache` turns a seed center (the configuration the application starts with)
into current snapshots: it reads the three editable tables at most every ``ttl_s`` seconds, so
an edit made through one server process reaches the others within that time, and an unchanged
table costs no query per report. An edit made through this process drops the cache
(:meth:`CenterCache.forget`), so it shows at once here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from shancheng.cases import repository
from shancheng.cases.calendar import WorkingCalendar

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session

    from shancheng.cases.routing import AdminIndex, JurisdictionRule
    from shancheng.cases.stage_limits import StageLimit
    from shancheng.cases.taxonomy import Category, Taxonomy

_NATURAL = WorkingCalendar.natural()


@dataclass(frozen=True, eq=False)
class Center:
    """Taxonomy, hierarchy, calendar, intake limits and routing tables of one governance center.

    Parameters
    ----------
    taxonomy
        Categories and departments (with the admins' edits, in a snapshot of the cache).
    admin
        The city's unit grid and hierarchy, for routing and address matching.
    calendar
        Working calendar for categories on working-hour clocks.
    duplicate_radius_m, duplicate_window_h
        A report within this distance of an open case of the same category reported within
        this many hours is linked to that case instead of opening a new one (0 m: never).
    max_photo_bytes, max_photos
        Upload limits per photo and per report.
    max_description_chars
        Open311's limit on ``description`` (4,000).
    merge_radius_m
        An inspector merges a case only into an open case of its category this close.
    anonymous_photo_bytes_per_day
        Photo bytes one anonymous client (an address) may store in 24 hours.
    jurisdiction
        The jurisdiction table (:func:`~shancheng.cases.routing.route`); empty: the
        taxonomy's default departments.
    stage_limits
        The per-district stage limits (:mod:`~shancheng.cases.stage_limits`).
    seed_taxonomy
        The taxonomy before the database's edits (None: ``taxonomy`` is the seed).
    """

    taxonomy: Taxonomy
    admin: AdminIndex
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    duplicate_radius_m: float = 50.0
    duplicate_window_h: float = 72.0
    max_photo_bytes: int = 5 * 1024 * 1024
    max_photos: int = 5
    max_description_chars: int = 4000
    merge_radius_m: float = 500.0
    anonymous_photo_bytes_per_day: int = 20 * 1024 * 1024
    jurisdiction: tuple[JurisdictionRule, ...] = ()
    stage_limits: tuple[StageLimit, ...] = ()
    seed_taxonomy: Taxonomy | None = field(default=None, repr=False)

    @property
    def seed(self) -> Taxonomy:
        """The taxonomy as shipped, before the admins' edits."""
        return self.taxonomy if self.seed_taxonomy is None else self.seed_taxonomy

    @property
    def city_code(self) -> str:
        """The code of the city the center governs."""
        return self.admin.city_code

    def calendar_for(self, category: Category) -> WorkingCalendar:
        """Return the clock of ``category``: working hours, or natural hours for emergencies."""
        return _NATURAL if category.clock == "natural" else self.calendar

    def without_duplicates(self) -> Center:
        """Return this center with duplicate linking off (sensor cases, workflow tests)."""
        return replace(self, duplicate_radius_m=0.0)


@dataclass(frozen=True, slots=True)
class _Tables:
    """The editable configuration tables as read from the database."""

    edits: list[dict[str, Any]]
    jurisdiction: list[JurisdictionRule]
    stage_limits: list[StageLimit]


class CenterCache:
    """Current :class:`Center` snapshots: a seed center plus the database's editable tables.

    Parameters
    ----------
    seed
        The center as configured at start-up (its tables are replaced by the database's).
    ttl_s
        How long the tables read from the database are reused (edits made through another
        process show after at most this long; 0 reads them for every call).
    clock
        Monotonic seconds (tests pass a fake one).
    """

    def __init__(
        self,
        seed: Center,
        *,
        ttl_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Keep ``seed``; nothing is read until the first :meth:`current`."""
        self.seed = seed
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._tables: _Tables | None = None
        self._center: Center | None = None

    def current(self, session: Session) -> Center:
        """Return the center with the database's tables, reading them when stale.

        One query per table every ``ttl_s`` seconds; none in between. The snapshot is rebuilt
        only when a table changed, so callers may keep what they derived from it.
        """
        fresh = self.fresh()
        if fresh is not None:
            return fresh
        tables = _Tables(
            repository.taxonomy_edits(session),
            repository.jurisdiction(session),
            repository.stage_limits(session),
        )
        with self._lock:
            if self._center is None or tables != self._tables:
                self._center = self._snapshot(tables)
            self._tables, self._read_at = tables, self._clock()
            return self._center

    def fresh(self) -> Center | None:
        """Return :meth:`current`'s answer if that needs no database query now, else None."""
        read_at, center = self._read_at, self._center
        if read_at is None or center is None or self._clock() - read_at >= self.ttl_s:
            return None
        return center

    def forget(self) -> None:
        """Drop what was read (after an edit, so this process sees it at once)."""
        with self._lock:
            self._read_at = None

    def _snapshot(self, tables: _Tables) -> Center:
        seed = self.seed.seed
        taxonomy = seed.with_edits(tables.edits) if tables.edits else seed
        return replace(
            self.seed,
            taxonomy=taxonomy,
            seed_taxonomy=seed,
            jurisdiction=tuple(tables.jurisdiction),
            stage_limits=tuple(tables.stage_limits),
        )
