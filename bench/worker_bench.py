"""End-to-end throughput of one journey worker process against two references, in one run.

    python bench/worker_bench.py [--customers 1500] [--partitions 6] [--clickhouse URL]
                                 [--quix-python .quixvenv/bin/python] [--profile DIR]

One Tansu broker and one generated data set (the calibrated simulator, Avro single-object
encoded, keyed by customer) feed, one after the other and each in its own process:

* **journey**: ``JourneyWorker`` as ``journey worker`` runs it - decode, journey engine,
  derived records, rows to ClickHouse (chdb by default), customer state in a Faust Table on
  RocksDB with its changelog, offsets committed after the rows are stored;
* **baseline**: plain aiokafka ``getmany`` + the same fastavro decode + a dict update per
  customer (no durability, nothing written) - the ceiling of a Python consumer here;
* **quix** (when a Python with quixstreams is given): a Quix Streams application keeping
  comparable per-customer state in its RocksDB store with changelogs (``bench/quix_peer.py``).

Each contender is timed from its first record to its last one processed (journey: stored and
acknowledged), so start-up and the first rebalance are excluded for all alike. The report is
events/s and the ratios journey/baseline and journey/quix. ``--profile DIR`` also runs
py-spy on the journey process and prints its top frames.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _settings(bootstrap: str, prefix: str, partitions: int) -> Any:
    from streams.settings import Settings

    return Settings(
        kafka={"bootstrap_servers": bootstrap},
        topics={"prefix": prefix, "partitions": partitions},
    )


# ----------------------------------------------------------------------------- contenders
def run_journey(args: argparse.Namespace) -> dict[str, Any]:
    """Child process: one journey worker until every event is stored and acknowledged."""
    from streams.worker.run import prepare_store, run_worker

    base = _settings(args.bootstrap, args.prefix, args.partitions)
    data = Path(args.data)
    url = args.clickhouse or f"chdb://{data / 'chdb'}"
    s = base.model_copy(
        update={
            "clickhouse": base.clickhouse.model_copy(update={"url": url}),
            "worker": base.worker.model_copy(
                update={
                    "app_id": f"bench-{time.time_ns()}",
                    "data_dir": data / "worker",
                    "store": "rocksdb://",
                    "metrics_port": 0,
                    "web_port": 0,
                    "session_timeout_s": 6.0,
                    **({} if args.gc_threshold is None else {"gc_threshold": args.gc_threshold}),
                }
            ),
        }
    )
    store = prepare_store(s)
    result: dict[str, Any] = {}

    def setup(jw: Any) -> None:
        if args.no_metrics:
            jw.metrics = _NoMetrics()
        # --ablate, or BENCH_ABLATE for a --variant (an A/B of a stage in one run)
        ablate = f"{args.ablate},{os.environ.get('BENCH_ABLATE', '')}"
        _ablate(jw, set(filter(None, ablate.split(","))))

        @jw.app.task
        async def watch() -> None:
            cpu0: float | None = None
            loop0 = 0.0
            while jw.events_processed < args.events:
                if cpu0 is None and jw.first_batch_at is not None:
                    cpu0, loop0 = time.process_time(), time.thread_time()
                await asyncio.sleep(0.01)
            applied = time.perf_counter()
            await jw.flush()
            done = time.perf_counter()
            # from the last event applied to everything stored and acknowledged: the final
            # write and checkpoint, which nothing overlaps at the end of a finite run
            result["tail_s"] = round(done - applied, 2)
            result.update(events=jw.events_processed, seconds=done - jw.first_batch_at)
            # CPU of every thread of the process (the engine's loop, ClickHouse's inserts,
            # librdkafka) over the same interval: above 1.0 cores means work off the loop.
            result["cpu_cores"] = round((time.process_time() - (cpu0 or 0)) / result["seconds"], 2)
            # the event loop's thread alone: below 1.0 means it waited (for fetches, writes)
            result["loop_busy"] = round((time.thread_time() - loop0) / result["seconds"], 2)
            result["rows"] = jw.batcher.rows_written
            result["event_loop"] = type(asyncio.get_running_loop()).__module__
            result["stage_seconds"] = {k: round(v, 2) for k, v in jw.stage_seconds.items()}
            result["stage_seconds"]["fetch_wait"] = round(jw.app.consumer.fetch_wait_seconds, 2)
            states = [
                e.state_of(c) for e in jw.processor.engines.values() for c in e.customer_ids()
            ]
            result["mean_recent"] = sum(len(st.recent) for st in states) / max(1, len(states))
            result["watermark_lag_h"] = [
                round((e.max_seen - e.watermark) / 3.6e6, 1)
                for e in jw.processor.engines.values()
            ]
            registry = None if args.no_metrics else jw.metrics.registry
            result["counters"] = {
                f"{m.name}{sorted(smp.labels.items())}": smp.value
                for m in (registry.collect() if registry is not None else ())
                for smp in m.samples
                if smp.name.endswith("_total") and smp.value
            }
            os.kill(os.getpid(), signal.SIGTERM)

    run_worker(s, store=store, setup=setup)
    store.close()
    return result


def _ablate(jw: Any, parts: set[str]) -> None:
    """``--ablate``: skip stages to see what each one costs (never for reported figures).

    sink: rows are built and batched but not inserted; changelog: states are encoded but
    not written to the Table; derived: derived records are encoded but not published.
    """
    unknown = parts - {"sink", "changelog", "derived"}
    if unknown:
        raise SystemExit(f"--ablate: unknown stage(s) {sorted(unknown)}")
    if "sink" in parts:
        jw.batcher.write = lambda batch, stop=None: sum(len(r) for r in batch.values())
    if "changelog" in parts:  # states are still encoded when the checkpoint is cut
        jw._persist = lambda states: None
    if "derived" in parts:  # records are still encoded when they are emitted
        jw._publish = lambda outbox: None


class _NoMetrics:
    """``--no-metrics``: every metrics call of the worker is a no-op (to measure their cost)."""

    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


def run_baseline(args: argparse.Namespace) -> dict[str, Any]:
    """Child process: aiokafka getmany + the same decode + a dict update per customer."""
    from aiokafka import AIOKafkaConsumer

    from streams.codec import codec_from_settings
    from streams.kafka.topics import input_topics

    s = _settings(args.bootstrap, args.prefix, args.partitions)
    codec = codec_from_settings(s)
    topics = list(input_topics(s).values())

    async def consume() -> dict[str, Any]:
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=args.bootstrap,
            group_id=f"baseline-{time.time_ns()}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        state: dict[str, list[int]] = {}
        n = 0
        first = None
        try:
            while n < args.events:
                batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
                for records in batches.values():
                    if first is None:
                        first = time.perf_counter()
                    for r in records:
                        _, ev = codec.decode(r.value, r.topic)
                        t = ev["occurred_at"]
                        st = state.get(ev["customer_id"])
                        if st is None:
                            st = state[ev["customer_id"]] = [0, 0, t, t]
                        st[0] += 1
                        st[1] += ev.get("amount_minor") or 0
                        st[2] = min(st[2], t)
                        st[3] = max(st[3], t)
                        n += 1
            assert first is not None
            return {"events": n, "seconds": time.perf_counter() - first}
        finally:
            await consumer.stop()

    return asyncio.run(consume())


# ----------------------------------------------------------------------------- driver
def _child(
    kind: str, args: argparse.Namespace, events: int, extra: list[str], out: Path | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    cmd = [
        sys.executable, __file__, f"_{kind}", "--bootstrap", args.bootstrap,
        "--prefix", args.prefix, "--partitions", str(args.partitions),
        "--events", str(events), *extra,
    ]  # fmt: skip
    if out is not None:
        cmd += ["--out", str(out)]
    return _run_json(cmd, out, env)


def _run_json(
    cmd: list[str], out: Path | None = None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if out is not None and out.exists():
        return dict(json.loads(out.read_text()))
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return dict(json.loads(line))
    raise SystemExit(f"{cmd[1:3]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("mode", nargs="?", default="bench", help=argparse.SUPPRESS)
    ap.add_argument("--customers", type=int, default=1500)
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--clickhouse", default="", help="clickhouse:// URL (default: chdb)")
    ap.add_argument("--quix-python", default=str(ROOT / ".quixvenv/bin/python"))
    ap.add_argument("--profile", default="", help="directory for a py-spy profile of journey")
    ap.add_argument(
        "--profile-gil", action="store_true",
        help="profile only the thread holding the GIL (what bounds a GIL-bound worker)",
    )  # fmt: skip
    ap.add_argument("--only", default="", help="comma list of contenders to run")
    ap.add_argument(
        "--no-metrics", action="store_true", help="journey with its metrics calls as no-ops"
    )
    ap.add_argument(
        "--ablate", default="", help="comma list of journey stages to skip: sink,changelog,derived"
    )
    ap.add_argument(
        "--gc-threshold", type=int, default=None,
        help="journey's worker.gc_threshold (default: the setting's; 0 = CPython's 700)",
    )  # fmt: skip
    ap.add_argument(
        "--repeat", type=int, default=1,
        help="rounds of every contender, interleaved (prints medians): this machine is shared",
    )  # fmt: skip
    ap.add_argument(
        "--variant", action="append", default=[], metavar="LABEL:ENV=VALUE[,ENV=VALUE]",
        help="also run journey with these environment settings as contender journey-LABEL, "
        "interleaved with the others (an A/B on the same data and machine), e.g. "
        "--variant asyncio:JOURNEY_WORKER__EVENT_LOOP=asyncio",
    )  # fmt: skip
    ap.add_argument("--bootstrap", help=argparse.SUPPRESS)
    ap.add_argument("--prefix", default="bench.", help=argparse.SUPPRESS)
    ap.add_argument("--events", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--data", default="", help=argparse.SUPPRESS)
    ap.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mode == "_journey":
        # Faust redirects stdout to its logger: the result goes to a file.
        Path(args.out).write_text(json.dumps(run_journey(args)))
        return
    if args.mode == "_baseline":
        print(json.dumps(run_baseline(args)), flush=True)
        return

    from streams.embedded.broker import TansuBroker
    from streams.embedded.stack import simulated_events
    from streams.kafka.produce import produce_records
    from streams.kafka.topics import create_topics

    only = set(filter(None, args.only.split(","))) or {"journey", "baseline", "quix"}
    tmp = Path(tempfile.mkdtemp(prefix="journey-bench-"))
    try:
        with TansuBroker(log_dir=tmp / "broker").start() as broker:
            args.bootstrap = broker.bootstrap
            s = _settings(broker.bootstrap, args.prefix, args.partitions)
            from confluent_kafka.admin import AdminClient

            create_topics(s, AdminClient({"bootstrap.servers": broker.bootstrap}))
            t = time.perf_counter()
            events = list(simulated_events(args.customers, 15, args.seed))
            sent = produce_records(events, s).total_sent
            del events
            gc.collect()  # the producer (in a reference cycle) closes now, not after the broker
            print(
                f"{sent:,} events for {args.customers:,} customers on {args.partitions} "
                f"partitions, produced in {time.perf_counter() - t:.1f} s",
                flush=True,
            )
            rounds: list[dict[str, dict[str, Any]]] = []
            variants = dict(_parse_variant(v) for v in args.variant)
            order = [c for c in ("baseline", "journey", "quix") if c in only]
            order[1:1] = [f"journey-{label}" for label in variants]
            for n in range(args.repeat):
                if args.repeat > 1:
                    print(f"-- round {n + 1} of {args.repeat}", flush=True)
                results: dict[str, dict[str, Any]] = {}
                # rotate the order each round, so drift on a shared machine hits all alike
                for name in order[n % len(order) :] + order[: n % len(order)]:
                    env = variants.get(name.removeprefix("journey-"), {})
                    result = _contender(name, args, broker, s, sent, tmp / f"r{n}", env)
                    if result is not None:
                        results[name] = result
                        _report(name, result)
                _ratios(results)
                rounds.append(results)
            if args.repeat > 1:
                _medians(rounds, tuple(f"journey-{label}" for label in variants))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _contender(
    name: str, args: argparse.Namespace, broker: Any, s: Any, sent: int, tmp: Path,
    env: dict[str, str] | None = None,
) -> dict[str, Any] | None:
    """Run one contender in its own process over the whole generated topic set."""
    from streams.kafka.topics import input_topics

    if name == "baseline":
        return _child("baseline", args, sent, [])
    if name == "journey" or name.startswith("journey-"):
        extra = ["--data", str(tmp / name)]
        if args.no_metrics:
            extra += ["--no-metrics"]
        if args.ablate:
            extra += ["--ablate", args.ablate]
        if args.gc_threshold is not None:
            extra += ["--gc-threshold", str(args.gc_threshold)]
        if args.clickhouse:
            extra += ["--clickhouse", args.clickhouse]
        cpu0 = _cpu_seconds(broker.process.pid)
        if args.profile:
            result = _profiled(args, sent, extra, env, name)
        else:
            tmp.mkdir(parents=True, exist_ok=True)
            result = _child("journey", args, sent, extra, tmp / f"{name}.json", env)
        # the broker shares the machine: its CPU over the whole journey run (start-up and
        # shutdown included) says how much of the 2 cores the worker had
        result["broker_cpu_s"] = round(_cpu_seconds(broker.process.pid) - cpu0, 1)
        return result
    if not Path(args.quix_python).exists():
        print(f"quix: skipped ({args.quix_python} not found; see quix_peer.py)")
        return None
    topics = {name: str(ROOT / "schemas" / f"{et}.avsc") for et, name in input_topics(s).items()}
    return _run_json(
        [args.quix_python, str(ROOT / "bench" / "quix_peer.py"),
         broker.bootstrap, json.dumps(topics), str(sent), str(tmp / "quix")]
    )  # fmt: skip


def _parse_variant(text: str) -> tuple[str, dict[str, str]]:
    label, _, assignments = text.partition(":")
    env = dict(a.split("=", 1) for a in assignments.split(",") if a)
    if not label or not env:
        raise SystemExit(f"--variant {text!r}: expected LABEL:ENV=VALUE[,ENV=VALUE]")
    return label, env


def _medians(rounds: list[dict[str, dict[str, Any]]], variants: tuple[str, ...] = ()) -> None:
    """Median events/s per contender and median of the per-round ratios."""
    from statistics import median

    print(f"== medians of {len(rounds)} rounds")
    for name in ("baseline", "journey", *variants, "quix"):
        rates = [r[name]["rate"] for r in rounds if name in r]
        if rates:
            runs = ", ".join(f"{x:,.0f}" for x in rates)
            print(f"  {name:>8}: {median(rates):,.0f}/s  (runs: {runs})")
    for ref in ("baseline", "quix"):
        both = [r for r in rounds if "journey" in r and ref in r]
        ratios = [r["journey"]["rate"] / r[ref]["rate"] for r in both]
        if ratios:
            each = ", ".join(f"{x:.2f}" for x in ratios)
            print(f"  journey / {ref}: {median(ratios):.2f}x  (rounds: {each})")
    for name in variants:
        both = [r for r in rounds if "journey" in r and name in r]
        ratios = [r[name]["rate"] / r["journey"]["rate"] for r in both]
        if ratios:
            each = ", ".join(f"{x:.2f}" for x in ratios)
            print(f"  {name} / journey: {median(ratios):.2f}x  (rounds: {each})")


def _profiled(
    args: argparse.Namespace, events: int, extra: list[str], env: dict[str, str] | None,
    name: str,
) -> dict[str, Any]:
    out = Path(args.profile)
    out.mkdir(parents=True, exist_ok=True)
    raw = out / f"{name}.pyspy.txt"
    # py-spy installs next to the interpreter (a venv's bin/), which may not be on PATH
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    cmd = [
        # --nonblocking: sample without pausing the worker (a paused worker runs ~2x slower
        # and starves its fetches, which distorts the profile)
        spy, "record", "--nonblocking", "--format", "raw", "--rate", "200", "-o", str(raw),
        *(["--gil"] if args.profile_gil else []), "--",
        sys.executable, __file__, "_journey", "--bootstrap", args.bootstrap,
        "--prefix", args.prefix, "--partitions", str(args.partitions),
        "--events", str(events), *extra, "--out", str(out / f"{name}.json"),
    ]  # fmt: skip
    result = _run_json(cmd, out / f"{name}.json", env)
    _top_frames(raw)
    return result


def _top_frames(raw: Path, n: int = 15) -> None:
    """Self time per frame from py-spy's collapsed stacks."""
    self_time: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        leaf = stack.split(";")[-1]
        self_time[leaf] = self_time.get(leaf, 0) + int(count)
        total += int(count)
    print(f"top frames by self time ({raw}):")
    for frame, c in sorted(self_time.items(), key=lambda kv: -kv[1])[:n]:
        print(f"  {100 * c / total:5.1f} %  {frame}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _report(name: str, r: dict[str, Any]) -> None:
    for key, value in sorted(r.get("counters", {}).items()):
        print(f"    {key}: {value:,.0f}")
    shown = (
        "stage_seconds", "cpu_cores", "loop_busy", "tail_s", "broker_cpu_s", "mean_recent",
        "event_loop",
    )  # fmt: skip
    for key in (*shown, "watermark_lag_h"):
        if key in r:
            print(f"    {key}: {r[key]}")
    rate = r["events"] / r["seconds"]
    r["rate"] = rate
    print(f"{name:>9}: {r['events']:,} events in {r['seconds']:.2f} s = {rate:,.0f}/s", flush=True)


def _ratios(results: dict[str, dict[str, Any]]) -> None:
    j = results.get("journey")
    if j is None:
        return
    for ref in ("baseline", "quix"):
        if ref in results:
            print(f"journey / {ref}: {j['rate'] / results[ref]['rate']:.2f}x")


if __name__ == "__main__":
    main()
