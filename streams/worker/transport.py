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
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
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


def behind_first(
    active: Iterable[TP],
    first_topics: Collection[str],
    highwater: Callable[[TP], int | None],
    next_to_read: Callable[[TP], int],
    empty: dict[TP, int | None],
) -> set[TP]:
    """The active partitions of ``first_topics`` with records on the broker not read yet.

    ``highwater`` is None until a fetch response told it. ``empty`` holds partitions a fetch
    of their own came back without records, with the high-water mark they had then: they are
    left out until it moves, so a broker whose high-water mark overstates what it delivers
    cannot make every fetch wait for them. Entries whose mark moved are dropped from it.
    """
    behind: set[TP] = set()
    if not first_topics:
        return behind
    for tp in active:
        if tp.topic not in first_topics:
            continue
        mark = highwater(tp)
        if mark is None:
            continue  # no fetch response yet: nothing known to be behind
        if tp in empty:
            if empty[tp] == mark:
                continue
            del empty[tp]
        if mark > next_to_read(tp):
            behind.add(tp)
    return behind


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
    #: Topics fetched first: while one of their assigned partitions has records on the broker
    #: that were not read yet, a fetch asks for those partitions only (see :meth:`_getmany`).
    first_topics: Collection[str] = ()
    #: ``{tp: high-water mark}``: first-topic partitions a fetch of their own left empty.
    _first_empty: dict[TP, int | None] | None = None

    async def _getmany(self, active_partitions: Any, timeout: float) -> Any:
        """Records of the first topics' partitions that are behind, or else of all of them.

        Why: Kafka orders nothing across topics, and in a backfill aiokafka hands over whole
        fetches of one topic-partition at a time, in a shuffled order. A customer's logins and
        transactions read before their opening are held by the engine (a copy, a sorted
        insert, a deadline, stored with the state at every checkpoint) until it arrives. In
        the benchmark that was anywhere from none to 60 % of all events, depending on the
        order of the first fetches, and the throughput followed (22.5k events/s with none
        held, 14.9k with 129k held). Openings are ~1 % of the records, so reading them
        first costs about one extra fetch whenever some are behind.
        """
        empty = self._first_empty
        if empty is None:
            empty = self._first_empty = {}
        first = behind_first(
            active_partitions or (),
            self.first_topics,
            self.highwater_or_none,
            self._next_to_read,
            empty,
        )
        if not first:
            return await super()._getmany(active_partitions, timeout)
        records = await super()._getmany(first, timeout)
        for tp in first:
            if tp not in records:
                empty[tp] = self.highwater_or_none(tp)
        return records

    def highwater_or_none(self, tp: TP) -> int | None:
        """The partition's high-water mark, None if unknown (not assigned, no fetch yet)."""
        try:
            return self.highwater(tp)
        except Exception:  # not assigned (any more), or no fetch response yet
            return None

    def _next_to_read(self, tp: TP) -> int:
        read = self._read_offset.get(tp)
        if read is not None:
            return read + 1
        return self._committed_offset.get(tp) or 0

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

        async def fetch() -> tuple[Any, Any, int]:
            records, active = await self._wait_next_records(timeout=1.0)
            return records, active, self.app.consumer_generation_id

        # The next fetch is requested before a batch is handed over, so aiokafka's thread
        # turns the fetched bytes into records while the handler applies the previous ones.
        # Waited for afterwards, the hot loop sat idle for every fetch (~30 ms for 5,000
        # records here, ~15 % of a backfill's time).
        pending: asyncio.Future[tuple[Any, Any, int]] | None = None
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                if pending is None:
                    pending = asyncio.ensure_future(fetch())
                waited = time.perf_counter()
                try:
                    records, active, generation = await pending
                finally:
                    pending = None
                self.fetch_wait_seconds += time.perf_counter() - waited
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
                    # A rebalance started since this fetch: its records belong to the old
                    # assignment; forget them, Faust seeks back to the committed offsets.
                    for tp in mine:
                        read_offset[tp] = None
                    continue
                pending = asyncio.ensure_future(fetch())
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
        finally:
            if pending is not None:
                pending.cancel()


class BatchTransport(faust_aiokafka.Transport):
    """The aiokafka transport with :class:`BatchConsumer` as its consumer."""

    Consumer = BatchConsumer
