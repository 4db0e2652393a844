"""The sink's batcher: columnar writes (dict rows and tuple rows), retries that lose nothing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from streams.codec import SingleObjectCodec
from streams.embedded.stack import simulated_events
from streams.sink.avro_rows import AvroEventRows
from streams.sink.batcher import Batcher
from streams.store import migrate, open_store
from streams.store.base import Params, QueryResult, Store, StoreError

CODEC = SingleObjectCodec()


class FlakyStore(Store):
    """A real store whose first ``failures`` calls fail as a refused connection would."""

    scheme = "flaky"

    def __init__(self, inner: Store, failures: int) -> None:
        super().__init__(inner.database)
        self.inner = inner
        self.failures = failures

    def _maybe_fail(self) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise StoreError("connection refused", retryable=True, code=210)

    def query_columns(self, sql: str, params: Params | None = None) -> QueryResult:
        self._maybe_fail()
        return self.inner.query_columns(sql, params)

    def insert(self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]]) -> int:
        self._maybe_fail()
        return self.inner.insert(table, columns, data)

    def insert_formatted(
        self, table: str, columns: Sequence[str], fmt: str, payload: bytes, rows: int
    ) -> int:
        self._maybe_fail()
        return self.inner.insert_formatted(table, columns, fmt, payload, rows)

    @property
    def insert_formats(self) -> frozenset[str]:  # type: ignore[override]
        return self.inner.insert_formats

    def ping(self) -> None:
        self.inner.ping()

    def server_version(self) -> str:
        return self.inner.server_version()

    def close(self) -> None:
        pass


def _table(store: Store) -> None:
    store.execute(
        "CREATE TABLE t (id UInt32, name String, at DateTime('UTC')) ENGINE = MergeTree ORDER BY id"
    )


def test_tuple_and_dict_rows_land_alike(store: Store) -> None:
    _table(store)
    b = Batcher(store)
    b.add_tuples("t", ("id", "name", "at", "not_a_column"), [(1, "a", 86_400, "x")])
    assert (b.pending, b.flush()) == (1, 1)
    b.add("t", [{"id": 2, "name": "b"}])
    assert b.flush() == 1
    rows = store.execute("SELECT id, name, toUnixTimestamp(at) FROM t ORDER BY id")
    assert rows == [(1, "a", 86_400), (2, "b", 0)]


def test_refused_connections_are_retried_until_stored(store: Store) -> None:
    """Both the column lookup and the insert fail first (ClickHouse restarting)."""
    _table(store)
    slept: list[float] = []
    b = Batcher(FlakyStore(store, failures=3), retry_backoff=(0.1, 0.2), sleep=slept.append)
    b.add_tuples("t", ("id", "name", "at"), [(7, "z", 0)])
    assert b.flush() == 1
    assert (b.retries, slept) == (3, [0.1, 0.2, 0.2])
    assert store.execute("SELECT id FROM t") == [(7,)]


def test_a_bug_is_not_retried(store: Store) -> None:
    _table(store)
    b = Batcher(store, sleep=lambda s: None)
    b.add("t", [{"id": "not a number", "name": "x"}])
    try:
        b.flush()
    except StoreError as exc:
        assert not exc.retryable
    else:
        raise AssertionError("a bad value must raise")
    assert b.retries == 0


def _avro_rows(n: int) -> tuple[AvroEventRows, list[str]]:
    rows = AvroEventRows(CODEC, CODEC.schemas)
    ids = []
    for event_type, ev in list(simulated_events(5, 15, 2))[:n]:
        rows.add(event_type, ev, CODEC.encode(event_type, ev), None, None)
        ids.append(ev["event_id"])
    return rows, ids


def test_avro_rows_count_as_pending_and_land_where_the_store_takes_them(store: Store) -> None:
    migrate(store)
    b = Batcher(store, max_rows=10, max_seconds=3600)
    rows, ids = _avro_rows(12)
    if "Avro" not in store.insert_formats:  # the 18.16 server: events go as columns
        with pytest.raises(StoreError, match="takes no Avro inserts"):
            b.encoded("events", rows)
        return
    b.encoded("events", rows)
    assert (b.pending, b.due()) == (12, True)
    b.add("customer_state", [])  # other tables keep their own buffers
    assert b.flush() == 12 and (b.pending, len(rows)) == (0, 0)
    assert sorted(ids) == [r[0] for r in store.execute("SELECT event_id FROM events ORDER BY 1")]


def test_refused_avro_inserts_are_retried_until_stored(chdb_root: Path) -> None:
    with open_store(f"chdb://{chdb_root}?database=batcher_avro_retry") as inner:
        migrate(inner)
        slept: list[float] = []
        flaky = FlakyStore(inner, failures=0)
        b = Batcher(flaky, retry_backoff=(0.1,), sleep=slept.append)
        rows, ids = _avro_rows(40)
        b.encoded("events", rows)
        flaky.failures = 2  # the column lookup, then the first insert
        assert b.flush() == 40
        assert (b.retries, slept) == (2, [0.1, 0.1])
        assert inner.execute("SELECT uniqExact(event_id) FROM events") == [(len(set(ids)),)]
        inner.execute("DROP DATABASE batcher_avro_retry")
