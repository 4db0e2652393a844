"""The dead-letter topic, for operators: what is in it, and sending records back.

The worker dead-letters a record with its original bytes and headers saying why and where it
came from: ``reason`` (not_avro, unknown_schema, wrong_topic, wrong_key, malformed, duplicate,
orphan), ``detail``, ``topic``, ``partition``, ``offset``. ``inspect`` reads them back;
``replay`` re-produces chosen records, byte for byte and with their key, to the topic they
came from - after the cause is fixed (a schema registered, a producer corrected). A replayed
record that is still bad is simply dead-lettered again, with a new offset.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from streams.kafka.clients import consumer_config, producer_config
from streams.settings import Settings


@dataclass(frozen=True)
class DeadLetter:
    """One record of the dead-letter topic."""

    offset: int
    partition: int
    key: bytes | None
    value: bytes | None
    reason: str
    detail: str
    source_topic: str
    source_partition: int | None
    source_offset: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "dlq_partition": self.partition,
            "dlq_offset": self.offset,
            "reason": self.reason,
            "detail": self.detail,
            "source_topic": self.source_topic,
            "source_partition": self.source_partition,
            "source_offset": self.source_offset,
            "key": None if self.key is None else self.key.decode("utf-8", "replace"),
            "bytes": 0 if self.value is None else len(self.value),
        }


def _headers(raw: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in raw or []:
        out[key] = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return out


def _int(value: str) -> int | None:
    return int(value) if value.lstrip("-").isdigit() else None


def read_dead_letters(
    settings: Settings, topic: str | None = None, idle_timeout: float = 3.0
) -> Iterator[DeadLetter]:
    """Every record of the dead-letter topic (or ``topic``), from the beginning to the end.

    Reads with a throw-away consumer group and commits nothing; stops after ``idle_timeout``
    seconds without a new record.
    """
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    name = topic or settings.topics.name("dead_letter")
    consumer = Consumer(consumer_config(settings.kafka, f"journey-dlq-{uuid.uuid4().hex}"))
    try:
        meta = consumer.list_topics(name, timeout=10).topics.get(name)
        if meta is None or meta.error is not None:
            raise LookupError(f"topic {name!r} not found: run `journey topics create` first")
        consumer.assign([TopicPartition(name, p, OFFSET_BEGINNING) for p in meta.partitions])
        last = time.monotonic()
        while time.monotonic() - last < idle_timeout:
            msg = consumer.poll(0.2)
            if msg is None or msg.error() is not None:
                continue
            last = time.monotonic()
            h = _headers(msg.headers())
            yield DeadLetter(
                offset=msg.offset() or 0,
                partition=msg.partition() or 0,
                key=msg.key(),
                value=msg.value(),
                reason=h.get("reason", "unknown"),
                detail=h.get("detail", ""),
                source_topic=h.get("topic", ""),
                source_partition=_int(h.get("partition", "")),
                source_offset=_int(h.get("offset", "")),
            )
    finally:
        consumer.close()


@dataclass
class ReplaySummary:
    replayed: dict[str, int]
    skipped: int

    @property
    def total(self) -> int:
        return sum(self.replayed.values())


def replay(
    settings: Settings,
    records: Iterator[DeadLetter],
    accept: Callable[[DeadLetter], bool],
    *,
    dry_run: bool = False,
) -> ReplaySummary:
    """Re-produce the accepted records to their source topics (key and bytes unchanged)."""
    from confluent_kafka import Producer

    producer = None if dry_run else Producer(producer_config(settings.kafka))
    summary = ReplaySummary(replayed={}, skipped=0)
    errors: list[str] = []

    def delivered(err: Any, msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    for rec in records:
        if not rec.source_topic or rec.value is None or not accept(rec):
            summary.skipped += 1
            continue
        if producer is not None:
            producer.produce(
                rec.source_topic,
                key=rec.key,
                value=rec.value,
                headers=[("replayed_from", f"{rec.partition}:{rec.offset}".encode())],
                on_delivery=delivered,
            )
            producer.poll(0)
        summary.replayed[rec.source_topic] = summary.replayed.get(rec.source_topic, 0) + 1
    if producer is not None:
        producer.flush(30)
    if errors:
        raise RuntimeError(f"{len(errors)} replayed records were not delivered: {errors[0]}")
    return summary
