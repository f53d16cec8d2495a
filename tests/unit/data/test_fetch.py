"""Geofabrik-style download from a local HTTP server on 127.0.0.1: resume, checksum."""

from __future__ import annotations

import hashlib
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shancheng.data.fetch import fetch_region, region_path
from shancheng.errors import FetchError

PAYLOAD = bytes(range(256)) * 4_000  # ~1 MB


class _RangeHandler(SimpleHTTPRequestHandler):
    """Serves files, honouring `Range: bytes=N-` like Geofabrik's servers; counts requests."""

    ranges: list[str | None] = []  # noqa: RUF012 - shared on purpose, reset per server

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    def do_GET(self):
        path = self.translate_path(self.path)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            self.send_error(404)
            return
        wanted = self.headers.get("Range")
        type(self).ranges.append(wanted)
        if wanted and wanted.startswith("bytes="):
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            data = data[start:]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "mirror"
    (root / "asia/china").mkdir(parents=True)
    (root / "asia/china/chongqing-latest.osm.pbf").write_bytes(PAYLOAD)
    digest = hashlib.md5(PAYLOAD, usedforsecurity=False).hexdigest()
    (root / "asia/china/chongqing-latest.osm.pbf.md5").write_text(
        f"{digest}  chongqing-latest.osm.pbf\n"
    )
    _RangeHandler.ranges = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_RangeHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


def test_region_names():
    assert region_path("chongqing") == "asia/china/chongqing"
    with pytest.raises(FetchError, match="not a Geofabrik region"):
        region_path("../etc/passwd")


def test_download_verifies_the_md5(server, tmp_path):
    url, _ = server
    seen = []
    path = fetch_region("chongqing", tmp_path / "out", base_url=url, progress=seen.append)
    assert path.name == "chongqing-latest.osm.pbf"
    assert path.read_bytes() == PAYLOAD
    assert sum(seen) == len(PAYLOAD)
    assert not (tmp_path / "out" / "chongqing-latest.osm.pbf.part").exists()


def test_an_interrupted_download_resumes_with_a_range_request(server, tmp_path):
    url, _ = server
    out = tmp_path / "out"
    out.mkdir()
    (out / "chongqing-latest.osm.pbf.part").write_bytes(PAYLOAD[:300_000])
    path = fetch_region("asia/china/chongqing", out, base_url=url)
    assert path.read_bytes() == PAYLOAD
    assert "bytes=300000-" in _RangeHandler.ranges


def test_a_corrupt_download_is_refused_and_removed(server, tmp_path):
    url, root = server
    out = tmp_path / "out"
    out.mkdir()
    (out / "chongqing-latest.osm.pbf.part").write_bytes(b"\xff" * 1000)  # wrong start bytes
    with pytest.raises(FetchError, match="differs from the published"):
        fetch_region("chongqing", out, base_url=url)
    assert list(out.iterdir()) == []
    (root / "asia/china/chongqing-latest.osm.pbf.md5").write_text("<html>not found</html>")
    with pytest.raises(FetchError, match="not an MD5 checksum file"):
        fetch_region("chongqing", out, base_url=url)


def test_unreachable_server_is_a_clear_error(tmp_path):
    with pytest.raises(FetchError, match="cannot fetch the published checksum"):
        fetch_region("chongqing", tmp_path, base_url="http://127.0.0.1:9", timeout_s=2)
