"""Module-scoped imports of the real extracts in ../shared/data (each built once per module)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from tests.shared import shared_or_skip

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(scope="module")
def networks() -> Path:
    """``../shared/data/networks``."""
    return shared_or_skip() / "networks"
