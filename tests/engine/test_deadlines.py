from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from streams.engine.deadlines import DeadlineIndex


def test_one_live_entry_per_customer_and_lazy_invalidation() -> None:
    idx = DeadlineIndex()
    idx.schedule("a", 50)
    idx.schedule("a", 80)  # later: the earlier entry stays live (it will pop and reschedule)
    idx.schedule("b", 30)
    idx.schedule("b", 10)  # earlier: the 30 entry becomes stale
    assert len(idx) == 2 and idx.heap_size() == 3
    assert list(idx.pop_due(40)) == ["b"]  # stale (30, b) skipped silently
    assert idx.next_instant() == 50
    assert list(idx.pop_due(100)) == ["a"]
    assert len(idx) == 0 and idx.heap_size() == 0


def test_reschedule_while_popping() -> None:
    idx = DeadlineIndex()
    for i, cid in enumerate("abc"):
        idx.schedule(cid, i)
    seen = []
    for cid in idx.pop_due(5):
        seen.append(cid)
        idx.schedule(cid, 100)
    assert seen == ["a", "b", "c"] and len(idx) == 3


def test_core_imports_no_infrastructure() -> None:
    code = (
        "import sys, streams.engine, streams.engine.partition; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('faust', 'kafka', 'confluent_kafka', 'aiokafka', 'clickhouse_driver', 'chdb', "
        "'prometheus_client', 'pydantic')]; print(bad)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "[]"
