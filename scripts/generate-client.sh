#!/usr/bin/env bash
# Regenerate the dashboard's typed API client from the server's OpenAPI schema:
# dump the schema (no server needed), then openapi-typescript → web/src/api/schema.d.ts.
# Run after changing an endpoint or schema; tests/e2e/test_dashboard_client.py checks it is current.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
"$PY" scripts/dump_openapi.py > web/src/api/openapi.json
cd web && npx --no-install openapi-typescript src/api/openapi.json -o src/api/schema.d.ts
