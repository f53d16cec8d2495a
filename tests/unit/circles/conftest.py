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
