"""At-least-once, idempotent at the end: a worker killed mid-stream ends as if it never died.

Both runs read the same topics (one simulated bank, three partitions) into their own
ClickHouse database with RocksDB state: one runs uninterrupted, the other is SIGKILLed once
rows have started to land and is then restarted with the same group, data directory and
database. The ClickHouse contents (FINAL, dedup-safe) and the cohort query must be identical.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
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

pytestmark = [pytest.mark.broker, pytest.mark.slow]

TABLES = ("events", "customer_state", "defections", "stalls", "window_outcomes")
PARTITIONS = 3


@pytest.fixture(params=["server", "chdb"])
def store_urls(
    request: pytest.FixtureRequest, tmp_path: Path, clickhouse_server: Any
) -> Iterator[tuple[str, str]]:
    """Two separate databases (uninterrupted run, crashed run) on one engine."""
    if request.param == "server":
        yield (
            clickhouse_server.url_for(f"r_{uuid.uuid4().hex[:10]}"),
            clickhouse_server.url_for(f"k_{uuid.uuid4().hex[:10]}"),
        )
    else:
        yield f"chdb://{tmp_path / 'chdb-ref'}", f"chdb://{tmp_path / 'chdb-kill'}"


def _finish(worker: WorkerProcess, settings: Settings, group: str, sent: int) -> None:
    """Wait until every event is committed (hence stored), let the topics go idle, stop."""
    topics = list(input_topics(settings).values())
    bootstrap = settings.kafka.bootstrap_servers
    worker.wait(
        lambda: committed_records(bootstrap, group, topics) == sent, 240, "waiting for commits"
    )
    time.sleep(3)  # idle topics (1 s) release the watermark; due deadlines fire; checkpoint
    assert worker.stop() == 0, worker.output()


def _contents(url: str) -> dict[str, Any]:
    store = open_store(url)
    try:
        out: dict[str, Any] = {t: table_contents(store, t) for t in TABLES}
        out["cohort_summary"] = store.execute(load_query("cohort_summary"))
        return out
    finally:
        store.close()


def test_sigkill_mid_stream_then_restart_matches_uninterrupted_run(
    broker: str, topic_prefix: str, store_urls: tuple[str, str], tmp_path: Path
) -> None:
    settings = Settings(
        kafka={"bootstrap_servers": broker},
        topics={"prefix": topic_prefix, "partitions": PARTITIONS},
    )
    create_topics(settings, AdminClient(admin_config(settings.kafka)))
    sent = produce_records(simulated_events(60, 15, 3), settings).total_sent
    assert sent > 5_000

    ref_url, kill_url = store_urls
    # app ids (consumer group, changelog topic) unique per test: the broker is shared
    ref_id, kill_id = topic_prefix + "ref", topic_prefix + "kill"
    common = {"bootstrap": broker, "prefix": topic_prefix, "partitions": PARTITIONS,
              "store": "rocksdb://", "max_poll_records": 500}  # fmt: skip

    reference = WorkerProcess(
        worker_env(clickhouse_url=ref_url, data_dir=tmp_path / "ref", app_id=ref_id, **common)
    ).start()
    try:
        _finish(reference, settings, ref_id, sent)
    finally:
        reference.stop()

    env = worker_env(clickhouse_url=kill_url, data_dir=tmp_path / "kill", app_id=kill_id, **common)
    victim = WorkerProcess(env).start()
    try:
        victim.wait(
            lambda: victim.metric("journey_sink_rows_written_total") > 0
            and victim.metric("journey_events_consumed_total") >= sent // 3,
            120, "waiting for rows, a third of the way in",
        )  # fmt: skip
        victim.kill()
        done = committed_records(broker, kill_id, list(input_topics(settings).values()))
        assert done < sent, "the kill came too late to test anything"
        restarted = WorkerProcess(env).start()
        try:
            _finish(restarted, settings, kill_id, sent)
        finally:
            restarted.stop()
    finally:
        victim.stop()

    expected, got = _contents(ref_url), _contents(kill_url)
    assert len(expected["events"]) == sent
    assert expected["customer_state"] and expected["window_outcomes"]
    for name in expected:
        missing = [r for r in expected[name] if r not in got[name]][:3]
        extra = [r for r in got[name] if r not in expected[name]][:3]
        assert got[name] == expected[name], f"{name} differs: missing {missing} extra {extra}"
