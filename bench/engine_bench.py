"""Throughput and state size of the pure journey engine on one core (a script, not a test).

    python bench/engine_bench.py [--customers 50000] [--events 500000] [--seed 7]

Generates a seeded, realistic-ish partition: openings spread over 60 days, each customer's
events over ~400 days (logins, card purchases, deposits, fees, complaints, a few closures and
outbound transfers), delivered out of order within half the allowed lateness. Times
``process_many`` in batches of 1,000 (as the worker will call it) plus the final ``advance``,
``process`` one event at a time, and as a baseline a trivial per-customer dict update over the
same events. Prints events/s, the core/baseline ratio and encoded state bytes per customer.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streams.engine import EngineConfig, PartitionEngine
from streams.engine.builders import closure, complaint, login, opened, tx
from streams.engine.state import DAY_MS

T0 = 1_700_000_000_000


def generate(customers: int, events: int, seed: int, lateness_ms: int) -> list[tuple[str, Any]]:
    rng = random.Random(seed)
    per = max(1, events // customers - 1)
    out: list[tuple[int, tuple[str, Any]]] = []
    for c in range(customers):
        cid = f"cust-{c:08d}"
        t_open = T0 + rng.randrange(60 * DAY_MS)
        out.append(
            (t_open, opened(cid, t_open, channel=rng.choice(("branch", "online", "mobile"))))
        )
        balance = 0
        for i in range(rng.randint(per // 2, per + per // 2)):
            t = t_open + int(rng.expovariate(1 / 60) * DAY_MS) % (400 * DAY_MS)
            r = rng.random()
            if r < 0.35:
                ev = login(cid, t, channel=rng.choice(("mobile", "online", "branch")))
            elif r < 0.65:
                balance -= 2_000
                ev = tx(
                    cid,
                    t,
                    amount=2_000,
                    kind=rng.choice(("card_purchase", "bill_pay")),
                    balance=balance,
                )
            elif r < 0.80:
                balance += 150_000
                ev = tx(
                    cid,
                    t,
                    direction="credit",
                    kind="direct_deposit",
                    amount=150_000,
                    counterparty="employer",
                    balance=balance,
                )
            elif r < 0.92:
                ev = tx(
                    cid, t, kind="fee", amount=300, customer_initiated=False, counterparty="bank"
                )
            elif r < 0.97:
                ev = complaint(cid, t, f"k{i}", status=rng.choice(("opened", "resolved")))
            elif r < 0.99:
                ev = tx(cid, t, amount=400_000, kind="transfer_out", counterparty="other_bank")
            else:
                ev = closure(cid, t, last_account=rng.random() < 0.5)
            out.append((t, ev))
    # arrival order: event time plus a random delay within half the allowed lateness
    keyed = [(t + rng.randrange(lateness_ms // 2 + 1), i, ev) for i, (t, ev) in enumerate(out)]
    keyed.sort()
    return [ev for _, _, ev in keyed]


def baseline(events: list[tuple[str, Any]]) -> float:
    start = time.perf_counter()
    states: dict[str, dict[str, int]] = {}
    for _, ev in events:
        s = states.get(ev["customer_id"])
        if s is None:
            s = states[ev["customer_id"]] = {"n": 0, "last": 0}
        s["n"] += 1
        if ev["occurred_at"] > s["last"]:
            s["last"] = ev["occurred_at"]
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=50_000)
    ap.add_argument("--events", type=int, default=500_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--batch", type=int, default=1_000)
    args = ap.parse_args()
    cfg = EngineConfig()
    events = generate(args.customers, args.events, args.seed, cfg.allowed_lateness_s * 1000)
    n = len(events)
    end = max(ev["occurred_at"] for _, ev in events) + 400 * DAY_MS
    print(f"{n:,} events for {args.customers:,} customers (seed {args.seed})")

    engine = PartitionEngine(cfg)
    records = 0
    start = time.perf_counter()
    for i in range(0, n, args.batch):
        records += len(engine.process_many(events[i : i + args.batch]))
    t_events = time.perf_counter() - start
    records += len(engine.advance(end))
    t_core = time.perf_counter() - start
    print(
        f"core process_many+advance: {t_core:.2f} s  {n / t_core:,.0f} events/s"
        f"  ({n / t_events:,.0f} events/s before the final advance; {records:,} records)"
    )

    one = PartitionEngine(cfg)
    start = time.perf_counter()
    for event_type, ev in events:
        one.process(event_type, ev)
    one.advance(end)
    t_one = time.perf_counter() - start
    print(f"core process (one by one)+advance: {t_one:.2f} s  {n / t_one:,.0f} events/s")

    t_base = min(baseline(events) for _ in range(3))
    print(
        f"baseline dict update: {t_base:.3f} s  {n / t_base:,.0f} events/s"
        f"  -> core/baseline time ratio {t_core / t_base:.1f}x"
    )

    start = time.perf_counter()
    dirty = engine.take_dirty()
    t_enc = time.perf_counter() - start
    sizes = sorted(len(v) for v in dirty.values() if v is not None)
    mean = statistics.fmean(sizes)
    p95 = sizes[int(0.95 * (len(sizes) - 1))]
    print(
        f"state bytes/customer after the run: mean {mean:,.0f}  p95 {p95:,}  max {sizes[-1]:,}"
        f"  (encode {len(sizes) / t_enc:,.0f} states/s)"
    )

    # mid-stream state size (recent buffers and dedup ids still present)
    mid = PartitionEngine(cfg)
    mid.process_many(events[: n // 2])
    sizes = sorted(len(v) for v in mid.take_dirty().values() if v is not None)
    print(
        f"state bytes/customer mid-stream: mean {statistics.fmean(sizes):,.0f}"
        f"  p95 {sizes[int(0.95 * (len(sizes) - 1))]:,}"
    )


if __name__ == "__main__":
    main()
