"""Open311 GeoReport v2: our taxonomy and cases in the spec's shapes, as JSON and as XML.

Pure mapping, no web framework: the router calls these functions. Every service is
``realtime`` (POST returns the ``service_request_id`` at once) and has ``metadata`` true, with
optional attributes. ``status`` is ``open`` or ``closed`` as the spec requires; the Chinese
stage of the workflow (立案, 派遣, ...) goes in ``status_notes`` and, with
``extensions=true``, in ``extended_attributes`` together with the timeline as ``notes``.
Dates are W3C/ISO 8601 with a time zone offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

from shancheng.cases.calendar import CHINA_TZ
from shancheng.cases.domain import CaseStatus
from shancheng.cases.privacy import PUBLIC_PRECISION_M, mask_personal, public_position
from shancheng.cases.safe_text import check_plain
from shancheng.errors import CaseInputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from shancheng.cases.center import Center
    from shancheng.cases.draft import CaseDraft
    from shancheng.cases.store import StoredRequest
    from shancheng.cases.taxonomy import Category, Taxonomy
    from shancheng.store.cases_tables import CaseEventRow, CaseRow

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
MAX_SPAN = timedelta(days=90)
DEFAULT_PAGE_SIZE = 1000
SEVERITY = [("minor", "一般 minor"), ("major", "严重 major"), ("danger", "危险 danger")]
_SINGULAR = {"services": "service", "attributes": "attribute", "values": "value",
             "notes": "note", "endpoints": "endpoint", "formats": "format",
             "errors": "error", "photos": "photo", "service_requests": "request"}  # fmt: skip


def iso(value: datetime | None) -> str | None:
    """W3C datetime with offset, in China Standard Time (``2026-11-23T09:00:00+08:00``)."""
    return None if value is None else value.astimezone(CHINA_TZ).isoformat(timespec="seconds")


def discovery(base_url: str, *, changeset: datetime, contact: str) -> dict[str, Any]:
    """Return the service discovery document (``discovery.json``/``.xml``)."""
    return {
        "changeset": iso(changeset),
        "contact": contact,
        "key_service": "API keys are issued by the governance center's administrators.",
        "endpoints": [
            {
                "specification": SPEC_URL,
                "url": base_url.rstrip("/"),
                "changeset": iso(changeset),
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def service_list(taxonomy: Taxonomy) -> list[dict[str, Any]]:
    """Return every active category as an Open311 service, sorted by code (retired: left out)."""
    return [
        {
            "service_code": c.code,
            "service_name": f"{c.name_zh} {c.name_en}",
            "description": f"{c.group_zh}/{c.name_zh} ({c.group_en}: {c.name_en})",
            "metadata": True,
            "type": "realtime",
            "keywords": ",".join(c.keywords),
            "group": f"{c.group_zh} {c.group_en}",
        }
        for c in sorted(taxonomy.categories.values(), key=lambda c: c.code)
        if c.active
    ]


def service_definition(category: Category) -> dict[str, Any]:
    """Return the service definition: optional ``severity`` and, for components, ``asset_id``."""
    attributes: list[dict[str, Any]] = [
        {
            "variable": True,
            "code": "severity",
            "datatype": "singlevaluelist",
            "required": False,
            "datatype_description": "How serious the problem looks",
            "order": 1,
            "description": "严重程度 Severity",
            "values": [{"key": key, "name": name} for key, name in SEVERITY],
        }
    ]
    if category.kind == "component":
        attributes.append({
            "variable": True, "code": "asset_id", "datatype": "string", "required": False,
            "datatype_description": "16-digit component code on the asset's plate",
            "order": 2, "description": "部件编码 Asset code", "values": [],
        })  # fmt: skip
    return {"service_code": category.code, "attributes": attributes}


def check_attributes(category: Category, given: Mapping[str, list[str]]) -> dict[str, str]:
    """Check ``attribute[CODE]`` values against the service definition.

    Raises
    ------
    CaseInputError
        Unknown attribute code, several values for a single-value attribute, or a value not
        in the list.
    """
    definition = {a["code"]: a for a in service_definition(category)["attributes"]}
    checked: dict[str, str] = {}
    for code, values in given.items():
        spec = definition.get(code)
        where = f"attribute[{code}]"
        if spec is None:
            msg = f"`{where}` is not an attribute of service {category.code}"
            raise CaseInputError(msg, field=where)
        if len(values) != 1:
            msg = f"`{where}` takes one value, got {len(values)}"
            raise CaseInputError(msg, field=where)
        keys = [v["key"] for v in spec["values"]]
        if keys and values[0] not in keys:
            msg = f"`{where}` must be one of {', '.join(keys)}, got {values[0]!r}"
            raise CaseInputError(msg, field=where)
        checked[code] = values[0][:200]
    return checked


def parse_coordinate(value: str | None, name: str) -> float | None:
    """Parse ``lat``/``long`` from a form field; empty means absent (the spec's rule).

    Raises
    ------
    CaseInputError
        Not a finite decimal number.
    """
    if value is None or value.strip() == "":
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        msg = f"`{name}` must be a decimal number of degrees (WGS84), got {value!r}"
        raise CaseInputError(msg, field=name)
    return number


def parse_datetime(value: str | None, name: str) -> datetime | None:
    """Parse a W3C datetime with time zone; empty means absent.

    Raises
    ------
    CaseInputError
        Unparseable, or without a time zone.
    """
    if value is None or value.strip() == "":
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())  # Python 3.11 reads a trailing Z
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        msg = f"`{name}` must be a W3C datetime with time zone, e.g. 2026-11-23T09:00:00+08:00"
        raise CaseInputError(msg + f"; got {value!r}", field=name)
    return parsed


@dataclass(frozen=True, slots=True)
class RequestQuery:
    """The filters of ``GET requests``, checked."""

    ids: list[str] = field(default_factory=list)
    service_codes: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


def parse_query(params: Mapping[str, str], *, now: datetime) -> RequestQuery:
    """Check the query of ``GET requests`` (dates, statuses, pagination) against the spec.

    Without ``service_request_id``, the window defaults to the last 90 days and may not be
    longer than 90 days.

    Raises
    ------
    CaseInputError
        A malformed or out-of-range argument; the message names it.
    """
    ids = _csv(params.get("service_request_id"))
    statuses = [s.lower() for s in _csv(params.get("status"))]
    bad = [s for s in statuses if s not in {"open", "closed"}]
    if bad:
        msg = f"`status` must be open, closed or both (comma-separated), got {bad[0]!r}"
        raise CaseInputError(msg, field="status")
    start = parse_datetime(params.get("start_date"), "start_date")
    end = parse_datetime(params.get("end_date"), "end_date")
    if not ids:
        try:
            end = end or (start + MAX_SPAN if start else now)
            start = start or end - MAX_SPAN
        except OverflowError:  # 90 days past year 9999 or before year 1
            field = "start_date" if start is not None else "end_date"
            msg = f"`{field}` is too far from today: the window runs past the calendar"
            raise CaseInputError(msg, field=field) from None
        if end < start:
            msg = f"`end_date` {iso(end)} is before `start_date` {iso(start)}"
            raise CaseInputError(msg, field="end_date")
        if end - start > MAX_SPAN:
            msg = "`start_date` to `end_date` may span at most 90 days"
            raise CaseInputError(msg, field="end_date")
    page = _positive(params.get("page"), "page", 1, 1_000_000)
    size = _positive(params.get("page_size"), "page_size", DEFAULT_PAGE_SIZE, DEFAULT_PAGE_SIZE)
    return RequestQuery(ids, _csv(params.get("service_code")), statuses, start, end, page, size)


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _positive(value: str | None, name: str, default: int, high: int) -> int:
    if value is None or value.strip() == "":
        return default
    if not value.strip().isdigit() or not 1 <= int(value) <= high:
        msg = f"`{name}` must be an integer in 1..{high}, got {value!r}"
        raise CaseInputError(msg, field=name)
    return int(value)


def open_closed(status: str) -> str:
    """Return ``open`` or ``closed`` for a workflow status."""
    return "open" if CaseStatus(status).is_open else "closed"


def request_record(
    row: CaseRow | CaseDraft,
    category: Category,
    *,
    agency: str,
    media_url: str | None = None,
    events: Sequence[CaseEventRow] | None = None,
    parent_reference: str | None = None,
) -> dict[str, Any]:
    """Return one case as the public sees it in GeoReport v2 (extensions when ``events``).

    The public view (:mod:`~shancheng.cases.privacy`): the description and address with
    personal data masked, the position rounded to the category kind's grid, and the history as
    stages and times only (staff notes, departments' units and grid cells stay internal).
    """
    status = CaseStatus(row.status)
    precision_m = PUBLIC_PRECISION_M.get(category.kind, max(PUBLIC_PRECISION_M.values()))
    lon, lat = public_position(row.lon, row.lat, precision_m=precision_m)
    notes = f"{status.name_zh} {status.value}"
    if parent_reference:
        notes += f"; duplicate of {parent_reference}"
    record: dict[str, Any] = {
        "service_request_id": row.reference,
        "status": open_closed(row.status),
        "status_notes": notes,
        "service_name": f"{category.name_zh} {category.name_en}",
        "service_code": row.category_code,
        "description": mask_personal(row.description),
        "agency_responsible": agency,
        "service_notice": "",
        "requested_datetime": iso(row.reported_at),
        "updated_datetime": iso(row.closed_at or row.updated_at),
        "expected_datetime": iso(row.expected_at),
        "address": mask_personal(row.address),
        "address_id": row.address_id,
        "zipcode": "",
        "lat": lat,
        "long": lon,
        "media_url": media_url or "",
    }
    if events is not None:
        record["extended_attributes"] = {
            "stage": status.value, "stage_zh": status.name_zh, "level": row.level,
            "duplicates": row.duplicates, "duplicate_of": parent_reference or "",
        }  # fmt: skip
        record["notes"] = [
            {"datetime": iso(e.at), "description": _stage_note(e.to_status), "type": e.action}
            for e in events
        ]
    return record


def _stage_note(stage: str) -> str:
    """Return the public note of an event: the stage it led to, never the staff's words."""
    status = CaseStatus(stage)
    return f"{status.name_zh} {status.value}"


# free-text fields of a POST besides those intake checks (description, address_string)
_FREE_TEXT = frozenset(
    {"first_name", "last_name", "email", "phone", "account_id", "device_id", "title"}
)


def check_free_text(fields: Mapping[str, str], attributes: Mapping[str, Sequence[str]]) -> None:
    """Refuse NUL bytes in any field, and markup or SQL in the free-text ones, naming the field.

    Raises
    ------
    CaseInputError
        The first offending field.
    """
    for name, value in fields.items():
        if "\x00" in value:
            msg = f"`{name[:40]}` contains a NUL byte; send plain UTF-8 text"
            raise CaseInputError(msg, field=name[:40])
        if name in _FREE_TEXT:
            check_plain(value, field=name)
    for code, values in attributes.items():
        for value in values:
            check_plain(value, field=f"attribute[{code}]")


def record_of(
    center: Center,
    found: StoredRequest,
    *,
    base_url: str,
    events: Sequence[CaseEventRow] | None = None,
) -> dict[str, Any]:
    """Return a stored case as the service request Open311 shows (extensions with ``events``).

    A stored photo is linked under ``{base_url}blobs/``; a client's own photo by its URL.
    """
    row = found.case
    category = center.taxonomy.category(row.category_code)
    dept = center.taxonomy.departments.get(row.department)
    agency = f"{dept.name_zh} {dept.name_en}" if dept else row.department
    photo = found.media_url
    if found.photo_sha256:
        photo = f"{base_url}blobs/{found.photo_sha256}"
    return request_record(
        row,
        category,
        agency=agency,
        media_url=photo,
        events=events,
        parent_reference=found.parent_reference,
    )


def to_xml(root: str, content: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> bytes:
    """Serialise a document the spec's way: lists become repeated singular child elements.

    Examples
    --------
    >>> to_xml("services", [{"service_code": "E0102", "metadata": True}]).decode()[38:]
    '<services><service><service_code>E0102</service_code><metadata>true</metadata></service></services>'
    """
    element = ET.Element(root)
    _fill(element, root, content)
    return (
        b'<?xml version="1.0" encoding="utf-8"?>'
        + ET.tostring(element, encoding="unicode").encode()
    )


def _fill(element: ET.Element, tag: str, value: Any) -> None:  # noqa: ANN401 - JSON-like
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), key, child)
    elif isinstance(value, list | tuple):
        child_tag = _SINGULAR.get(tag, "item")
        for item in value:
            _fill(ET.SubElement(element, child_tag), child_tag, item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def errors(items: Sequence[tuple[int, str]]) -> list[dict[str, Any]]:
    """Return the spec's error list: ``[{"code": ..., "description": ...}]``."""
    return [{"code": code, "description": text} for code, text in items]


def utc_now() -> datetime:
    """Return the current time in UTC (the one impure helper, for the router's defaults)."""
    return datetime.now(UTC)
