"""The worker's hot path, without Faust: raw Kafka records in, engine records and rejects out.

Faust (``streams.worker.app``) only moves bytes and offsets; everything between a record's
bytes and the rows destined for ClickHouse happens here, so it is testable without a broker
and reusable by a backfill. One :class:`~streams.engine.partition.PartitionEngine` per Kafka
partition: partitions are the unit of ownership, so a rebalance moves whole engines.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from streams.codec.base import Codec, DecodeError
from streams.engine.config import EngineConfig
from streams.engine.outputs import Duplicate, Orphan, Output, TooLate
from streams.engine.partition import PartitionEngine
from streams.worker.transport import KafkaRecord


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One Kafka record as the transport delivered it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that cannot be used, with the reason; it goes to the dead-letter topic."""

    record: KafkaRecord
    reason: str
    detail: str


@dataclass(slots=True)
class Result:
    """What one batch produced: engine records, decoded events (for the raw table), rejects.

    ``events`` are ``(partition, event_type, event, record)`` as the engines applied them
    (held events once their customer's opening arrived; never duplicates, too-late events or
    orphans): the rows of the raw-events table. ``record`` is the Kafka record ``event`` was
    decoded from (kept for events held for their opening until they are applied), None if
    unknown (an event held before a restart). ``sources`` maps each
    decoded event's id to its record, so a rejection by the engine (too late, duplicate) can
    forward the original bytes.
    """

    outputs: list[Output] = field(default_factory=list)
    events: list[tuple[int, str, Mapping[str, Any], KafkaRecord | None]] = field(
        default_factory=list
    )
    rejected: list[Rejected] = field(default_factory=list)
    sources: dict[str, KafkaRecord] = field(default_factory=dict)
    #: Events of this batch held for their customer's opening (applied once it arrives).
    held: int = 0

    def extend(self, other: Result) -> None:
        self.outputs.extend(other.outputs)
        self.events.extend(other.events)
        self.rejected.extend(other.rejected)
        self.sources.update(other.sources)
        self.held += other.held


#: Engine records that are rejections of an input event rather than journey facts.
REJECTION_KINDS = (TooLate, Duplicate, Orphan)


class InputClock:
    """Event-time progress of one partition's input topics, to derive its watermark.

    Kafka hands the worker its five co-partitioned topics at different paces (a backfill may
    deliver every opening before the first login), so "max event time seen" would run ahead
    of the slower topics and turn their events into false too-late ones. The watermark is
    therefore the minimum over the topics of the highest event time seen on each, minus the
    allowed lateness, over the topics that still *hold* it:

    * a topic with a backlog (records on the broker it has not delivered yet, from the
      consumer's high-water mark) always holds: its next records may be older than the rest;
    * a caught-up topic holds for ``idle_s`` of wall time after its last record (events in
      flight), then stops (Flink's source idleness), or a partition without closures would
      never advance;
    * a topic whose backlog is unknown (not fetched yet) holds until it has been silent for
      ``idle_s``.

    Silence is wall time while the worker consumes: time it spends blocked on its own
    back-pressure (ClickHouse down, a slow checkpoint) is taken out (:meth:`stalled`).

    When no topic holds, the partition is caught up and the watermark is the highest event
    time seen overall, minus the lateness.
    """

    __slots__ = ("_clock", "backlog", "idle_s", "last_seen", "max_t")

    def __init__(
        self, topics: Iterable[str], idle_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.idle_s = idle_s
        self._clock = clock
        now = clock()
        self.max_t: dict[str, int] = {}
        #: A topic that has delivered nothing yet counts as active from the clock's creation:
        #: it holds the watermark back until it has spoken or gone idle.
        self.last_seen: dict[str, float] = dict.fromkeys(topics, now)
        #: Records on the broker not delivered yet, per topic (None = unknown).
        self.backlog: dict[str, int | None] = {}

    def observe(self, topic: str, event_time_ms: int) -> None:
        if event_time_ms > self.max_t.get(topic, -(2**62)):
            self.max_t[topic] = event_time_ms
        self.last_seen[topic] = self._clock()

    def set_backlog(self, topic: str, backlog: int | None) -> None:
        """Records of ``topic`` (this partition) still on the broker, None if unknown."""
        self.backlog[topic] = backlog

    def stalled(self, seconds: float) -> None:
        """The worker stopped consuming for ``seconds`` (its own back-pressure): not silence.

        Idleness is wall time since a topic's last record, but time the worker spent blocked
        (ClickHouse down, a slow checkpoint) says nothing about the topics: without this, a
        30 s outage made every caught-up topic idle, so the first records fetched after it
        ran the watermark ahead of a topic still being fetched (false too-late events).
        """
        for topic in self.last_seen:
            self.last_seen[topic] += seconds

    def holds(self, topic: str, now: float) -> bool:
        backlog = self.backlog.get(topic)
        if backlog is not None and backlog > 0:
            return True
        return now - self.last_seen[topic] < self.idle_s

    def input_time(self) -> int | None:
        """Event time up to which every holding topic has delivered, or None if unknown."""
        now = self._clock()
        active = [topic for topic in self.last_seen if self.holds(topic, now)]
        if any(topic not in self.max_t for topic in active):
            return None  # a holding topic has not delivered anything yet
        if active:
            return min(self.max_t[topic] for topic in active)
        return max(self.max_t.values()) if self.max_t else None


class Processor:
    """Decodes records, routes them to per-partition engines, collects what they emit."""

    def __init__(
        self,
        codec: Codec,
        config: EngineConfig,
        topic_types: Mapping[str, str],
        *,
        idle_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.codec = codec
        # The shell drives the watermark from all input topics (see InputClock).
        self.config = replace(config, watermark_from_events=False)
        #: topic name -> event type (metrics labels; the codec rejects wrong-topic records).
        self.topic_types = dict(topic_types)
        self.engines: dict[int, PartitionEngine] = {}
        self.clocks: dict[int, InputClock] = {}
        #: Records of events the engines hold for their customer's opening, per partition, by
        #: event id: an event applied in a later batch still comes with its record.
        self._held: dict[int, dict[str, KafkaRecord]] = {}
        self._idle_s = idle_s
        self._clock = clock
        self._lateness_ms = config.allowed_lateness_s * 1000

    def engine(self, partition: int) -> PartitionEngine:
        """The engine owning ``partition``, created empty on first use."""
        engine = self.engines.get(partition)
        if engine is None:
            engine = self.engines[partition] = PartitionEngine(self.config, partition)
            self.clocks[partition] = InputClock(self.topic_types, self._idle_s, self._clock)
        return engine

    def drop(self, partition: int) -> None:
        """Forget a partition (revoked in a rebalance); its state lives on in the table."""
        self.engines.pop(partition, None)
        self.clocks.pop(partition, None)
        self._held.pop(partition, None)

    def set_backlog(self, partition: int, topic: str, backlog: int | None) -> None:
        """Tell the partition's clock how many records of ``topic`` are still to come."""
        self.engine(partition)
        self.clocks[partition].set_backlog(topic, backlog)

    def stalled(self, seconds: float) -> None:
        """Consumption stopped for ``seconds``: every partition's topics were not silent."""
        for clock in self.clocks.values():
            clock.stalled(seconds)

    def watermark_for(self, partition: int) -> int | None:
        """The watermark the partition's input allows now (None until it has input)."""
        self.engine(partition)
        t = self.clocks[partition].input_time()
        return None if t is None else t - self._lateness_ms

    def decode(self, record: KafkaRecord) -> tuple[str, dict[str, Any]] | Rejected:
        """Bytes to (event type, event), or a :class:`Rejected` saying why not."""
        if record.value is None:
            return Rejected(record, "malformed", "record has no value (tombstone)")
        try:
            event_type, event = self.codec.decode(record.value, record.topic)
        except DecodeError as exc:
            return Rejected(record, exc.reason, str(exc))
        if record.key is not None and record.key.decode("utf-8", "replace") != event.get(
            "customer_id"
        ):
            return Rejected(
                record,
                "wrong_key",
                "message key differs from customer_id: producers must key by customer_id "
                "so a customer's events share a partition",
            )
        return event_type, event

    def process(self, records: Iterable[KafkaRecord]) -> Result:
        """Decode and apply a batch (records of any partitions, in offset order per partition)."""
        result = Result()
        by_partition: dict[int, list[tuple[str, Mapping[str, Any]]]] = {}
        sources = result.sources
        # The record each event dict was decoded from, by the dict's identity: every dict of
        # this batch stays alive until the end of this call (in ``by_partition``), and so do
        # the engine's copies of held events, so no two of them share an id meanwhile.
        origin: dict[int, KafkaRecord] = {}
        for record in records:
            decoded = self.decode(record)
            if isinstance(decoded, Rejected):
                result.rejected.append(decoded)
                continue
            partition = record.partition
            batch = by_partition.get(partition)
            if batch is None:
                batch = by_partition[partition] = []
                self.engine(partition)
            batch.append(decoded)
            event = decoded[1]
            sources[event["event_id"]] = record
            origin[id(event)] = record
            self.clocks[partition].observe(record.topic, event["occurred_at"])
        for partition, batch in by_partition.items():
            engine = self.engine(partition)
            outputs = engine.process_many(batch)
            wm = self.watermark_for(partition)
            if wm is not None and wm > engine.watermark:
                outputs.extend(engine.advance(wm))
            result.outputs.extend(outputs)
            held = engine.take_held()
            kept = self._held.get(partition)
            if held:
                result.held += len(held)
                if kept is None:
                    kept = self._held[partition] = {}
                for ev in held:
                    kept[ev["event_id"]] = origin[id(ev)]
            if not kept:
                result.events.extend(
                    (partition, t, e, origin.get(id(e))) for t, e in engine.take_applied()
                )
                continue
            for t, e in engine.take_applied():
                source = origin.get(id(e))
                if source is None:  # applied from the engine's copy of a held event
                    source = kept.pop(e["event_id"], None)
                result.events.append((partition, t, e, source))
            self._forget_orphans(partition, outputs)
        return result

    def _forget_orphans(self, partition: int, outputs: list[Output]) -> None:
        kept = self._held.get(partition)
        if kept:
            for out in outputs:
                if isinstance(out, Orphan):
                    kept.pop(out.event_id, None)

    def tick(self, partition: int, wall_watermark_ms: int | None = None) -> list[Output]:
        """Re-derive a partition's watermark without new input (topics may have gone idle).

        ``wall_watermark_ms`` (live mode: now - lateness) lets a quiet partition's deadlines
        fire by wall clock, so a stall is not missed because no one else is active.
        """
        engine = self.engine(partition)
        wm = self.watermark_for(partition)
        if wall_watermark_ms is not None:
            wm = wall_watermark_ms if wm is None else max(wm, wall_watermark_ms)
        if wm is None or wm <= engine.watermark:
            return []
        outputs = engine.advance(wm)
        self._forget_orphans(partition, outputs)
        return outputs
