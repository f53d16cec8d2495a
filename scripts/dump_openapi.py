# ruff: noqa: INP001 - a script, not a package
"""Print the API's OpenAPI schema (JSON) for the dashboard's generated TypeScript client.

The app is built on the small demo city in a temporary folder with an in-memory SQLite
database, so the dump needs no server, no data and no network.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from pathlib import Path


def main() -> int:
    """Write the schema to stdout, keys sorted so the file diffs cleanly."""
    logging.disable(logging.WARNING)
    os.environ.setdefault("SHANCHENG_QUIET", "1")
    from shancheng.api.app import create_app  # noqa: PLC0415 - after the environment is set
    from shancheng.config import Settings  # noqa: PLC0415
    from shancheng.data.demo import DemoConfig, write_demo_city  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        write_demo_city(data_dir / "demo", DemoConfig.small())
        settings = Settings(
            data_dir=data_dir, database_url="sqlite://", cases_classifier_warmup=False
        )
        schema = create_app(settings).openapi()
    sys.stdout.write(json.dumps(schema, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
