"""Day-90 and year-1 windows anchored at the opening, closed by the watermark."""

from __future__ import annotations

from streams.engine import PartitionEngine
from streams.engine.builders import complaint, day, login, opened, tx
from streams.testing.engine import T0, kinds, run


def test_windows_close_with_outcome_and_aggregates(engine: PartitionEngine) -> None:
    events = [
        opened("c", T0),
        login("c", T0 + day(1)),
        tx(
            "c",
            T0 + day(2),
            direction="credit",
            kind="direct_deposit",
            amount=200_000,
            counterparty="employer",
        ),
        tx("c", T0 + day(3), amount=1_500, kind="card_purchase"),
        complaint("c", T0 + day(4), "k1"),
        complaint("c", T0 + day(6), "k1", status="resolved"),
        tx("c", T0 + day(89), amount=500, kind="bill_pay"),
        tx("c", T0 + day(90), amount=700),  # first instant outside day_90
    ]
    run(engine, events)
    out = engine.advance(T0 + day(90))
    (w,) = kinds(out, "window_outcome")
    assert (w.window, w.outcome, w.window_start_ms, w.window_end_ms) == (
        "day_90",
        "retained",
        T0,
        T0 + day(90),
    )
    assert (w.events, w.logins, w.transactions, w.customer_transactions) == (7, 1, 3, 3)
    assert (w.credit_minor, w.debit_minor, w.complaints_opened, w.complaints_open_at_end) == (
        200_000,
        2_000,
        1,
        0,
    )
    assert w.stage_reached == "sticky"
    assert set(w.milestones) >= {"login", "activated", "funded", "sticky", "direct_deposit"}
    assert w.record_id == "c:window:day_90"
    (y,) = kinds(engine.advance(T0 + day(365)), "window_outcome")
    assert (y.window, y.transactions) == ("year_1", 4)
    assert y.outcome == "dormant"  # silent since day 90: dormancy defection at day 150
    assert len(kinds(engine.advance(T0 + day(2000)), "window_outcome")) == 0


def test_window_outcome_dormant_when_idle_at_the_end(engine: PartitionEngine) -> None:
    run(engine, [opened("c", T0), login("c", T0 + day(40))])
    (w,) = kinds(engine.advance(T0 + day(90)), "window_outcome")
    assert w.outcome == "dormant"  # no activity in the last 30 days, not yet 60 (defection)


def test_window_outcome_defected_after_closure(engine: PartitionEngine) -> None:
    from streams.engine.builders import closure

    run(engine, [opened("c", T0), login("c", T0 + day(1)), closure("c", T0 + day(30))])
    out = engine.advance(T0 + day(90))
    assert [w.outcome for w in kinds(out, "window_outcome")] == ["defected"]


def test_window_is_anchored_on_the_opening_even_if_it_arrives_late(
    engine: PartitionEngine,
) -> None:
    # Login processed first, opening 1 hour earlier arrives later (both within lateness).
    run(engine, [login("c", T0 + 3_600_000), opened("c", T0)])
    (w,) = kinds(engine.advance(T0 + day(90)), "window_outcome")
    assert (w.window_start_ms, w.logins, w.events) == (T0, 1, 2)
