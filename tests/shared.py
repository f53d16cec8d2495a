"""The shared reference data (../shared/data): skipped with a reason, or failed under CI=true."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_or_skip() -> Path:
    """Return ../shared/data; skip with a reason, or fail under CI=true, when it is absent."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"../shared/data is missing at {SHARED_DATA} (required under CI=true)")
        pytest.skip(f"../shared/data not found at {SHARED_DATA}; the real-data tests need it")
    return SHARED_DATA
