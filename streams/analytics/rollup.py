"""The analytics roll-ups (``sql/analytics``): per-customer summaries kept by materialized views.

Why: a cohort question looks at each customer's whole history, and reading 50M raw events to
answer it takes seconds; the roll-ups hold one small row per customer (days active, first
milestone days, complaints), so the same answers take a fraction of that.  Why here and not in
``sql/migrations``: they are derived data the analytics layer owns and can rebuild at any time
(drop them and the next ``journey query`` rebuilds them from ``events``), not part of the
pipeline's schema.

:func:`ensure_rollups` is idempotent and cheap once done: ``CREATE ... IF NOT EXISTS`` for the
tables and their materialized views, then, only when the table did not exist before, one
back-fill ``INSERT ... SELECT`` over ``events`` with the view's own SELECT.  Events inserted
while the back-fill runs reach the table twice, which changes nothing (sets and minimums).
"""

from __future__ import annotations

import re
from pathlib import Path

from streams.store.base import Store

ROLLUP_DIR = Path(__file__).resolve().parents[2] / "sql" / "analytics"
_VIEW = re.compile(r"CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+) TO (\w+) AS\s+(SELECT.*)\Z", re.S)


def statements(text: str) -> list[str]:
    """Statements of a roll-up file (each ends with ';' at the end of a line)."""
    out, cur = [], []
    for line in text.splitlines():
        if line.strip().startswith("--"):
            continue  # comments (which may end with ';') are for readers
        cur.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(cur).rstrip().rstrip(";").strip())
            cur = []
    return [s for s in out if s]


def rollup_statements() -> list[str]:
    return [s for p in sorted(ROLLUP_DIR.glob("*.sql")) for s in statements(p.read_text())]


def table_exists(store: Store, table: str) -> bool:
    """Whether ``table`` (or view) exists in the store's current database."""
    rows = store.execute(
        "SELECT count() FROM system.tables"
        " WHERE database = currentDatabase() AND name = {t:String}",
        {"t": table},
    )
    return bool(rows[0][0])


def ensure_rollups(store: Store) -> list[str]:
    """Create the roll-ups that are missing and back-fill them; return the tables back-filled.

    Through the query relay of a process that owns an embedded folder (a read-only
    :class:`~streams.store.relay.RelayStore`), the owner runs this function itself.
    """
    from streams.store.relay import RelayStore

    if isinstance(store, RelayStore):
        return store.ensure_rollups()
    filled: list[str] = []
    stmts = rollup_statements()
    missing = {
        m.group(2) for s in stmts if (m := _VIEW.match(s)) and not table_exists(store, m.group(1))
    }
    for stmt in stmts:
        store.execute(stmt)
    for stmt in stmts:
        m = _VIEW.match(stmt)
        if m and m.group(2) in missing:
            store.execute(f"INSERT INTO {m.group(2)} {m.group(3)}")
            filled.append(m.group(2))
    return filled
