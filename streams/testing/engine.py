"""Helpers for testing code built on the pure journey engine (no broker, no ClickHouse).

Shipped in the package, like the broker and ClickHouse fixtures, so rules written on top of the
engine can be tested the same way the engine's own tests do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from streams.engine import PartitionEngine
from streams.engine.builders import Event

#: A fixed, arbitrary opening instant for tests (2023-11-14T22:13:20Z, epoch ms).
T0 = 1_700_000_000_000


def run(engine: PartitionEngine, events: Iterable[Event]) -> list[Any]:
    """Feed events one by one; all records emitted."""
    out: list[Any] = []
    for event_type, event in events:
        out += engine.process(event_type, event)
    return out


def kinds(records: Iterable[Any], kind: str) -> list[Any]:
    """The records of one kind (``"stall_raised"``, ``"defection"`` ...), in order."""
    return [r for r in records if r.kind == kind]
