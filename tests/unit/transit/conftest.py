"""The shared GTFS feeds (skipped with a reason, a failure under CI=true, when absent)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from tests.shared import shared_or_skip

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(scope="session")
def transit_data() -> Path:
    """The ../shared/data/transit folder."""
    return shared_or_skip() / "transit"
