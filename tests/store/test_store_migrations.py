"""Migrations: ordered, idempotent, recorded, and refusing edited history — on both engines."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from streams.store import MigrationError, Store, StoreError, migrate
from streams.store.migrations import MIGRATIONS_DIR, load_migrations, split_statements

TABLES = ["cohort_daily", "cohort_daily_mv", "customer_state", "defections", "events",
          "schema_migrations", "stalls", "window_outcomes"]  # fmt: skip


def _tables(store: Store) -> list[str]:
    rows = store.execute(
        "SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name"
    )
    return [r[0] for r in rows]


def test_migrate_twice_is_idempotent(store: Store) -> None:
    first = migrate(store)
    assert [m.filename for m in first] == ["0001_core.sql"]
    assert migrate(store) == []
    assert _tables(store) == TABLES
    rows = store.execute("SELECT version, name, checksum FROM schema_migrations FINAL")
    assert rows == [(1, "core", first[0].checksum)]


def test_changed_checksum_is_refused(store: Store, tmp_path: Path) -> None:
    shutil.copy(MIGRATIONS_DIR / "0001_core.sql", tmp_path / "0001_core.sql")
    migrate(store, tmp_path)
    path = tmp_path / "0001_core.sql"
    path.write_text(path.read_text() + "\n-- an innocent-looking edit\n")
    with pytest.raises(MigrationError, match=r"0001_core.sql was changed after it was applied"):
        migrate(store, tmp_path)


def test_new_migration_applies_in_order_and_failures_name_the_file(
    store: Store, tmp_path: Path
) -> None:
    (tmp_path / "0001_a.sql").write_text(
        "-- two statements; a ';' inside a comment; or mid-line; is not a separator\n"
        "CREATE TABLE IF NOT EXISTS a (x UInt8, s String DEFAULT 'a;b')\n"
        "ENGINE = MergeTree ORDER BY x;\n"
        "CREATE TABLE IF NOT EXISTS b (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
    )
    assert [m.version for m in migrate(store, tmp_path)] == [1]
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE nonsense (;\n")
    with pytest.raises(StoreError, match=r"0002_broken.sql, statement 1/1 failed") as info:
        migrate(store, tmp_path)
    assert not isinstance(info.value, MigrationError) and info.value.retryable is False
    (tmp_path / "0002_broken.sql").write_text("ALTER TABLE a ADD COLUMN y UInt8 DEFAULT 7;\n")
    assert [m.version for m in migrate(store, tmp_path)] == [2]
    assert store.execute("SELECT count() FROM schema_migrations FINAL") == [(2,)]


def test_split_statements() -> None:
    text = "-- c;\nSELECT 1;\n\n-- only a comment\nSELECT ';'\n  , 2;\nSELECT 3"
    assert split_statements(text) == [
        "-- c;\nSELECT 1",
        "-- only a comment\nSELECT ';'\n  , 2",
        "SELECT 3",
    ]


def test_file_naming_and_duplicates(tmp_path: Path) -> None:
    (tmp_path / "1_bad.sql").write_text("SELECT 1;\n")
    with pytest.raises(MigrationError, match=r"NNNN_name\.sql"):
        load_migrations(tmp_path)
    (tmp_path / "1_bad.sql").unlink()
    (tmp_path / "0001_a.sql").write_text("SELECT 1;\n")
    (tmp_path / "0001_b.sql").write_text("SELECT 1;\n")
    with pytest.raises(MigrationError, match="two migrations with version 0001"):
        load_migrations(tmp_path)
