"""The governance center's configuration, bound to database sessions.

A :class:`Center` holds what every service call needs besides the database: the taxonomy,
the city's hierarchy (for routing), the working calendar and the intake limits. The
application binds one to its session factory (:func:`bind_center`), so service functions take
just a session, and the lifelines pillar can call
:func:`shancheng.cases.service.open_sensor_case` with a session and a report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shancheng.cases.calendar import WorkingCalendar
from shancheng.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session, sessionmaker

    from shancheng.cases.routing import AdminIndex
    from shancheng.cases.taxonomy import Category, Taxonomy

CENTER_KEY = "shancheng.cases.center"
_NATURAL = WorkingCalendar.natural()


@dataclass(frozen=True, eq=False)
class Center:
    """Taxonomy, hierarchy, calendar and intake limits of one governance center.

    Parameters
    ----------
    taxonomy
        Categories and departments.
    admin
        The city's unit grid and hierarchy, for routing and address matching.
    calendar
        Working calendar for categories on working-hour clocks.
    duplicate_radius_m, duplicate_window_h
        A report within this distance of an open case of the same category reported within
        this many hours is linked to that case instead of opening a new one.
    max_photo_bytes, max_photos
        Upload limits per photo and per report.
    max_description_chars
        Open311's limit on ``description`` (4,000).
    rules_ttl_s
        How long the jurisdiction table and the stage limits read from the database are
        reused (edits made through another process show after at most this long; 0 reads
        them for every report).
    """

    taxonomy: Taxonomy
    admin: AdminIndex
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    duplicate_radius_m: float = 50.0
    duplicate_window_h: float = 72.0
    max_photo_bytes: int = 5 * 1024 * 1024
    max_photos: int = 5
    max_description_chars: int = 4000
    rules_ttl_s: float = 5.0
    _rules_cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def cached_rules(self, load: Callable[[], list[Any]], *, now_s: float) -> list[Any]:
        """Return the jurisdiction rules, reloading them when older than ``rules_ttl_s``."""
        return self.cached("rules", load, now_s=now_s)

    def cached(self, name: str, load: Callable[[], list[Any]], *, now_s: float) -> list[Any]:
        """Return configuration table ``name`` (rules, stage limits), reloaded when stale.

        Stale means read more than ``rules_ttl_s`` ago.
        """
        cache = self._rules_cache
        entry = cache.get(name)
        if entry is None or now_s - entry[1] >= self.rules_ttl_s:
            entry = cache[name] = (load(), now_s)
        rows: list[Any] = entry[0]
        return rows

    def forget(self) -> None:
        """Drop the cached tables (after an edit, so this process sees it at once)."""
        self._rules_cache.clear()

    def calendar_for(self, category: Category) -> WorkingCalendar:
        """Return the clock of ``category``: working hours, or natural hours for emergencies."""
        return _NATURAL if category.clock == "natural" else self.calendar


def bind_center(factory: sessionmaker[Session], center: Center) -> None:
    """Make every session from ``factory`` carry ``center`` (read by :func:`center_of`)."""
    info = dict(factory.kw.get("info") or {})
    info[CENTER_KEY] = center
    factory.configure(info=info)


def bound_center(factory: sessionmaker[Session]) -> Center:
    """Return the center bound to ``factory`` (for code that runs without a session).

    Raises
    ------
    ConfigError
        No center was bound with :func:`bind_center`.
    """
    center = (factory.kw.get("info") or {}).get(CENTER_KEY)
    if not isinstance(center, Center):
        msg = "this session factory has no governance center bound; call bind_center first"
        raise ConfigError(msg)
    return center


def center_of(session: Session) -> Center:
    """Return the center bound to ``session``.

    Raises
    ------
    ConfigError
        The session's factory was not given a center with :func:`bind_center`.
    """
    center = session.info.get(CENTER_KEY)
    if not isinstance(center, Center):
        msg = (
            "this database session has no governance center bound; "
            "call shancheng.cases.center.bind_center(session_factory, center) first"
        )
        raise ConfigError(msg)
    return center
