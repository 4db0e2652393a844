"""The journey engine: every decision about a customer, pure and typed.

No Kafka, Faust, ClickHouse or Prometheus here; the stream worker and the backfill both call
:class:`PartitionEngine`. See ``docs/rules.md`` for the rules and their settings.
"""

from streams.engine.config import DEFAULT_STALL_RULES, EngineConfig, StallRule
from streams.engine.outputs import (
    CohortEntry,
    CustomerSnapshot,
    Defection,
    Duplicate,
    Orphan,
    Output,
    Resurrection,
    RiskChange,
    StallCleared,
    StallRaised,
    TooLate,
    WindowOutcome,
)
from streams.engine.partition import PartitionEngine, snapshot
from streams.engine.state import CustomerState

__all__ = [
    "DEFAULT_STALL_RULES",
    "CohortEntry",
    "CustomerSnapshot",
    "CustomerState",
    "Defection",
    "Duplicate",
    "EngineConfig",
    "Orphan",
    "Output",
    "PartitionEngine",
    "Resurrection",
    "RiskChange",
    "StallCleared",
    "StallRaised",
    "StallRule",
    "TooLate",
    "WindowOutcome",
    "snapshot",
]
