"""Event-time handling of the partition: too late, duplicates, orphans, restart, batching."""

from __future__ import annotations

from typing import Any

import pytest

from streams.engine import EngineConfig, PartitionEngine
from streams.engine.builders import closure, day, login, opened, tx
from streams.engine.codec import decode
from streams.testing.engine import T0, kinds, run


def test_too_late_event_is_routed_with_reason_and_not_applied(engine: PartitionEngine) -> None:
    run(engine, [opened("c", T0), login("c", T0 + day(3))])
    assert engine.watermark == T0 + day(2)
    before = engine.encoded("c")
    late = login("c", T0 + day(2) - 1)
    (r,) = engine.process(*late)
    assert r.kind == "too_late"
    assert (r.reason, r.watermark_ms, r.late_by_ms, r.event_id) == (
        "too_late",
        T0 + day(2),
        1,
        late[1]["event_id"],
    )
    assert r.to_row()["event_json"].startswith("{")
    assert engine.encoded("c") == before
    # exactly at the watermark is still accepted
    assert engine.process(*login("c", T0 + day(2))) == []


def test_duplicate_changes_nothing(engine: PartitionEngine) -> None:
    ev = tx("c", T0 + 5)
    run(engine, [opened("c", T0), ev])
    before = engine.encoded("c")
    (r,) = engine.process(*ev)
    assert (r.kind, r.reason, r.record_id) == (
        "duplicate",
        "duplicate",
        f"c:duplicate:{ev[1]['event_id']}",
    )
    assert engine.encoded("c") == before
    assert engine.snapshot_of("c").transactions == 1


def test_orphans_are_held_then_applied_when_the_opening_arrives(engine: PartitionEngine) -> None:
    run(engine, [login("c", T0 + 1_000), tx("c", T0 + 2_000)])
    st = engine.state_of("c")
    assert st is not None and len(st.held) == 2 and st.n_events == 0
    out = run(engine, [opened("c", T0)])
    assert kinds(out, "orphan") == []
    snap = engine.snapshot_of("c")
    assert (snap.logins_total, snap.transactions, snap.opened_at_ms) == (1, 1, T0)
    assert kinds(engine.advance(T0 + day(10)), "orphan") == []


def test_held_events_are_reported_once_as_given(engine: PartitionEngine) -> None:
    early = [login("c", T0 + 1_000), tx("c", T0 + 2_000)]
    run(engine, early)
    assert [e is ev for e, (_, ev) in zip(engine.take_held(), early, strict=True)] == [True, True]
    assert engine.take_held() == []
    run(engine, [opened("c", T0), login("c", T0 + 3_000)])
    assert engine.take_held() == []  # applied at once: not held
    applied = [ev["event_id"] for _, ev in engine.take_applied()]
    assert set(applied) >= {ev["event_id"] for _, ev in early}


def test_orphans_are_reported_after_the_hold(engine: PartitionEngine) -> None:
    hold = engine.config.orphan_hold_s * 1000
    ev = login("x", T0)
    run(engine, [ev, tx("x", T0 + 10)])
    assert kinds(engine.advance(T0 + hold - 1), "orphan") == []
    out = engine.advance(T0 + hold)
    (o,) = kinds(out, "orphan")
    assert (o.event_id, o.event_type, o.held_until_ms, o.reason) == (
        ev[1]["event_id"],
        "login",
        T0 + hold,
        "no_account_opened",
    )
    assert o.event == ev[1]
    out = engine.advance(T0 + hold + 10)
    assert len(kinds(out, "orphan")) == 1
    assert "x" not in engine  # nothing left: state dropped ...
    assert engine.take_dirty()["x"] is None  # ... and deleted from the store


def test_opening_too_long_after_an_orphan_does_not_adopt_it() -> None:
    """Adoption is decided in event time (opening < event + hold), not by arrival."""
    eng = PartitionEngine(EngineConfig(allowed_lateness_s=10 * 86_400, orphan_hold_s=86_400))
    run(eng, [login("c", T0), opened("c", T0 + day(2))])
    assert eng.snapshot_of("c").logins_total == 0
    (o,) = kinds(eng.advance(T0 + day(1)), "orphan")
    assert o.customer_id == "c"
    assert eng.snapshot_of("c").opened_at_ms == T0 + day(2)


def test_restart_from_dirty_states_fires_the_same_records() -> None:
    events = [
        opened("a", T0),
        login("a", T0 + day(1)),
        opened("b", T0 + day(2)),
        closure("a", T0 + day(3)),
    ]
    live = PartitionEngine()
    run(live, events)
    store = {k: v for k, v in live.take_dirty().items() if v is not None}
    meta = live.export_meta()
    watermark = live.watermark
    expected = live.advance(T0 + day(500))

    restored = PartitionEngine()
    for cid, data in store.items():
        restored.load(cid, data)
    restored.import_meta(meta)
    restored.rebuild_index()
    assert restored.watermark == watermark
    got = restored.advance(T0 + day(500))
    assert sorted(r.record_id for r in got) == sorted(r.record_id for r in expected)
    assert sorted(got, key=lambda r: r.record_id) == sorted(expected, key=lambda r: r.record_id)


def test_process_many_equals_process_one_by_one() -> None:
    events = [opened("a", T0), login("b", T0 + 5), opened("b", T0 + 1)]
    events += [tx("a", T0 + day(i), amount=100 * i) for i in range(1, 120, 7)]
    one, many = PartitionEngine(), PartitionEngine()
    out_one = run(one, events) + one.advance(T0 + day(400))
    out_many = many.process_many(events) + many.advance(T0 + day(400))
    assert sorted(out_one, key=lambda r: r.record_id) == sorted(out_many, key=lambda r: r.record_id)
    assert one.encoded("a") == many.encoded("a")


def test_snapshots_are_coalesced_per_changed_customer(engine: PartitionEngine) -> None:
    run(engine, [opened("a", T0), login("a", T0 + 1), opened("b", T0)])
    snaps = engine.take_snapshots()
    assert [s.customer_id for s in snaps] == ["a", "b"]
    assert snaps[0].version == 2 and snaps[0].record_id == "a:snapshot:2"
    assert engine.take_snapshots() == []
    row = snaps[0].to_row()
    assert all(isinstance(v, str | int | float | bool | type(None)) for v in row.values())
    assert row["kind"] == "snapshot" and row["products"] == '["current_account"]'


def test_take_dirty_round_trips(engine: PartitionEngine) -> None:
    run(engine, [opened("a", T0), login("a", T0 + 1)])
    data = engine.take_dirty()["a"]
    assert data is not None and data[0] == 2
    assert decode(data) == engine.state_of("a")
    assert engine.take_dirty() == {}


def test_advance_never_moves_the_watermark_back(engine: PartitionEngine) -> None:
    engine.advance(T0)
    engine.advance(T0 - day(5))
    assert engine.watermark == T0
    (r,) = engine.process(*opened("a", T0 - 1))
    assert r.kind == "too_late"


def test_routine_fold_shortcut_emits_exactly_what_full_assessment_emits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Skipping the risk assessment of routine folds is an optimisation, not a behaviour."""
    from streams.simulate import SimulationParams, generate_events

    params = SimulationParams(n_customers=150, seed=11)
    events = [(e["event_type"], e) for e in generate_events(params)]

    def replay() -> tuple[list[Any], dict[str, bytes | None]]:
        engine = PartitionEngine(EngineConfig())
        out: list[Any] = []
        for i in range(0, len(events), 500):
            out += engine.process_many(events[i : i + 500])
        out += engine.advance(2**61)
        return out, {c: engine.snapshot_of(c) for c in engine.customer_ids()}  # type: ignore[misc]

    fast = replay()
    monkeypatch.setattr(PartitionEngine, "_risk_unchanged", lambda self, st, at: False)
    full = replay()
    assert len(fast[0]) > 1000 and any(r.kind == "risk_change" for r in fast[0])
    assert fast == full
