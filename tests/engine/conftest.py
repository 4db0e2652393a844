"""Shared helpers for the engine tests (pure core: no broker, no ClickHouse)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from streams.engine import EngineConfig, PartitionEngine
from streams.engine.builders import Event

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z


def run(engine: PartitionEngine, events: Iterable[Event]) -> list[Any]:
    """Feed events one by one; all records emitted."""
    out: list[Any] = []
    for event_type, event in events:
        out += engine.process(event_type, event)
    return out


def kinds(records: Iterable[Any], kind: str) -> list[Any]:
    return [r for r in records if r.kind == kind]


@pytest.fixture
def engine() -> PartitionEngine:
    return PartitionEngine(EngineConfig())
