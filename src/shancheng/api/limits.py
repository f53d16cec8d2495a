"""Request bodies capped before they are read, per route.

A plain ASGI middleware: a body whose ``Content-Length`` exceeds the route's limit is refused
with 413 before a byte of it is read; a body sent without a length (chunked) is counted as it
arrives and refused the moment it passes the limit, so a server never buffers more than the
limit. Routes that take photos allow their photos (base64 in JSON, files in multipart) plus
the general limit; every other route the general limit (``api_max_body_bytes``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from shancheng.api.errors import open311_errors

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from shancheng.config import Settings

MAX_PHOTOS = 5


def body_limits(settings: Settings) -> list[tuple[re.Pattern[str], int]]:
    """Return ``(path pattern, bytes)`` of the routes with their own limit; first match wins."""
    base = settings.api_max_body_bytes
    photo = settings.cases_max_photo_bytes
    base64_photos = MAX_PHOTOS * (photo * 4 // 3 + 4)
    return [
        (re.compile(r"^/open311/requests\.(json|xml)$"), photo + base),  # one file, multipart
        (re.compile(r"^/cases$"), base64_photos + base),  # JSON with base64 photos
        (re.compile(r"^/cases/\d+/actions$"), base64_photos + base),
        (re.compile(r"^/lifelines/readings$"), 4 * base),  # up to 1,000 observations
        (re.compile(r"^/lifelines/telemetry/backfill$"), 16 * base),  # 500 buffered messages
    ]


class BodyLimit:
    """Refuse bodies larger than their route allows (413, in the called API's format)."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        """Wrap ``app`` with the limits of ``settings``."""
        self.app = app
        self.default = settings.api_max_body_bytes
        self.limits = body_limits(settings)

    def limit_for(self, path: str) -> int:
        """Return the body limit of ``path`` in bytes."""
        for pattern, limit in self.limits:
            if pattern.match(path):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse at once on the declared length, or count what arrives."""
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        limit = self.limit_for(path)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(path, limit)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, _message(limit))
            return message

        await self.app(scope, counted, send)


def _message(limit: int) -> str:
    return f"the request body is larger than this route's limit of {limit:,} bytes"


def _too_large(path: str, limit: int) -> Response:
    if path.startswith("/open311"):
        fmt = "xml" if path.endswith(".xml") else "json"
        return open311_errors(fmt, 413, [(413, _message(limit))])
    detail = [{"loc": ["body"], "msg": _message(limit), "type": "body_too_large"}]
    return JSONResponse({"detail": detail}, status_code=413, headers={"Connection": "close"})
