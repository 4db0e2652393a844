"""Right to erasure end to end: ``journey erase --state`` removes a customer from ClickHouse
and from the worker state (RocksDB + changelog), and leaves every other customer alone.

A worker (RocksDB state) processes two customers and stops. ``journey erase c1 --state`` deletes
c1's rows and sends a tombstone to the state changelog. The worker restarts (its RocksDB still
holds c1 until it replays the changelog tail) and then gets a new login for each customer: c2's
login is applied to c2's restored state (an events row carrying c2's opening time), c1's is not
(c1 is unknown, so the login is held awaiting an opening: no events row). Had the state survived,
c1's login would have been applied like c2's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from streams.engine.builders import day, login, opened, tx
from streams.kafka.clients import admin_config
from streams.kafka.produce import produce_records
from streams.kafka.topics import create_topics, input_topics
from streams.privacy import state_changelog_topic
from streams.settings import Settings
from streams.store import open_store
from streams.testing.worker import WorkerProcess, committed_records, worker_env

pytestmark = [pytest.mark.broker, pytest.mark.slow, pytest.mark.chserver]

T0 = 1_717_200_000_000


def _tombstones(broker: str, topic: str, key: bytes) -> int:
    c = Consumer({"bootstrap.servers": broker, "group.id": f"t-{uuid.uuid4()}"})
    parts = c.list_topics(topic, timeout=10).topics[topic].partitions
    c.assign([TopicPartition(topic, p, 0) for p in parts])
    found, idle = 0, 0
    while idle < 6:
        m = c.poll(0.5)
        if m is None or m.error():
            idle += 1
            continue
        idle = 0
        if m.key() == key and m.value() is None:
            found += 1
    c.close()
    return found


def test_erase_with_state_forgets_the_customer_everywhere(
    broker: str, topic_prefix: str, clickhouse_server: Any, tmp_path: Path
) -> None:
    app_id = topic_prefix + "x"
    url = clickhouse_server.url_for(f"e_{uuid.uuid4().hex[:10]}")
    settings = Settings(
        kafka={"bootstrap_servers": broker},
        topics={"prefix": topic_prefix, "partitions": 2},
        worker={"app_id": app_id},
    )
    create_topics(settings, AdminClient(admin_config(settings.kafka)))
    topics = list(input_topics(settings).values())
    first = [opened("c1", T0), login("c1", T0 + day(1)), tx("c1", T0 + day(2)),
             opened("c2", T0 + day(1)), login("c2", T0 + day(2))]  # fmt: skip
    sent = produce_records(first, settings).total_sent
    env = worker_env(bootstrap=broker, prefix=topic_prefix, partitions=2, clickhouse_url=url,
                     data_dir=tmp_path / "w", app_id=app_id, store="rocksdb://")  # fmt: skip

    def run_until(total: int) -> None:
        w = WorkerProcess(env).start()
        try:
            w.wait(lambda: committed_records(broker, app_id, topics) >= total, 120, "committing")
            time.sleep(2)  # a checkpoint after the last batch (states to the changelog)
        finally:
            assert w.stop() == 0, w.output()

    run_until(sent)
    with open_store(url) as store:
        per_customer = "SELECT customer_id, count() FROM events GROUP BY customer_id ORDER BY 1"
        assert store.execute(per_customer) == [("c1", 3), ("c2", 2)]

    erased = subprocess.run(
        [sys.executable, "-m", "streams.cli", "erase", "c1", "--state"],
        env={**env, "JOURNEY_WORKER__APP_ID": app_id}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert erased.returncode == 0, erased.stderr
    assert "tombstoned worker state on 2 changelog partition(s)" in erased.stdout
    assert "3  events" in erased.stdout
    assert _tombstones(broker, state_changelog_topic(settings), b"c1") == 2

    later = [login("c1", T0 + day(3)), login("c2", T0 + day(3))]
    sent += produce_records(later, settings).total_sent
    run_until(sent)
    with open_store(url) as store:
        rows = store.execute(
            "SELECT customer_id, toUnixTimestamp(opened_at) AS o, count() FROM events FINAL "
            "GROUP BY customer_id, o ORDER BY customer_id"
        )
        state = store.execute("SELECT customer_id FROM customer_state FINAL WHERE opened_at > 0")
    # c2: its state survived (the new login carries its opening time); c1: nothing, anywhere
    assert rows == [("c2", (T0 + day(1)) // 1000, 3)]
    assert state == [("c2",)]
    assert os.path.isdir(tmp_path / "w")  # the same RocksDB directory served both runs
