"""The measured inputs of docs/capacity.md (a script, not a test).

    python bench/capacity_measure.py [--customers 20000] [--months 15] [--seed 5]

One seeded simulated bank (the calibrated simulator the demo uses), in event-time order,
through the real journey engine (one PartitionEngine, batches of 5,000 as the worker applies
them) and the real row builders into a fresh chdb database, the worker's way (events rows from
the applied events, snapshots, defections, stalls, window outcomes). Prints:

* events per customer (first year and overall) and the event mix;
* encoded state bytes per customer (``streams.engine.codec``, what the RocksDB table and its
  changelog hold per key, plus the key and the worker's 2-byte partition prefix);
* engine events/s on one core;
* ClickHouse rows and on-disk bytes per table after ``OPTIMIZE ... FINAL`` (compressed
  bytes/row), and the time of a few cohort queries on that population.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streams.embedded.stack import load_query, simulated_events
from streams.engine import EngineConfig, PartitionEngine
from streams.engine.codec import encode
from streams.sink.batcher import Batcher
from streams.sink.rows import EVENT_COLUMNS, event_values, output_rows
from streams.store import open_store
from streams.store.migrations import migrate

DAY_MS = 86_400_000
TABLES = ("events", "customer_state", "defections", "stalls", "window_outcomes", "cohort_daily")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--months", type=int, default=15)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()

    t0 = time.perf_counter()
    events = list(simulated_events(args.customers, args.months, args.seed))
    events.sort(key=lambda te: te[1]["occurred_at"])
    t_gen = time.perf_counter() - t0
    mix = Counter(t for t, _ in events)
    opened: dict[str, int] = {}
    first_year = 0
    for t, ev in events:
        cid = ev["customer_id"]
        if t == "account_opened":
            opened.setdefault(cid, ev["occurred_at"])
        o = opened.get(cid)
        if o is not None and ev["occurred_at"] - o < 365 * DAY_MS:
            first_year += 1
    n_cust = len(opened)
    span_days = (events[-1][1]["occurred_at"] - events[0][1]["occurred_at"]) / DAY_MS
    print(f"generated {len(events):,} events for {n_cust:,} customers in {t_gen:.1f}s "
          f"over {span_days:.0f} days")  # fmt: skip
    print("mix:", {k: f"{v / len(events):.1%}" for k, v in mix.most_common()})
    print(f"events per customer: {len(events) / n_cust:.1f} overall, "
          f"{first_year / n_cust:.1f} in the first 365 days "
          f"({first_year / n_cust / 365:.2f}/day)")  # fmt: skip

    workdir = Path(tempfile.mkdtemp(prefix="journey-capacity-"))
    store = open_store(f"chdb://{workdir / 'chdb'}")
    migrate(store)
    batcher = Batcher(store, max_rows=200_000, max_seconds=3600)
    engine = PartitionEngine(EngineConfig(), 0)
    engine_s = 0.0
    batch = 5_000
    for i in range(0, len(events), batch):
        chunk = events[i : i + batch]
        t1 = time.perf_counter()
        outs = engine.process_many(chunk)
        applied = engine.take_applied()
        engine_s += time.perf_counter() - t1
        rows = []
        for event_type, ev in applied:
            st = engine.state_of(ev["customer_id"])
            rows.append(
                event_values(event_type, ev, st.opened_at if st else None,
                             st.open_channel if st else None)
            )  # fmt: skip
        batcher.add_tuples("events", EVENT_COLUMNS, rows)
        for table, trows in output_rows(list(outs)).items():
            batcher.add(table, trows)
        if (i // batch) % 20 == 19:
            snaps: list[Any] = list(engine.take_snapshots())
            for table, trows in output_rows(snaps).items():
                batcher.add(table, trows)
            batcher.flush()
    t1 = time.perf_counter()
    final = engine.advance(events[-1][1]["occurred_at"] - EngineConfig().allowed_lateness_s * 1000)
    engine_s += time.perf_counter() - t1
    for table, trows in output_rows(list(final) + list(engine.take_snapshots())).items():
        batcher.add(table, trows)
    batcher.flush()
    print(f"engine: {len(events) / engine_s:,.0f} events/s on one core "
          f"({engine_s:.1f}s for {len(events):,})")  # fmt: skip

    sizes = []
    for cid in engine.customer_ids():
        data = encode(engine.state_of(cid), engine.watermark)  # type: ignore[arg-type]
        sizes.append(len(data) + 2 + len(cid.encode()))
    sizes.sort()
    q = statistics.quantiles(sizes, n=100)
    mean = statistics.mean(sizes)
    print(f"state bytes per customer (value + 2-byte prefix + key): mean {mean:.0f}"
          f", p50 {q[49]:.0f}, p90 {q[89]:.0f}, p99 {q[98]:.0f}, max {sizes[-1]}")  # fmt: skip

    for table in TABLES:
        store.execute(f"OPTIMIZE TABLE {table} FINAL")
    rows = store.execute(
        "SELECT table, sum(rows), sum(data_compressed_bytes), sum(data_uncompressed_bytes), "
        "sum(bytes_on_disk) FROM system.parts WHERE active AND database = currentDatabase() "
        "GROUP BY table ORDER BY table"
    )
    print(f"{'table':<16}{'rows':>12}{'disk bytes':>14}{'B/row disk':>12}{'B/row raw':>11}")
    for table, n, comp, raw, disk in rows:
        print(f"{table:<16}{n:>12,}{disk:>14,}{disk / max(n, 1):>12.1f}{raw / max(n, 1):>11.1f}")
        del comp
    n_events = store.execute("SELECT count() FROM events")[0][0]
    print(f"events rows per customer: {n_events / n_cust:.1f}")

    for name in ("cohort_summary",):
        sql = load_query(name)
        times = []
        for _ in range(5):
            t1 = time.perf_counter()
            store.execute(sql)
            times.append(time.perf_counter() - t1)
        print(f"query {name}: median {statistics.median(times) * 1000:.0f} ms on chdb")
    for label, sql in [
        ("customer_state FINAL count", "SELECT count() FROM customer_state FINAL"),
        ("events FINAL per-customer flags",
         "SELECT countIf(l) FROM (SELECT customer_id, max(event_type = 'login') AS l "
         "FROM events FINAL GROUP BY customer_id)"),
        ("point lookup one customer",
         "SELECT count() FROM events WHERE customer_id = 'c0000042'"),
    ]:  # fmt: skip
        times = []
        for _ in range(5):
            t1 = time.perf_counter()
            store.execute(sql)
            times.append(time.perf_counter() - t1)
        print(f"query {label}: median {statistics.median(times) * 1000:.0f} ms on chdb")
    store.close()


if __name__ == "__main__":
    main()
