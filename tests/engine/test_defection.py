"""Closure, dormancy, balance drain, outbound transfer; attribution; resurrection; episodes."""

from __future__ import annotations

from streams.engine import PartitionEngine
from streams.engine.builders import closure, complaint, day, login, opened, tx
from streams.testing.engine import T0, kinds, run


def test_closure_of_last_account_with_where_and_when(engine: PartitionEngine) -> None:
    run(
        engine,
        [
            opened("c", T0, channel="online", segment="student"),
            login("c", T0 + day(1), channel="mobile"),
            complaint("c", T0 + day(10), "k1"),
            closure("c", T0 + day(20), reason="fees", channel="branch"),
        ],
    )
    # A login at day 19 arrives after the closure, within the lateness: it is the last touch.
    out = run(engine, [login("c", T0 + day(19), channel="online")])
    assert kinds(out, "defection") == []
    (d,) = kinds(engine.advance(T0 + day(20)), "defection")
    assert (d.defection_kind, d.detail, d.day, d.window, d.episode) == (
        "closure",
        "fees",
        20,
        "day_90",
        1,
    )
    assert (d.last_touch_at_ms, d.last_touch_channel, d.last_touch_type) == (
        T0 + day(19),
        "online",
        "login",
    )
    assert (d.stage_reached, d.opening_channel, d.segment, d.region, d.branch_id) == (
        "activated",
        "online",
        "student",
        "north",
        "b1",
    )
    assert (d.complaint_open, d.complaint_open_days) == (True, 10)
    assert d.products == ("current_account",)
    assert d.record_id == "c:defection:1"
    assert engine.snapshot_of("c").stage == "defected"


def test_closure_of_a_non_last_account_is_not_a_defection(engine: PartitionEngine) -> None:
    run(
        engine,
        [opened("c", T0), login("c", T0 + day(1)), closure("c", T0 + day(5), last_account=False)],
    )
    assert kinds(engine.advance(T0 + day(6)), "defection") == []


def test_dormancy_counts_only_customer_initiated_activity(engine: PartitionEngine) -> None:
    fee = tx("c", T0 + day(30), kind="fee", customer_initiated=False, counterparty="bank")
    run(engine, [opened("c", T0), login("c", T0 + day(10)), fee])
    assert kinds(engine.advance(T0 + day(70) - 1), "defection") == []
    (d,) = kinds(engine.advance(T0 + day(70)), "defection")
    assert (d.defection_kind, d.day, d.window) == ("dormancy", 70, "day_90")
    assert engine.snapshot_of("c").stage == "dormant"


def test_resurrection_then_second_episode(engine: PartitionEngine) -> None:
    run(engine, [opened("c", T0), login("c", T0 + day(1))])
    (d1,) = kinds(engine.advance(T0 + day(61)), "defection")
    assert d1.episode == 1
    run(engine, [tx("c", T0 + day(100))])
    out = engine.advance(T0 + day(100))
    (r,) = kinds(out, "resurrection")
    assert (r.episode, r.defection_kind, r.day, r.absent_days) == (1, "dormancy", 100, 39.0)
    assert r.record_id == "c:resurrection:1"
    assert engine.snapshot_of("c").defected is False
    (d2,) = kinds(engine.advance(T0 + day(160)), "defection")
    assert (d2.episode, d2.day, d2.record_id) == (2, 160, "c:defection:2")


def test_at_most_one_defection_per_episode(engine: PartitionEngine) -> None:
    """A closure while already silently attrited does not emit a second defection."""
    run(engine, [opened("c", T0), login("c", T0 + day(1))])
    assert len(kinds(engine.advance(T0 + day(61)), "defection")) == 1
    run(engine, [closure("c", T0 + day(80))])
    assert kinds(engine.advance(T0 + day(500)), "defection") == []


def test_balance_drained_below_floor(engine: PartitionEngine) -> None:
    # Active customer (weekly card purchases keep dormancy away) whose balance stays drained.
    events = [
        opened("c", T0),
        tx("c", T0 + day(1), direction="credit", kind="transfer_in", amount=50_000, balance=50_000),
        tx(
            "c",
            T0 + day(2),
            amount=49_500,
            kind="transfer_out",
            counterparty="same_bank",
            balance=500,
        ),
    ]
    events += [tx("c", T0 + day(2 + 7 * i), amount=10, balance=490 - 10 * i) for i in range(1, 6)]
    events = events[:-2]  # purchases at days 30 and 37 are fed after the checks below
    run(engine, events)
    assert kinds(engine.advance(T0 + day(32) - 1), "defection") == []
    (d,) = kinds(engine.advance(T0 + day(32)), "defection")
    assert (d.defection_kind, d.day) == ("balance_drained", 32)
    # a card purchase at day 37 is customer-initiated activity after it: resurrected
    run(engine, [tx("c", T0 + day(37), amount=10, balance=400)])
    (r,) = kinds(engine.advance(T0 + day(37)), "resurrection")
    assert r.defection_kind == "balance_drained"


def test_drain_interrupted_by_refill_is_not_a_defection(engine: PartitionEngine) -> None:
    run(
        engine,
        [
            opened("c", T0),
            tx(
                "c",
                T0 + day(1),
                direction="credit",
                kind="transfer_in",
                amount=5_000,
                balance=5_000,
            ),
            tx("c", T0 + day(2), amount=4_900, balance=100),
            tx(
                "c",
                T0 + day(20),
                direction="credit",
                kind="cash_deposit",
                amount=5_000,
                balance=5_100,
            ),
            tx("c", T0 + day(40), amount=10, balance=5_090),
        ],
    )
    assert kinds(engine.advance(T0 + day(60)), "defection") == []


def test_never_funded_is_not_a_drain(engine: PartitionEngine) -> None:
    run(
        engine,
        [opened("c", T0)] + [tx("c", T0 + day(i), amount=1, balance=0) for i in range(1, 50, 5)],
    )
    assert [d.defection_kind for d in kinds(engine.advance(T0 + day(60)), "defection")] == []


def test_large_outbound_transfer_then_inactivity(engine: PartitionEngine) -> None:
    big = tx(
        "c",
        T0 + day(40),
        amount=300_000,
        kind="transfer_out",
        counterparty="other_bank",
        channel="online",
    )
    run(engine, [opened("c", T0), login("c", T0 + day(1)), big])
    assert kinds(engine.advance(T0 + day(54) - 1), "defection") == []
    (d,) = kinds(engine.advance(T0 + day(54)), "defection")
    assert (d.defection_kind, d.day) == ("outbound_transfer", 54)


def test_small_outbound_or_same_bank_is_ordinary_activity(engine: PartitionEngine) -> None:
    small = tx("c", T0 + day(40), amount=1_000, kind="transfer_out", counterparty="other_bank")
    run(engine, [opened("c", T0), small])
    (d,) = kinds(engine.advance(T0 + day(200)), "defection")
    assert (d.defection_kind, d.day) == ("dormancy", 100)


def test_activity_after_large_outbound_resets_to_normal_dormancy(engine: PartitionEngine) -> None:
    big = tx("c", T0 + day(40), amount=300_000, kind="transfer_out", counterparty="other_bank")
    run(engine, [opened("c", T0), big, login("c", T0 + day(45))])
    (d,) = kinds(engine.advance(T0 + day(200)), "defection")
    assert (d.defection_kind, d.day) == ("dormancy", 105)


def test_defection_after_year_one_is_labelled(engine: PartitionEngine) -> None:
    run(engine, [opened("c", T0)] + [login("c", T0 + day(i)) for i in range(0, 400, 30)])
    (d,) = kinds(engine.advance(T0 + day(600)), "defection")
    assert (d.window, d.day) == ("after_year_1", 390 + 60)
