"""Topic creation against the real broker: idempotent, complete, co-partitioned."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from streams.kafka.topics import (
    DERIVED_TOPIC_KEYS,
    TopicLayoutError,
    all_topics,
    check_copartitioning,
    create_topics,
    partition_counts,
)
from streams.settings import EVENT_TYPES, Settings

pytestmark = pytest.mark.broker


def _settings(broker: str, prefix: str, partitions: int = 3) -> Settings:
    return Settings(
        kafka={"bootstrap_servers": broker}, topics={"prefix": prefix, "partitions": partitions}
    )


def test_topic_list(topic_prefix: str) -> None:
    names = all_topics(_settings("x:1", topic_prefix))
    assert list(names)[: len(EVENT_TYPES)] == list(EVENT_TYPES)
    assert set(DERIVED_TOPIC_KEYS) <= set(names)
    assert len(names) == 14
    assert all(n.startswith(topic_prefix) for n in names.values())


def test_create_twice_is_idempotent(broker: str, topic_prefix: str) -> None:
    settings = _settings(broker, topic_prefix)
    admin = AdminClient({"bootstrap.servers": broker})
    first = create_topics(settings, admin)
    assert all(first.values()) and len(first) == 14
    second = create_topics(settings, admin)
    assert not any(second.values())
    counts = partition_counts(settings, admin)
    assert set(counts) == set(all_topics(settings).values())
    assert set(counts.values()) == {3}
    assert check_copartitioning(settings, admin) == 3


def test_name_override(broker: str, topic_prefix: str) -> None:
    settings = Settings(
        kafka={"bootstrap_servers": broker},
        topics={"prefix": topic_prefix, "partitions": 2, "names": {"login": f"{topic_prefix}auth"}},
    )
    created = create_topics(settings, AdminClient({"bootstrap.servers": broker}))
    assert f"{topic_prefix}auth" in created and f"{topic_prefix}login" not in created


def test_not_copartitioned_is_a_clear_error(broker: str, topic_prefix: str) -> None:
    settings = _settings(broker, topic_prefix, partitions=3)
    admin = AdminClient({"bootstrap.servers": broker})
    odd = settings.topics.name("login")
    admin.create_topics([NewTopic(odd, num_partitions=5, replication_factor=1)])[odd].result()
    with pytest.raises(TopicLayoutError, match="not co-partitioned") as info:
        create_topics(settings, admin)
    assert f"{odd}=5" in str(info.value)
    assert f"{settings.topics.name('closure')}=3" in str(info.value)
