"""Errors → HTTP: one table from error class to status, and the bodies clients receive.

REST endpoints answer 4xx with Pydantic's shape (``{"detail": [{"loc", "msg", "type"}]}``);
Open311 endpoints answer with the spec's ``errors`` list, in the request's format (XML or JSON)
and with the spec's codes (400 bad argument, 403 bad API key, 404 unknown service or request).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import orjson
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from shancheng.cases import open311
from shancheng.errors import (
    AuthenticationError,
    CaseError,
    CaseInputError,
    CaseNotFoundError,
    ConflictError,
    CreditCodeError,
    NotFoundError,
    OutsideCityError,
    PermissionDeniedError,
    QueryError,
    RateLimitedError,
    RegistryImportError,
    ShanchengError,
    TransitionNotAllowedError,
    UnknownCategoryError,
)

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

STATUS: tuple[tuple[type[Exception], int, int], ...] = (
    # error class, REST status, Open311 status
    (AuthenticationError, 401, 403),
    (PermissionDeniedError, 403, 403),
    (CaseNotFoundError, 404, 404),
    (NotFoundError, 404, 404),
    (QueryError, 422, 400),
    (UnknownCategoryError, 422, 404),
    (TransitionNotAllowedError, 409, 400),
    (ConflictError, 409, 400),
    (RateLimitedError, 429, 429),
    (OutsideCityError, 422, 400),
    (CaseInputError, 422, 400),
    (CreditCodeError, 422, 400),
    (RegistryImportError, 422, 400),
    (CaseError, 400, 400),
    (ShanchengError, 400, 400),
)
"""First matching row wins: subclasses before their bases."""


def status_of(exc: Exception, *, open311_style: bool) -> int:
    """Return the HTTP status for ``exc`` (REST or Open311 flavour)."""
    for cls, rest, o311 in STATUS:
        if isinstance(exc, cls):
            return o311 if open311_style else rest
    return 500


def error_code(exc: Exception) -> str:
    """Return the stable code of an error, which clients translate.

    ``OutsideCityError`` → ``outside_city``; the message (``msg``) stays English, for logs.
    """
    name = type(exc).__name__.removesuffix("Error")
    return _WORD_START.sub("_", name).lower()


_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _field(exc: Exception) -> str:
    return getattr(exc, "field", "") or type(exc).__name__


def open311_format(request: Request) -> str:
    """Return ``xml`` or ``json`` from the request path's suffix (JSON when unclear)."""
    return "xml" if request.url.path.endswith(".xml") else "json"


def open311_errors(fmt: str, status: int, items: list[tuple[int, str]]) -> Response:
    """Return the spec's error document."""
    body = open311.errors(items)
    if fmt == "xml":
        return Response(
            open311.to_xml("errors", body), status_code=status, media_type="text/xml; charset=utf-8"
        )
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json; charset=utf-8",
    )


class RefuseNulBytes:
    """ASGI middleware: refuse a NUL byte in the path, the query or a JSON or form body.

    No database accepts NUL in text (PostgreSQL answers ``DataError``: a 500 if it got that
    far). A path or query holding one is answered 400; a JSON or URL-encoded body 422, naming
    the field, as a validation error would. Bodies are read here whole before the route sees
    them (:class:`~shancheng.api.limits.BodyLimit`, outside this one, caps their size) and
    parsed only when their bytes hold a NUL's encoding. Multipart bodies (files, which may
    hold NUL bytes) and Open311's forms (checked in Open311's own format) are left alone.
    A plain ASGI class, not ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware``
    adds a task and a stream to every request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse the request or pass it on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if b"%00" in scope.get("query_string", b"") or "\x00" in path:
            msg = "the URL contains a NUL byte (%00); remove it"
            response: Response
            if path.startswith("/open311"):
                fmt = "xml" if path.endswith(".xml") else "json"
                response = open311_errors(fmt, 400, [(400, msg)])
            else:
                detail = [{"loc": ["query"], "msg": msg, "type": "nul_byte"}]
                response = JSONResponse({"detail": detail}, status_code=400)
            await response(scope, receive, send)
            return
        kind = _body_kind(scope) if not path.startswith("/open311") else None
        if kind is not None:
            messages, refused = await _read_body(receive)
            body = b"".join(m.get("body", b"") for m in messages)
            where = None if refused else _nul_field(body, kind)
            if where is not None:
                name = ".".join(str(part) for part in where)
                msg = f"`{name[:80]}` contains a NUL byte; send plain UTF-8 text"
                loc: list[str | int] = ["body", *where]
                field: dict[str, object] = {"loc": loc, "msg": msg, "type": "nul_byte"}
                await JSONResponse({"detail": [field]}, status_code=422)(scope, receive, send)
                return
            receive = _replay(messages, receive, refused)
        await self.app(scope, receive, send)


def _body_kind(scope: Scope) -> str | None:
    """``json``, ``form`` (URL-encoded) or ``None`` (no body to check) by the content type."""
    if scope.get("method") not in {"POST", "PUT", "PATCH", "DELETE"}:
        return None
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            if media == b"application/json" or media.endswith(b"+json"):
                return "json"
            if media == b"application/x-www-form-urlencoded":
                return "form"
            return None
    return None


async def _read_body(receive: Receive) -> tuple[list[Message], Exception | None]:
    """Receive the request's body messages (up to its end, or the client's disconnect).

    A refusal raised while receiving (:class:`~shancheng.api.limits.BodyLimit`'s 413 for a
    chunked body past the limit) is returned, for the route to meet where it reads the body,
    so the application answers it as before.
    """
    messages: list[Message] = []
    while True:
        try:
            message = await receive()
        except Exception as exc:  # noqa: BLE001 - handed on to the application unchanged
            return messages, exc
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages, None


def _replay(messages: list[Message], receive: Receive, refused: Exception | None) -> Receive:
    """Return a ``receive`` that gives ``messages`` again, then what the client sends next.

    ``refused`` (an error met while the body was read) is raised after the messages instead.
    """
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        if refused is not None:
            raise refused
        return await receive()

    return replayed


def _nul_field(body: bytes, kind: str) -> list[str | int] | None:
    """Return the path of the first field holding a NUL byte (``[]``: the body itself)."""
    if kind == "json":
        if b"\\u0000" not in body:  # JSON can hold a NUL only escaped
            return None
        try:
            return _nul_in(orjson.loads(body), [])
        except orjson.JSONDecodeError:
            return None  # not JSON: the route's own validation says so
    if b"%00" not in body and b"\x00" not in body:
        return None
    text = body.decode("utf-8", errors="replace")
    for name, value in parse_qsl(text, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return [name.replace("\x00", "")]
    return None


def _nul_in(value: object, where: list[str | int]) -> list[str | int] | None:
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = [*where, key.replace("\x00", "")]
            if "\x00" in key:
                return here
            found = _nul_in(item, here)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _nul_in(item, [*where, i])
            if found is not None:
                return found
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers for shancheng's errors and request validation."""

    async def on_error(request: Request, exc: Exception) -> Response:
        is_311 = request.url.path.startswith("/open311")
        status = status_of(exc, open311_style=is_311)
        headers = {}
        if isinstance(exc, RateLimitedError):
            headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
        if isinstance(exc, AuthenticationError) and not is_311:
            headers["WWW-Authenticate"] = "Bearer"
        if is_311:
            response = open311_errors(open311_format(request), status, [(status, str(exc))])
            response.headers.update(headers)
            return response
        detail = [
            {
                "loc": ["body", _field(exc)],
                "msg": str(exc),
                "type": type(exc).__name__,
                "code": error_code(exc),
            }
        ]
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)  # noqa: S101
        if request.url.path.startswith("/open311"):
            items = [(400, f"{'.'.join(map(str, e['loc']))}: {e['msg']}") for e in exc.errors()]
            return open311_errors(open311_format(request), 400, items)
        detail = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"], "code": e["type"]}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    app.add_exception_handler(ShanchengError, on_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_bug)


async def _on_http(request: Request, exc: Exception) -> Response:
    # Starlette's own refusals (an unreadable multipart body, a body over the size limit)
    # answer in the format of the API that was called
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    if request.url.path.startswith("/open311"):
        return open311_errors(
            open311_format(request), exc.status_code, [(exc.status_code, str(exc.detail))]
        )
    code = f"http_{exc.status_code}"
    detail = [{"loc": ["body"], "msg": str(exc.detail), "type": "http_error", "code": code}]
    return JSONResponse(
        {"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


async def _on_bug(request: Request, exc: Exception) -> Response:
    # a bug: logged with its traceback; the client gets a 500 in the API's own format
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    msg = "internal error; the server logged it"
    if request.url.path.startswith("/open311"):
        return open311_errors(open311_format(request), 500, [(500, msg)])
    detail = [{"loc": [], "msg": msg, "type": "internal_error", "code": "internal_error"}]
    return JSONResponse({"detail": detail}, status_code=500)
