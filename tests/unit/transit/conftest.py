"""The shared GTFS feeds, once per module (skipped with a reason, a failure under CI=true)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TRANSIT = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "transit"


@pytest.fixture(scope="session")
def transit_data() -> Path:
    """The ../shared/data/transit folder."""
    if not TRANSIT.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"../shared/data/transit is missing at {TRANSIT} (required under CI)")
        pytest.skip(f"../shared/data/transit not found at {TRANSIT}; the feed tests need it")
    return TRANSIT
