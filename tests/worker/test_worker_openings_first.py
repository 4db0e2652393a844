"""Openings are read first across fetches: a backfill holds (almost) nothing for its opening.

Real worker process, real Tansu broker, chdb. Every customer's logins and transactions are on
the broker before any opening, on three partitions. Without openings first, aiokafka hands
over whole fetches of one topic-partition in a shuffled order, and whatever it reads before a
customer's opening waits in the engine (``journey_events_held_total``). With it, only the
very first fetch (before any high-water mark is known) can hold events, so the count stays
within one fetch (``max_poll_records``) while everything is still applied.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from streams.engine.builders import day, login, opened, tx
from streams.kafka.clients import admin_config
from streams.kafka.produce import produce_records
from streams.kafka.topics import create_topics
from streams.settings import Settings
from streams.testing.worker import WorkerProcess, worker_env

T0 = 1_717_200_000_000  # 2024-06-01T00:00:00Z
CUSTOMERS = 120
PER_CUSTOMER = 20  # logins and transactions
POLL = 200

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def test_backfill_reads_openings_first_and_holds_at_most_one_fetch(
    broker: str, topic_prefix: str, tmp_path: Path
) -> None:
    settings = Settings(
        kafka={"bootstrap_servers": broker},
        topics={"prefix": topic_prefix, "partitions": 3},
    )
    create_topics(settings, AdminClient(admin_config(settings.kafka)))
    activity = []
    for c in range(CUSTOMERS):
        cid = f"c{c:04d}"
        for k in range(PER_CUSTOMER):
            t = T0 + day(1 + k)
            activity.append(
                login(cid, t) if k % 2 else tx(cid, t, kind="card_purchase", amount=1_000)
            )
    openings = [opened(f"c{c:04d}", T0) for c in range(CUSTOMERS)]
    assert produce_records(activity, settings).total_sent == len(activity)
    assert produce_records(openings, settings).total_sent == len(openings)
    total = len(activity) + len(openings)

    worker = WorkerProcess(
        worker_env(bootstrap=broker, prefix=topic_prefix, partitions=3,
                   clickhouse_url=f"chdb://{tmp_path / 'chdb'}", data_dir=tmp_path / "worker",
                   max_poll_records=POLL)
    ).start()  # fmt: skip
    try:
        worker.wait(lambda: worker.metric("journey_events_processed_total") >= total,
                    120, "waiting for every event to be applied")  # fmt: skip
        held = worker.metric("journey_events_held_total")
        dead = worker.metric("journey_events_dead_lettered_total")
    finally:
        worker.stop()
    log = worker.output()
    assert dead <= 0, log  # no orphans: every held event found its opening
    # Reading the topics in the order Kafka happens to deliver them held up to all
    # 2,400 events; openings first leaves at most the first fetch's records waiting.
    assert held <= POLL, (held, log)
