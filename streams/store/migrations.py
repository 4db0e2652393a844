"""Numbered SQL migrations, applied in order, once, and never silently edited.

Files are ``sql/migrations/NNNN_name.sql``.  A file holds several statements, each ending with a
``;`` at the very end of a line (so a ``;`` inside a string or a comment mid-line never splits a
statement); ``--`` comments are allowed anywhere.  :func:`migrate` applies the files not yet
recorded in ``schema_migrations`` (version, name, checksum, applied_at) and refuses to run when an
applied file's checksum changed: the database would no longer match the file, and the fix is a new
numbered migration, not an edit.

ClickHouse DDL is not transactional, so a file that failed half-way is not recorded and is simply
run again: write every statement idempotently (``CREATE ... IF NOT EXISTS``).  Run migrations from
one process at a time (the CLI or the worker at startup): ClickHouse has no lock to serialise two
concurrent runs.

The cluster variant (``sql/cluster``) is a separate file set for a replicated, sharded deployment;
pass its directory to :func:`migrate` there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from streams.store.base import Store, StoreError

SQL_ROOT = Path(__file__).resolve().parents[2] / "sql"
MIGRATIONS_DIR = SQL_ROOT / "migrations"
CLUSTER_DIR = SQL_ROOT / "cluster"

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

SCHEMA_MIGRATIONS_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    UInt32,
    name       String,
    checksum   String,
    statements UInt16,
    applied_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY version
"""


class MigrationError(StoreError):
    """A migration set that cannot be applied as it stands (not retryable)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


@dataclass(frozen=True)
class Migration:
    """One migration file, read and split."""

    version: int
    name: str
    path: Path
    checksum: str
    statements: tuple[str, ...]

    @property
    def filename(self) -> str:
        return self.path.name


def split_statements(text: str) -> list[str]:
    """Split a migration file into statements: a ``;`` at the end of a line ends one.

    Lines that are only comments never end a statement; statements made only of comments and
    blank lines are dropped.  The ``;`` itself is removed (ClickHouse accepts it, but the native
    protocol runs one statement per call).
    """
    statements: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        current.append(line)
        stripped = line.rstrip()
        if stripped.endswith(";") and not stripped.lstrip().startswith("--"):
            current[-1] = stripped[:-1]
            statements.append("\n".join(current))
            current = []
    if current:
        statements.append("\n".join(current))
    return [s.strip() for s in statements if _has_code(s)]


def _has_code(statement: str) -> bool:
    for line in statement.splitlines():
        code = line.split("--", 1)[0].strip()
        if code:
            return True
    return False


def checksum(text: str) -> str:
    """sha256 of the file with line endings normalised (a CRLF checkout is not a change)."""
    return hashlib.sha256(text.replace("\r\n", "\n").encode()).hexdigest()


def load_migrations(directory: Path | str = MIGRATIONS_DIR) -> list[Migration]:
    """Read ``NNNN_name.sql`` files in version order; reject duplicates and stray ``.sql`` names."""
    directory = Path(directory)
    if not directory.is_dir():
        raise MigrationError(f"migrations directory {directory} does not exist")
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        m = _FILE.match(path.name)
        if not m:
            raise MigrationError(
                f"{path}: migration files are named NNNN_name.sql (4 digits, lower-case name)"
            )
        version = int(m.group(1))
        if version in found:
            raise MigrationError(
                f"two migrations with version {version:04d}: {found[version].filename} "
                f"and {path.name}"
            )
        text = path.read_text(encoding="utf-8")
        statements = split_statements(text)
        if not statements:
            raise MigrationError(f"{path}: no SQL statements found")
        found[version] = Migration(version, m.group(2), path, checksum(text), tuple(statements))
    return [found[v] for v in sorted(found)]


def applied_migrations(store: Store) -> dict[int, tuple[str, str]]:
    """``{version: (name, checksum)}`` recorded in the store (creating the table if needed)."""
    store.execute(SCHEMA_MIGRATIONS_DDL)
    rows = store.execute("SELECT version, name, checksum FROM schema_migrations FINAL")
    return {int(v): (str(n), str(c)) for v, n, c in rows}


def migrate(store: Store, directory: Path | str = MIGRATIONS_DIR) -> list[Migration]:
    """Apply pending migrations in order; return those applied now (``[]`` when up to date).

    Raises :class:`MigrationError` before running anything when an applied file was changed or
    removed from the middle of the sequence, and a :class:`StoreError` (naming the file and the
    statement) when a statement fails.
    """
    migrations = load_migrations(directory)
    applied = applied_migrations(store)
    for mig in migrations:
        if mig.version in applied:
            recorded = applied[mig.version][1]
            if recorded != mig.checksum:
                raise MigrationError(
                    f"migration {mig.filename} was changed after it was applied to database "
                    f"{store.database!r} (checksum {recorded[:12]}… recorded, {mig.checksum[:12]}… "
                    "on disk): never edit an applied migration, add a new numbered file instead"
                )
    newest_applied = max(applied, default=0)
    for mig in migrations:
        if mig.version not in applied and mig.version < newest_applied:
            raise MigrationError(
                f"migration {mig.filename} is older than the newest applied one "
                f"({newest_applied:04d}) but was never applied: "
                f"renumber it after {newest_applied:04d}"
            )
    # Versions recorded but not on disk (a newer release migrated this database) are left be.
    done: list[Migration] = []
    for mig in migrations:
        if mig.version in applied:
            continue
        for i, statement in enumerate(mig.statements, 1):
            try:
                store.execute(statement)
            except StoreError as exc:
                raise StoreError(
                    f"migration {mig.filename}, statement {i}/{len(mig.statements)} failed: "
                    f"{exc.message}",
                    retryable=exc.retryable,
                    code=exc.code,
                ) from exc
        store.insert(
            "schema_migrations",
            ["version", "name", "checksum", "statements", "applied_at"],
            [
                [mig.version],
                [mig.name],
                [mig.checksum],
                [len(mig.statements)],
                [dt.datetime.now(dt.UTC).replace(microsecond=0)],
            ],
        )
        done.append(mig)
    return done
