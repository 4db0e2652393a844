"""The clean stream: reproducible, schema-valid, in event-time order, journeys well formed."""

from __future__ import annotations

import io
from collections import defaultdict
from functools import cache
from typing import Any

from streams.simulate.params import SimulationParams
from streams.simulate.population import generate_events, iter_records
from streams.simulate.validate import validate_event
from streams.simulate.writer import write_events_jsonl

SMALL = SimulationParams(n_customers=300, seed=11)


@cache
def small_events() -> tuple[dict[str, Any], ...]:
    return tuple(generate_events(SMALL))


def _bytes(params: SimulationParams) -> bytes:
    buf = io.StringIO()
    write_events_jsonl(buf, generate_events(params))
    return buf.getvalue().encode()


def test_same_seed_same_bytes_different_seed_differs() -> None:
    p = SimulationParams(n_customers=60, seed=5)
    a, b = _bytes(p), _bytes(p)
    assert a == b and len(a) > 10_000
    assert _bytes(SimulationParams(n_customers=60, seed=6)) != a


def test_every_event_matches_its_schema() -> None:
    events = small_events()
    assert {e["event_type"] for e in events} == {
        "account_opened",
        "login",
        "transaction",
        "complaint",
        "closure",
    }
    # fastavro's validator costs ~0.1 ms a record: every event of a small population, plus
    # every rare-type event and every 10th one of the larger population.
    for e in generate_events(SimulationParams(n_customers=20, seed=3)):
        validate_event(e)
    for i, e in enumerate(events):
        if i % 10 == 0 or e["event_type"] in ("account_opened", "complaint", "closure"):
            validate_event(e)


def test_event_time_order_and_unique_ids() -> None:
    events = small_events()
    times = [e["occurred_at"] for e in events]
    assert times == sorted(times)
    assert times[-1] < SMALL.horizon_end_ms and times[0] >= SMALL.start_ms
    assert len({e["event_id"] for e in events}) == len(events)


def test_journeys_start_with_opening_and_end_at_closure() -> None:
    by_customer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in small_events():
        by_customer[e["customer_id"]].append(e)
    assert len(by_customer) == SMALL.n_customers
    closed = 0
    for evs in by_customer.values():
        first = evs[0]
        assert first["event_type"] == "account_opened" and first["is_new_customer"] is True
        assert all(
            not (e["event_type"] == "account_opened" and e["is_new_customer"]) for e in evs[1:]
        )
        last_closures = [
            i for i, e in enumerate(evs) if e["event_type"] == "closure" and e["last_account"]
        ]
        assert len(last_closures) <= 1
        if last_closures:
            closed += 1
            assert last_closures[0] == len(evs) - 1, "events after the last account closed"
    assert closed > 0


def test_bank_side_postings_are_not_customer_initiated() -> None:
    for e in small_events():
        if e["event_type"] == "transaction":
            assert e["amount_minor"] > 0
            bank_side = e["kind"] in ("fee", "interest")
            assert e["customer_initiated"] is not bank_side
            assert (e["counterparty_type"] == "bank") is bank_side


def test_iter_records_strips_event_type() -> None:
    pairs = list(iter_records(params=SimulationParams(n_customers=5, seed=1)))
    assert pairs and all("event_type" not in r for _, r in pairs)
    assert pairs[0][0] == "account_opened"
