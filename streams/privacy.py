"""Right to erasure: delete one customer's rows from ClickHouse (``journey erase``).

The statements live in ``sql/admin/erase_customer.sql`` (readable and runnable by hand); the
customer id is a ``{customer_id:String}`` parameter, bound by the store (checked and escaped,
never pasted into SQL by string formatting). ``ALTER TABLE ... DELETE`` is a mutation on both
ClickHouse 18.16 and 26.x: it is queued and applied in the background, so :func:`erase_customer`
waits until ``system.mutations`` reports it done, then counts what is left (zero).

The worker's own state (the changelogged RocksDB table) is erased by :func:`tombstone_state`
(``journey erase --state``) while the workers are stopped: see ``docs/privacy.md``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.settings import Settings
from streams.store.base import Store, StoreError
from streams.store.migrations import split_statements

#: Name of the worker's Faust table (``streams.worker.app``); its changelog holds the states.
STATE_TABLE = "customer-state"
ERASE_SQL = Path(__file__).resolve().parent.parent / "sql" / "admin" / "erase_customer.sql"


@dataclass
class Erasure:
    """Rows found per table before the erasure and left after it (all zero when done)."""

    customer_id: str
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not any(self.after.values())


def erase_statements(path: Path = ERASE_SQL) -> list[tuple[str, str]]:
    """``(table, statement)`` pairs of the erasure script, in order."""
    out = []
    for stmt in split_statements(path.read_text()):
        code = " ".join(
            line.split("--", 1)[0] for line in stmt.splitlines() if line.split("--", 1)[0].strip()
        )
        words = code.split()
        if len(words) < 3 or [w.upper() for w in words[:2]] != ["ALTER", "TABLE"]:
            raise StoreError(f"{path.name}: unexpected statement {code[:60]!r}")
        out.append((words[2].strip("`"), stmt))
    return out


def _count(store: Store, table: str, customer_id: str) -> int:
    rows = store.execute(
        f"SELECT count() FROM `{table}` WHERE customer_id = {{customer_id:String}}",
        {"customer_id": customer_id},
    )
    return int(rows[0][0])


def _pending_mutations(store: Store, tables: list[str]) -> int:
    rows = store.execute(
        "SELECT count() FROM system.mutations WHERE database = currentDatabase() "
        "AND is_done = 0 AND has(splitByChar(',', {tables:String}), table)",
        {"tables": ",".join(tables)},
    )
    return int(rows[0][0])


def erase_customer(store: Store, customer_id: str, *, timeout: float = 300.0) -> Erasure:
    """Delete every row of ``customer_id`` and wait until the mutations are applied."""
    if not customer_id:
        raise StoreError("erase: empty customer id")
    present = {
        r[0]
        for r in store.execute("SELECT name FROM system.tables WHERE database = currentDatabase()")
    }
    # roll-up tables appear on first use of the analytics commands: skip those not built yet
    statements = [(t, stmt) for t, stmt in erase_statements() if t in present]
    tables = [t for t, _ in statements]
    result = Erasure(customer_id)
    for table in tables:
        result.before[table] = _count(store, table, customer_id)
    for _table, stmt in statements:
        store.execute(stmt, {"customer_id": customer_id})
    deadline = time.monotonic() + timeout
    while _pending_mutations(store, tables) and time.monotonic() < deadline:
        time.sleep(0.2)
    for table in tables:
        result.after[table] = _count(store, table, customer_id)
    return result


def state_changelog_topic(settings: Settings) -> str:
    """The worker table's changelog topic (Faust's ``<app_id>-<table>-changelog``)."""
    return f"{settings.worker.app_id}-{STATE_TABLE}-changelog"


def tombstone_state(settings: Settings, customer_id: str, timeout: float = 30.0) -> list[int]:
    """Send a tombstone for ``customer_id`` to every partition of the state changelog.

    The key lives on one partition (the customer's input partition, whichever partitioner the
    producers use); a tombstone on the others deletes nothing, so sending one to each needs no
    scan of the topic. Workers must be stopped: on restart Faust replays the changelog tail into
    each RocksDB (and standby) and deletes the key; Kafka's compaction drops the old values.
    Returns the partitions written.
    """
    from confluent_kafka import Producer

    from streams.kafka.clients import producer_config

    topic = state_changelog_topic(settings)
    producer = Producer(producer_config(settings.kafka))
    meta = producer.list_topics(topic, timeout=timeout).topics.get(topic)
    if meta is None or meta.error is not None or not meta.partitions:
        raise LookupError(
            f"no state changelog topic {topic!r}: is JOURNEY_WORKER__APP_ID right, and has a "
            "worker run with it?"
        )
    failures: list[str] = []

    def report(err: Any, _msg: Any) -> None:
        if err is not None:
            failures.append(str(err))

    partitions = sorted(meta.partitions)
    for p in partitions:
        producer.produce(
            topic, key=customer_id.encode(), value=None, partition=p, on_delivery=report
        )
    left = producer.flush(timeout)
    if left or failures:
        raise RuntimeError(f"tombstones to {topic} not all delivered: {failures or left}")
    return partitions
