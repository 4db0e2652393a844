"""The Faust shell: topics, the customer-state table and the agent that feeds the processor.

Faust owns what it is good at: the consumer group and partition assignment, the changelogged
Table (RocksDB in production, memory in tests) and the worker lifecycle. Decisions are made by
:class:`~streams.worker.processor.Processor`; rows leave through
:class:`~streams.sink.batcher.Batcher`.

Delivery: the agent iterates with ``noack()`` and acknowledges events only after the rows they
produced are stored in ClickHouse and their state changes are written to the table, so Faust
never commits an offset whose effects could still be lost (at-least-once). Replayed events are
no-ops in the engine (it de-duplicates by event id) and replayed rows collapse in ClickHouse.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.streams import _current_event
from faust.types import EventT

from streams.codec import codec_from_settings
from streams.engine.outputs import Duplicate, Orphan, Output, TooLate
from streams.kafka.clients import aiokafka_kwargs
from streams.kafka.topics import derived_topics, input_topics
from streams.metrics import Metrics
from streams.settings import Settings
from streams.sink.batcher import Batcher
from streams.sink.rows import event_row, output_rows
from streams.store.base import Store
from streams.worker.processor import Processor, RawRecord, Rejected, Result

log = logging.getLogger(__name__)

#: Stored table values are the engine's state bytes prefixed with the Kafka partition, so a
#: worker can reload exactly the customers of a partition it is (re)assigned.
_PART = struct.Struct(">H")
#: Table key under which a partition's event-time position (watermark) is kept.
META_KEY = b"\x00meta:%d"


class _App(faust.App):
    """A Faust app that runs one coroutine before it stops (the worker's final flush)."""

    before_stop: Callable[[], Awaitable[None]] | None = None

    async def on_stop(self) -> None:
        # Runs before Faust stops the consumer and tables: store what is buffered and ack it,
        # or Faust would wait forever for the unacknowledged events on a graceful shutdown.
        if self.before_stop is not None:
            try:
                await self.before_stop()
            except Exception:
                log.exception("final flush failed; unacknowledged events will be re-delivered")
        await super().on_stop()


class JourneyWorker:
    """Everything one worker process holds: Faust app, processor, batcher, metrics."""

    def __init__(self, settings: Settings, store: Store, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics or Metrics()
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
            producer_acks=-1,
            **_faust_security(broker_kwargs),
        )
        raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
        self.source = self.app.topic(
            *self.inputs.values(), key_type=bytes, value_type=bytes, **raw
        )
        self.dead_letter = self.app.topic(self.derived["dead_letter"], **raw)
        self.too_late = self.app.topic(self.derived["too_late"], **raw)
        self.orphans = self.app.topic(self.derived["orphans"], **raw)
        self.table = self.app.Table(
            "customer-state",
            partitions=settings.topics.partitions,
            key_type=bytes,
            value_type=bytes,
        )
        self.processor = Processor(
            codec_from_settings(settings),
            settings.engine,
            {topic: event_type for event_type, topic in self.inputs.items()},
            idle_s=w.idle_topic_s,
        )
        self.batcher = Batcher(
            store, max_rows=w.sink_batch_rows, max_seconds=w.sink_batch_seconds
        )
        self._loaded: set[int] = set()
        self._pending: list[tuple[Any, EventT]] = []
        #: Last event seen per partition: Faust tables take the changelog partition from the
        #: "current event", so timer-driven work on a partition runs in that event's context.
        self._last_event: dict[int, EventT] = {}
        self._lock = asyncio.Lock()
        self.events_processed = 0
        self.app.agent(self.source, name="journey")(self._agent)
        self.app.timer(w.sink_batch_seconds)(self._on_timer)
        self.app.before_stop = self.flush
        self.app.on_partitions_revoked.connect(self._on_revoked)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ state in the table
    def _ensure_loaded(self, partition: int) -> None:
        """Load a partition's customers from the table into its engine, once per assignment."""
        if partition in self._loaded:
            return
        engine = self.processor.engine(partition)
        n = 0
        for key, value in self.table.data.items():
            if value is None or len(value) < 2 or _PART.unpack_from(value)[0] != partition:
                continue
            if key == META_KEY % partition:
                engine.import_meta(value[2:])
            elif not key.startswith(b"\x00"):
                engine.load(key.decode(), value[2:])
                n += 1
        engine.rebuild_index()
        self._loaded.add(partition)
        if n:
            log.info("partition %d: restored %d customers from the state table", partition, n)

    def _persist_all(self) -> None:
        """Snapshot rows and table writes for every customer changed since the last flush.

        Runs once per flush, not per event: a customer touched by many events in a batch is
        written once. Faust tables derive the changelog partition from the "current event",
        so each partition's writes run in the context of that partition's last event.
        """
        for partition in list(self.processor.engines):
            event = self._last_event.get(partition)
            if event is None:
                continue
            engine = self.processor.engine(partition)
            for table, rows in output_rows(list(engine.take_snapshots())).items():
                self.batcher.add(table, rows)
            token = _current_event.set(weakref.ref(event))
            try:
                self._persist(partition)
            finally:
                _current_event.reset(token)

    def _persist(self, partition: int) -> None:
        """Write the partition's changed states (and watermark) to the changelogged table."""
        engine = self.processor.engine(partition)
        prefix = _PART.pack(partition)
        for cid, data in engine.take_dirty().items():
            key = cid.encode()
            if data is None:
                self.table.pop(key, None)
            else:
                self.table[key] = prefix + data
        self.table[META_KEY % partition] = prefix + engine.export_meta()

    # ------------------------------------------------------------------ the agent
    async def _agent(self, stream: Any) -> Any:
        async for event in stream.noack().events():
            message = event.message
            partition = message.partition
            self._ensure_loaded(partition)
            record = RawRecord(message.topic, partition, message.offset, event.key, event.value)
            self.metrics.consumed(self.processor.topic_types.get(message.topic, "unknown"))
            result = self.processor.process([record])
            self._last_event[partition] = event
            await self._apply(partition, result, record)
            self.events_processed += 1
            self._pending.append((stream, event))
            if self.batcher.due():
                await self.flush()
            yield None

    async def _apply(self, partition: int, result: Result, record: RawRecord | None) -> None:
        """Route a result: rejects to their topics, rows to the batcher, state to the table."""
        for rejected in result.rejected:
            await self._reject(rejected)
        await self._route(result.outputs, record)
        engine = self.processor.engine(partition)
        late = {o.event_id for o in result.outputs if isinstance(o, TooLate)}
        for event_type, ev in result.events:
            if ev["event_id"] in late:
                continue  # not applied: it lives in the too-late topic, not in the history
            st = engine.state_of(ev["customer_id"])
            self.batcher.add(
                "events",
                [
                    event_row(
                        event_type,
                        ev,
                        getattr(st, "opened_at", None),
                        getattr(st, "opening_channel", None),
                    )
                ],
            )
        for table, rows in output_rows(result.outputs).items():
            self.batcher.add(table, rows)

    async def _tick(self) -> None:
        """Let quiet partitions' watermarks move (idle topics, wall clock) and fire deadlines."""
        wall = None
        if self.settings.worker.wall_clock_watermark:
            wall = int(time.time() * 1000) - self.settings.engine.allowed_lateness_s * 1000
        for partition in list(self.processor.engines):
            event = self._last_event.get(partition)
            if event is None:
                continue
            outputs = self.processor.tick(partition, wall)
            if outputs:
                await self._apply(partition, Result(outputs=outputs), None)

    async def _reject(self, rejected: Rejected) -> None:
        r = rejected.record
        self.metrics.dead_lettered(rejected.reason)
        await self.dead_letter.send(
            key=r.key,
            value=r.value,
            headers=_headers(rejected.reason, rejected.detail, r),
        )

    async def _route(self, outputs: list[Output], record: RawRecord | None) -> None:
        for out in outputs:
            if isinstance(out, TooLate | Duplicate):
                if isinstance(out, TooLate):
                    self.metrics.too_late(out.event_type)
                    topic, reason = self.too_late, "too_late"
                else:
                    self.metrics.dead_lettered("duplicate")
                    topic, reason = self.dead_letter, "duplicate"
                assert record is not None, "rejections only come from input records"
                await topic.send(
                    key=record.key, value=record.value,
                    headers=_headers(reason, out.reason, record),
                )
            elif isinstance(out, Orphan):
                self.metrics.dead_lettered("orphan")
                await self.orphans.send(
                    key=out.customer_id.encode(),
                    value=self.processor.codec.encode(out.event_type, dict(out.event)),
                    headers=[("reason", b"orphan"), ("detail", out.reason.encode())],
                )
            else:
                self.metrics.output(out.kind)

    # ------------------------------------------------------------------ flushing
    async def flush(self) -> None:
        """Store buffered rows, then acknowledge the events that produced them."""
        async with self._lock:
            pending, self._pending = self._pending, []
            self._persist_all()
            if self.batcher.pending:
                started = time.monotonic()
                batch = self.batcher.take()
                loop = asyncio.get_running_loop()
                rows = await loop.run_in_executor(None, self.batcher.write, batch)
                self.metrics.flushed(time.monotonic() - started, rows, self.batcher)
            for stream, event in pending:
                await stream.ack(event)

    async def _on_timer(self) -> None:
        await self._tick()
        if self.batcher.due() or self._pending:
            await self.flush()

    async def _on_revoked(self, sender: Any, revoked: set[Any], **_: Any) -> None:
        await self.flush()
        for tp in revoked:
            self.processor.drop(tp.partition)
            self._loaded.discard(tp.partition)


def _headers(reason: str, detail: str, r: RawRecord) -> list[tuple[str, bytes]]:
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
