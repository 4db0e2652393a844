"""Static checks of sql/queries and sql/analytics: headers an analyst (and --list) can read, and
the portability rules the 18.16 server needs (the live proof is every query test, run on both
engines)."""

from __future__ import annotations

import re

import pytest

from streams.analytics.catalogue import QUERIES_DIR, CatalogueError, catalogue, parse_header
from streams.analytics.rollup import ROLLUP_DIR, rollup_statements

ANALYST_QUERIES = sorted(
    p.stem for p in QUERIES_DIR.glob("*.sql") if p.read_text().startswith("-- name:")
)


def code(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def test_issue_queries_are_all_there() -> None:
    assert set(ANALYST_QUERIES) >= {
        "retention_grid", "retention_brackets", "defection_rates", "defections_where",
        "defection_timing", "survival_km", "milestone_funnel", "missed_milestones",
        "complaint_linkage", "lifecycle", "acquisition_economics", "cohort_customers",
    }  # fmt: skip


@pytest.mark.parametrize("name", ANALYST_QUERIES)
def test_header_is_complete(name: str) -> None:
    q = catalogue()[name]
    assert len(q.description) > 40
    assert q.params, f"{name} declares no parameters"
    for p in q.params:
        assert p.doc and not p.required, f"{name}.{p.name}: no description or no default"
    assert "Columns:" in q.notes, f"{name}: the header does not list the output columns"


@pytest.mark.parametrize("name", ANALYST_QUERIES)
def test_portable_sql(name: str) -> None:
    sql = code((QUERIES_DIR / f"{name}.sql").read_text())
    assert not re.search(r"\bOVER\s*\(", sql, re.I), "window function"
    assert not re.search(r"\bWITH\s+\w+\s+AS\s*\(", sql, re.I), "WITH ... AS (subquery)"
    assert not re.search(r"\bretention\s*\(", sql), "retention() is wrong on 18.16"
    assert not re.search(r"::|\bILIKE\b|toStartOfInterval|\w+OrNull\(", sql)
    for join in re.finditer(r"(\w+)\s+(\w+)\s+JOIN\b", sql):
        if join.group(2).upper() == "ARRAY":
            continue
        assert join.group(1).upper() in ("ANY", "ALL"), f"join without strictness: {join.group(0)}"
    # at most one JOIN per SELECT: between two SELECT keywords there is at most one JOIN
    for chunk in re.split(r"\bSELECT\b", sql):
        assert len(re.findall(r"(?<!ARRAY )\bJOIN\b", chunk)) <= 1
    # every subquery joined is aliased (26.x errors on an un-aliased one)
    unaliased = re.findall(r"\)\s*\n\s*(?:ANY|ALL)\s+(?:LEFT|INNER)\s+JOIN", sql)
    assert not unaliased, f"un-aliased subquery before {unaliased}"


def test_header_errors_are_reported(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.sql"
    bad.write_text("-- name: broken\n-- param: n UInt8 | no default\nSELECT {n:UInt8}\n")
    with pytest.raises(CatalogueError, match="NAME TYPE = DEFAULT"):
        parse_header(bad.read_text(), bad)
    other = tmp_path / "x.sql"
    other.write_text("-- name: y\nSELECT 1\n")
    with pytest.raises(CatalogueError, match=r"must be y\.sql"):
        parse_header(other.read_text(), other)


def test_rollups_are_idempotent_ddl() -> None:
    stmts = rollup_statements()
    assert stmts and all("IF NOT EXISTS" in s.split("(")[0] for s in stmts)
    assert {p.name for p in ROLLUP_DIR.glob("*.sql")} == {"0001_rollups.sql"}
