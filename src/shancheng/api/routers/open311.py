"""Open311 GeoReport v2 server under ``/open311``: discovery, services, requests, tokens.

Every resource answers in XML (``.xml``, required by the spec) and JSON (``.json``); errors
follow the spec (see :mod:`shancheng.api.errors`). POST takes ``application/x-www-form-
urlencoded`` or multipart (a ``media`` file, the common extension) and needs an ``api_key``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from shancheng.api.deps import (
    CenterDep,
    NowDep,
    SessionDep,
    SettingsDep,
    clock_now,
    current_center,
    rate_limit_async,
)
from shancheng.api.state import AppState, app_state
from shancheng.cases import accounts, open311, service
from shancheng.cases.media import Photo
from shancheng.cases.service import ReportIn
from shancheng.errors import CaseInputError, CaseNotFoundError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from shancheng.cases.center import Center
    from shancheng.config import Settings

router = APIRouter(prefix="/open311", tags=["open311"])
_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_\-]{1,64})\](\[\])?$")
_MEDIA_MAX_PARTS = 1
_URLENCODED = "application/x-www-form-urlencoded"


def _render(fmt: str, root: str, content: Any) -> Response:  # noqa: ANN401 - JSON-like
    if fmt == "xml":
        return Response(open311.to_xml(root, content), media_type="text/xml; charset=utf-8")
    return Response(orjson.dumps(content), media_type="application/json; charset=utf-8")


def _check(fmt: str, jurisdiction_id: str | None, settings: Settings) -> None:
    if fmt not in {"xml", "json"}:
        msg = f"format must be .xml or .json, got .{fmt}"
        raise CaseNotFoundError(msg)
    if jurisdiction_id and jurisdiction_id != settings.open311_jurisdiction_id:
        msg = f"`jurisdiction_id` {jurisdiction_id!r} is not served here"
        raise CaseNotFoundError(msg)


@router.get("/discovery.{fmt}")
def discovery(fmt: str, request: Request, settings: SettingsDep, at: NowDep) -> Response:
    """Service discovery: the endpoint, its formats and specification."""
    _check(fmt, None, settings)
    doc = open311.discovery(
        str(request.base_url) + "open311",
        changeset=at.replace(hour=0, minute=0, second=0, microsecond=0),
        contact="governance center, 12345",
    )
    return _render(fmt, "discovery", doc)


@router.get("/services.{fmt}")
def services(
    fmt: str, center: CenterDep, settings: SettingsDep, jurisdiction_id: str | None = None
) -> Response:
    """Every service (category) the center takes reports for."""
    _check(fmt, jurisdiction_id, settings)
    return _render(fmt, "services", open311.service_list(center.taxonomy))


@router.get("/services/{service_code}.{fmt}")
def service_definition(
    service_code: str,
    fmt: str,
    center: CenterDep,
    settings: SettingsDep,
    jurisdiction_id: str | None = None,
) -> Response:
    """Describe the attributes a request for this service may carry."""
    _check(fmt, jurisdiction_id, settings)
    category = center.taxonomy.category(service_code)
    if not category.active:  # not in services.json, so not a service here (the spec's 404)
        msg = f"service {service_code!r} is retired and takes no new requests"
        raise CaseNotFoundError(msg)
    return _render(fmt, "service_definition", open311.service_definition(category))


@router.post("/requests.{fmt}")
async def post_request(fmt: str, request: Request) -> Response:
    """Create a service request (needs ``api_key``); answers its ``service_request_id``.

    Stored from the event loop through the application's asynchronous store (on PostgreSQL
    one statement on an asynchronous pool; elsewhere a session in a worker thread).
    """
    at = await clock_now(request)
    state = app_state(request)
    form = await _read_form(request, state.settings)
    _check(fmt, form.fields.get("jurisdiction_id"), state.settings)
    open311.check_free_text(form.fields, form.attributes)
    key = form.fields.get("api_key", "")
    client = accounts.cached_client(key, state.api_keys)
    if client is None:  # not seen lately (or forged): one lookup, in a worker thread
        client = await run_in_threadpool(_lookup_key, state, key)
    await rate_limit_async(request, f"key:{client}")
    center = await current_center(state)
    report = _report_in(center, form, client)
    stored = await service.submit_report_async(state.case_store, center, report, at=at)
    answer = _answer(stored.reference, stored.linked_reference, form.fields)
    return _render(fmt, "service_requests", [answer])


@dataclass(frozen=True, slots=True)
class _PostedForm:
    """A POST's text fields, its ``attribute[CODE]`` values and its uploaded files."""

    fields: dict[str, str]
    attributes: dict[str, list[str]]
    media: list[Photo]


async def _read_form(request: Request, settings: Settings) -> _PostedForm:
    if request.headers.get("content-type", "").startswith(_URLENCODED):
        # the common case, parsed without the form machinery (a quarter of a report's CPU)
        body = await request.body()
        try:
            items = parse_qsl(
                body.decode(), keep_blank_values=True, strict_parsing=False, max_num_fields=100
            )
        except (UnicodeDecodeError, ValueError) as exc:
            msg = f"the form body cannot be read: {str(exc)[:120]}"
            raise CaseInputError(msg, field="body") from exc
        pairs: list[tuple[str, Any]] = list(items)
        media: list[Photo] = []
    else:
        async with request.form(max_files=_MEDIA_MAX_PARTS, max_fields=100) as form:
            pairs = form.multi_items()
            uploads = [v for _k, v in pairs if isinstance(v, UploadFile)]
            media = [
                Photo(
                    await f.read(settings.cases_max_photo_bytes + 1),
                    f.content_type,
                    f.filename or "",
                )
                for f in uploads
            ]
    fields = {k: v for k, v in pairs if isinstance(v, str)}
    return _PostedForm(fields, _attributes(pairs), media)


def _attributes(items: Sequence[tuple[str, Any]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, value in items:
        match = _ATTRIBUTE.match(key)
        if match and isinstance(value, str):
            found.setdefault(match.group(1), []).append(value)
        elif key.startswith("attribute"):
            msg = f"`{key[:80]}` is not of the form attribute[CODE]"
            raise CaseInputError(msg, field="attribute")
    return found


def _lookup_key(state: AppState, key: str) -> str:
    with state.sessions() as session:
        return accounts.client_for_api_key(session, key, cache=state.api_keys)


def _report_in(center: Center, form: _PostedForm, client: str) -> ReportIn:
    fields = form.fields
    code = fields.get("service_code", "").strip()
    if not code:
        msg = "`service_code` is required"
        raise CaseInputError(msg, field="service_code")
    category = center.taxonomy.category(code)
    lon = open311.parse_coordinate(fields.get("long"), "long")
    lat = open311.parse_coordinate(fields.get("lat"), "lat")
    address = fields.get("address_string", "")
    address_id = fields.get("address_id", "")
    located = lon is not None or lat is not None or address.strip()
    if not located and address_id.strip():
        # the spec's third way to locate: the id of a place of the city (unit code, facility)
        address, lon, lat = center.admin.place(address_id[:64])
    return ReportIn(
        code,
        lon,
        lat,
        address=address,
        address_id=address_id,
        description=fields.get("description", ""),
        source="open311",
        client=client,
        photos=tuple(form.media),
        media_urls=(fields["media_url"],) if fields.get("media_url", "").strip() else (),
        reporter=(fields.get("email") or fields.get("account_id") or fields.get("device_id") or "")[
            :128
        ],
        attributes=open311.check_attributes(category, form.attributes),
    )


def _answer(
    reference: str, linked_reference: str | None, fields: Mapping[str, str]
) -> dict[str, Any]:
    notice = ""
    if linked_reference is not None:
        notice = f"Already reported: linked to open request {linked_reference}"
    return {
        "service_request_id": reference,
        "service_notice": notice,
        "account_id": fields.get("account_id", ""),
    }


@router.get("/requests.{fmt}")
def get_requests(
    fmt: str,
    request: Request,
    session: SessionDep,
    center: CenterDep,
    settings: SettingsDep,
    at: NowDep,
) -> Response:
    """Search requests by ids, service codes, dates and status (paginated extension)."""
    params = request.query_params
    _check(fmt, params.get("jurisdiction_id"), settings)
    query = open311.parse_query(params, now=at)
    found = service.search_requests(session, query)
    history = _flag(params.get("extensions"))
    records = [
        open311.record_of(
            center,
            one,
            base_url=str(request.base_url),
            events=service.case_events(session, one.case.id) if history else None,
        )
        for one in found
    ]
    return _render(fmt, "service_requests", records)


@router.get("/requests/{request_id}.{fmt}")
async def get_request(request_id: str, fmt: str, request: Request) -> Response:
    """One request, as a one-element list."""
    state = app_state(request)
    _check(fmt, request.query_params.get("jurisdiction_id"), state.settings)
    if _flag(request.query_params.get("extensions")):  # the history is read through a session
        records = await run_in_threadpool(_request_with_history, state, request_id, request)
        return _render(fmt, "service_requests", records)
    found = await state.case_store.by_reference(request_id[:32])
    if found is None:
        msg = f"no service request {request_id!r}"
        raise CaseNotFoundError(msg)
    record = open311.record_of(await current_center(state), found, base_url=str(request.base_url))
    return _render(fmt, "service_requests", [record])


def _request_with_history(
    state: AppState, request_id: str, request: Request
) -> list[dict[str, Any]]:
    with state.sessions() as session:
        found = service.request_by_reference(session, request_id[:32])
        if found is None:
            msg = f"no service request {request_id!r}"
            raise CaseNotFoundError(msg)
        center = state.centers.current(session)
        events = service.case_events(session, found.case.id)
        return [open311.record_of(center, found, base_url=str(request.base_url), events=events)]


@router.get("/tokens/{token}.{fmt}")
def get_token(
    token: str, fmt: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """Resolve a token to its request id (our tokens are the request references)."""
    _check(fmt, request.query_params.get("jurisdiction_id"), settings)
    found = service.request_by_reference(session, token[:32])
    if found is None:
        msg = f"no request for token {token!r}"
        raise CaseNotFoundError(msg)
    record = {"service_request_id": found.case.reference, "token": token}
    return _render(fmt, "service_requests", [record])


def _flag(value: str | None) -> bool:
    return (value or "").lower() in {"true", "1", "yes"}
