"""Risk reasons, weights, bands, RiskChange and at_risk cohort records."""

from __future__ import annotations

from streams.engine import EngineConfig, PartitionEngine
from streams.engine.builders import complaint, day, login, opened, tx
from streams.engine.risk import band_of
from streams.testing.engine import T0, kinds, run


def _reasons(engine: PartitionEngine, cid: str = "c") -> dict[str, int]:
    return dict(engine.snapshot_of(cid).risk_reasons)


def test_reasons_carry_their_weights_and_sum_to_the_score(engine: PartitionEngine) -> None:
    cfg = engine.config
    run(
        engine,
        [opened("c", T0, channel="online"), complaint("c", T0 + day(2), "k", severity="high")],
    )
    engine.advance(T0 + day(30))
    reasons = _reasons(engine)
    assert reasons == {
        "digital_opening": cfg.risk_weight_digital_opening,
        "stall:no_login_by_day_7": 15,
        "stall:not_funded_by_day_30": 20,
        "stall:no_activity_30_days_in_day_90": 10,
        "complaint_open": cfg.risk_weight_complaint_open,
        "complaint_severe": cfg.risk_weight_complaint_severe,
        "inactive": cfg.risk_weight_inactive,
    }
    snap = engine.snapshot_of("c")
    assert snap.risk_score == min(100, sum(reasons.values())) == 100
    assert snap.risk_band == "high"


def test_risk_changes_are_emitted_in_event_time_with_previous_values(
    engine: PartitionEngine,
) -> None:
    out = run(engine, [opened("c", T0, channel="mobile")])
    assert kinds(out, "risk_change") == []  # scored once final: when the watermark passes it
    (first,) = kinds(engine.advance(T0 + 1), "risk_change")
    assert (first.score, first.band, first.previous_score, first.seq) == (10, "low", 0, 1)
    out = engine.advance(T0 + day(7))
    changes = kinds(out, "risk_change")
    assert [(c.at_ms, c.score) for c in changes] == [(T0 + day(7), 25)]
    assert changes[0].reasons == (("digital_opening", 10), ("stall:no_login_by_day_7", 15))


def test_complaint_resolution_lowers_the_score(engine: PartitionEngine) -> None:
    run(engine, [opened("c", T0), login("c", T0 + day(1)), complaint("c", T0 + day(2), "k")])
    engine.advance(T0 + day(2) + 1)
    assert _reasons(engine)["complaint_open"] == 20
    run(engine, [complaint("c", T0 + day(3), "k", status="resolved")])
    out = engine.advance(T0 + day(3) + 1)
    assert "complaint_open" not in _reasons(engine)
    assert [c.score for c in kinds(out, "risk_change")] == [0]


def test_balance_drained_and_outbound_reasons(engine: PartitionEngine) -> None:
    run(
        engine,
        [
            opened("c", T0),
            login("c", T0 + day(1)),
            tx(
                "c",
                T0 + day(1),
                direction="credit",
                kind="transfer_in",
                amount=500_000,
                balance=500_000,
            ),
            tx(
                "c",
                T0 + day(2),
                amount=499_900,
                kind="transfer_out",
                counterparty="other_bank",
                balance=100,
            ),
        ],
    )
    engine.advance(T0 + day(3))
    reasons = _reasons(engine)
    assert reasons["balance_drained"] == 15
    assert reasons["outbound_transfer"] == 20


def test_at_risk_cohort_enter_and_leave(engine: PartitionEngine) -> None:
    cfg = EngineConfig(risk_band_medium=20, risk_band_high=30)
    eng = PartitionEngine(cfg)
    run(eng, [opened("c", T0, channel="online")])
    out = eng.advance(T0 + day(7))  # 10 + 15 = 25: medium
    assert kinds(out, "cohort_entry")[-1].cohort == "stalled"
    out = eng.advance(T0 + day(21))  # + inactive 15 = 40: high
    at_risk = [c for c in kinds(out, "cohort_entry") if c.cohort == "at_risk"]
    assert [(c.action, c.seq, c.day) for c in at_risk] == [("enter", 1, 21)]
    assert at_risk[0].record_id == "c:cohort:at_risk:1:enter"
    run(eng, [login("c", T0 + day(22))])
    out = eng.advance(T0 + day(22) + 1)
    at_risk = [c for c in kinds(out, "cohort_entry") if c.cohort == "at_risk"]
    assert [(c.action, c.seq) for c in at_risk] == [("leave", 1)]


def test_band_thresholds() -> None:
    cfg = EngineConfig()
    assert [band_of(s, cfg) for s in (0, 39, 40, 69, 70, 100)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]
