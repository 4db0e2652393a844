"""Static checks of the SQL files: the cluster set mirrors the single-node set, and the
single-node set avoids what ClickHouse 18.16 cannot run (the live check is every store test)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from streams.store.migrations import CLUSTER_DIR, MIGRATIONS_DIR, load_migrations

CREATE = re.compile(
    r"CREATE TABLE IF NOT EXISTS (\w+)(?: ON CLUSTER '\{cluster\}')?"
    r"\s*\((.*?)\n\)\s*ENGINE = (\w+)",
    re.S,
)
DISTRIBUTED = re.compile(
    r"CREATE TABLE IF NOT EXISTS (\w+) ON CLUSTER '\{cluster\}' AS (\w+)\s*"
    r"ENGINE = Distributed\('\{cluster\}', currentDatabase\(\), (\w+), (.+?)\)$",
    re.S,
)


def columns(body: str) -> list[tuple[str, str]]:
    """(name, type) per column of a CREATE TABLE body; comments dropped."""
    out = []
    for line in body.splitlines():
        code = line.split("--", 1)[0].strip().rstrip(",")
        if not code:
            continue
        name, rest = code.split(None, 1)
        out.append((name, re.split(r"\s+DEFAULT\s+", rest)[0].strip()))
    return out


def tables(directory: Path) -> dict[str, tuple[list[tuple[str, str]], str]]:
    found = {}
    for mig in load_migrations(directory):
        for stmt in mig.statements:
            m = CREATE.search(stmt)
            if m:
                found[m.group(1)] = (columns(m.group(2)), m.group(3))
    return found


def test_cluster_set_mirrors_single_node_set() -> None:
    single = tables(MIGRATIONS_DIR)
    cluster = tables(CLUSTER_DIR)
    assert single, "no tables parsed from sql/migrations"
    assert [m.filename for m in load_migrations(CLUSTER_DIR)] == [
        m.filename for m in load_migrations(MIGRATIONS_DIR)
    ]
    for name, (cols, engine) in single.items():
        local = cluster.get(f"{name}_local")
        assert local is not None, f"sql/cluster has no {name}_local"
        assert local[0] == cols, f"{name}_local columns differ from {name}"
        assert local[1] == f"Replicated{engine}"
    distributed = {}
    for mig in load_migrations(CLUSTER_DIR):
        for stmt in mig.statements:
            m = DISTRIBUTED.search(stmt)
            if m:
                distributed[m.group(1)] = m
                assert m.group(2) == m.group(3) == f"{m.group(1)}_local"
                for macro in ("{shard}", "{replica}"):
                    assert macro in next(
                        s for s in mig.statements if f"EXISTS {m.group(1)}_local " in s
                    )
    assert set(distributed) == set(single)
    for name in single:
        if name != "cohort_daily":
            assert distributed[name].group(4) == "cityHash64(customer_id)"


@pytest.mark.parametrize(
    "pattern",
    [r"\bLowCardinality\b", r"\bDateTime64\b", r"\bTTL\b", r"\bCODEC\b", r"\bCOMMENT\b",
     r"::", r"\bBool\b", r"\bMap\(", r"SimpleAggregateFunction", r"\bINDEX\b",
     r"\bWITH\s+\w+\s+AS\s*\(",
     r"toStartOfInterval", r"\bILIKE\b", r"\w+OrNull\("],
)  # fmt: skip
def test_single_node_sql_avoids_what_18_16_lacks(pattern: str) -> None:
    for mig in load_migrations(MIGRATIONS_DIR):
        for stmt in mig.statements:
            code = "\n".join(line.split("--", 1)[0] for line in stmt.splitlines())
            assert not re.search(pattern, code), f"{mig.filename}: {pattern} is not on 18.16"


def test_every_statement_is_idempotent() -> None:
    for directory in (MIGRATIONS_DIR, CLUSTER_DIR):
        for mig in load_migrations(directory):
            for stmt in mig.statements:
                code = "\n".join(line.split("--", 1)[0] for line in stmt.splitlines()).strip()
                if code.upper().startswith("CREATE"):
                    assert "IF NOT EXISTS" in code.split("(")[0], f"{mig.filename}: {code[:60]}"
