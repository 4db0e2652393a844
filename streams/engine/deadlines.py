"""Time-ordered index of per-customer due instants, one heap per partition.

Each customer has at most one *live* heap entry: the earliest instant at which something may
be due for it (a deadline, a window end, the end of an inactivity gap, a fold). Rescheduling
earlier pushes a new entry; rescheduling later keeps the old one, which then pops early, finds
nothing due and reschedules (lazy invalidation). So the heap stays near one entry per customer
and firing due work is O(log n) per fired customer, whatever the number of customers.

The index holds no information of its own: ``PartitionEngine.rebuild_index`` recomputes it
from the customer states after a restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from heapq import heappop, heappush

#: Decision priorities at equal instants: windows close before defections (an instant equal to
#: a window's end lies outside it), stalls before windows, closure before silent attrition.
PRIO_ORPHAN = 0
PRIO_STALL_RAISE = 1
PRIO_STALL_CLEAR = 2
PRIO_WINDOW = 3
PRIO_DEFECT_CLOSURE = 4
PRIO_DEFECT_OUTBOUND = 5
PRIO_DEFECT_DRAIN = 6
PRIO_DEFECT_DORMANCY = 7
PRIO_RESURRECT = 8
PRIO_RISK = 9

#: (instant, priority, argument): one decision due for a customer.
Due = tuple[int, int, str]


class DeadlineIndex:
    """Min-heap of (instant, customer_id) with at most one live entry per customer."""

    __slots__ = ("_heap", "_queued")

    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []
        self._queued: dict[str, int] = {}

    def schedule(self, customer_id: str, instant: int) -> None:
        """Make sure ``customer_id`` is visited once the watermark reaches ``instant``."""
        queued = self._queued.get(customer_id)
        if queued is None or instant < queued:
            heappush(self._heap, (instant, customer_id))
            self._queued[customer_id] = instant

    def pop_due(self, watermark: int) -> Iterator[str]:
        """Yield (and unschedule) each customer whose live entry is at or before ``watermark``.

        Safe to reschedule the yielded customer before asking for the next one.
        """
        heap = self._heap
        queued = self._queued
        while heap and heap[0][0] <= watermark:
            instant, customer_id = heappop(heap)
            if queued.get(customer_id) == instant:
                del queued[customer_id]
                yield customer_id

    def next_instant(self) -> int | None:
        """Earliest entry (possibly stale), for the worker's timer."""
        return self._heap[0][0] if self._heap else None

    def clear(self) -> None:
        self._heap.clear()
        self._queued.clear()

    def __len__(self) -> int:
        """Customers with a live entry."""
        return len(self._queued)

    def heap_size(self) -> int:
        """Entries including stale ones (for metrics)."""
        return len(self._heap)
