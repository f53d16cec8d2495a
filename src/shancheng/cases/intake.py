"""Intake: turn a citizen's, inspector's or sensor's report into a planned, routed case.

Everything is validated first (category, location, text, photos) without touching the
database (:func:`plan`); the service then asks a store for the open case the report repeats
(:func:`duplicate_search`, :func:`link_duplicate`) and has the store write it in one
transaction: the case, its events, its photos (content-addressed) and, for a duplicate, the
count on the case it repeats. A refused report leaves nothing behind.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from shancheng.cases import engine
from shancheng.cases.calendar import CHINA_TZ
from shancheng.cases.domain import Action, CaseEvent, CaseStatus, Level
from shancheng.cases.draft import CaseDraft
from shancheng.cases.duplicates import DuplicateSearch, Nearby
from shancheng.cases.media import Photo, check_media_url, clean_photo
from shancheng.cases.routing import Location, common_level, distance_m, route
from shancheng.cases.safe_text import check_plain
from shancheng.cases.stage_limits import stage_limit_s
from shancheng.cases.workflow import next_clock
from shancheng.errors import CaseInputError

if TYPE_CHECKING:
    from datetime import datetime

    from shancheng.cases.center import Center
    from shancheng.cases.routing import Assignment
    from shancheng.cases.taxonomy import Category
    from shancheng.store.cases_tables import CaseRow

Source = Literal["citizen", "inspector", "open311", "sensor", "web"]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_TITLE_CHARS = 200
MAX_ADDRESS_CHARS = 300
MAX_ADDRESS_ID_CHARS = 64


@dataclass(frozen=True, slots=True)
class ReportIn:
    """A report as it arrives, before validation.

    Give either ``lon`` and ``lat`` (WGS84) or an ``address`` naming a place of the city.
    ``address_id`` is the client's id of the place (Open311), kept with the case.
    ``extra_points`` are further points of an extended problem (a long pile of rubble): a
    report whose points span several streets is handled one level up.
    """

    category_code: str
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    description: str = ""
    title: str = ""
    source: Source = "citizen"
    reporter: str = ""
    client: str = ""
    photos: tuple[Photo, ...] = ()
    media_urls: tuple[str, ...] = ()
    extra_points: tuple[tuple[float, float], ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)
    address_id: str = ""


@dataclass(frozen=True, slots=True)
class Intake:
    """The answer to a report: the case, and the open case it was linked to if a duplicate."""

    case: CaseRow
    linked_to: int | None = None
    linked_reference: str | None = None


def check_text(value: str, *, field: str, max_chars: int) -> str:
    """Return ``value`` stripped, or refuse it with a clear error.

    Refused: excess length, control characters, HTML markup and SQL-injection signatures
    (:func:`~shancheng.cases.safe_text.unsafe_fragment`).

    Raises
    ------
    CaseInputError
        Naming ``field`` and the offending fragment; nothing is stored.

    Examples
    --------
    >>> check_text("  路灯不亮  ", field="description", max_chars=10)
    '路灯不亮'
    """
    text = value.strip()
    if len(text) > max_chars:
        msg = f"`{field}` has {len(text):,} characters; the limit is {max_chars:,}"
        raise CaseInputError(msg, field=field)
    if _CONTROL.search(text):
        msg = f"`{field}` contains control characters; send plain UTF-8 text"
        raise CaseInputError(msg, field=field)
    check_plain(text, field=field)
    return text


def _locate(center: Center, report: ReportIn) -> tuple[Location, list[Location]]:
    if report.lon is None or report.lat is None:
        if report.lon is not None or report.lat is not None:
            missing = "lat" if report.lat is None else "long"
            msg = f"`{missing}` is missing: give both lat and long, or an address_string"
            raise CaseInputError(msg, field=missing)
        if not report.address.strip():
            msg = "a location is required: give lat and long, or an address_string"
            raise CaseInputError(msg, field="lat")
        lon, lat = center.admin.geocode(report.address)
    else:
        lon, lat = report.lon, report.lat
    main = center.admin.locate(lon, lat)
    extra = [center.admin.locate(x, y) for x, y in report.extra_points]
    return main, extra


@dataclass(slots=True)
class PlannedCase:
    """A report validated, located and routed, not yet stored.

    ``row`` is the new case (without id), ``events`` its history so far (the report; a merge
    once :func:`link_duplicate` found the open case it repeats), ``photos`` the checked uploads
    with their MIME types and ``urls`` the checked ``media_url`` links. Every store
    (:mod:`~shancheng.cases.store`) writes exactly this.
    """

    row: CaseDraft
    events: list[CaseEvent]
    photos: list[tuple[Photo, str]]
    urls: list[str]
    master: Nearby | None = None


def plan(center: Center, report: ReportIn, *, at: datetime) -> PlannedCase:
    """Validate, locate and route a report; no database access.

    Routing follows the center's jurisdiction table and deadlines its stage limits.

    Raises
    ------
    UnknownCategoryError, CaseInputError, OutsideCityError
        The report is refused.
    """
    category = center.taxonomy.reportable(report.category_code)  # retired: refused
    description = check_text(
        report.description, field="description", max_chars=center.max_description_chars
    )
    title = check_text(report.title, field="title", max_chars=MAX_TITLE_CHARS)
    address = check_text(report.address, field="address_string", max_chars=MAX_ADDRESS_CHARS)
    address_id = check_text(report.address_id, field="address_id", max_chars=MAX_ADDRESS_ID_CHARS)
    location, extra = _locate(center, report)
    if len(report.photos) > center.max_photos:
        msg = f"`media` has {len(report.photos)} files; the limit is {center.max_photos}"
        raise CaseInputError(msg, field="media")
    # checked, then re-encoded without metadata (EXIF GPS, device): what is stored is clean
    cleaned = [
        clean_photo(photo, max_bytes=center.max_photo_bytes, index=i)
        for i, photo in enumerate(report.photos)
    ]
    if len(report.photos) + len(report.media_urls) > center.max_photos:
        msg = f"`media_url` and `media` give more than {center.max_photos} photos"
        raise CaseInputError(msg, field="media_url")
    urls = [check_media_url(url) for url in report.media_urls]
    assignment = _assign(center, category, location, extra)
    row = _new_case(center, category, location, assignment, report, at=at)
    row.title, row.description, row.address = title, description, address
    row.address_id = address_id
    # a public reference that needs no second write: date + 40 random bits (unique column)
    row.reference = f"SC{at.astimezone(CHINA_TZ):%Y%m%d}{secrets.token_hex(5).upper()}"
    first = CaseEvent(
        Action.REPORT,
        CaseStatus.REPORTED,
        CaseStatus.REPORTED,
        report.reporter or report.source,
        at,
        "",
        {
            "source": report.source,
            **({"attributes": report.attributes} if report.attributes else {}),
        },
    )
    return PlannedCase(row, [first], cleaned, urls)


def duplicate_search(
    center: Center, planned: PlannedCase, *, at: datetime
) -> DuplicateSearch | None:
    """Return the search for the open case this report repeats (``None``: linking is off)."""
    if center.duplicate_radius_m <= 0:
        return None
    row = planned.row
    return DuplicateSearch(
        row.category_code,
        float(row.x_utm),
        float(row.y_utm),
        float(center.duplicate_radius_m),
        at - timedelta(hours=center.duplicate_window_h),
    )


def link_duplicate(center: Center, planned: PlannedCase, master: Nearby, *, at: datetime) -> None:
    """Turn ``planned`` into a duplicate of the open case ``master``: merged, with its event.

    The case is then written already merged: one INSERT for the case, one for its events and
    one UPDATE of the case it repeats.
    """
    row = planned.row
    gap_m = round(distance_m(row.x_utm, row.y_utm, master.x_utm, master.y_utm), 1)
    event = engine.change_row(
        center,
        row,
        Action.MERGE,
        actor="system",
        at=at,
        note=f"duplicate of case {master.reference} ({gap_m} m away)",
        data={"into": master.id, "distance_m": gap_m},
    )
    row.parent_id = master.id
    planned.events.append(event)
    planned.master = master


def _assign(
    center: Center, category: Category, location: Location, extra: list[Location]
) -> Assignment:
    assignment = route(
        category,
        location,
        center.jurisdiction,
        default_department=center.taxonomy.default_department,
        active_departments=center.taxonomy.departments,
    )
    if extra:
        span = common_level([location, *extra])
        order = list(Level)
        if order.index(span) > order.index(assignment.level):
            assignment = type(assignment)(assignment.department, span, location.unit_at(span))
    return assignment


def _new_case(
    center: Center,
    category: Category,
    location: Location,
    assignment: Assignment,
    report: ReportIn,
    *,
    at: datetime,
) -> CaseDraft:
    calendar = center.calendar_for(category)
    first = CaseEvent(Action.REPORT, CaseStatus.REPORTED, CaseStatus.REPORTED, "", at)
    limit_s = stage_limit_s(category, "register", location.district_code, center.stage_limits)
    clock = next_clock(None, first, limit_s=limit_s, calendar=calendar)
    assert clock is not None  # noqa: S101 - the reported stage always has a clock
    return CaseDraft(
        category_code=category.code,
        status=CaseStatus.REPORTED.value,
        source=report.source,
        lon=location.lon,
        lat=location.lat,
        x_utm=location.x_utm,
        y_utm=location.y_utm,
        cell_id=location.cell_id,
        community_code=location.community_code,
        street_code=location.street_code,
        district_code=location.district_code,
        department=assignment.department,
        level=assignment.level.value,
        unit_code=assignment.unit_code,
        priority=category.priority,
        reported_at=at,
        updated_at=at,
        stage_started_at=clock.stage_started_at,
        stage_limit_s=clock.limit_s,
        paused_s=0.0,
        deadline_at=calendar.add_working_seconds(at, clock.limit_s),
        client=report.client,
        reporter=report.reporter,
    )
