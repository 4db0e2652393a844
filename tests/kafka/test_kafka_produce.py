"""``journey produce``: files in, valid events on the topics, bad lines reported, never sent."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from streams.codec import SingleObjectCodec
from streams.kafka.clients import consumer_config
from streams.kafka.produce import (
    coerce_csv_row,
    parse_timestamp,
    produce_file,
    produce_records,
)
from streams.kafka.topics import create_topics
from streams.settings import Settings
from streams.testing.kcat import kcat_binary, run_kcat
from streams.testing.real import missing

T0 = 1_700_000_000_000


def _settings(broker: str, prefix: str) -> Settings:
    return Settings(kafka={"bootstrap_servers": broker}, topics={"prefix": prefix, "partitions": 3})


def _login(customer: str, i: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_type": "login",
        "event_id": str(uuid.uuid4()),
        "customer_id": customer,
        "occurred_at": T0 + i,
        "channel": "mobile",
        "success": True,
        **extra,
    }


def _opened(customer: str) -> dict[str, Any]:
    return {
        "event_type": "account_opened",
        "event_id": str(uuid.uuid4()),
        "customer_id": customer,
        "account_id": f"a-{customer}",
        "occurred_at": "2023-11-14T22:13:20Z",
        "channel": "branch",
        "branch_id": "b1",
        "region": "north",
        "product": "current_account",
        "segment": "mass",
    }


def consume_all(settings: Settings, topic: str, expected: int, timeout: float = 10.0) -> list:
    """Read ``topic`` from the beginning of every partition until ``expected`` messages."""
    import time

    consumer = Consumer(consumer_config(settings.kafka, f"test-{uuid.uuid4().hex}"))
    try:
        md = consumer.list_topics(topic, timeout=5)
        parts = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in md.topics[topic].partitions]
        consumer.assign(parts)
        out: list = []
        deadline = time.monotonic() + timeout
        while len(out) < expected and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                out.append(msg)
        return out
    finally:
        consumer.close()


@pytest.fixture
def settings(broker: str, topic_prefix: str) -> Settings:
    s = _settings(broker, topic_prefix)
    create_topics(s, AdminClient({"bootstrap.servers": broker}))
    return s


@pytest.mark.broker
def test_jsonl_with_invalid_lines(settings: Settings, tmp_path: Path) -> None:
    customers = [f"cust-{i}" for i in range(6)]
    good = [_login(c, i) for i, c in enumerate(customers)] + [_opened("cust-0")]
    lines = [json.dumps(r) for r in good]
    bad = {
        3: json.dumps(_login("cust-x", 0, event_id="not-a-uuid")),
        5: json.dumps({k: v for k, v in _login("cust-y", 0).items() if k != "success"}),
        7: json.dumps(_login("cust-z", 0, success="yes")),
        9: json.dumps({**_login("cust-w", 0), "event_type": "logout"}),
        10: '{"event_type": "login", "customer_id": ',
    }
    for line_no in sorted(bad):
        lines.insert(line_no - 1, bad[line_no])
    lines.insert(1, "")  # blank lines are skipped but counted
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    # account for the blank line inserted at position 2
    bad = {(n + 1 if n >= 2 else n): text for n, text in bad.items()}

    calls: list[tuple[int, int]] = []
    summary = produce_file(path, settings, progress=lambda n, b: calls.append((n, b)))

    assert summary.sent == {"login": 6, "account_opened": 1}
    assert summary.invalid == 5 and summary.delivery_failures == 0
    reasons = {p.line: p.reason for p in summary.problems}
    assert set(reasons) == set(bad)
    assert "not a UUID" in reasons[4]
    assert "missing required field 'success'" in reasons[6]
    assert "field 'success'" in reasons[8] and "boolean" in reasons[8]
    assert "unknown event_type 'logout'" in reasons[10]
    assert "invalid JSON" in reasons[11]
    assert calls[-1] == (len(lines), path.stat().st_size)

    codec = SingleObjectCodec(topics=settings.topics)
    topic = settings.topics.name("login")
    msgs = consume_all(settings, topic, 6)
    decoded = [codec.decode(m.value(), m.topic()) for m in msgs]
    assert sorted(m.key().decode() for m in msgs) == customers
    assert {r["customer_id"]: r for _, r in decoded}.keys() == set(customers)
    assert all(t == "login" and r["occurred_at"] >= T0 for t, r in decoded)
    [opened] = consume_all(settings, settings.topics.name("account_opened"), 1)
    _, rec = codec.decode(opened.value(), opened.topic())
    assert rec["occurred_at"] == T0 and rec["is_new_customer"] is True  # ISO + default


def _kcat_or_skip(bootstrap: str, lib_dir: Path) -> None:
    """Skip (or fail in CI) when kcat is missing or cannot talk to this broker."""
    if kcat_binary() is None:
        missing("kcat not installed (apt-get install -y kcat): independent-client check")
    probe = run_kcat(["-b", bootstrap, "-L", "-m", "5"], lib_dir)
    if probe.returncode != 0:
        missing(f"kcat cannot talk to the test broker: {probe.stderr.strip()[-300:]}")


@pytest.mark.broker
def test_kcat_reads_what_produce_sent(settings: Settings, tmp_path: Path) -> None:
    bootstrap = settings.kafka.bootstrap_servers
    _kcat_or_skip(bootstrap, tmp_path / "lib")
    customers = [f"kc-{i}" for i in range(8)]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(_login(c, i)) + "\n" for i, c in enumerate(customers)))
    assert produce_file(path, settings).sent == {"login": 8}
    out = run_kcat(
        [
            "-b",
            bootstrap,
            "-C",
            "-t",
            settings.topics.name("login"),
            "-e",
            "-o",
            "beginning",
            "-f",
            "%k\n",
            "-q",
        ],
        tmp_path / "lib",
    )
    assert out.returncode == 0, out.stderr
    assert sorted(out.stdout.split()) == customers


@pytest.mark.broker
def test_produce_reads_what_kcat_sent(settings: Settings, tmp_path: Path) -> None:
    """The other direction: bytes written by a third-party client decode in our codec."""
    bootstrap = settings.kafka.bootstrap_servers
    _kcat_or_skip(bootstrap, tmp_path / "lib")
    codec = SingleObjectCodec(topics=settings.topics)
    ev = _login("kc-x", 1)
    del ev["event_type"]
    payload = tmp_path / "one.bin"
    payload.write_bytes(codec.encode("login", ev))
    topic = settings.topics.name("login")
    sent = run_kcat(
        ["-b", bootstrap, "-P", "-t", topic, "-k", "kc-x", str(payload)], tmp_path / "lib"
    )
    assert sent.returncode == 0, sent.stderr
    [msg] = consume_all(settings, topic, 1)
    assert msg.key() == b"kc-x"
    event_type, decoded = codec.decode(msg.value(), topic)
    assert event_type == "login"
    assert {k: decoded[k] for k in ev} == ev


def _csv_file(path: Path, rows: list[dict[str, Any]]) -> None:
    columns = ["event_type", *sorted({k for r in rows for k in r} - {"event_type"})]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.broker
def test_csv_input(settings: Settings, tmp_path: Path) -> None:
    tx = {
        "event_type": "transaction",
        "event_id": str(uuid.uuid4()),
        "customer_id": "cust-1",
        "account_id": "a-1",
        "occurred_at": str(T0),
        "channel": "pos",
        "branch_id": "",
        "region": "",
        "amount_minor": "1250",
        "currency": "EUR",
        "direction": "debit",
        "kind": "card_purchase",
        "customer_initiated": "TRUE",
        "counterparty_type": "merchant",
        "balance_after_minor": "-300",
    }
    login = {k: str(v) for k, v in _login("cust-2", 5).items()}
    login["success"] = "false"
    login["occurred_at"] = "2023-11-14T23:13:20+01:00"
    bad_amount = {**tx, "event_id": str(uuid.uuid4()), "amount_minor": "12.5"}
    path = tmp_path / "events.csv"
    _csv_file(path, [tx, login, bad_amount])

    summary = produce_file(path, settings)

    assert summary.sent == {"transaction": 1, "login": 1}
    [problem] = summary.problems
    assert problem.line == 4 and "amount_minor" in problem.reason
    codec = SingleObjectCodec(topics=settings.topics)
    [msg] = consume_all(settings, settings.topics.name("transaction"), 1)
    _, rec = codec.decode(msg.value(), msg.topic())
    assert rec["amount_minor"] == 1250 and rec["balance_after_minor"] == -300
    assert rec["customer_initiated"] is True and rec["branch_id"] is None
    [msg] = consume_all(settings, settings.topics.name("login"), 1)
    _, rec = codec.decode(msg.value(), msg.topic())
    assert rec["success"] is False and rec["occurred_at"] == T0
    assert rec["auth_method"] is None


@pytest.mark.broker
def test_produce_records(settings: Settings) -> None:
    records = [
        ("login", {k: v for k, v in _login(f"c{i}", i).items() if k != "event_type"})
        for i in range(50)
    ]
    records.append(("login", {"customer_id": "broken"}))
    summary = produce_records(records, settings)
    assert summary.sent == {"login": 50}
    assert summary.invalid == 1 and summary.problems[0].line == 51
    assert len(consume_all(settings, settings.topics.name("login"), 50)) == 50


def test_csv_coercion_rules() -> None:
    from streams.codec.schemas import default_schemas

    fields = default_schemas().current["account_opened"].source["fields"]
    row = {
        "event_id": "e",
        "customer_id": "c",
        "account_id": "",
        "occurred_at": "2023-11-14T22:13:20",
        "channel": "online",
        "branch_id": "",
        "region": "",
        "product": "savings",
        "segment": "",
        "is_new_customer": "",
        "campaign": "",
        "amount_minor": "",  # a column of another type, empty: ignored
    }
    rec = coerce_csv_row(row, fields)
    assert rec["account_id"] is None and rec["campaign"] is None
    assert "is_new_customer" not in rec  # empty + default: the default applies
    assert rec["segment"] == ""  # required string stays a (reportable) empty string
    assert rec["occurred_at"] == T0  # naive ISO = UTC
    assert "amount_minor" not in rec
    assert coerce_csv_row({**row, "is_new_customer": "no"}, fields)["is_new_customer"] is False
    assert coerce_csv_row({**row, "kind": "fee"}, fields)["kind"] == "fee"  # reported later


def test_parse_timestamp() -> None:
    assert parse_timestamp(str(T0)) == T0
    assert parse_timestamp("2023-11-14T22:13:20.123Z") == T0 + 123
    assert parse_timestamp("2023-11-15T00:13:20+02:00") == T0
    assert parse_timestamp("yesterday") == "yesterday"


def test_unknown_format(tmp_path: Path, broker: str, topic_prefix: str) -> None:
    path = tmp_path / "x.parquet"
    path.write_text("")
    with pytest.raises(ValueError, match="unknown input format"):
        produce_file(path, _settings(broker, topic_prefix))


def test_csv_without_event_type_column(tmp_path: Path, broker: str, topic_prefix: str) -> None:
    path = tmp_path / "x.csv"
    path.write_text("customer_id\nc1\n")
    with pytest.raises(ValueError, match="event_type"):
        produce_file(path, _settings(broker, topic_prefix))
