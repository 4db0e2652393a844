"""Each stall rule: raised by advance() alone at its deadline, cleared when reached later."""

from __future__ import annotations

from streams.engine import EngineConfig, PartitionEngine, StallRule
from streams.engine.builders import day, login, opened, tx
from streams.testing.engine import T0, kinds, run


def _raised(records: list, rule: str) -> list:
    return [r for r in kinds(records, "stall_raised") if r.rule == rule]


def test_no_login_by_day_7_fires_exactly_at_deadline_without_further_events(
    engine: PartitionEngine,
) -> None:
    run(engine, [opened("c", T0)])
    assert _raised(engine.advance(T0 + day(7) - 1), "no_login_by_day_7") == []
    out = engine.advance(T0 + day(7))
    (raised,) = _raised(out, "no_login_by_day_7")
    assert (raised.at_ms, raised.day, raised.episode) == (T0 + day(7), 7, 1)
    assert raised.record_id == "c:stall:no_login_by_day_7:1:raised"
    entered = kinds(out, "cohort_entry")
    assert [(c.cohort, c.action) for c in entered] == [("stalled", "enter")]
    assert engine.snapshot_of("c").stage == "stalled"

    out = run(engine, [login("c", T0 + day(9))])
    assert kinds(out, "stall_cleared") == []  # decided only once the watermark passes day 9
    out = engine.advance(T0 + day(9))
    (cleared,) = kinds(out, "stall_cleared")
    assert (cleared.rule, cleared.at_ms, cleared.day, cleared.stalled_days) == (
        "no_login_by_day_7",
        T0 + day(9),
        9,
        2.0,
    )
    assert [(c.cohort, c.action) for c in kinds(out, "cohort_entry")] == [("stalled", "leave")]


def test_login_before_deadline_means_no_stall(engine: PartitionEngine) -> None:
    run(engine, [opened("c", T0), login("c", T0 + day(7) - 1)])
    assert _raised(engine.advance(T0 + day(8)), "no_login_by_day_7") == []


def test_failed_login_does_not_count(engine: PartitionEngine) -> None:
    run(engine, [opened("c", T0), login("c", T0 + day(1), success=False)])
    assert len(_raised(engine.advance(T0 + day(7)), "no_login_by_day_7")) == 1


def test_not_funded_by_day_30_ignores_interest(engine: PartitionEngine) -> None:
    interest = tx(
        "c",
        T0 + day(10),
        direction="credit",
        kind="interest",
        customer_initiated=False,
        counterparty="bank",
        amount=5,
    )
    run(engine, [opened("c", T0), login("c", T0 + day(1)), interest])
    (raised,) = _raised(engine.advance(T0 + day(30)), "not_funded_by_day_30")
    assert raised.day == 30
    run(engine, [tx("c", T0 + day(31), direction="credit", kind="transfer_in", amount=10_000)])
    cleared = kinds(engine.advance(T0 + day(31)), "stall_cleared")
    # the customer-initiated credit also ends the rolling inactivity stall raised at day 30
    assert sorted(c.rule for c in cleared) == [
        "no_activity_30_days_in_day_90",
        "not_funded_by_day_30",
    ]


def test_no_sticky_by_day_90_needs_two_services(engine: PartitionEngine) -> None:
    # mobile login = digital banking (one service); a card purchase at day 95 is the second.
    run(engine, [opened("c", T0), login("c", T0 + day(1))])
    out = engine.advance(T0 + day(90))
    assert len(_raised(out, "no_sticky_by_day_90")) == 1
    run(engine, [tx("c", T0 + day(95), kind="card_purchase")])
    cleared = kinds(engine.advance(T0 + day(95)), "stall_cleared")
    assert sorted(c.rule for c in cleared) == [
        "no_activity_30_days_in_day_90",
        "no_sticky_by_day_90",
    ]
    assert engine.snapshot_of("c").sticky_day == 95


def test_rolling_inactivity_raises_per_gap_inside_day_90_only(engine: PartitionEngine) -> None:
    rule = "no_activity_30_days_in_day_90"
    run(engine, [opened("c", T0), tx("c", T0 + day(5))])
    (first,) = _raised(engine.advance(T0 + day(35)), rule)
    assert (first.day, first.episode) == (35, 1)
    run(engine, [tx("c", T0 + day(40))])
    (cleared,) = kinds(engine.advance(T0 + day(40)), "stall_cleared")
    assert (cleared.rule, cleared.episode, cleared.day) == (rule, 1, 40)
    (second,) = _raised(engine.advance(T0 + day(70)), rule)
    assert (second.day, second.episode, second.record_id) == (70, 2, f"c:stall:{rule}:2:raised")
    run(engine, [tx("c", T0 + day(71))])
    engine.advance(T0 + day(71))
    # Next gap would end at day 101: outside the day-90 window, so no third episode.
    assert _raised(engine.advance(T0 + day(200)), rule) == []


def test_logins_do_not_reset_the_transaction_gap(engine: PartitionEngine) -> None:
    run(engine, [opened("c", T0), tx("c", T0 + day(1)), login("c", T0 + day(20))])
    (raised,) = _raised(engine.advance(T0 + day(31)), "no_activity_30_days_in_day_90")
    assert raised.day == 31


def test_custom_rule_from_config() -> None:
    cfg = EngineConfig(stall_rules=(StallRule("not_engaged_by_day_14", "engaged", 14),))
    eng = PartitionEngine(cfg)
    run(eng, [opened("c", T0)] + [tx("c", T0 + day(i)) for i in range(1, 5)])
    out = eng.advance(T0 + day(14))
    assert [r.rule for r in kinds(out, "stall_raised")] == ["not_engaged_by_day_14"]
    run(eng, [tx("c", T0 + day(15))])
    assert [r.rule for r in kinds(eng.advance(T0 + day(16)), "stall_cleared")] == [
        "not_engaged_by_day_14"
    ]
    assert eng.snapshot_of("c").engaged_day == 15


def test_deadline_fires_from_another_customers_events(engine: PartitionEngine) -> None:
    """The watermark is per partition: traffic of others moves it, no advance() needed."""
    run(engine, [opened("a", T0)])
    out = run(engine, [opened("b", T0 + day(8))])  # watermark = day 7
    assert [r.customer_id for r in _raised(out, "no_login_by_day_7")] == ["a"]


def test_raised_stall_says_where_the_customer_was_at_the_deadline(
    engine: PartitionEngine,
) -> None:
    """Stage, products and last touch as of the deadline, not as of later applied events."""
    out = run(
        engine,
        [
            opened("c", T0, channel="branch"),
            tx("c", T0 + day(2), amount=5_000, direction="credit", kind="transfer_in",
               channel="online"),
            # after the day-7 deadline: applied (within lateness) but not part of the stall
            login("c", T0 + day(8), channel="mobile"),
        ],
    )  # fmt: skip
    (raised,) = _raised(out + engine.advance(T0 + day(7)), "no_login_by_day_7")
    assert raised.stage_reached == "funded"
    assert raised.products == engine.snapshot_of("c").products != ()


def test_snapshot_last_activity_ignores_fees_and_defected_at_is_the_episode_start(
    engine: PartitionEngine,
) -> None:
    run(
        engine,
        [
            opened("c", T0),
            login("c", T0 + day(1)),
            login("c", T0 + day(2), success=False),  # a touch, not activity
            tx("c", T0 + day(3), kind="fee", amount=300, customer_initiated=False,
               counterparty="bank"),  # neither
        ],
    )  # fmt: skip
    snap = engine.snapshot_of("c")
    assert snap is not None
    assert snap.last_activity_at_ms == T0 + day(1)
    assert snap.last_touch_at_ms == T0 + day(2)
    assert snap.defected_at_ms is None and snap.last_complaint_at_ms is None
