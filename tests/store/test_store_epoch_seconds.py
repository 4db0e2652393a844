"""DateTime columns also accept int epoch seconds on insert (the sink's hot path uses them)."""

from __future__ import annotations

from datetime import UTC, datetime

from streams.store.base import Store


def test_datetime_column_accepts_epoch_seconds(store: Store) -> None:
    store.execute(
        "CREATE TABLE t_epoch (id UInt32, at DateTime('UTC')) ENGINE = MergeTree ORDER BY id"
    )
    moment = datetime(2024, 3, 5, 6, 7, 8, tzinfo=UTC)
    store.insert("t_epoch", ["id", "at"], [[1], [int(moment.timestamp())]])
    store.insert("t_epoch", ["id", "at"], [[2], [moment]])
    rows = store.execute("SELECT id, at FROM t_epoch ORDER BY id")
    assert rows == [(1, moment), (2, moment)]
