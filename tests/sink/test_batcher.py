"""The sink's batcher: columnar writes (dict rows and tuple rows), retries that lose nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streams.sink.batcher import Batcher
from streams.store.base import Params, QueryResult, Store, StoreError


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
