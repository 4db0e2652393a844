"""Buffers rows per table and writes them to ClickHouse in columnar batches.

At-least-once: the worker acknowledges Kafka offsets only after :meth:`Batcher.flush`
returned, so a crash between an insert and the commit re-delivers rows; they carry
deterministic ids/versions, so ReplacingMergeTree collapses them (queries use ``FINAL`` or
dedup-safe aggregates). Inserts are blocking calls (clickhouse-driver, chdb); the worker runs
:meth:`flush` in a thread so the event loop keeps heartbeating while ClickHouse works.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from streams.sink.avro_rows import AvroBatch, AvroEventRows
from streams.store.base import Store, StoreError

log = logging.getLogger(__name__)


class TupleRows:
    """Rows as tuples in a fixed column order: the raw events' hot path (no dict per row)."""

    __slots__ = ("columns", "rows")

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        self.rows: list[tuple[Any, ...]] = []

    def __len__(self) -> int:
        return len(self.rows)


Batch = dict[str, "list[Mapping[str, Any]] | TupleRows | AvroBatch"]


class Batcher:
    """Rows waiting for ClickHouse, by table, flushed when big or old enough."""

    def __init__(
        self,
        store: Store,
        *,
        max_rows: int = 20_000,
        max_seconds: float = 1.0,
        retry_backoff: Sequence[float] = (0.5, 1.0, 2.0, 5.0, 10.0),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.max_rows = max_rows
        self.max_seconds = max_seconds
        self.retry_backoff = tuple(retry_backoff)
        self._clock = clock
        self._sleep = sleep
        self._rows: Batch = {}
        self._pending = 0
        self._since = clock()
        self._columns: dict[str, list[str]] = {}
        self._encoded: dict[str, AvroEventRows] = {}
        #: Totals for metrics and the CLI.
        self.rows_written = 0
        self.retries = 0
        self.last_flush_at: float | None = None

    def add(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        buffered = self._rows.setdefault(table, [])
        assert isinstance(buffered, list), f"{table} is buffered as tuples"
        buffered.extend(rows)
        self._pending += len(rows)

    def add_tuples(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """Buffer rows given as tuples in ``columns`` order (cheaper than dicts)."""
        if not rows:
            return
        buffered = self._rows.get(table)
        if buffered is None:
            buffered = self._rows[table] = TupleRows(columns)
        assert isinstance(buffered, TupleRows) and buffered.columns == tuple(columns)
        buffered.rows.extend(rows)
        self._pending += len(rows)

    def encoded(self, table: str, rows: AvroEventRows) -> None:
        """Buffer ``table``'s rows in ``rows``, already encoded (the caller adds to it).

        Only for a store that takes Avro inserts (``"Avro" in store.insert_formats``).
        """
        if "Avro" not in self.store.insert_formats:
            raise StoreError(f"{self.store!r} takes no Avro inserts: buffer {table} as columns")
        self._encoded[table] = rows

    @property
    def pending(self) -> int:
        n = self._pending
        for rows in self._encoded.values():
            n += len(rows)
        return n

    def due(self) -> bool:
        """True when the buffer is full or its oldest row waited long enough."""
        pending = self.pending
        return pending >= self.max_rows or (
            pending > 0 and self._clock() - self._since >= self.max_seconds
        )

    def _table_columns(self, table: str) -> list[str]:
        cols = self._columns.get(table)
        if cols is None:
            result = self.store.query_columns(
                "SELECT name FROM system.columns WHERE database = currentDatabase() "
                "AND table = {table:String} AND default_kind NOT IN ('MATERIALIZED', 'ALIAS')",
                {"table": table},
            )
            cols = [r[0] for r in result.rows]
            if not cols:
                raise StoreError(f"table {table!r} does not exist: run `journey migrate` first")
            self._columns[table] = cols
        return cols

    def _columns_of(
        self, table: str, rows: list[Mapping[str, Any]] | TupleRows
    ) -> tuple[list[str], list[Any]]:
        """The table's columns present in ``rows``, and the rows as columns."""
        wanted = self._table_columns(table)
        if isinstance(rows, TupleRows):
            known = set(wanted)
            keep = [i for i, c in enumerate(rows.columns) if c in known]
            transposed = list(zip(*rows.rows, strict=True))
            return [rows.columns[i] for i in keep], [transposed[i] for i in keep]
        columns = [c for c in wanted if c in rows[0]]
        return columns, [[row.get(c) for row in rows] for c in columns]

    def _retrying(self, table: str, stop: Callable[[], bool], insert: Callable[[], None]) -> None:
        attempt = 0
        while True:
            try:
                insert()
                return
            except StoreError as exc:
                if not exc.retryable or stop():
                    raise
                delay = self.retry_backoff[min(attempt, len(self.retry_backoff) - 1)]
                attempt += 1
                self.retries += 1
                log.warning(
                    "ClickHouse insert into %s failed (%s); retry %d in %.1fs",
                    table, exc, attempt, delay,
                )  # fmt: skip
                self._sleep(delay)

    def _insert(self, table: str, rows: list[Mapping[str, Any]] | TupleRows) -> None:
        # Inside the retry: learning a table's columns is a query too.
        columns, data = self._columns_of(table, rows)
        self.store.insert(table, columns, data)

    def _insert_avro(self, table: str, columns: Sequence[str], payload: bytes, n: int) -> None:
        # Fields the table lacks are left out of the columns: ClickHouse skips them, as the
        # column path drops them.
        known = set(self._table_columns(table))
        self.store.insert_formatted(table, [c for c in columns if c in known], "Avro", payload, n)

    def take(self) -> Batch:
        """Detach the buffered rows (call from the thread that adds rows)."""
        rows: Batch
        rows, self._rows = self._rows, {}
        for table, encoded in self._encoded.items():
            if len(encoded):
                rows[table] = encoded.take()
        self._pending = 0
        self._since = self._clock()
        return rows

    def flush(self, stop: Callable[[], bool] = lambda: False) -> int:
        """Write everything buffered (single-threaded use)."""
        return self.write(self.take(), stop)

    def write(self, batch: Batch, stop: Callable[[], bool] = lambda: False) -> int:
        """Write a detached batch; retry retryable failures with backoff until ``stop()``.

        Safe to run in a worker thread while new rows accumulate. Returns rows written.
        Raises :class:`StoreError` for non-retryable errors (a schema mismatch is a bug to
        fix, not something to retry forever) or when stopped; the caller must then not
        acknowledge the events behind the batch, so they are re-delivered.
        """
        written = 0
        for table, rows in batch.items():
            if isinstance(rows, AvroBatch):
                for _, columns, payload, n in rows.containers():
                    insert = partial(self._insert_avro, table, columns, payload, n)
                    self._retrying(table, stop, insert)
                    written += n
                continue
            if not rows:
                continue

            self._retrying(table, stop, partial(self._insert, table, rows))
            written += len(rows)
        self.rows_written += written
        if written:
            self.last_flush_at = time.time()
        return written
