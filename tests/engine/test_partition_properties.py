"""Properties: order within the lateness, duplicates and restarts do not change the outcome.

Compared: every emitted record (RiskChange and CohortEntry included: risk is scored in event
time as events become final, so it is order-invariant too) and the final encoded states.
Nothing is excluded. Snapshots are not emitted by process(); the final snapshot is compared
through the final state.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.engine import EngineConfig, PartitionEngine
from streams.engine.builders import Event, closure, complaint, login, opened, tx
from streams.engine.state import DAY_MS, FIELDS

T0 = 1_700_000_000_000
CFG = EngineConfig()
LATE = CFG.allowed_lateness_s * 1000
END = T0 + 3 * 365 * DAY_MS

KINDS = (
    "login",
    "login_fail",
    "buy",
    "deposit",
    "fee",
    "big_out",
    "complaint",
    "resolve",
    "closure",
    "closure_not_last",
)


def _event(cid: str, kind: str, t: int, n: int, balance: int | None) -> Event:
    if kind == "login":
        return login(cid, t)
    if kind == "login_fail":
        return login(cid, t, success=False)
    if kind == "buy":
        return tx(cid, t, amount=700, balance=balance)
    if kind == "deposit":
        return tx(cid, t, direction="credit", kind="transfer_in", amount=90_000, balance=balance)
    if kind == "fee":
        return tx(
            cid, t, kind="fee", customer_initiated=False, counterparty="bank", balance=balance
        )
    if kind == "big_out":
        return tx(
            cid, t, amount=400_000, kind="transfer_out", counterparty="other_bank", balance=balance
        )
    if kind == "complaint":
        return complaint(cid, t, f"k{n % 2}", severity=("low", "high")[n % 2])
    if kind == "resolve":
        return complaint(cid, t, f"k{n % 2}", status="resolved")
    if kind == "closure":
        return closure(cid, t)
    return closure(cid, t, last_account=False)


@st.composite
def histories(draw: Any) -> list[tuple[Event, int]]:
    """Events of 1-3 customers, each with a jitter in [0, lateness] for its arrival."""
    events: list[Event] = []
    for c in range(draw(st.integers(1, 3))):
        cid = f"c{c}"
        t_open = T0 + draw(st.integers(0, 5 * DAY_MS))
        if draw(st.booleans()) or c == 0:
            events.append(opened(cid, t_open, channel=draw(st.sampled_from(["branch", "online"]))))
        n = draw(st.integers(0, 18))
        for i in range(n):
            kind = draw(st.sampled_from(KINDS))
            t = t_open + draw(st.integers(-3_600_000, 420 * DAY_MS))
            balance = draw(st.one_of(st.none(), st.integers(-5_000, 200_000)))
            events.append(_event(cid, kind, t, i, balance))
    return [(e, draw(st.integers(0, LATE))) for e in events]


def _arrival(hist: list[tuple[Event, int]]) -> list[Event]:
    order = sorted(range(len(hist)), key=lambda i: (hist[i][0][1]["occurred_at"] + hist[i][1], i))
    return [hist[i][0] for i in order]


def _in_order(hist: list[tuple[Event, int]]) -> list[Event]:
    return sorted((e for e, _ in hist), key=lambda e: (e[1]["occurred_at"], e[1]["event_id"]))


def _run(events: list[Event], restart_at: int | None = None) -> tuple[list[Any], dict[str, bytes]]:
    eng = PartitionEngine(CFG)
    out: list[Any] = []
    for i, (event_type, event) in enumerate(events):
        if i == restart_at:
            store = {k: v for k, v in eng.take_dirty().items() if v is not None}
            meta = eng.export_meta()
            eng = PartitionEngine(CFG)
            for cid, data in store.items():
                eng.load(cid, data)
            eng.import_meta(meta)
            eng.rebuild_index()
        out += eng.process(event_type, event)
    out += eng.advance(END)
    states = {cid: eng.encoded(cid) for cid in eng.customer_ids()}
    return sorted(out, key=lambda r: r.record_id), states  # type: ignore[return-value]


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(histories())
def test_any_order_within_lateness_gives_same_records_and_state(hist: list) -> None:
    arrival = _arrival(hist)
    expected = _run(_in_order(hist))
    got = _run(arrival)
    assert not [r for r in got[0] if r.kind in ("too_late", "duplicate")]
    assert got[0] == expected[0]
    assert got[1] == expected[1]


@SETTINGS
@given(histories(), st.data())
def test_duplicates_are_no_ops(hist: list, data: st.DataObject) -> None:
    arrival = _arrival(hist)
    expected_records, expected_states = _run(arrival)
    if not arrival:
        return
    dup_idx = data.draw(st.lists(st.integers(0, len(arrival) - 1), max_size=5, unique=True))
    with_dups = list(arrival)
    for i in sorted(dup_idx, reverse=True):
        with_dups.insert(i + 1, arrival[i])  # re-delivered right after the original
    records, states = _run(with_dups)
    dups = [r for r in records if r.kind == "duplicate"]
    assert len(dups) == len(dup_idx)
    assert [r for r in records if r.kind != "duplicate"] == expected_records
    assert states == expected_states


@SETTINGS
@given(histories(), st.data())
def test_restart_from_encoded_states_changes_nothing(hist: list, data: st.DataObject) -> None:
    arrival = _arrival(hist)
    cut = data.draw(st.integers(0, len(arrival)))
    assert _run(arrival, restart_at=cut) == _run(arrival)


@SETTINGS
@given(histories())
def test_at_most_one_defection_per_episode(hist: list) -> None:
    records, _ = _run(_arrival(hist))
    by_customer: dict[str, list[Any]] = {}
    for r in sorted(records, key=lambda r: r.at_ms if hasattr(r, "at_ms") else 0):
        if r.kind in ("defection", "resurrection"):
            by_customer.setdefault(r.customer_id, []).append(r)
    for seq in by_customer.values():
        # strictly alternating defection(k) -> resurrection(k) -> defection(k+1) ...
        for i, r in enumerate(seq):
            assert r.kind == ("defection" if i % 2 == 0 else "resurrection")
            assert r.episode == i // 2 + 1
        ids = [r.record_id for r in seq]
        assert len(ids) == len(set(ids))


@SETTINGS
@given(histories())
def test_state_round_trips_through_the_codec(hist: list) -> None:
    from streams.engine.codec import decode, encode

    eng = PartitionEngine(CFG)
    for event_type, event in _arrival(hist):
        eng.process(event_type, event)
    for cid in eng.customer_ids():
        state = eng.state_of(cid)
        assert state is not None
        data = encode(state)
        assert decode(data) == state
        assert encode(decode(data)) == data
        # orjson writes what the standard library's encoder wrote before it (same bytes)
        stdlib = json.dumps(
            [getattr(state, f) for f in FIELDS], separators=(",", ":"), ensure_ascii=False,
            sort_keys=True,
        )  # fmt: skip
        assert data[1:] == stdlib.encode()
