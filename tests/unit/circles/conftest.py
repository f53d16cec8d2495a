"""Fixtures for the circles tests: the small and the full demo city (generated once)."""

from __future__ import annotations

import pytest

from shancheng.data.demo import DemoConfig, generate_demo_city


@pytest.fixture(scope="session")
def small_city():
    return generate_demo_city(DemoConfig.small())


@pytest.fixture(scope="session")
def full_city():
    return generate_demo_city(DemoConfig())




@pytest.fixture(autouse=True)
def _restore_logging():
    """The CLI installs a rich log handler (writing to stdout); take it away after each test
    so that later doctests in the same worker do not see log lines in their output."""
    import logging

    root = logging.getLogger("shancheng")
    saved = (root.handlers[:], root.level, root.propagate)
    yield
    root.handlers[:], root.level, root.propagate = saved[0], saved[1], saved[2]
