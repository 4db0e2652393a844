"""Ground truth: the mission's calibration, consistency with the events, censoring, file I/O."""

from __future__ import annotations

import itertools
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from streams.simulate.params import DAY_MS, SimulationParams
from streams.simulate.population import generate_events
from streams.simulate.truth import (
    CustomerTruth,
    calibration_summary,
    expected_defections_by,
    expected_defections_by_cohort_channel,
    expected_defections_by_kind,
    expected_stalls_by_rule,
    generate_truth,
    read_truth,
    write_truth,
)

MID = SimulationParams(n_customers=800, seed=23)


@cache
def mid() -> tuple[list[CustomerTruth], dict[str, list[dict[str, Any]]]]:
    by_customer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in generate_events(MID):
        by_customer[e["customer_id"]].append(e)
    return list(generate_truth(MID)), by_customer


@cache
def large() -> tuple[SimulationParams, list[CustomerTruth]]:
    params = SimulationParams(n_customers=20_000)
    return params, list(generate_truth(params))


# -- calibration --------------------------------------------------------------------------------
def test_default_run_reproduces_the_mission_calibration() -> None:
    params, truths = large()
    s = calibration_summary(truths, params)
    print(s)
    assert s["fully_observed"] > 5000
    assert 0.20 <= s["year1_attrition"] <= 0.25
    assert 0.35 <= s["share_within_90_days"] <= 0.65
    assert s["digital_opened"] > s["branch_opened"] * 1.3
    for ch in ("online", "mobile"):
        assert s["by_channel"][ch] > s["by_channel"]["branch"]
    assert s["complained_by_day_90"] > 1.5 * s["no_complaint_by_day_90"]
    assert set(s["kinds"]) == {"closure", "silent_attrition"}


def test_sticky_services_and_missed_milestones_matter() -> None:
    params, truths = large()
    horizon = params.horizon_end_ms
    full = [t for t in truths if t.opened_at + 425 * DAY_MS <= horizon]

    def rate(group: list[CustomerTruth]) -> float:
        hits = [t for t in group if t.defected_as_of(horizon) and (t.defection_day or 0) < 365]
        return len(hits) / len(group)

    # landmark at day 90: customers still there, with vs without a sticky service by then
    alive = [t for t in full if not (t.defection_day is not None and t.defection_day < 90)]
    sticky = [t for t in alive if t.first_sticky_at and t.day(t.first_sticky_at) < 90]  # type: ignore[operator]
    sticky_ids = {t.index for t in sticky}
    not_sticky = [t for t in alive if t.index not in sticky_ids]
    assert rate(sticky) < rate(not_sticky)
    late_funders = [t for t in full if t.stalled("not_funded", params, horizon)]
    assert rate(late_funders) > rate(full)


# -- truth vs events ----------------------------------------------------------------------------
def _activity(e: dict[str, Any]) -> bool:
    t = e["event_type"]
    if t == "account_opened":
        return bool(e["is_new_customer"])
    if t == "login":
        return bool(e["success"])
    return t == "transaction" and bool(e["customer_initiated"])


def _first(evs: list[dict[str, Any]], pred: Any) -> int | None:
    return next((e["occurred_at"] for e in evs if pred(e)), None)


def test_truth_matches_the_events() -> None:
    truths, by_customer = mid()
    params = MID
    dormancy = params.dormancy_days * DAY_MS
    max_gap = params.max_active_gap_days * DAY_MS
    horizon = params.horizon_end_ms
    kinds: set[str | None] = set()
    for t in truths:
        evs = by_customer[t.customer_id]
        kinds.add(t.kind)
        opening = evs[0]
        assert opening["occurred_at"] == t.opened_at
        assert (opening["channel"], opening["segment"], opening["product"]) == (
            t.channel,
            t.segment,
            t.product,
        )
        assert (opening["branch_id"], opening["region"]) == (t.branch_id, t.region)
        # milestones exactly where the truth says
        assert t.first_login_at == _first(
            evs, lambda e: e["event_type"] == "login" and e["success"]
        )
        txns = [e for e in evs if e["event_type"] == "transaction"]
        assert t.funded_at == _first(txns, lambda e: e["direction"] == "credit")
        for kind, at in (
            ("card_purchase", t.debit_card_at),
            ("bill_pay", t.bill_pay_at),
            ("direct_deposit", t.direct_deposit_at),
        ):
            assert at == _first(txns, lambda e, k=kind: e["kind"] == k)
        # digital banking (a sticky service) is first used at the first login
        digital = _first(
            evs,
            lambda e: (
                e["channel"] in ("online", "mobile")
                and ((e["event_type"] == "login" and e["success"]) or e.get("customer_initiated"))
            ),
        )
        assert digital == t.first_login_at
        opened = sorted(
            (e["complaint_id"], e["occurred_at"])
            for e in evs
            if e["event_type"] == "complaint" and e["status"] == "opened"
        )
        assert opened == sorted((c.complaint_id, c.opened_at) for c in t.complaints)
        # defection
        acts = [e["occurred_at"] for e in evs if _activity(e)]
        last_closures = [e for e in evs if e["event_type"] == "closure" and e["last_account"]]
        if t.kind == "closure":
            assert len(last_closures) == 1
            assert last_closures[0]["occurred_at"] == t.defection_at == t.detected_at
            assert last_closures[0]["reason"] == t.closure_reason
            assert evs[-1] is last_closures[0]
            active = acts
        else:
            assert not last_closures
        if t.kind == "silent_attrition":
            assert t.defection_at is not None and t.detected_at == t.defection_at + dormancy
            before = [a for a in acts if a <= t.defection_at]
            after = [a for a in acts if a > t.defection_at]
            assert before[-1] == t.defection_at
            if t.resurrected_at is None:
                assert not after
            else:
                assert after[0] == t.resurrected_at > t.detected_at
            if t.drain_at is not None:
                drain = [e for e in txns if e["occurred_at"] == t.drain_at]
                assert drain and drain[-1]["kind"] == "transfer_out"
                assert drain[-1]["counterparty_type"] == "other_bank"
            active = before
            if t.resurrected_at is not None:
                gaps_after = [b - a for a, b in itertools.pairwise(after)]
                assert max(gaps_after, default=0) <= max_gap
        elif t.kind is None:
            active = acts
            assert horizon - acts[-1] < dormancy, "a staying customer looks dormant"
        # while active, nobody pauses long enough to look dormant
        gaps = [b - a for a, b in itertools.pairwise(active)]
        assert max(gaps, default=0) <= max_gap
    assert kinds == {None, "closure", "silent_attrition"}


def test_stalls_recomputed_from_events_agree() -> None:
    truths, by_customer = mid()
    params = MID
    for as_of in (params.opening_end_ms, params.horizon_end_ms):
        expected = expected_stalls_by_rule(truths, params, as_of)
        counts = dict.fromkeys(expected, 0)
        for t in truths:
            if t.opened_at > as_of:
                continue
            evs = by_customer[t.customer_id]
            closed = next(
                (
                    e["occurred_at"]
                    for e in evs
                    if e["event_type"] == "closure" and e["last_account"]
                ),
                None,
            )
            for rule, days, pred in (
                ("no_login", 7, lambda e: e["event_type"] == "login" and e["success"]),
                (
                    "not_funded",
                    30,
                    lambda e: e["event_type"] == "transaction" and e["direction"] == "credit",
                ),
                (
                    "no_sticky",
                    90,
                    lambda e: (
                        e["event_type"] == "transaction"
                        and e["kind"] in ("card_purchase", "bill_pay", "direct_deposit")
                    ),
                ),
            ):
                deadline = t.opened_at + days * DAY_MS
                if deadline > as_of or (closed is not None and closed < deadline):
                    continue
                if not any(pred(e) and e["occurred_at"] < deadline for e in evs):
                    counts[rule] += 1
            # dormant: a gap of >= dormancy after some activity, fully elapsed by as_of
            acts = [e["occurred_at"] for e in evs if _activity(e) and e["occurred_at"] <= as_of]
            ends = [*acts[1:], as_of]
            if closed is None and any(
                b - a >= params.dormancy_days * DAY_MS for a, b in zip(acts, ends, strict=True)
            ):
                counts["dormant"] += 1
        assert counts == expected


# -- censoring and answers ----------------------------------------------------------------------
def test_silent_attrition_is_censored_until_detected() -> None:
    truths, _ = mid()
    silent = [t for t in truths if t.kind == "silent_attrition"]
    assert silent
    t = silent[0]
    assert t.detected_at is not None
    assert not t.defected_as_of(t.detected_at - 1)
    assert t.defected_as_of(t.detected_at)
    censored = [x for x in silent if x.detected_at and x.detected_at > MID.horizon_end_ms]
    by_kind = expected_defections_by_kind(truths, MID)
    assert by_kind["silent_attrition"] == len(silent) - len(censored)


def test_cohort_answers_add_up() -> None:
    truths, _ = mid()
    by_kind = expected_defections_by_kind(truths, MID)
    for window in ("day_90", "year_1", None):
        cells = expected_defections_by_cohort_channel(truths, MID, window=window)  # type: ignore[arg-type]
        assert sum(c.customers for c in cells.values()) == len(truths)
        kinds = expected_defections_by_kind(truths, MID, window=window)  # type: ignore[arg-type]
        assert sum(c.defected for c in cells.values()) == sum(kinds.values())
        assert sum(c.closure for c in cells.values()) == kinds["closure"]
    d90 = sum(expected_defections_by_kind(truths, MID, window="day_90").values())
    y1 = sum(expected_defections_by_kind(truths, MID, window="year_1").values())
    assert 0 < d90 < y1 <= sum(by_kind.values())
    regions = expected_defections_by(truths, MID, "region", window="year_1")
    assert set(regions) == set(MID.regions)
    early = expected_defections_by_kind(truths, MID, as_of=MID.opening_end_ms)
    assert sum(early.values()) < sum(by_kind.values())


def test_truth_file_round_trip(tmp_path: Path) -> None:
    params = SimulationParams(n_customers=50, seed=2)
    path = tmp_path / "truth.jsonl"
    assert write_truth(path, params) == 50
    again, truths = read_truth(path)
    assert again == params
    assert truths == list(generate_truth(params))
    first = path.read_text().splitlines()[1]
    assert '"defection_day"' in first and '"missed"' in first


def test_read_truth_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"format": "nope"}\n')
    with pytest.raises(ValueError):
        read_truth(path)
