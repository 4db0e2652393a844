"""What ClickHouse answers, through the named verify queries (``sql/queries/verify_*.sql``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streams.verify.expected import Key

SQL_QUERIES = Path(__file__).resolve().parents[2] / "sql" / "queries"


def load_query(name: str) -> str:
    return (SQL_QUERIES / f"{name}.sql").read_text(encoding="utf-8")


def _month_cell(month: Any, channel: Any) -> str:
    return f"{int(month):06d} {channel}"


def observed_answers(store: Any, as_of_ms: int) -> dict[Key, int]:
    """``{(metric, cell): count}`` from ClickHouse (``store``: a ``streams.store`` Store)."""
    params = {"as_of": as_of_ms // 1000}
    out: dict[Key, int] = {}
    for kind, n in store.execute(load_query("verify_defections_by_kind"), params):
        out[("defections", str(kind))] = int(n)
    for month, channel, n in store.execute(
        load_query("verify_customers_by_cohort_channel"), params
    ):
        out[("customers", _month_cell(month, channel))] = int(n)
    for month, channel, d90, y1 in store.execute(
        load_query("verify_defections_by_cohort_channel"), params
    ):
        out[("defected_day_90", _month_cell(month, channel))] = int(d90)
        out[("defected_year_1", _month_cell(month, channel))] = int(y1)
    for rule, n in store.execute(load_query("verify_stalls_by_rule"), params):
        out[("stalls", str(rule))] = int(n)
    return out
