"""Run ``journey worker`` as a real process in tests: start, watch its metrics, stop or kill.

Tests that cross process boundaries (crash recovery, ClickHouse outages, several workers)
drive the worker exactly as an operator does - ``python -m streams.cli worker`` configured by
``JOURNEY_*`` environment variables - and observe it from outside: its ``/metrics`` endpoint,
the topics and ClickHouse.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from streams.embedded.broker import free_port


def worker_env(
    *,
    bootstrap: str,
    prefix: str,
    clickhouse_url: str,
    data_dir: Path,
    partitions: int = 1,
    app_id: str | None = None,
    **worker: Any,
) -> dict[str, str]:
    """Environment for a test worker: short timeouts, memory store unless told otherwise.

    ``worker`` keys are WorkerSettings fields (``store="rocksdb://"``, ``idle_topic_s=1``...).
    """
    env = dict(os.environ)
    settings: dict[str, Any] = {
        "app_id": app_id or f"journey-{prefix}",
        "data_dir": data_dir,
        "store": "memory://",
        "web_port": 0,
        "idle_topic_s": 1,
        "sink_batch_seconds": 0.5,
        "checkpoint_seconds": 1,
        "session_timeout_s": 6,
        "recovery_consistency_check": False,  # Tansu: see WorkerSettings
        **worker,
    }
    env.update(
        {
            "JOURNEY_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "JOURNEY_TOPICS__PREFIX": prefix,
            "JOURNEY_TOPICS__PARTITIONS": str(partitions),
            "JOURNEY_CLICKHOUSE__URL": clickhouse_url,
        }
    )
    env.update({f"JOURNEY_WORKER__{k.upper()}": str(v) for k, v in settings.items()})
    return env


class WorkerProcess:
    """One ``journey worker`` subprocess with a metrics port of its own."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.metrics_port = free_port()
        self.env = {**env, "JOURNEY_WORKER__METRICS_PORT": str(self.metrics_port)}
        self.proc: subprocess.Popen[bytes] | None = None
        data_dir = Path(self.env["JOURNEY_WORKER__DATA_DIR"])
        self.log_path = data_dir / f"worker-{uuid.uuid4().hex[:6]}.log"

    def start(self) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    def output(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")[-tail:]
        except OSError:
            return ""

    def metric(self, name: str) -> float:
        """Sum of the samples of ``name`` on /metrics (-1 when the endpoint is not up)."""
        try:
            url = f"http://127.0.0.1:{self.metrics_port}/metrics"
            body = urllib.request.urlopen(url, timeout=2).read()
        except OSError:
            return -1.0
        total = 0.0
        for line in body.decode().splitlines():
            if line.startswith(name) and not line.startswith("#"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``predicate`` until true; fail with the worker's log if it dies or times out."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"worker exited with {self.proc.returncode} while {what}:\n{self.output()}"
                )
            if predicate():
                return
            time.sleep(0.25)
        raise AssertionError(f"timed out after {timeout}s {what}:\n{self.output()}")

    def wait_watermark_settled(self, settle_s: float = 3.0, timeout: float = 60) -> None:
        """Wait until the worker's lowest watermark has not moved for ``settle_s`` seconds.

        After the last input, caught-up topics release the watermark once idle, and due
        decisions fire on the next timer tick: on a loaded machine that takes longer than any
        fixed sleep. Call it before a graceful :meth:`stop` when the result must include them.
        """
        name = "journey_watermark_timestamp_seconds"
        last, since = self.metric(name), time.monotonic()

        def settled() -> bool:
            nonlocal last, since
            now = self.metric(name)
            if now != last or now <= 0:
                last, since = now, time.monotonic()
            return time.monotonic() - since >= settle_s

        self.wait(settled, timeout, "the watermark settles")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM (graceful: final checkpoint) and wait; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: no flush, no commit, no goodbye."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def consume_all(bootstrap: str, topic: str, expect: int, timeout: float = 30) -> list[Any]:
    """Every message of ``topic`` (waits for ``expect``, then a little longer for extras)."""
    from confluent_kafka import Consumer

    from streams.kafka.clients import consumer_config
    from streams.settings import Settings

    s = Settings.model_validate({"kafka": {"bootstrap_servers": bootstrap}})
    c = Consumer(consumer_config(s.kafka, f"check-{uuid.uuid4()}"))
    c.subscribe([topic])
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(got) < expect:
        msg = c.poll(0.5)
        if msg is not None and msg.error() is None:
            got.append(msg)
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        msg = c.poll(0.2)
        if msg is not None and msg.error() is None:
            got.append(msg)
    c.close()
    return got


def committed_records(bootstrap: str, group: str, topics: list[str]) -> int:
    """Sum of consumer group ``group``'s committed offsets over ``topics`` (-1 if unknown).

    The worker commits an offset only after the event's rows and state are stored, so when
    this equals the number of records produced (offsets start at 0), everything produced is
    in ClickHouse - whichever engine holds it. (Not computed from the topics' end offsets:
    Tansu 0.6's ListOffsets answers the last record *batch*'s base offset + 1.)
    """
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = [
            TopicPartition(t, p)
            for t in topics
            for p in c.list_topics(t, timeout=10).topics[t].partitions
        ]
        return sum(max(tp.offset, 0) for tp in c.committed(tps, timeout=10))
    except Exception:
        return -1
    finally:
        c.close()


#: Columns that record when a row was written, not what it says.
WRITE_TIME_COLUMNS = ("ingested_at", "updated_at")


def table_contents(
    store: Any, table: str, skip: tuple[str, ...] = WRITE_TIME_COLUMNS
) -> list[tuple[Any, ...]]:
    """Every row of ``table`` as ClickHouse would answer a dedup-safe query (FINAL), sorted.

    For comparing two runs: columns that record *when* a row was written are skipped.
    """
    names = [
        r[0]
        for r in store.execute(
            "SELECT name FROM system.columns WHERE database = currentDatabase() "
            "AND table = {t:String}",
            {"t": table},
        )
        if r[0] not in skip
    ]
    cols = ", ".join(f"`{n}`" for n in names)
    return sorted(store.execute(f"SELECT {cols} FROM `{table}` FINAL"), key=repr)
