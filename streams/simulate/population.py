"""The whole population as one stream in global event-time order.

Why a hand-written merge rather than ``heapq.merge(*generators)``: customers are *activated
lazily* when the merge reaches their opening instant, so only customers already open hold a
generator (and nobody is planned before they are needed); and each generator is advanced a few
events at a time. The heap key is ``(occurred_at, customer index, push counter)``: ties between
customers break by index and a customer's own events keep their order, so the output order is
total and deterministic.

Determinism: decisions come from each customer's own RNG (``model.customer_rng``); rendering
details come from one shared RNG seeded ``"{seed}:events"`` and consumed in merge order, which is
itself deterministic. Same params -> byte-identical stream.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from itertools import islice
from typing import Any

from streams.simulate.events import Event, customer_events
from streams.simulate.model import customer_rng, draw_opening, plan_customer
from streams.simulate.params import SimulationParams

EVENT_TYPES: tuple[str, ...] = ("account_opened", "login", "transaction", "complaint", "closure")


def opening_schedule(params: SimulationParams) -> list[tuple[int, int]]:
    """``(opened_at, index)`` of every customer, sorted (cheap: two RNG draws each)."""
    return sorted(
        (draw_opening(customer_rng(params, i), params)[1], i) for i in range(params.n_customers)
    )


def generate_events(params: SimulationParams, chunk: int = 8) -> Iterator[Event]:
    """Every customer's events, merged in non-decreasing ``occurred_at`` order.

    Each event is a dict with ``event_type`` first, then exactly the fields of that type's Avro
    schema (``schemas/<event_type>.avsc``).

    Merge: a heap keyed ``(occurred_at, customer index, push counter)`` holds one entry per
    open customer. A customer's generator is advanced ``chunk`` events at a time while its state
    is hot in the CPU caches (interleaving 20k generators one event at a time is cache-bound);
    memory stays bounded by ``open customers x chunk`` pending events.
    """
    ev = random.Random(f"{params.seed}:events")
    openings = opening_schedule(params)
    heap: list[tuple[int, int, int, list[Event], int, Iterator[Event]]] = []
    heappush, heappop, heapreplace = heapq.heappush, heapq.heappop, heapq.heapreplace
    pushed = 0
    pos, n = 0, len(openings)
    while pos < n or heap:
        if pos < n and (not heap or openings[pos] < (heap[0][0], heap[0][1])):
            idx = openings[pos][1]
            pos += 1
            gen = customer_events(plan_customer(params, idx), params, ev)
            yield next(gen)
            events = list(islice(gen, chunk))
            if events:
                heappush(heap, (events[0]["occurred_at"], idx, pushed, events, 0, gen))
                pushed += 1
            continue
        _, idx, _, events, i, gen = heap[0]
        yield events[i]
        i += 1
        if i == len(events):
            events = list(islice(gen, chunk))
            i = 0
            if not events:
                heappop(heap)
                continue
        heapreplace(heap, (events[i]["occurred_at"], idx, pushed, events, i, gen))
        pushed += 1


def iter_records(
    events: Iterator[Event] | None = None,
    params: SimulationParams | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(event_type, record)`` pairs for a Kafka producer: record = the Avro record, without
    the ``event_type`` key. Pass a stream, or params to generate one."""
    if events is None:
        if params is None:
            raise ValueError("give events or params")
        events = generate_events(params)
    for e in events:
        record = dict(e)
        yield record.pop("event_type"), record
