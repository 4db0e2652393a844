"""Cost of the journey aggregates behind the metrics (a script, not a test).

    python bench/metrics_bench.py [--customers 50000] [--events 500000] [--checkpoint 5]

Same generated partition as ``engine_bench.py``. Runs the engine as the worker does -
``process_many`` in batches of 1,000 and ``take_snapshots`` every ``--checkpoint`` batches -
twice, side by side: with the incremental aggregates (``JourneyCounts.update`` per snapshot)
and with them switched off (a no-op counter, i.e. the engine before the aggregates). Then
times ``aggregates()`` and a full ``Metrics.refresh`` + scrape, and compares with a brute-force
recount over every state (what a scan per scrape would cost).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_bench import generate
from prometheus_client import generate_latest

from streams.codec import SingleObjectCodec
from streams.engine import EngineConfig, PartitionEngine, snapshot
from streams.engine.state import DAY_MS
from streams.metrics import Metrics
from streams.worker.processor import Processor


class _Off:
    """Stands in for ``JourneyCounts`` with the accounting switched off."""

    def update(self, *_: Any) -> None:
        pass


def run(events: list[Any], cfg: EngineConfig, batch: int, every: int, on: bool) -> tuple[
    PartitionEngine, float, float
]:  # fmt: skip
    engine = PartitionEngine(cfg)
    if not on:
        engine._counts = _Off()  # type: ignore[assignment]
    snap_s = 0.0
    start = time.perf_counter()
    for i, j in enumerate(range(0, len(events), batch)):
        engine.process_many(events[j : j + batch])
        if i % every == every - 1:
            t = time.perf_counter()
            engine.take_snapshots()
            snap_s += time.perf_counter() - t
    t = time.perf_counter()
    engine.take_snapshots()
    snap_s += time.perf_counter() - t
    return engine, time.perf_counter() - start, snap_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=50_000)
    ap.add_argument("--events", type=int, default=500_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--batch", type=int, default=1_000)
    ap.add_argument("--checkpoint", type=int, default=5, help="batches per take_snapshots")
    args = ap.parse_args()
    cfg = EngineConfig()
    events = generate(args.customers, args.events, args.seed, cfg.allowed_lateness_s * 1000)
    n = len(events)
    print(f"{n:,} events for {args.customers:,} customers (seed {args.seed})")
    results = {}
    for on in (False, True, False, True):  # interleaved: load on the machine drifts
        engine, total, snaps = run(events, cfg, args.batch, args.checkpoint, on)
        results.setdefault(on, []).append((total, snaps))
        label = "with aggregates" if on else "without       "
        print(f"{label}: {n / total:,.0f} events/s  (take_snapshots {snaps:.2f} s of {total:.2f})")
    for on in (False, True):
        best = min(results[on])
        print(f"best {'with' if on else 'without'}: {n / best[0]:,.0f} events/s")

    assert isinstance(engine._counts, object)
    t = time.perf_counter()
    for _ in range(100):
        engine.aggregates()
    print(f"aggregates(): {(time.perf_counter() - t) * 10:.2f} ms ({len(engine):,} customers)")

    processor = Processor(SingleObjectCodec(), cfg, {"journey.login": "login"})
    processor.engines = {p: engine for p in range(6)}  # six partitions' worth of reads
    processor.clocks = {p: processor.clocks.get(p) or _clock(processor) for p in range(6)}
    m = Metrics(cohort_slices=cfg.cohort_slices)
    t = time.perf_counter()
    for _ in range(100):
        m.refresh(processor)
    refresh_ms = (time.perf_counter() - t) * 10
    t = time.perf_counter()
    for _ in range(100):
        body = generate_latest(m.registry)
    print(
        f"Metrics.refresh over 6 partitions: {refresh_ms:.2f} ms; scrape: "
        f"{(time.perf_counter() - t) * 10:.2f} ms, {len(body):,} bytes"
    )

    t = time.perf_counter()
    stages: dict[tuple[str, str | None], int] = {}
    wm = engine.watermark
    in_slice = 0
    for cid in engine.customer_ids():
        st = engine.state_of(cid)
        assert st is not None
        s = snapshot(st, cfg)
        stages[(s.stage, s.opening_channel)] = stages.get((s.stage, s.opening_channel), 0) + 1
        if st.opened_at is not None and 7 * DAY_MS <= wm - st.opened_at < 14 * DAY_MS:
            in_slice += 1
    print(f"brute-force recount of one partition (a scan per scrape): "
          f"{(time.perf_counter() - t) * 1000:.0f} ms")  # fmt: skip


def _clock(processor: Processor) -> Any:
    from streams.worker.processor import InputClock

    return InputClock(processor.topic_types, 5.0)


if __name__ == "__main__":
    main()
