"""The governance center's configuration, bound to database sessions.

A :class:`Center` holds what every service call needs besides the database: the taxonomy,
the city's hierarchy (for routing), the working calendar and the intake limits. The
application binds one to its session factory (:func:`bind_center`), so service functions take
just a session, and the lifelines pillar can call
:func:`shancheng.cases.service.open_sensor_case` with a session and a report.

The bound center carries the seed taxonomy; :func:`center_of` hands out the center whose
taxonomy also holds the admins' edits stored in ``case_taxonomy``, read again at most every
``rules_ttl_s`` seconds (like the jurisdiction table), so an edit made through one server
process reaches the others within that time, and an unchanged table costs no query per call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shancheng.cases.calendar import WorkingCalendar
from shancheng.cases.taxonomy import EDITABLE_FIELDS
from shancheng.errors import ConfigError
from shancheng.store.cases_tables import TaxonomyEditRow

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session, sessionmaker

    from shancheng.cases.routing import AdminIndex
    from shancheng.cases.taxonomy import Category, Taxonomy

CENTER_KEY = "shancheng.cases.center"
_NATURAL = WorkingCalendar.natural()
_EDIT_COLUMNS = [getattr(TaxonomyEditRow, name) for name in ("code", *EDITABLE_FIELDS)]
# built once (building a statement costs more than running it on a small table)
_EDITS = sa.select(*_EDIT_COLUMNS).order_by(TaxonomyEditRow.id)


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
        How long the jurisdiction table, the stage limits and the taxonomy edits read from
        the database are reused (edits made through another process show after at most this
        long; 0 reads them for every report).
    seed_taxonomy
        The taxonomy before the database's edits (None: ``taxonomy`` is the seed); set on
        the centers :func:`center_of` derives.
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
    seed_taxonomy: Taxonomy | None = field(default=None, repr=False)
    _rules_cache: dict[str, Any] = field(default_factory=dict, repr=False)
    # what this very center derived (not shared with copies made by dataclasses.replace)
    _derived_cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

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

    def with_edits(self, session: Session) -> Center:
        """Return this center with the taxonomy edits stored in the database.

        The edits are cached like the other tables (one small query per ``rules_ttl_s``);
        the derived center is kept while they are unchanged. Without edits it is this center.
        """
        now_s = time.monotonic()
        entry = self._rules_cache.get("taxonomy")
        if entry is None or now_s - entry[1] >= self.rules_ttl_s:
            entry = self._rules_cache["taxonomy"] = (load_taxonomy_edits(session), now_s)
        return self._derived(entry[0])

    def fresh(self) -> Center | None:
        """Return :meth:`with_edits`' answer if it needs no query now, else None."""
        entry = self._rules_cache.get("taxonomy")
        if entry is None or time.monotonic() - entry[1] >= self.rules_ttl_s:
            return None
        return self._derived(entry[0])

    def _derived(self, edits: list[dict[str, Any]]) -> Center:
        if not edits:
            return self
        kept = self._derived_cache.get("taxonomy")
        if kept is not None and (kept[0] is edits or kept[0] == edits):
            if kept[0] is not edits:  # read again, unchanged: compare by identity from now on
                self._derived_cache["taxonomy"] = (edits, kept[1])
            derived: Center = kept[1]
            return derived
        seed = self.taxonomy if self.seed_taxonomy is None else self.seed_taxonomy
        derived = replace(self, taxonomy=seed.with_edits(edits), seed_taxonomy=seed)
        self._derived_cache["taxonomy"] = (edits, derived)
        return derived

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

    Its taxonomy holds the database's edits, like :func:`center_of`'s; when they are older
    than ``rules_ttl_s`` they are read again here, with a session of ``factory`` (one small
    query every few seconds; none in between).

    Raises
    ------
    ConfigError
        No center was bound with :func:`bind_center`.
    """
    center = _bound((factory.kw.get("info") or {}).get(CENTER_KEY))
    fresh = center.fresh()
    if fresh is not None:
        return fresh
    with factory() as session:
        return center.with_edits(session)


def center_of(session: Session) -> Center:
    """Return the center bound to ``session``, its taxonomy with the database's edits.

    Queries the database only when the cached edits are older than ``rules_ttl_s``.

    Raises
    ------
    ConfigError
        The session's factory was not given a center with :func:`bind_center`.
    """
    return seed_center_of(session).with_edits(session)


def fresh_center_of(session: Session) -> Center | None:
    """Return what :func:`center_of` would, if that needs no database query now; else None."""
    return seed_center_of(session).fresh()


def load_taxonomy_edits(session: Session) -> list[dict[str, Any]]:
    """Read the admins' taxonomy edits: one ``{code, field: value}`` per row, oldest first.

    Fields left NULL (unchanged from the seed) are not in the mapping.
    """
    names = ("code", *EDITABLE_FIELDS)
    return [
        {name: value for name, value in zip(names, row, strict=True) if value is not None}
        for row in session.execute(_EDITS)
    ]


def seed_center_of(session: Session) -> Center:
    """Return the center bound to ``session``'s factory as bound: the seed taxonomy, no I/O.

    Raises
    ------
    ConfigError
        The session's factory was not given a center with :func:`bind_center`.
    """
    return _bound(session.info.get(CENTER_KEY))


def _bound(center: object) -> Center:
    if not isinstance(center, Center):
        msg = (
            "no governance center is bound to this database session (factory); "
            "call shancheng.cases.center.bind_center(session_factory, center) first"
        )
        raise ConfigError(msg)
    return center
