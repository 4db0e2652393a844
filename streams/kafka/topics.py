"""The topics journey reads and writes, created idempotently, and the co-partitioning check.

The worker joins a customer's events across the five input topics by partition, which is only
correct when every input topic has the same partition count (and the same key: customer_id).
Derived topics get that count too so outputs keyed by customer stay aligned. Creating an
existing topic is fine (``journey`` commands call this at every start); a partition mismatch
among existing input topics is an error that says which topics differ, because Kafka cannot
shrink a topic and silently joining across misaligned partitions loses events.
"""

from __future__ import annotations

from typing import Any

from streams.settings import EVENT_TYPES, Settings

DERIVED_TOPIC_KEYS: tuple[str, ...] = (
    "dead_letter",
    "too_late",
    "orphans",
    "snapshots",
    "window_outcomes",
    "stalls",
    "defections",
    "risk_changes",
    "cohort_entries",
)


class TopicLayoutError(RuntimeError):
    """Topics exist with a layout journey cannot work with (e.g. not co-partitioned)."""


def input_topics(settings: Settings) -> dict[str, str]:
    """``{event_type: topic}`` for the five input topics."""
    return {t: settings.topics.name(t) for t in EVENT_TYPES}


def derived_topics(settings: Settings) -> dict[str, str]:
    """``{key: topic}`` for the topics the worker writes."""
    return {k: settings.topics.name(k) for k in DERIVED_TOPIC_KEYS}


def all_topics(settings: Settings) -> dict[str, str]:
    """Every journey topic by key (input topics first)."""
    return {**input_topics(settings), **derived_topics(settings)}


def create_topics(settings: Settings, admin: Any, timeout: float = 15.0) -> dict[str, bool]:
    """Create missing journey topics; return ``{topic: created}`` (False = already existed).

    ``admin`` is a ``confluent_kafka.admin.AdminClient``. Afterwards the input topics are
    checked for co-partitioning (:func:`check_copartitioning`).
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import NewTopic

    names = list(dict.fromkeys(all_topics(settings).values()))
    existing = set(admin.list_topics(timeout=timeout).topics)
    wanted = [
        NewTopic(
            name,
            num_partitions=settings.topics.partitions,
            replication_factor=settings.topics.replication_factor,
        )
        for name in names
        if name not in existing
    ]
    result = {name: False for name in names}
    if wanted:
        futures = admin.create_topics(wanted, request_timeout=timeout)
        for name, future in futures.items():
            try:
                future.result()
                result[name] = True
            except KafkaException as exc:
                error = exc.args[0] if exc.args else None
                if getattr(error, "code", lambda: None)() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise TopicLayoutError(f"cannot create topic {name!r}: {exc}") from exc
    check_copartitioning(settings, admin, timeout=timeout)
    return result


def partition_counts(settings: Settings, admin: Any, timeout: float = 15.0) -> dict[str, int]:
    """``{topic: partitions}`` of the journey topics that exist."""
    metadata = admin.list_topics(timeout=timeout)
    return {
        name: len(metadata.topics[name].partitions)
        for name in all_topics(settings).values()
        if name in metadata.topics and metadata.topics[name].error is None
    }


def check_copartitioning(settings: Settings, admin: Any, timeout: float = 15.0) -> int | None:
    """Partition count shared by the existing input topics; :class:`TopicLayoutError` if not."""
    counts = partition_counts(settings, admin, timeout)
    inputs = {t: counts[t] for t in input_topics(settings).values() if t in counts}
    distinct = set(inputs.values())
    if len(distinct) > 1:
        detail = ", ".join(f"{t}={n}" for t, n in sorted(inputs.items()))
        raise TopicLayoutError(
            "input topics are not co-partitioned (every input topic needs the same partition "
            f"count so a customer's events meet on one partition): {detail}. Recreate the "
            "smaller ones, or add partitions to them before any data is keyed onto them."
        )
    return distinct.pop() if distinct else None
