"""Download an OpenStreetMap extract from Geofabrik by region name, resuming and verified.

Geofabrik publishes ``<region>-latest.osm.pbf`` with a ``.md5`` file beside it. The download
goes to ``<file>.part``; when that exists, the transfer resumes with an HTTP ``Range``
request (a server that ignores the range restarts it). The finished file is checked against
the published MD5 and only then renamed into place, so a broken download never looks like a
good extract.
"""

from __future__ import annotations

import hashlib
import logging
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from shancheng.errors import FetchError

if TYPE_CHECKING:
    from collections.abc import Callable

logger = logging.getLogger(__name__)

GEOFABRIK_URL = "https://download.geofabrik.de"
REGIONS = {
    "chongqing": "asia/china/chongqing",
    "china": "asia/china",
    "monaco": "europe/monaco",
    "malta": "europe/malta",
    "portugal": "europe/portugal",
}
"""Short names for common regions; any Geofabrik path (``asia/china/sichuan``) also works."""
_CHUNK = 1 << 16
_REGION = re.compile(r"^[a-z0-9-]+(/[a-z0-9-]+)*$")
_HTTP_PARTIAL = 206


def region_path(region: str) -> str:
    """Geofabrik path of a region name (``chongqing`` → ``asia/china/chongqing``).

    Examples
    --------
    >>> region_path("chongqing"), region_path("europe/malta")
    ('asia/china/chongqing', 'europe/malta')
    """
    path = REGIONS.get(region.lower(), region.lower()).strip("/")
    if not _REGION.match(path):
        msg = f"region {region!r} is not a Geofabrik region path like asia/china/chongqing"
        raise FetchError(msg)
    return path


def fetch_region(
    region: str,
    directory: str | Path,
    *,
    base_url: str = GEOFABRIK_URL,
    progress: Callable[[int], None] | None = None,
    timeout_s: float = 60.0,
) -> Path:
    """Download ``<region>-latest.osm.pbf`` into ``directory``, resuming and checking MD5.

    Raises
    ------
    FetchError
        The server is unreachable or refuses, or the MD5 differs (the partial file is then
        removed so the next try starts clean).
    """
    path = region_path(region)
    name = f"{path.rsplit('/', 1)[-1]}-latest.osm.pbf"
    url = f"{base_url.rstrip('/')}/{path}-latest.osm.pbf"
    target = Path(directory) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    expected = _published_md5(url + ".md5", timeout_s)
    part = target.with_name(name + ".part")
    _download(url, part, timeout_s, progress or (lambda _n: None))
    actual = _md5(part)
    if actual != expected:
        part.unlink(missing_ok=True)
        msg = f"{url}: MD5 {actual} differs from the published {expected}; download removed"
        raise FetchError(msg)
    part.replace(target)
    logger.info("downloaded %s (%d bytes, MD5 ok)", target, target.stat().st_size)
    return target


def _published_md5(url: str, timeout_s: float) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310
            text = response.read(4096).decode("ascii", errors="replace")
    except (urllib.error.URLError, OSError) as exc:
        msg = f"{url}: cannot fetch the published checksum ({exc})"
        raise FetchError(msg) from exc
    digest = text.split()[0].lower() if text.split() else ""
    if not re.fullmatch(r"[0-9a-f]{32}", digest):
        msg = f"{url}: not an MD5 checksum file (starts {text[:40]!r})"
        raise FetchError(msg)
    return digest


def _download(url: str, part: Path, timeout_s: float, progress: Callable[[int], None]) -> None:
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url)  # noqa: S310 - http(s) URL built above
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            resumed = have > 0 and response.status == _HTTP_PARTIAL
            if have and not resumed:
                logger.info("%s: server ignored the range request; starting over", url)
            else:
                progress(have)
            with part.open("ab" if resumed else "wb") as handle:
                for block in iter(lambda: response.read(_CHUNK), b""):
                    handle.write(block)
                    progress(len(block))
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # noqa: PLR2004 - range past the end: already complete
            return
        msg = f"{url}: HTTP {exc.code} {exc.reason}"
        raise FetchError(msg) from exc
    except (urllib.error.URLError, OSError) as exc:
        msg = f"{url}: download interrupted ({exc}); run the command again to resume"
        raise FetchError(msg) from exc


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
