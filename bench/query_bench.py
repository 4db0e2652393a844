"""Latency of every named query on a large generated bank in chdb (a script, not a test).

    python bench/query_bench.py [--customers 1000000] [--events-per-customer 50]
                                [--path DIR] [--runs 3] [--keep]

Generates the population inside ClickHouse (``sql/bench/query_bench_population.sql``: INSERT
... SELECT over ``numbers()``, so no row crosses into Python), builds the analytics roll-ups
(``sql/analytics``: one back-fill pass over events, timed), then runs each query of
``sql/queries`` with its default parameters (as_of = the latest event) ``--runs`` times after
one warm-up run and prints the median, with two baselines from the same run: a plain
``count()`` over events and a ``GROUP BY customer_id`` over every event (the cost floor of any
query that looks at each customer's raw history).  Goal on a 2-core machine: every query under
2 s, the retention grid and the defection breakdowns under 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streams.analytics.catalogue import catalogue
from streams.analytics.rollup import ensure_rollups
from streams.store import Store, migrate, open_store
from streams.store.params import find_placeholders

POPULATION_SQL = (
    Path(__file__).resolve().parents[1] / "sql" / "bench" / "query_bench_population.sql"
)
BASELINES = {
    "baseline: count() over events": "SELECT count() FROM events",
    "baseline: GROUP BY customer over events": (
        "SELECT count() FROM (SELECT customer_id, count() FROM events GROUP BY customer_id) AS g"
    ),
}
#: Queries the goal wants under a second (the rest: under two).
FAST = {"retention_grid", "retention_brackets", "defection_rates", "defections_where"}
#: Queries that are internal checks of other commands, not analyst questions.
SKIP_PREFIX = "verify_"


def statements(text: str) -> list[str]:
    """Split on ';' at the end of a line; drop comment-only chunks."""
    out, cur = [], []
    for line in text.splitlines():
        cur.append(line)
        if line.rstrip().endswith(";"):
            out.append("\n".join(cur).rstrip().rstrip(";"))
            cur = []
    chunks = [*out, "\n".join(cur)]
    return [
        c
        for c in chunks
        if any(x.strip() and not x.strip().startswith("--") for x in c.splitlines())
    ]


def generate(store: Store, customers: int, per_customer: int) -> None:
    values = {"customers": customers, "events_per_customer": per_customer}
    for stmt in statements(POPULATION_SQL.read_text()):
        used = {p.name for p in find_placeholders(stmt)}
        t0 = time.perf_counter()
        store.execute(stmt, {k: v for k, v in values.items() if k in used})
        target = stmt.split("INSERT INTO", 1)[1].split("(", 1)[0].strip()
        print(f"  generated {target:<16} in {time.perf_counter() - t0:6.1f} s", flush=True)


def timed(store: Store, sql: str, params: dict[str, object] | None, runs: int) -> tuple[float, int]:
    store.query_columns(sql, params)  # warm-up: page cache, marks, compiled expressions
    times, rows = [], 0
    for _ in range(runs):
        t0 = time.perf_counter()
        rows = len(store.query_columns(sql, params).rows)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--events-per-customer", type=int, default=50)
    ap.add_argument("--path", type=Path, help="chdb folder (default: a temporary one)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="reuse an already generated --path")
    args = ap.parse_args()

    path = args.path or Path(tempfile.mkdtemp(prefix="journey-qbench-"))
    store = open_store(f"chdb://{path}?database=bench")
    try:
        migrate(store)
        have = store.execute("SELECT count() FROM customer_state")[0][0]
        if not (args.keep and have):
            print(f"generating {args.customers:,} customers x {args.events_per_customer} events "
                  f"in {path} ...", flush=True)  # fmt: skip
            t0 = time.perf_counter()
            generate(store, args.customers, args.events_per_customer)
            print(f"  total {time.perf_counter() - t0:.1f} s", flush=True)
        t0 = time.perf_counter()
        filled = ensure_rollups(store)
        if filled:
            print(f"  back-filled roll-ups {', '.join(filled)} in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
        counts = {
            t: store.execute(f"SELECT count() FROM {t}")[0][0]
            for t in ("customer_state", "events", "defections", "stalls", "customer_activity")
        }
        print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        print(f"engine: chdb, ClickHouse {store.server_version()}; median of {args.runs} runs\n")
        results: list[tuple[str, float, int]] = []
        for name, sql in BASELINES.items():
            results.append((name, *timed(store, sql, None, args.runs)))
        base = results[1][1]
        for name, query in catalogue().items():
            if name.startswith(SKIP_PREFIX):
                continue
            seconds, rows = timed(store, query.sql, query.bind(), args.runs)
            results.append((name, seconds, rows))
            print(f"  {name:<28} {seconds:7.3f} s", flush=True)
        print(f"\n{'query':<42} {'seconds':>8} {'x group-by':>10} {'rows':>7}  goal")
        for name, seconds, rows in results:
            goal = "" if name.startswith("baseline") else ("< 1 s" if name in FAST else "< 2 s")
            ok = "" if not goal else ("ok" if seconds < (1.0 if name in FAST else 2.0) else "MISS")
            print(f"{name:<42} {seconds:8.3f} {seconds / base:10.2f} {rows:7,}  {goal} {ok}")
    finally:
        store.close()


if __name__ == "__main__":
    main()
