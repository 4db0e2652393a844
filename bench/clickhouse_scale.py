"""Cohort-query latency on the real ClickHouse 18.16 server with N synthetic customers.

    python bench/clickhouse_scale.py 1000000

Starts a throw-away Debian ClickHouse server, applies the migrations, generates N customers
server-side (``INSERT ... SELECT ... FROM numbers(N)``: two versions of each customer_state row
left unmerged, as a live table has, and a defection for 20 % of them), then times
``sql/queries/cohort_summary.sql``, a ``FINAL`` count and a point lookup (median of 3).
Figures for docs/capacity.md.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streams.embedded.stack import load_query
from streams.store import open_store
from streams.store.migrations import migrate
from streams.testing.clickhouse_server import ClickHouseServer

STATE = """INSERT INTO customer_state (customer_id, opened_at, opening_channel, stage, version,
    products, sticky_services, risk_reasons)
SELECT concat('c', toString(number)),
       toDateTime(1704067200 + (cityHash64(number) % 31536000), 'UTC'),
       (cityHash64(number, 1) % 3) + 1,
       ['opened', 'logged_in', 'funded', 'stalled', 'engaged'][(cityHash64(number, 2) % 5) + 1],
       v, [], [], []
FROM numbers({n}) ARRAY JOIN [1, 2] AS v"""
DEFECTIONS = """INSERT INTO defections (record_id, customer_id, kind, defected_at, detected_at,
    opened_at, days_since_opening, window, opening_channel, products, version)
SELECT concat('d', toString(number)), concat('c', toString(number)), 'closure', now(), now(),
       toDateTime(1704067200 + (cityHash64(number) % 31536000), 'UTC'),
       toInt32(cityHash64(number, 3) % 365),
       if(cityHash64(number, 3) % 365 < 90, 'day_90', 'year_1'),
       ['branch', 'online', 'mobile'][(cityHash64(number, 1) % 3) + 1], [], 1
FROM numbers({n}) WHERE cityHash64(number, 4) % 5 = 0"""


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with ClickHouseServer() as ch:
        store = open_store(ch.url_for("capacity"))
        migrate(store)
        t = time.perf_counter()
        store.execute(STATE.format(n=int(n)))
        store.execute(DEFECTIONS.format(n=int(n)))
        print(f"N={n:,}: {2 * n:,} customer_state rows in {time.perf_counter() - t:.1f}s")
        queries = [
            ("cohort_summary", load_query("cohort_summary")),
            ("customer_state FINAL count", "SELECT count() FROM customer_state FINAL"),
            ("point lookup", "SELECT * FROM customer_state FINAL WHERE customer_id = 'c4242'"),
        ]
        for label, sql in queries:
            times = []
            for _ in range(3):
                t = time.perf_counter()
                store.execute(sql)
                times.append(time.perf_counter() - t)
            print(f"  {label}: median {statistics.median(times) * 1000:,.0f} ms")
        store.close()


if __name__ == "__main__":
    main()
