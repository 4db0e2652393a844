"""ClickHouse goes away for 30 s mid-stream: the worker retries, pauses, resumes, loses nothing.

Runs against a ClickHouse server of its own (Debian's 18.16), stopped and restarted on the
same ports and data; chdb is in-process and cannot go down. The worker must stay up (no
crash, no rebalance), say so in its metrics (insert retries climbing), commit no offset
while rows cannot be stored, and end with the same contents as an uninterrupted run.
"""

from __future__ import annotations

import time
import uuid
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
from streams.testing.clickhouse_server import ClickHouseServer, find_server_binary
from streams.testing.real import missing
from streams.testing.worker import WorkerProcess, committed_records, table_contents, worker_env

pytestmark = [pytest.mark.broker, pytest.mark.slow]

TABLES = ("events", "customer_state", "defections", "stalls", "window_outcomes")
OUTAGE_S = 30


def _contents(url: str) -> dict[str, Any]:
    store = open_store(url)
    try:
        out: dict[str, Any] = {t: table_contents(store, t) for t in TABLES}
        out["cohort_summary"] = store.execute(load_query("cohort_summary"))
        return out
    finally:
        store.close()


def _run_to_end(worker: WorkerProcess, settings: Settings, group: str, total: int) -> None:
    topics = list(input_topics(settings).values())
    bootstrap = settings.kafka.bootstrap_servers
    worker.wait(lambda: committed_records(bootstrap, group, topics) == total, 240,
                "waiting for every event to be committed")  # fmt: skip
    time.sleep(3)  # topics go idle, the watermark reaches the end, final checkpoint
    assert worker.stop() == 0, worker.output()


def test_clickhouse_down_30s_loses_nothing(
    broker: str, topic_prefix: str, tmp_path: Path, clickhouse_server: Any
) -> None:
    if find_server_binary() is None:
        missing("clickhouse-server not installed: the outage test needs its own server")
    settings = Settings(
        kafka={"bootstrap_servers": broker}, topics={"prefix": topic_prefix, "partitions": 2}
    )
    create_topics(settings, AdminClient(admin_config(settings.kafka)))
    events = list(simulated_events(40, 15, 5))
    half = len(events) // 2
    first = produce_records(events[:half], settings).total_sent
    common = {"bootstrap": broker, "prefix": topic_prefix, "partitions": 2}
    # app ids (consumer group, changelog topic) unique per test: the broker is shared
    ref_id, outage_id = topic_prefix + "ref", topic_prefix + "outage"
    topics = list(input_topics(settings).values())

    with ClickHouseServer(workdir=tmp_path / "ch") as own:
        url = own.url_for(f"o_{uuid.uuid4().hex[:8]}")
        worker = WorkerProcess(
            worker_env(clickhouse_url=url, data_dir=tmp_path / "w", app_id=outage_id, **common)
        ).start()
        try:
            worker.wait(lambda: committed_records(broker, outage_id, topics) == first, 180,
                        "waiting for the first half to be stored")  # fmt: skip
            own.stop(keep_data=True)
            total = first + produce_records(events[half:], settings).total_sent
            down_at = time.monotonic()
            worker.wait(lambda: worker.metric("journey_sink_retries") >= 2, OUTAGE_S,
                        "waiting for insert retries to show in the metrics")  # fmt: skip
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
            assert worker.proc is not None and worker.proc.poll() is None, worker.output()
            committed_while_down = committed_records(broker, outage_id, topics)
            assert first <= committed_while_down < total, "offsets committed without storage"
            own.start()
            _run_to_end(worker, settings, outage_id, total)
        finally:
            worker.stop()
        got = _contents(url)

    ref_url = clickhouse_server.url_for(f"ref_{uuid.uuid4().hex[:8]}")
    reference = WorkerProcess(
        worker_env(clickhouse_url=ref_url, data_dir=tmp_path / "ref", app_id=ref_id, **common)
    ).start()
    try:
        _run_to_end(reference, settings, ref_id, total)
    finally:
        reference.stop()
    expected = _contents(ref_url)
    assert len(expected["events"]) == total
    for name in expected:
        assert got[name] == expected[name], f"{name} differs after the outage"
