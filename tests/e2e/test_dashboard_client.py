"""The dashboard's typed client (web/src/api/schema.d.ts) matches the server's OpenAPI schema."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from tests.e2e.dashboard import ROOT

pytestmark = pytest.mark.slow


def test_generated_client_is_current(tmp_path):
    web = ROOT / "web"
    generator = web / "node_modules" / ".bin" / "openapi-typescript"
    if not generator.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("web/node_modules is missing: `make setup` runs npm ci")
        pytest.skip("web/node_modules is missing; run `make setup`")
    schema = tmp_path / "openapi.json"
    dump = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "dump_openapi.py")],
        check=True,
        capture_output=True,
        text=True,
    )
    schema.write_text(dump.stdout, encoding="utf-8")
    out = tmp_path / "schema.d.ts"
    subprocess.run(
        [str(generator), str(schema), "-o", str(out)], check=True, capture_output=True, cwd=web
    )
    committed = (web / "src" / "api" / "schema.d.ts").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == committed, (
        "web/src/api/schema.d.ts is stale: run `make client` (scripts/generate-client.sh) "
        "and commit the result"
    )
