"""Faust's aiokafka consumer with a batch hot path for the journey's input topics.

Why: Faust hands every record to an agent through its per-event stream machinery (a Message
and an Event object, a queue hop, reference counting, an ``asyncio.wait`` per record). That
costs ~100 µs an event on these machines (see ``../shared/ENVIRONMENT.md``): a Faust agent
tops out near 10k events/s before doing any work. The journey engine is cheaper than that per
event, so the framework, not the work, would set the pace.

What stays Faust's: the consumer group, partition assignment and rebalancing, pausing
partitions while tables recover, the changelogged Table and its recovery, offset commits,
the producer and the worker lifecycle. What changes is one loop: each ``getmany`` result for
the *batch topics* goes to ``batch_handler`` in one call, as aiokafka records (no Message or
Event objects). Records of every other topic (table changelogs during recovery, standbys)
still take Faust's normal per-message path.

Acknowledgement is explicit: the handler calls :meth:`BatchConsumer.ack_offsets` once the
effects of a range of offsets are stored; Faust's committer then commits them as it would
acked messages (after flushing the producer, so changelog writes land before the offsets).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.tuples import ack_lock


class KafkaRecord(Protocol):
    """The attributes of an aiokafka ``ConsumerRecord`` the worker uses."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


#: ``{(topic, partition): records in offset order}`` of one fetch.
RecordBatch = Mapping[TP, Sequence[Any]]
BatchHandler = Callable[[RecordBatch], Awaitable[None]]


class BatchConsumer(faust_aiokafka.Consumer):
    """aiokafka consumer delivering the batch topics' records a fetch at a time."""

    #: Topics whose records go to ``batch_handler`` (set by the worker before start).
    batch_topics: Collection[str] = ()
    batch_handler: BatchHandler | None = None
    #: Awaited before Faust waits for in-flight work on a rebalance or shutdown (the
    #: worker's flush), so the offsets it acknowledges are committed before the handover.
    before_wait_empty: Callable[[], Awaitable[None]] | None = None
    #: Seconds the hot loop waited for fetched records (benchmarks: is the worker starved?).
    fetch_wait_seconds: float = 0.0

    def ack_offsets(self, tp: TP, offsets: Sequence[int]) -> int:
        """Mark ``offsets`` of ``tp`` processed and stored; returns how many were new.

        The same bookkeeping as Faust's ``Consumer.ack`` for one message, done for a batch.
        """
        with ack_lock:
            committed = self._committed_offset[tp]
            if committed is not None:
                offsets = [o for o in offsets if o >= committed]
            index = self._acked_index[tp]
            fresh = [o for o in offsets if o not in index]
            if fresh:
                index.update(fresh)
                self._acked[tp].extend(fresh)
                self._n_acked += len(fresh)
            return len(fresh)

    async def wait_empty(self) -> None:
        if self.before_wait_empty is not None:
            await self.before_wait_empty()
        await super().wait_empty()

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - needs Kafka
        handler = self.batch_handler
        if handler is None:
            await super()._drain_messages(fetcher)
            return
        batch_topics = frozenset(self.batch_topics)
        callback = self.callback
        to_message = self._to_message
        read_offset = self._read_offset
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                waited = time.perf_counter()
                records, active = await self._wait_next_records(timeout=1.0)
                self.fetch_wait_seconds += time.perf_counter() - waited
                generation = self.app.consumer_generation_id
                await asyncio.sleep(0)
                if not records or self.should_stop or not self.flow_active:
                    continue
                mine: dict[TP, list[Any]] = {}
                for tp, recs in records.items():
                    if (
                        active is not None
                        and tp not in active
                        and (tp not in self._buffered_partitions)
                    ):
                        continue
                    r_offset = read_offset[tp]
                    fresh = recs if r_offset is None else [r for r in recs if r.offset >= r_offset]
                    if not fresh:
                        continue
                    if r_offset is not None and fresh[0].offset - r_offset > 1:
                        await self._add_gap(tp, r_offset + 1, fresh[0].offset)
                    if tp.topic in batch_topics:
                        mine[tp] = fresh
                    else:
                        for record in fresh:
                            await callback(to_message(tp, record))
                    read_offset[tp] = fresh[-1].offset
                if not mine:
                    continue
                if self.app.consumer_generation_id != generation or not self.flow_active:
                    # A rebalance started while fetching: these records belong to the old
                    # assignment; forget them, Faust seeks back to the committed offsets.
                    for tp in mine:
                        read_offset[tp] = None
                    continue
                # Not cancellable half-way: a batch is applied completely, then acknowledged
                # by the handler once stored (an interrupted batch is simply re-delivered).
                await asyncio.shield(handler(mine))
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise


class BatchTransport(faust_aiokafka.Transport):
    """The aiokafka transport with :class:`BatchConsumer` as its consumer."""

    Consumer = BatchConsumer
