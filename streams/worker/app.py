"""The Faust shell: topics, the customer-state table and the agent that feeds the processor.

Faust owns what it is good at: the consumer group and partition assignment, the changelogged
Table (RocksDB in production, memory in tests), offset commits and the worker lifecycle.
Records reach the worker a fetch at a time through :mod:`streams.worker.transport` (no
per-event stream machinery); decisions are made by
:class:`~streams.worker.processor.Processor`; rows leave through
:class:`~streams.sink.batcher.Batcher`.

Delivery, per checkpoint and in this order: (1) rows are written to ClickHouse, (2) derived
records are acknowledged by the broker, (3) the changed customer states go to the Table (and
its changelog), (4) the offsets are acknowledged, and Faust commits them after flushing its
producer. A checkpoint is cut on the event loop (offsets, states, records as of one instant)
and stored in the background while the next fetches are applied; one is in flight at a time.
A crash before (3) re-delivers events whose rows (and records) may already be stored: they are
re-applied to the older state and re-write identical rows, which collapse in ClickHouse (and
records consumers dedupe on ``record_id``). A crash between (3) and (4) re-delivers events the
restored state has already applied: the engine reports them as duplicates and their rows are
already stored. Either way ClickHouse ends as if nothing had happened (at-least-once,
idempotent at the end).
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping
from types import SimpleNamespace
from typing import Any

import faust
from faust.streams import _current_event
from faust.types import TP

from streams.codec import codec_from_settings
from streams.codec.derived import DerivedCodec
from streams.engine.outputs import Duplicate, Orphan, Output, TooLate
from streams.kafka.clients import aiokafka_kwargs, producer_config
from streams.kafka.topics import derived_topics, input_topics
from streams.metrics import Metrics
from streams.settings import Settings
from streams.sink.avro_rows import AvroEventRows
from streams.sink.batcher import Batcher
from streams.sink.rows import EVENT_COLUMNS, event_values, output_rows
from streams.store.base import Store
from streams.worker.processor import Processor, Rejected, Result
from streams.worker.transport import (
    BatchConsumer,
    BatchHandler,
    BatchTransport,
    KafkaRecord,
    RecordBatch,
)

log = logging.getLogger(__name__)

#: Stored table values are the engine's state bytes prefixed with the Kafka partition, so a
#: worker can reload exactly the customers of a partition it is (re)assigned.
_PART = struct.Struct(">H")
#: Table key under which a partition's event-time position (watermark) is kept.
META_KEY = b"\x00meta:%d"
#: Customers decoded between two yields to the event loop while a partition loads.
LOAD_YIELD_EVERY = 2_000


class _App(faust.App):
    """A Faust app with the batch consumer and a flush before it stops."""

    before_stop: Callable[[], Awaitable[None]] | None = None
    batch_topics: tuple[str, ...] = ()
    batch_handler: BatchHandler | None = None
    first_topics: tuple[str, ...] = ()

    def _new_transport(self) -> Any:
        return BatchTransport(self.conf.broker_consumer, self)

    def _new_consumer(self) -> Any:
        consumer = super()._new_consumer()
        assert isinstance(consumer, BatchConsumer)
        consumer.batch_topics = self.batch_topics
        consumer.batch_handler = self.batch_handler
        consumer.first_topics = self.first_topics
        consumer.before_wait_empty = self.before_stop
        return consumer

    async def on_stop(self) -> None:
        # Runs before Faust stops the consumer and tables: store what is buffered and ack it.
        if self.before_stop is not None:
            try:
                await self.before_stop()
            except Exception:
                log.exception("final flush failed; unacknowledged events will be re-delivered")
        # Send what is still buffered (the final flush's derived records, a commit's backlog)
        # while the producer runs: Faust stops the Kafka producer before its buffer, and a
        # non-empty buffer then crashes the shutdown (NotReady) under load.
        try:
            await self.producer.flush()
        except Exception:
            log.exception("final producer flush failed; unacknowledged events will be re-delivered")
        await super().on_stop()


class _PartitionScope:
    """Stands in for Faust's "current event" while the worker writes a partition's states.

    Faust tables take the changelog partition (and RocksDB picks its per-partition database)
    from ``current_event().message.partition``. The batch path has no Event objects, so table
    writes for partition P run with this object, whose message names P, as the current event.
    """

    __slots__ = ("__weakref__", "message")

    def __init__(self, topic: str, partition: int) -> None:
        self.message = SimpleNamespace(topic=topic, partition=partition)


class JourneyWorker:
    """Everything one worker process holds: Faust app, processor, batcher, metrics."""

    def __init__(self, settings: Settings, store: Store, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.store = store
        rules = {r.name for r in settings.engine.stall_rules}
        self.metrics = metrics or Metrics(
            cohort_slices=[c for c in settings.engine.cohort_slices if c.rule in rules]
        )
        w = settings.worker
        self.inputs = input_topics(settings)
        self.derived = derived_topics(settings)
        broker_kwargs = aiokafka_kwargs(settings.kafka)
        w.data_dir.mkdir(parents=True, exist_ok=True)
        self.app = _App(
            w.app_id,
            broker=f"kafka://{settings.kafka.bootstrap_servers}",
            store=w.store,
            datadir=str(w.data_dir / "faust"),
            topic_partitions=settings.topics.partitions,
            topic_replication_factor=settings.topics.replication_factor,
            table_standby_replicas=w.standby_replicas,
            web_enabled=w.web_port > 0,
            web_port=w.web_port if w.web_port > 0 else 6066,
            web_host="127.0.0.1",
            consumer_auto_offset_reset="earliest",
            broker_session_timeout=w.session_timeout_s,
            broker_heartbeat_interval=max(1.0, w.session_timeout_s / 6),
            broker_rebalance_timeout=w.session_timeout_s,
            broker_max_poll_records=w.max_poll_records,
            recovery_consistency_check=w.recovery_consistency_check,
            producer_acks=-1,
            **_faust_security(broker_kwargs),
        )
        raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
        self.source = self.app.topic(*self.inputs.values(), key_type=bytes, value_type=bytes, **raw)
        self.app.topics.add(self.source)  # subscribe: the batch consumer feeds _on_batch
        self.dead_letter = self.app.topic(self.derived["dead_letter"], **raw)
        self.too_late = self.app.topic(self.derived["too_late"], **raw)
        self.orphans = self.app.topic(self.derived["orphans"], **raw)
        #: Derived topics for a CRM or outreach system (Avro, keyed by customer id).
        self.derived_codec = DerivedCodec()
        self.publish = {
            key: self.derived[key]
            for key in ("snapshots", "window_outcomes", "stalls", "defections",
                        "risk_changes", "cohort_entries")
        }  # fmt: skip
        self._outbox: list[tuple[str, bytes, bytes]] = []
        #: Derived records go through librdkafka, not Faust's producer: they are most of
        #: what the worker writes (a snapshot per changed customer per checkpoint), and the
        #: aiokafka path costs tens of microseconds of Python per message. Flushed, and its
        #: delivery checked, before offsets are acknowledged (see ``_checkpoint``).
        self._producer: Any = None
        self._publish_errors: list[str] = []
        self.table = self.app.Table(
            "customer-state",
            partitions=settings.topics.partitions,
            key_type=bytes,
            value_type=bytes,
        )
        codec = codec_from_settings(settings)
        self.processor = Processor(
            codec,
            settings.engine,
            {topic: event_type for event_type, topic in self.inputs.items()},
            idle_s=w.idle_topic_s,
        )
        self.batcher = Batcher(store, max_rows=w.sink_batch_rows, max_seconds=w.sink_batch_seconds)
        #: Raw-event rows as Avro from the delivered bytes, where the store takes them.
        self._event_rows: AvroEventRows | None = None
        # (getattr: a worker built without a store, to inspect its configuration, has none)
        if w.sink_avro_events and "Avro" in getattr(store, "insert_formats", ()):
            self._event_rows = AvroEventRows(codec, codec.schemas)
            self.batcher.encoded("events", self._event_rows)
        self.metrics.watch_batcher(self.batcher)
        self.metrics.watch_app(self.app)
        self._loaded: set[int] = set()
        #: Offsets applied since the last flush, acknowledged once their rows are stored.
        self._pending: dict[TP, list[int]] = {}
        self._scopes: dict[int, _PartitionScope] = {}
        #: Next offset to process per input partition (for backlogs).
        self._next_offset: dict[TP, int] = {}
        self._lock = asyncio.Lock()
        #: The last ClickHouse write started; each write runs after the one before it.
        self._last_write: asyncio.Future[int] | None = None
        #: The checkpoint being stored in the background (see ``_checkpoint``).
        self._commit: asyncio.Future[None] | None = None
        self._last_checkpoint = time.monotonic()
        self._ticked = False
        #: Seconds spent per stage (benchmarks and profiling; cheap to keep).
        self.stage_seconds: dict[str, float] = dict.fromkeys(
            ("process", "route", "write", "write_wait", "checkpoint_wait", "persist"), 0.0
        )
        self.events_processed = 0
        #: ``time.perf_counter()`` when the first fetch arrived (benchmarks, progress output).
        self.first_batch_at: float | None = None
        self.app.batch_topics = tuple(self.inputs.values())
        self.app.batch_handler = self._on_batch
        # Openings first, across fetches too (see BatchConsumer._getmany).
        self.app.first_topics = (self.inputs["account_opened"],)
        self.app.before_stop = self.flush
        #: Timer period: watermarks of quiet partitions, due deadlines, time-based writes.
        self.tick_seconds = min(1.0, w.sink_batch_seconds, w.checkpoint_seconds)
        self.app.timer(self.tick_seconds)(self._on_timer)
        self.app.on_partitions_revoked.connect(self._on_revoked)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ state in the table
    def _scope(self, partition: int) -> _PartitionScope:
        scope = self._scopes.get(partition)
        if scope is None:
            topic = next(iter(self.inputs.values()))
            scope = self._scopes[partition] = _PartitionScope(topic, partition)
        return scope

    def _partition_items(self, partition: int) -> Iterator[tuple[bytes, bytes]]:
        """The table's local entries that may belong to ``partition``.

        Faust's RocksDB store keeps one database per partition: read only that one (iterating
        ``table.data`` walks the databases of every assigned partition, so assigning P
        partitions cost P full scans). The memory store (tests) is one dict: every entry, the
        caller filters by the partition tag.
        """
        data: Any = self.table.data
        db_for = getattr(data, "_db_for_partition", None)
        visible = getattr(data, "_visible_items", None)
        if db_for is not None and visible is not None:
            dk, dv = data._decode_key, data._decode_value
            return ((dk(k), dv(v)) for k, v in visible(db_for(partition)))
        return iter(list(data.items()))  # a copy: the load yields to the loop

    async def _ensure_loaded(self, partition: int) -> None:
        """Load a partition's customers from the table into its engine, once per assignment.

        Yields to the event loop every ``LOAD_YIELD_EVERY`` customers: a partition of a
        million customers takes about a minute to decode, and a loop blocked that long misses
        its heartbeats and is evicted from the group (a rebalance storm). The caller holds
        ``_lock``, so the timer and flushes wait for the load to finish.
        """
        if partition in self._loaded:
            return
        engine = self.processor.engine(partition)
        n = 0
        meta = META_KEY % partition
        for key, value in self._partition_items(partition):
            if value is None or len(value) < 2 or _PART.unpack_from(value)[0] != partition:
                continue
            if key == meta:
                engine.import_meta(value[2:])
            elif not key.startswith(b"\x00"):
                engine.load(key.decode(), value[2:])
                n += 1
                if n % LOAD_YIELD_EVERY == 0:
                    await asyncio.sleep(0)
        engine.rebuild_index()
        self._loaded.add(partition)
        if n:
            log.info("partition %d: restored %d customers from the state table", partition, n)

    def _take_snapshots(self) -> None:
        """Snapshots of every customer changed since the last checkpoint: rows and outbox."""
        for engine in self.processor.engines.values():
            snaps: list[Output] = list(engine.take_snapshots())
            self._to_outbox(snaps)
            for table, rows in output_rows(snaps).items():
                self.batcher.add(table, rows)

    def _to_outbox(self, outputs: list[Any]) -> None:
        encode = self.derived_codec.encode
        for out in outputs:
            key = self.derived_codec.topic_key(out)
            if key is not None:
                self._outbox.append((key, out.customer_id.encode(), encode(out)))

    def _derived_producer(self) -> Any:
        if self._producer is None:
            from confluent_kafka import Producer

            conf = producer_config(
                self.settings.kafka,
                # the partitioner of Java clients and aiokafka: records keyed by a customer
                # land on the partition number of that customer's input events
                partitioner="murmur2_random",
                **{"linger.ms": 50, "queue.buffering.max.messages": 1_000_000},
            )
            self._producer = Producer(conf)
        return self._producer

    def _on_delivery(self, err: Any, msg: Any) -> None:
        if err is not None and len(self._publish_errors) < 10:
            self._publish_errors.append(f"{msg.topic()}: {err}")

    def _publish(self, outbox: list[tuple[str, bytes, bytes]]) -> None:
        """Hand ``outbox`` to librdkafka; :meth:`_flush_published` waits for delivery."""
        if not outbox:
            return
        producer = self._derived_producer()
        produce, topics, on_delivery = producer.produce, self.publish, self._on_delivery
        for key, customer, value in outbox:
            while True:
                try:
                    produce(topics[key], value, customer, on_delivery=on_delivery)
                    break
                except BufferError:  # local queue full: let deliveries drain it
                    producer.poll(0.05)
        producer.poll(0)

    async def _flush_published(self) -> None:
        """Every derived record of this checkpoint acknowledged by the broker, or raise.

        Raising leaves the checkpoint's offsets unacknowledged: the events are re-delivered
        and their records published again (at-least-once; consumers dedupe on record_id).
        """
        if self._producer is None:
            return
        timeout = float(self.settings.worker.session_timeout_s * 10)
        remaining = await asyncio.get_running_loop().run_in_executor(
            None, self._producer.flush, timeout
        )
        errors, self._publish_errors = self._publish_errors, []
        if remaining or errors:
            raise RuntimeError(
                f"derived records not delivered ({remaining} still queued after {timeout:.0f}s"
                f"; errors: {'; '.join(errors) or 'none'}): offsets not acknowledged"
            )

    def _take_states(self) -> list[tuple[int, dict[str, bytes | None], bytes]]:
        """Every customer state changed since the last checkpoint, encoded as of now.

        Taken when a checkpoint is cut, written by :meth:`_persist` once the checkpoint's rows
        and derived records are stored: a customer touched by many events between two
        checkpoints is written once.
        """
        states = []
        for partition, engine in list(self.processor.engines.items()):
            dirty = engine.take_dirty()
            if dirty or partition in self._loaded:
                states.append((partition, dirty, engine.export_meta()))
        return states

    def _persist(self, states: list[tuple[int, dict[str, bytes | None], bytes]]) -> None:
        """Write states taken by :meth:`_take_states` (and each partition's watermark)."""
        for partition, dirty, meta in states:
            token = _current_event.set(weakref.ref(self._scope(partition)))  # type: ignore[arg-type]
            try:
                prefix = _PART.pack(partition)
                for cid, data in dirty.items():
                    key = cid.encode()
                    if data is None:
                        self.table.pop(key, None)
                    else:
                        self.table[key] = prefix + data
                self.table[META_KEY % partition] = prefix + meta
            finally:
                _current_event.reset(token)

    # ------------------------------------------------------------------ the hot path
    async def _on_batch(self, batch: RecordBatch) -> None:
        """One fetch: decode, apply to the engines, buffer rows; flush when due."""
        if self.first_batch_at is None:
            self.first_batch_at = time.perf_counter()
        async with self._lock:
            for tp, records in batch.items():
                await self._ensure_loaded(tp.partition)
                topic_type = self.processor.topic_types.get(tp.topic, "unknown")
                self.metrics.consumed(topic_type, len(records))
            # Every input topic of the fetched partitions, not only those in the batch: their
            # high-water marks came with the same fetch, while the clock still has their backlog
            # from the last tick (0 for a topic idle before a burst), which let the first topic
            # fetched run the watermark ahead of records already on the broker (false
            # too-late / orphans in bursts).
            positions = {tp: records[-1].offset + 1 for tp, records in batch.items()}
            for partition in {tp.partition for tp in batch}:
                self._refresh_backlogs(partition, positions)
            t0 = time.perf_counter()
            # Openings first: Kafka orders nothing across topics, so a fetch may hand over a
            # customer's logins before their opening; applied first, those would be held as
            # possible orphans (a copy, a sorted insert, a deadline) and released moments
            # later. Any order within a fetch gives the same records; this one is the cheapest.
            opened_topic = self.inputs["account_opened"]
            result = self.processor.process(
                record
                for tp in sorted(batch, key=lambda tp: tp.topic != opened_topic)
                for record in batch[tp]
            )
            t1 = time.perf_counter()
            await self._apply(result)
            self.metrics.batch(time.perf_counter() - t0)
            self.stage_seconds["process"] += t1 - t0
            self.stage_seconds["route"] += time.perf_counter() - t1
            for tp, records in batch.items():
                self._pending.setdefault(tp, []).extend(r.offset for r in records)
                self._next_offset[tp] = records[-1].offset + 1
                self.events_processed += len(records)
            if self._checkpoint_due():
                await self._checkpoint()
            elif self.batcher.due():
                await self._write_rows()

    async def _apply(self, result: Result) -> None:
        """Route a result: rejects to their topics, rows to the batcher."""
        for rejected in result.rejected:
            await self._reject(rejected)
        await self._route(result.outputs, result.sources)
        engines = self.processor.engines
        if self._event_rows is not None:
            add = self._event_rows.add
            for partition, event_type, ev, record in result.events:
                st = engines[partition].state_of(ev["customer_id"])
                value = None if record is None else record.value
                if st is None:
                    add(event_type, ev, value, None, None)
                else:
                    add(event_type, ev, value, st.opened_at, st.open_channel)
        else:
            rows = []
            for partition, event_type, ev, _ in result.events:
                st = engines[partition].state_of(ev["customer_id"])
                if st is None:
                    rows.append(event_values(event_type, ev, None, None))
                else:
                    rows.append(event_values(event_type, ev, st.opened_at, st.open_channel))
            self.batcher.add_tuples("events", EVENT_COLUMNS, rows)
        self.metrics.processed(result.events)
        if result.held:
            self.metrics.held(result.held)
        for table, table_rows in output_rows(result.outputs).items():
            self.batcher.add(table, table_rows)
        self._to_outbox(result.outputs)

    def _update_backlog(self, tp: TP, position: int | None) -> None:
        """Records of ``tp`` still on the broker (high-water mark - position), for the clock."""
        consumer = self.app.consumer
        assert isinstance(consumer, BatchConsumer)
        highwater = consumer.highwater_or_none(tp)
        if position is None:
            position = self._next_offset.get(tp)
        if position is None:
            # Nothing processed yet: the group's committed offset, or the beginning of the
            # log for a new group (consumer_auto_offset_reset is "earliest").
            position = consumer._committed_offset.get(tp) or 0
        backlog = None if highwater is None or position is None else max(0, highwater - position)
        self.processor.set_backlog(tp.partition, tp.topic, backlog)

    def _refresh_backlogs(self, partition: int, positions: Mapping[TP, int] | None = None) -> None:
        """Backlog of each input topic of ``partition`` (from ``positions`` where given)."""
        for topic in self.inputs.values():
            tp = TP(topic, partition)
            self._update_backlog(tp, positions.get(tp) if positions else None)

    async def _tick(self) -> None:
        """Let quiet partitions' watermarks move (idle topics, wall clock) and fire deadlines."""
        for partition in list(self.processor.engines):
            if partition in self._loaded:
                self._refresh_backlogs(partition)
        wall = None
        if self.settings.worker.wall_clock_watermark:
            wall = int(time.time() * 1000) - self.settings.engine.allowed_lateness_s * 1000
        for partition in list(self.processor.engines):
            if partition not in self._loaded:
                continue
            outputs = self.processor.tick(partition, wall)
            if outputs:
                self._ticked = True  # decisions without input: states to checkpoint
                await self._apply(Result(outputs=outputs))

    async def _reject(self, rejected: Rejected) -> None:
        r = rejected.record
        self.metrics.dead_lettered(
            rejected.reason, self.processor.topic_types.get(r.topic, "unknown")
        )
        await self.dead_letter.send(
            key=r.key,
            value=r.value,
            headers=_headers(rejected.reason, rejected.detail, r),
        )

    async def _route(self, outputs: list[Output], sources: Mapping[str, KafkaRecord]) -> None:
        """Send rejections to their topics, count the rest."""
        for out in outputs:
            if isinstance(out, TooLate | Duplicate):
                if isinstance(out, TooLate):
                    self.metrics.too_late(out.event_type)
                    topic, reason = self.too_late, "too_late"
                else:
                    self.metrics.dead_lettered("duplicate", out.event_type)
                    topic, reason = self.dead_letter, "duplicate"
                record = sources.get(out.event_id)
                assert record is not None, "rejections only come from input records"
                await topic.send(
                    key=record.key,
                    value=record.value,
                    headers=_headers(reason, out.reason, record),
                )
            elif isinstance(out, Orphan):
                self.metrics.dead_lettered("orphan", out.event_type)
                await self.orphans.send(
                    key=out.customer_id.encode(),
                    value=self.processor.codec.encode(out.event_type, dict(out.event)),
                    headers=[("reason", b"orphan"), ("detail", out.reason.encode())],
                )
            else:
                self.metrics.output(out)

    # ------------------------------------------------------------------ flushing
    async def flush(self) -> None:
        """Checkpoint now and wait until it is stored: rows, derived records, states, offsets."""
        async with self._lock:
            await self._checkpoint()
            await self._await_commit()

    def _start_write(self) -> asyncio.Future[int] | None:
        """Write the buffered rows to ClickHouse in a thread, after the writes started before.

        Returns the write that stores every row buffered so far (None if there never was one).
        The event loop keeps applying fetches while ClickHouse works; rows reach the store in
        the order they were produced. A failed write fails every write queued behind it.
        """
        if not self.batcher.pending:
            return self._last_write
        batch = self.batcher.take()
        before = self._last_write
        loop = asyncio.get_running_loop()

        async def write() -> int:
            if before is not None:
                await before
            started = time.monotonic()
            rows = await loop.run_in_executor(None, self.batcher.write, batch)
            took = time.monotonic() - started
            self.stage_seconds["write"] += took
            self.metrics.flushed(took, rows, self.batcher)
            return rows

        self._last_write = asyncio.ensure_future(write())
        return self._last_write

    async def _write_rows(self) -> None:
        """Start a size- or time-bound write, once the previous one is done (back-pressure:
        with ClickHouse slow or down, consumption waits here instead of buffering forever)."""
        if self._last_write is not None and not self._last_write.done():
            t0 = time.perf_counter()
            await self._last_write
            waited = time.perf_counter() - t0
            self.stage_seconds["write_wait"] += waited
            self.processor.stalled(waited)  # not fetching meanwhile: no topic fell silent
        self._start_write()

    async def _await_commit(self) -> None:
        commit, self._commit = self._commit, None
        if commit is not None:
            await commit  # a failed checkpoint raises here: nothing after it is acknowledged

    async def _checkpoint(self) -> None:
        """Cut a checkpoint and store it in the background, behind the previous one.

        Cutting is quick and happens on the event loop (the caller holds ``_lock``): the
        offsets applied so far, the snapshots of changed customers, their encoded states and
        the derived records, all as of this instant. Storing (see :meth:`_store_checkpoint`)
        waits for ClickHouse and the broker while the loop applies the next fetches, so the
        worker does not stop for every checkpoint. At most one checkpoint is in flight: the
        next one waits here for the previous one (back-pressure), and they land in order.
        """
        t0 = time.perf_counter()
        await self._await_commit()
        waited = time.perf_counter() - t0
        self.stage_seconds["checkpoint_wait"] += waited
        self.processor.stalled(waited)  # not fetching meanwhile: no topic fell silent
        pending, self._pending = self._pending, {}
        self._take_snapshots()
        rows = self._start_write()
        outbox, self._outbox = self._outbox, []
        states = self._take_states()
        self._last_checkpoint = time.monotonic()
        self._ticked = False
        self._commit = asyncio.ensure_future(
            self._store_checkpoint(rows, outbox, states, pending)
        )

    async def _store_checkpoint(
        self,
        rows: asyncio.Future[int] | None,
        outbox: list[tuple[str, bytes, bytes]],
        states: list[tuple[int, dict[str, bytes | None], bytes]],
        pending: dict[TP, list[int]],
    ) -> None:
        """Rows stored, then derived records delivered, then states, then offsets acked.

        States are written only once their events' rows and derived records are stored: a
        state recording events whose records were lost would treat their re-delivery as
        duplicates and never write them (see the module docstring).
        """
        if rows is not None:
            await rows
        t0 = time.perf_counter()
        self._publish(outbox)
        await self._flush_published()
        self._persist(states)
        consumer = self.app.consumer
        assert isinstance(consumer, BatchConsumer)
        for tp, offsets in pending.items():
            consumer.ack_offsets(tp, offsets)
        self.stage_seconds["persist"] += time.perf_counter() - t0

    def _checkpoint_due(self) -> bool:
        return (bool(self._pending) or self._ticked) and (
            time.monotonic() - self._last_checkpoint >= self.settings.worker.checkpoint_seconds
        )

    async def _on_timer(self) -> None:
        async with self._lock:
            await self._tick()
            if self._checkpoint_due():
                await self._checkpoint()
            elif self.batcher.due():
                await self._write_rows()
            self.metrics.refresh(self.processor)  # gauges: lag, event time, journey counts

    async def _on_revoked(self, sender: Any, revoked: set[Any], **_: Any) -> None:
        await self.flush()  # normally done already by the consumer's wait_empty hook
        for tp in revoked:
            self.processor.drop(tp.partition)
            self._loaded.discard(tp.partition)
            self._next_offset.pop(tp, None)


def _headers(reason: str, detail: str, r: KafkaRecord) -> list[tuple[str, bytes]]:
    return [
        ("reason", reason.encode()),
        ("detail", detail.encode("utf-8", "replace")[:1000]),
        ("topic", r.topic.encode()),
        ("partition", str(r.partition).encode()),
        ("offset", str(r.offset).encode()),
    ]


def _faust_security(kw: dict[str, Any]) -> dict[str, Any]:
    """Map the one Kafka security configuration onto Faust's setting names."""
    out: dict[str, Any] = {}
    protocol = kw.get("security_protocol", "PLAINTEXT")
    if protocol == "PLAINTEXT":
        return out
    ssl_context = kw.get("ssl_context")
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        out["broker_credentials"] = faust.SASLCredentials(
            username=kw.get("sasl_plain_username"),
            password=kw.get("sasl_plain_password"),
            mechanism=kw.get("sasl_mechanism", "PLAIN"),
            ssl_context=ssl_context,
        )
    elif protocol == "SSL":
        out["broker_credentials"] = faust.SSLCredentials(ssl_context)
    return out
