"""`journey dlq inspect` / `replay` on the real broker: reasons counted, bytes sent back intact."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from streams.cli import main
from streams.kafka.clients import admin_config
from streams.kafka.topics import create_topics
from streams.settings import Settings
from streams.testing.worker import consume_all

pytestmark = pytest.mark.broker


def _dead(producer: Producer, s: Settings, reason: str, key: bytes, value: bytes, off: int) -> None:
    producer.produce(
        s.topics.name("dead_letter"), key=key, value=value,
        headers=[("reason", reason.encode()), ("detail", b"why"),
                 ("topic", s.topics.name("login").encode()), ("partition", b"0"),
                 ("offset", str(off).encode())],
    )  # fmt: skip


def test_inspect_counts_reasons_and_replay_sends_original_bytes(
    broker: str, topic_prefix: str
) -> None:
    s = Settings(kafka={"bootstrap_servers": broker}, topics={"prefix": topic_prefix})
    create_topics(s, AdminClient(admin_config(s.kafka)))
    p = Producer({"bootstrap.servers": broker})
    _dead(p, s, "unknown_schema", b"c1", b"\xc3\x01fixed-later", 4)
    _dead(p, s, "unknown_schema", b"c2", b"\xc3\x01also", 5)
    _dead(p, s, "duplicate", b"c3", b"dup", 6)
    _dead(p, s, "not_avro", b"c4", b"junk", 7)
    p.flush(10)
    env = {"JOURNEY_KAFKA__BOOTSTRAP_SERVERS": broker, "JOURNEY_TOPICS__PREFIX": topic_prefix}
    runner = CliRunner()

    out = runner.invoke(main, ["dlq", "inspect", "--format", "json"], env=env)
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["counts"] == {"unknown_schema": 2, "duplicate": 1, "not_avro": 1}
    assert {r["source_offset"] for r in report["records"]} == {4, 5, 6, 7}

    assert runner.invoke(main, ["dlq", "replay"], env=env).exit_code == 2  # must choose
    dry = runner.invoke(main, ["dlq", "replay", "--all", "--dry-run"], env=env)
    assert "would replay 3 records; 1 left in place" in dry.output

    out = runner.invoke(main, ["dlq", "replay", "--reason", "unknown_schema"], env=env)
    assert out.exit_code == 0, out.output
    assert "replayed 2 records; 2 left in place" in out.output
    back = consume_all(broker, s.topics.name("login"), 2)
    assert sorted((m.key(), m.value()) for m in back) == [
        (b"c1", b"\xc3\x01fixed-later"),
        (b"c2", b"\xc3\x01also"),
    ]
    assert all(dict(m.headers())["replayed_from"] for m in back)
