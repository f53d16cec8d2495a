"""Module-scoped imports of the real extracts in ../shared/data (each built once per module)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"


def shared_or_skip() -> Path:
    """The shared data folder; skip with a reason, or fail under CI=true, when absent."""
    if not SHARED.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"../shared/data is missing at {SHARED} (required under CI=true)")
        pytest.skip(f"../shared/data not found at {SHARED}; the real-data tests need it")
    return SHARED


@pytest.fixture(scope="module")
def networks() -> Path:
    """``../shared/data/networks``."""
    return shared_or_skip() / "networks"
