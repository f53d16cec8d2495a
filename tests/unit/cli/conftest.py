"""CLI tests run the real entry point, which installs a log handler: undo it after each test."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def _restore_logging():
    """The CLI puts a rich handler on stdout; doctests run later in the worker must not see it."""
    logger = logging.getLogger("shancheng")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved
