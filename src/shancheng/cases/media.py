"""Photos attached to reports: recognised by their bytes, never by their name; no metadata kept.

Only JPEG, PNG and WebP are accepted; the type is read from the file's magic bytes, a declared
content type must agree with it, and size is capped. A file renamed ``.jpg`` that is really a
script or a PDF is refused with a message that says what was found. What is stored is the
picture re-encoded by Pillow (:func:`without_metadata`): the EXIF block with its GPS position,
the device and the time, XMP, comments and text chunks are gone, and the orientation the
camera recorded is applied to the pixels.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from PIL import Image, ImageOps, UnidentifiedImageError

from shancheng.errors import CaseInputError

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"WEBP", 8, "image/webp"),
)
_MIN_BYTES = 12


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo as received: its bytes, and the content type the client declared (if any)."""

    content: bytes
    declared_type: str | None = None
    filename: str = ""


def detect_image_type(content: bytes) -> str | None:
    r"""Return the MIME type of a JPEG, PNG or WebP image from its first bytes, else ``None``.

    Examples
    --------
    >>> detect_image_type(b"\x89PNG\r\n\x1a\n" + bytes(8))
    'image/png'
    >>> detect_image_type(b"<?php echo 1; ?>") is None
    True
    """
    if len(content) < _MIN_BYTES:
        return None
    for magic, offset, mime in _MAGIC:
        if content[offset : offset + len(magic)] == magic:
            if mime == "image/webp" and content[:4] != b"RIFF":
                continue
            return mime
    return None


def check_photo(photo: Photo, *, max_bytes: int, index: int = 0) -> str:
    """Return the photo's real MIME type, or refuse it.

    Raises
    ------
    CaseInputError
        Empty, larger than ``max_bytes``, not a JPEG/PNG/WebP by its bytes, or declared as
        another type than the bytes show. The field is ``media[index]``.
    """
    field = f"media[{index}]"
    name = f" ({photo.filename!r})" if photo.filename else ""
    size = len(photo.content)
    if size == 0:
        msg = f"`{field}`{name} is empty"
        raise CaseInputError(msg, field=field)
    if size > max_bytes:
        msg = f"`{field}`{name} is {size:,} bytes; the limit is {max_bytes:,} bytes"
        raise CaseInputError(msg, field=field)
    mime = detect_image_type(photo.content)
    if mime is None:
        head = photo.content[:8].hex(" ")
        msg = (
            f"`{field}`{name} is not a JPEG, PNG or WebP image (first bytes: {head}); "
            "the file name or declared type does not count, its content does"
        )
        raise CaseInputError(msg, field=field)
    declared = (photo.declared_type or "").split(";")[0].strip().lower()
    if declared and declared not in {mime, "application/octet-stream"}:
        msg = f"`{field}`{name} is declared {declared!r} but its bytes are {mime}"
        raise CaseInputError(msg, field=field)
    return mime


MAX_PIXELS = 50_000_000
"""Largest picture accepted (50 megapixels): a decompression bomb is refused, not decoded."""
_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def without_metadata(photo: Photo, mime: str, *, index: int = 0) -> Photo:
    """Return the photo re-encoded with its pixels only: no EXIF (GPS, device), XMP or text.

    The orientation the camera recorded is applied first, so the picture looks as before.

    Raises
    ------
    CaseInputError
        The bytes do not decode as the image they claim to be, or the picture is larger
        than :data:`MAX_PIXELS`. The field is ``media[index]``.
    """
    field = f"media[{index}]"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(photo.content), formats=[_FORMATS[mime]]) as image:
                if image.width * image.height > MAX_PIXELS:
                    msg = (
                        f"`{field}` is {image.width} x {image.height} pixels; the limit is "
                        f"{MAX_PIXELS:,} pixels"
                    )
                    raise CaseInputError(msg, field=field)
                upright = ImageOps.exif_transpose(image)
                out = io.BytesIO()
                pixels = upright.convert("RGB") if mime == "image/jpeg" else upright
                pixels.save(out, format=_FORMATS[mime], **_SAVE_OPTIONS[mime])
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        msg = f"`{field}` cannot be decoded as {mime}: {str(exc)[:120]}"
        raise CaseInputError(msg, field=field) from exc
    return replace(photo, content=out.getvalue(), declared_type=mime)


_SAVE_OPTIONS: dict[str, dict[str, object]] = {
    "image/jpeg": {"quality": 90, "optimize": True},
    "image/png": {"optimize": True},
    "image/webp": {"quality": 90},
}


def clean_photo(photo: Photo, *, max_bytes: int, index: int = 0) -> tuple[Photo, str]:
    """Check a photo (:func:`check_photo`) and strip its metadata; return it and its type."""
    mime = check_photo(photo, max_bytes=max_bytes, index=index)
    return without_metadata(photo, mime, index=index), mime


MAX_URL_CHARS = 2000


def check_media_url(url: str, *, field: str = "media_url") -> str:
    """Return a client's photo URL stripped, or refuse what is not a plain http(s) URL.

    Open311 clients that host the photo themselves send its address; it is kept as the
    report's photo reference, never fetched by the server.

    Raises
    ------
    CaseInputError
        Not http or https, no host, credentials in it, spaces or control characters, or
        longer than 2,000 characters.

    Examples
    --------
    >>> check_media_url(" https://img.example.org/p/1.jpg ")
    'https://img.example.org/p/1.jpg'
    """
    text = url.strip()
    if len(text) > MAX_URL_CHARS:
        msg = f"`{field}` has {len(text):,} characters; the limit is {MAX_URL_CHARS:,}"
        raise CaseInputError(msg, field=field)
    if any(ch.isspace() or not ch.isprintable() or ch in "<>\"'`" for ch in text):
        msg = f"`{field}` must be a URL without spaces, quotes or angle brackets, got {text[:80]!r}"
        raise CaseInputError(msg, field=field)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        msg = f"`{field}` is not a valid URL ({exc}): {text[:80]!r}"
        raise CaseInputError(msg, field=field) from exc
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        msg = f"`{field}` must be an http:// or https:// URL with a host, got {text[:80]!r}"
        raise CaseInputError(msg, field=field)
    if parts.username or parts.password:
        msg = f"`{field}` must not carry a user name or password"
        raise CaseInputError(msg, field=field)
    del port
    return text
