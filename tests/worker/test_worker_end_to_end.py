"""The thin path for real: `journey worker` as a process, the Tansu broker, both ClickHouses.

Events in → exact rows out, and bad input (not Avro, unknown schema, wrong topic, duplicate,
too late) lands in its topic with a reason while the worker keeps going.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from streams.codec import SingleObjectCodec
from streams.codec.derived import DerivedCodec
from streams.engine.builders import closure, day, login, opened, tx
from streams.kafka.clients import admin_config
from streams.kafka.topics import create_topics
from streams.settings import Settings
from streams.store import open_store
from streams.testing.worker import WorkerProcess, consume_all, worker_env

T0 = 1_717_200_000_000  # 2024-06-01T00:00:00Z

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def _events() -> list[tuple[str, dict[str, Any]]]:
    """Three customers on one partition; c2 closes its last account on day 12."""
    evs = [
        opened("c1", T0, channel="online", segment="student"),
        opened("c2", T0 + day(1), channel="branch"),
        opened("c3", T0 + day(2), channel="mobile"),
        login("c1", T0 + day(1)),
        tx("c1", T0 + day(2), direction="credit", kind="transfer_in", amount=50_000),
        tx("c1", T0 + day(3), kind="card_purchase", amount=2_000),
        login("c2", T0 + day(3), channel="online"),
        closure("c2", T0 + day(12)),
        login("c3", T0 + day(20)),
        tx("c3", T0 + day(25), direction="credit", kind="direct_deposit", amount=200_000),
    ]
    return evs


def _settings(bootstrap: str, prefix: str, url: str) -> Settings:
    return Settings(
        kafka={"bootstrap_servers": bootstrap},
        topics={"prefix": prefix, "partitions": 1},
        clickhouse={"url": url},
    )


@pytest.fixture(params=["server", "chdb"])
def store_target(
    request: pytest.FixtureRequest, tmp_path: Path, clickhouse_server: Any
) -> Iterator[str]:
    if request.param == "server":
        db = f"w_{uuid.uuid4().hex[:10]}"
        yield clickhouse_server.url_for(db)
    else:
        yield f"chdb://{tmp_path / 'chdb'}"


def test_worker_events_in_exact_rows_out_and_bad_input_routed(
    broker: str, topic_prefix: str, store_target: str, tmp_path: Path
) -> None:
    settings = _settings(broker, topic_prefix, store_target)
    create_topics(settings, AdminClient(admin_config(settings.kafka)))
    codec = SingleObjectCodec()
    producer = Producer({"bootstrap.servers": broker, "linger.ms": 5})
    topic = settings.topics.name
    events = _events()
    for event_type, ev in events:
        producer.produce(
            topic(event_type), key=ev["customer_id"].encode(), value=codec.encode(event_type, ev)
        )
    dup_type, dup = events[3]
    producer.produce(topic(dup_type), key=b"c1", value=codec.encode(dup_type, dup))
    producer.produce(topic("login"), key=b"c1", value=b"not avro at all")
    unknown = b"\xc3\x01" + b"\x11" * 8 + b"\x00"
    producer.produce(topic("login"), key=b"c1", value=unknown)
    wrong_type, wrong = login("c1", T0 + day(4))
    producer.produce(topic("transaction"), key=b"c1", value=codec.encode(wrong_type, wrong))
    producer.flush(10)
    sent = len(events) + 4

    worker = WorkerProcess(
        worker_env(bootstrap=broker, prefix=topic_prefix, clickhouse_url=store_target,
                   data_dir=tmp_path / "worker")
    ).start()  # fmt: skip
    try:
        worker.wait(lambda: worker.metric("journey_events_consumed_total") >= sent,
                    90, "waiting for the worker to consume")  # fmt: skip
        # Let every topic go idle (1 s) so the watermark reaches the end of the input; then
        # an event 20 days older than everything seen is beyond the 1-day lateness.
        time.sleep(2.5)
        late_type, late = tx("c1", T0 + day(5), kind="card_purchase")
        producer.produce(topic(late_type), key=b"c1", value=codec.encode(late_type, late))
        producer.flush(10)
        worker.wait(lambda: worker.metric("journey_events_too_late_total") >= 1,
                    30, "waiting for the too-late event")  # fmt: skip
        # idle topics release the watermark to the end; the timer then flushes
        time.sleep(3)
        worker.wait(lambda: worker.metric("journey_sink_rows_written_total") > 0,
                    30, "waiting for a flush")  # fmt: skip
        time.sleep(2)
    finally:
        worker.stop()
    log = worker.output(5000)

    store = open_store(store_target)
    try:
        rows = store.execute(
            "SELECT event_type, count() FROM events FINAL GROUP BY event_type ORDER BY event_type"
        )
        assert dict(rows) == {
            "account_opened": 3,
            "login": 3,
            "transaction": 3,
            "closure": 1,
        }, log
        states = store.execute(
            "SELECT customer_id, toString(opening_channel), defected, defection_kind, "
            "opened_at FROM customer_state FINAL ORDER BY customer_id"
        )
        assert [(r[0], r[1], r[2], r[3]) for r in states] == [
            ("c1", "online", 0, ""),
            ("c2", "branch", 1, "closure"),
            ("c3", "mobile", 0, ""),
        ]
        assert int(states[1][4].timestamp() * 1000) == T0 + day(1)
        defections = store.execute(
            "SELECT customer_id, kind, days_since_opening, window FROM defections FINAL"
        )
        assert defections == [("c2", "closure", 11, "day_90")]
    finally:
        store.close()

    dead = consume_all(broker, topic("dead_letter"), 4)
    reasons = sorted(dict(m.headers())["reason"].decode() for m in dead)
    assert reasons == ["duplicate", "not_avro", "unknown_schema", "wrong_topic"]
    for m in dead:
        h = dict(m.headers())
        assert h["offset"].decode().isdigit() and h["topic"].decode().startswith(topic_prefix)
    assert any(m.value() == b"not avro at all" for m in dead)  # original bytes kept
    late_msgs = consume_all(broker, topic("too_late"), 1)
    assert len(late_msgs) == 1
    assert dict(late_msgs[0].headers())["reason"] == b"too_late"
    derived = DerivedCodec()
    defections_out = [
        derived.decode(m.value()) for m in consume_all(broker, topic("defections"), 1)
    ]
    assert [(d["customer_id"], d["defection_kind"], d["day"]) for d in defections_out] == [
        ("c2", "closure", 11)
    ]
    assert all(m.key() == b"c2" for m in consume_all(broker, topic("defections"), 1))
    snapshots = [derived.decode(m.value()) for m in consume_all(broker, topic("snapshots"), 3)]
    last = {s["customer_id"]: s for s in sorted(snapshots, key=lambda s: s["version"])}
    assert sorted(last) == ["c1", "c2", "c3"] and last["c2"]["defected"] is True
