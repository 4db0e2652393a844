"""Embedded (chdb) backend specifics: typed Native decoding, URL parsing, one path per process."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from streams.store import StoreError, open_store
from streams.store.embedded import parse_chdb_url


@pytest.fixture
def chdb_store(chdb_root: Path):  # type: ignore[no-untyped-def]
    with open_store(f"chdb://{chdb_root}?database=embedded_specifics") as s:
        yield s


def test_native_decoding_is_typed(chdb_store) -> None:  # type: ignore[no-untyped-def]
    res = chdb_store.query_columns(
        "SELECT toUInt64(18446744073709551615) u, toInt8(-1) i,"
        " CAST('y' AS Enum8('x' = 1, 'y' = -2)) e,"
        " toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0') id, toDecimal64(1.5, 2) d,"
        " toDateTime64('2024-01-01 00:00:00.123', 3, 'UTC') t64, [[1], [2, 3]] aa,"
        " map('k', [1]) m, (1, 'a') tup, toLowCardinality(toNullable('z')) lc, NULL n,"
        " toFixedString('ab', 3) fs, toInt128(-3) big, true b, toDate32('1960-01-01') d32"
    )
    assert res.rows == [
        (
            2**64 - 1, -1, "y", uuid.UUID("61f0c404-5cb3-11e7-907b-a6006ad3dba0"), Decimal("1.50"),
            dt.datetime(2024, 1, 1, 0, 0, 0, 123000, tzinfo=dt.UTC), [[1], [2, 3]], {"k": [1]},
            (1, "a"), "z", None, "ab", -3, True, dt.date(1960, 1, 1),
        )
    ]  # fmt: skip


def test_many_blocks(chdb_store) -> None:  # type: ignore[no-untyped-def]
    rows = chdb_store.execute(
        "SELECT number, toString(number) FROM numbers(100000) SETTINGS max_block_size = 4096"
    )
    assert len(rows) == 100000 and rows[-1] == (99999, "99999")


def test_insert_datetimes_naive_is_utc(chdb_store) -> None:  # type: ignore[no-untyped-def]
    chdb_store.execute(
        "CREATE TABLE IF NOT EXISTS t (d DateTime('UTC'), u UUID) ENGINE = MergeTree ORDER BY d"
    )
    aware = dt.datetime(2024, 1, 1, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    chdb_store.insert(
        "t",
        ["d", "u"],
        [[dt.datetime(2024, 1, 1), aware], [uuid.UUID(int=1), str(uuid.UUID(int=2))]],
    )
    assert chdb_store.execute("SELECT DISTINCT d FROM t") == [
        (dt.datetime(2024, 1, 1, tzinfo=dt.UTC),)
    ]
    with pytest.raises(StoreError, match="no column 'nope'"):
        chdb_store.insert("t", ["nope"], [[1]])


def test_parse_chdb_url() -> None:
    assert parse_chdb_url("chdb://journey-data/chdb") == ("journey-data/chdb", "default")
    assert parse_chdb_url("chdb:///var/lib/j?database=x") == ("/var/lib/j", "x")


def test_second_data_directory_is_refused_clearly(chdb_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StoreError, match="one data directory per process"):
        open_store(f"chdb://{tmp_path / 'other'}")
