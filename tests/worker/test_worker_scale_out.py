"""Several workers in one consumer group: leaving and joining lose and double-count nothing.

One simulated bank on four partitions, fed in event-time order, a chunk at a time (so the
test, not a race, decides when a worker leaves). Two runs, each into its own database on the
real ClickHouse server (chdb allows one process per data folder, so several workers need a
server):

* reference: one worker, every event produced up front, never disturbed;
* scale-out: workers A and B share the group (RocksDB state, one standby replica each);
  A is SIGKILLed while it is processing a chunk (no flush, no commit), B takes its
  partitions over from the changelog; A is restarted (its local RocksDB is now stale: B has
  moved A's old partitions on) and rejoins; B then leaves with SIGTERM (graceful handover)
  while A is processing, and A finishes alone.

Every table (FINAL, dedup-safe, write-time columns skipped) and the cohort query must be
identical to the reference run, and ``uniqExact`` counts must equal raw counts after FINAL.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from streams.embedded.stack import load_query, simulated_events
from streams.kafka.clients import admin_config
from streams.kafka.produce import produce_records
from streams.kafka.topics import create_topics, input_topics
from streams.settings import Settings
from streams.store import open_store
from streams.testing.worker import WorkerProcess, committed_records, table_contents, worker_env

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.chserver]

TABLES = ("events", "customer_state", "defections", "stalls", "window_outcomes")
PARTITIONS = 4
CHUNKS = 20
LATENESS_S = 60 * 86_400

Events = list[tuple[str, dict[str, Any]]]


def _events() -> Events:
    evs = list(simulated_events(90, 15, 11))
    # Event-time order: a later chunk is never older than an earlier one, so feeding chunks
    # with pauses cannot turn an event into a too-late one (the reference sees no pauses).
    evs.sort(key=lambda te: te[1]["occurred_at"])
    return evs


def _rejections(broker: str, settings: Settings) -> dict[str, int]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(
        {
            "bootstrap.servers": broker,
            "group.id": "diag-" + uuid.uuid4().hex,
            "enable.auto.commit": False,
        }
    )
    c.assign(
        [
            TopicPartition(settings.topics.name(k), p, 0)
            for k in ("dead_letter", "orphans", "too_late")
            for p in range(PARTITIONS)
        ]
    )
    out: dict[str, int] = {}
    idle = 0
    while idle < 10:
        m = c.poll(0.5)
        if m is None or m.error():
            idle += 1
            continue
        idle = 0
        h = dict(m.headers() or [])
        key = f"{m.topic().rsplit('.', 1)[-1]}:{h.get('reason', b'?').decode()}"
        out[key] = out.get(key, 0) + 1
    c.close()
    return out


def _contents(url: str) -> dict[str, Any]:
    store = open_store(url)
    try:
        out: dict[str, Any] = {t: table_contents(store, t) for t in TABLES}
        out["cohort_summary"] = store.execute(load_query("cohort_summary"))
        out["counts"] = store.execute(
            "SELECT count(), uniqExact(event_id), uniqExact(customer_id) FROM events FINAL"
        )
        return out
    finally:
        store.close()


class Feed:
    """Produces the events chunk by chunk and tracks how many were sent."""

    def __init__(self, events: Events, settings: Settings) -> None:
        size = -(-len(events) // CHUNKS)
        self.chunks = [events[i : i + size] for i in range(0, len(events), size)]
        self.settings = settings
        self.sent = 0

    def next(self) -> bool:
        if not self.chunks:
            return False
        self.sent += produce_records(self.chunks.pop(0), self.settings, check=False).total_sent
        return True


def _wait(
    what: str, cond: Callable[[], bool], *workers: WorkerProcess, timeout: float = 180
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for w in workers:
            assert w.proc is not None
            if w.proc.poll() is not None:
                raise AssertionError(f"worker exited while {what}:\n{w.output()}")
        if cond():
            return
        time.sleep(0.25)
    logs = "\n---\n".join(w.output() for w in workers)
    raise AssertionError(f"timed out {what}:\n{logs}")


def test_two_workers_kill_join_leave_match_single_uninterrupted_worker(
    broker: str, topic_prefix: str, clickhouse_server: Any, tmp_path: Path
) -> None:
    settings = Settings(
        kafka={"bootstrap_servers": broker},
        topics={"prefix": topic_prefix, "partitions": PARTITIONS},
    )
    create_topics(settings, AdminClient(admin_config(settings.kafka)))
    topics = list(input_topics(settings).values())
    events = _events()
    ref_url = clickhouse_server.url_for(f"r_{uuid.uuid4().hex[:10]}")
    out_url = clickhouse_server.url_for(f"s_{uuid.uuid4().hex[:10]}")
    common = {"bootstrap": broker, "prefix": topic_prefix, "partitions": PARTITIONS,
              "store": "rocksdb://", "max_poll_records": 200}  # fmt: skip
    # Each chunk spans ~3 weeks of event time, delivered at once: far more than the default
    # 1-day lateness, so a topic fetched a moment after the others would see its events
    # called too late (that is about bursts, not about several workers: a single worker fed
    # this way does it too). Both runs use a lateness longer than a chunk, and every chunk is
    # committed before the next is produced, so no partition ever has more than one chunk
    # pending, whoever owns it.
    lateness = {"JOURNEY_ENGINE__ALLOWED_LATENESS_S": str(LATENESS_S)}

    # The scale-out run first (it owns the topics' pacing); the reference reads them after.
    group = topic_prefix + "x"
    feed = Feed(events, settings)

    def committed() -> int:
        return committed_records(broker, group, topics)

    def env(name: str) -> dict[str, str]:
        return worker_env(clickhouse_url=out_url, data_dir=tmp_path / name, app_id=group,
                          standby_replicas=1, **common) | lateness  # fmt: skip

    a, b = WorkerProcess(env("a")), WorkerProcess(env("b"))
    a.start()
    b.start()
    a2: WorkerProcess | None = None
    try:
        # 1. both workers own partitions: feed until each has consumed something
        while a.metric("journey_events_consumed_total") <= 0 or (
            b.metric("journey_events_consumed_total") <= 0
        ):
            assert len(feed.chunks) > CHUNKS // 2, "one worker never got a partition"
            feed.next()
            n = feed.sent
            _wait("the first chunks are committed", lambda: committed() >= n, a, b)  # noqa: B023
        # 2. SIGKILL A while it is applying a chunk (fetched, not yet committed)
        seen = a.metric("journey_events_consumed_total")
        feed.next()
        _wait("A fetches the next chunk",
              lambda: a.metric("journey_events_consumed_total") > seen, a, b)  # fmt: skip
        a.kill()
        assert committed() < feed.sent, "the kill came too late to test anything"
        # 3. B alone takes A's partitions over (the chunk A was applying, then three more)
        for _ in range(4):
            n = feed.sent
            _wait("B takes over and catches up", lambda: committed() >= n, b)  # noqa: B023
            feed.next()
        n = feed.sent
        _wait("B alone commits the chunk", lambda: committed() >= n, b)
        # 4. A rejoins with its stale local RocksDB
        a2 = WorkerProcess(env("a")).start()
        while a2.metric("journey_events_consumed_total") <= 0:
            assert feed.next(), "the restarted worker never got a partition back"
            n = feed.sent
            _wait("A rejoins, the chunk is committed", lambda: committed() >= n, a2, b)  # noqa: B023
        # 5. B leaves gracefully while A2 is applying a chunk; A2 finishes alone
        seen = a2.metric("journey_events_consumed_total")
        feed.next()
        _wait("A2 fetches the next chunk",
              lambda: a2.metric("journey_events_consumed_total") > seen, a2, b)  # fmt: skip
        assert b.stop() == 0, b.output()
        while True:
            n = feed.sent
            _wait("A2 takes over and commits the chunk", lambda: committed() >= n, a2)  # noqa: B023
            if not feed.next():
                break
        total = feed.sent
        assert total == len(events)
        _wait("A2 alone commits everything", lambda: committed() == total, a2, timeout=240)
        a2.wait_watermark_settled()  # idle topics release the watermark; due deadlines fire
        assert a2.stop() == 0, a2.output()
    finally:
        for w in (a, b, a2):
            if w is not None and w.proc is not None:
                w.stop()

    ref_id = topic_prefix + "ref"
    ref_env = worker_env(clickhouse_url=ref_url, data_dir=tmp_path / "ref", app_id=ref_id, **common)
    reference = WorkerProcess(ref_env | lateness).start()
    try:
        _wait("the reference commits everything",
              lambda: committed_records(broker, ref_id, topics) == total, reference,
              timeout=240)  # fmt: skip
        reference.wait_watermark_settled()
        assert reference.stop() == 0, reference.output()
    finally:
        reference.stop()

    expected, got = _contents(ref_url), _contents(out_url)
    if got != expected:  # say what the scale-out run rejected (both runs share the topics)
        print("rejections:", _rejections(broker, settings))
    assert len(expected["events"]) == total
    assert expected["counts"] == [(total, total, expected["counts"][0][2])]
    assert expected["customer_state"] and expected["window_outcomes"] and expected["stalls"]
    for name in expected:
        missing = [r for r in expected[name] if r not in got[name]][:3]
        extra = [r for r in got[name] if r not in expected[name]][:3]
        assert got[name] == expected[name], f"{name} differs: missing {missing} extra {extra}"
