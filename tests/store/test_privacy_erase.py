"""Right to erasure and SQL injection: hostile values are data, never SQL, on both engines.

``erase_customer`` runs ``sql/admin/erase_customer.sql`` with the customer id bound as a
``{customer_id:String}`` parameter. A customer whose id *is* an injection attempt is erased like
any other, and only that customer; every table survives. Through the CLI (``journey erase``,
``journey migrate``'s database name, ``journey query --param``) the same hostile
values reach the real 18.16 server as data.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from streams.privacy import erase_customer, erase_statements
from streams.store import open_store
from streams.store.base import Store, quote_identifier
from streams.store.migrations import migrate

HOSTILE = [
    "x'; DROP TABLE events; --",
    "' OR 1=1 --",
    "c1' OR '1'='1",
    "\\'; DROP TABLE customer_state; --",
    "c1\\",
    "{customer_id:String}",
    "`events`",
    "c1'); ALTER TABLE events DELETE WHERE 1; --",
]
TABLES = ("events", "customer_state", "defections", "stalls", "window_outcomes")


def _seed(store: Store, customers: list[str]) -> None:
    for table in TABLES:
        store.insert(table, ["customer_id"], [customers])


def _counts(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    return {
        t: store.execute(f"SELECT customer_id, count() FROM {t} GROUP BY customer_id ORDER BY 1")
        for t in TABLES
    }


def _tables_with_customer_ids(store: Store) -> set[str]:
    return {
        r[0]
        for r in store.execute(
            "SELECT name FROM system.tables WHERE database = currentDatabase() "
            "AND engine != 'MaterializedView' AND name IN (SELECT table FROM system.columns "
            "WHERE database = currentDatabase() AND name = 'customer_id')"
        )
    }


def test_erasure_script_covers_every_table_with_customer_rows(store: Store) -> None:
    """Every table with a customer_id column, including the analytics roll-ups, is erased."""
    from streams.analytics.rollup import ensure_rollups

    migrate(store)
    assert _tables_with_customer_ids(store) == set(TABLES)
    ensure_rollups(store)
    with_customer = _tables_with_customer_ids(store)
    assert len(with_customer) > len(TABLES)
    assert {t for t, _ in erase_statements()} == with_customer
    assert "cohort_daily" not in with_customer  # holds only uniqExact states, no ids


def test_erase_reaches_the_rollups_too(store: Store) -> None:
    from streams.analytics.rollup import ensure_rollups

    migrate(store)
    ensure_rollups(store)
    rollups = sorted(_tables_with_customer_ids(store) - set(TABLES))
    for table in rollups:
        store.insert(table, ["customer_id"], [["c1", "c2"]])
    result = erase_customer(store, "c1")
    assert {t: result.before[t] for t in rollups} == dict.fromkeys(rollups, 1)
    assert result.complete
    for table in rollups:
        assert store.execute(f"SELECT customer_id FROM {table}") == [("c2",)]


def test_erase_removes_exactly_that_customer_even_a_hostile_id(store: Store) -> None:
    migrate(store)
    customers = ["c1", "c2", *HOSTILE]
    _seed(store, customers)
    before = _counts(store)
    victim = HOSTILE[0]
    result = erase_customer(store, victim)
    assert result.before == dict.fromkeys(TABLES, 1)
    assert result.after == dict.fromkeys(TABLES, 0) and result.complete
    after = _counts(store)
    for table in TABLES:  # every table survives; only the victim's row is gone
        assert after[table] == [r for r in before[table] if r[0] != victim]
    again = erase_customer(store, "c1' OR '1'='1")  # removes that id only, not "c1"
    assert again.before == dict.fromkeys(TABLES, 1)
    assert ("c1", 1) in _counts(store)["events"]
    nothing = erase_customer(store, "nobody")
    assert nothing.before == dict.fromkeys(TABLES, 0)
    assert len(_counts(store)["events"]) == len(customers) - 2


def _journey(args: list[str], url: str) -> Any:
    env = {**os.environ, "JOURNEY_CLICKHOUSE__URL": url}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.chserver
def test_cli_parameters_reaching_sql_carry_hostile_values_as_data(clickhouse_server: Any) -> None:
    database = f"inj_{uuid.uuid4().hex[:10]}"
    url = clickhouse_server.url_for(database)
    migrated = _journey(["migrate"], url)
    assert migrated.returncode == 0, migrated.stderr
    with open_store(url) as store:
        _seed(store, ["c1", "c2", *HOSTILE])
        before = _counts(store)

    # journey erase CUSTOMER_ID: each hostile id erases itself and nothing else
    for victim in HOSTILE:
        done = _journey(["erase", victim], url)
        assert done.returncode == 0, done.stderr
        assert "1  events" in done.stdout, done.stdout
    with open_store(url) as store:
        after = _counts(store)
        tables = {r[0] for r in store.execute("SHOW TABLES")}
    assert set(TABLES) <= tables
    for table in TABLES:
        assert after[table] == [("c1", 1), ("c2", 1)], table
    assert before["events"] != after["events"]

    # journey migrate: the database name is an identifier, quoted, never spliced
    hostile_db = "j`; DROP TABLE events; --"
    hostile_url = clickhouse_server.url_for("x").rsplit("/", 1)[0] + "/" + quote(hostile_db)
    migrated = _journey(["migrate"], hostile_url)
    assert migrated.returncode == 0, migrated.stderr
    with open_store(url) as store:
        assert store.execute("SELECT name FROM system.databases WHERE name = {n:String}",
                             {"n": hostile_db}) == [(hostile_db,)]  # fmt: skip
        assert {r[0] for r in store.execute("SHOW TABLES")} == tables
        assert _counts(store) == after
        store.execute(f"DROP DATABASE {quote_identifier(hostile_db)}")

    # journey query --param NAME=VALUE: a customer whose segment *is* the hostile text is found
    # by it (the value is compared as data); a choice parameter refuses it; an array takes it
    victims = HOSTILE[:4]
    with open_store(url) as store:
        ids = [f"seg-{i}" for i in range(len(victims))]
        opened = [dt.datetime(2024, 3, 1, tzinfo=dt.UTC)] * len(victims)
        store.insert("customer_state", ["customer_id", "segment", "opened_at", "version"],
                     [ids, victims, opened, [1] * len(victims)])  # fmt: skip
        before_queries = _counts(store)
    for i, victim in enumerate(victims):
        ran = _journey(["query", "cohort_customers", "-p", "breakdown=segment",
                        "-p", f"breakdown_value={victim}", "-p", "as_of=2025-01-01T00:00:00",
                        "--format", "json"], url)  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        found = json.loads(ran.stdout)
        assert [(r["customer_id"], r["segment"]) for r in found] == [(f"seg-{i}", victim)]
        refused = _journey(["query", "cohort_customers", "-p", f"breakdown={victim}"], url)
        assert refused.returncode != 0 and "Traceback" not in refused.stderr, refused.stderr
        assert "breakdown" in refused.stderr
    arr = _journey(["query", "acquisition_economics", "-p", f"channels={HOSTILE[0]}",
                    "-p", "costs=1", "--format", "json"], url)  # fmt: skip
    assert arr.returncode == 0 and "Traceback" not in arr.stderr, arr.stderr
    with open_store(url) as store:  # (journey query may add its roll-up tables)
        assert {r[0] for r in store.execute("SHOW TABLES")} >= tables
        assert _counts(store) == before_queries
