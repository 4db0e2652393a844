"""Fixtures for the engine tests (pure core: no broker, no ClickHouse).

Helpers (``T0``, ``run``, ``kinds``) live in :mod:`streams.testing.engine`: a module named
``conftest`` cannot be imported by name once several test folders have one.
"""

from __future__ import annotations

import pytest

from streams.engine import EngineConfig, PartitionEngine


@pytest.fixture
def engine() -> PartitionEngine:
    return PartitionEngine(EngineConfig())
