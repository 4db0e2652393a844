"""The pure half of ``journey verify``: expected answers from truth lines, and the comparison."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from streams.engine.config import EngineConfig
from streams.simulate.params import SimulationParams
from streams.simulate.truth import (
    expected_defections_by_cohort_channel,
    expected_defections_by_kind,
    generate_truth,
    write_truth,
)
from streams.verify.expected import (
    DAY_MS,
    Line,
    Rules,
    StallRuleSpec,
    compare,
    expected_answers,
    milestone_instant,
    mismatches,
    read_truth_file,
)

T0 = int(datetime(2024, 1, 10, 12, tzinfo=UTC).timestamp() * 1000)
FAR = T0 + 1000 * DAY_MS


def customer(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "opened_at": T0,
        "channel": "online",
        "kind": None,
        "defection_at": None,
        "first_login_at": T0 + DAY_MS,
        "funded_at": T0 + DAY_MS,
        "debit_card_at": T0 + 2 * DAY_MS,
        "bill_pay_at": None,
        "direct_deposit_at": None,
    }
    base.update(kw)
    return base


def test_a_silent_leaver_defects_when_dormancy_concludes() -> None:
    rules = Rules(dormancy_days=60)
    c = customer(kind="silent_attrition", defection_at=T0 + 40 * DAY_MS)
    # detected at day 100: a year-1 defection, not a day-90 one
    got = expected_answers([c], rules, FAR)
    assert got[("defections", "silent_attrition")] == 1
    assert got[("defected_day_90", "202401 online")] == 0
    assert got[("defected_year_1", "202401 online")] == 1
    # as of one ms before the detection it has not happened yet; at it, it has not either (<)
    assert expected_answers([c], rules, T0 + 100 * DAY_MS)[("defections", "silent_attrition")] == 0
    assert (
        expected_answers([c], rules, T0 + 100 * DAY_MS + 1)[("defections", "silent_attrition")] == 1
    )
    shorter = expected_answers([c], Rules(dormancy_days=30), FAR)
    assert shorter[("defected_day_90", "202401 online")] == 1


def test_closures_count_at_their_own_instant_and_window_edges_are_exclusive() -> None:
    rules = Rules()
    edge = customer(kind="closure", defection_at=T0 + 90 * DAY_MS)
    inside = customer(kind="closure", defection_at=T0 + 90 * DAY_MS - 1, channel="branch")
    late = customer(kind="closure", defection_at=T0 + 365 * DAY_MS)
    got = expected_answers([edge, inside, late], rules, FAR)
    assert got[("defections", "closure")] == 3
    assert got[("defected_day_90", "202401 online")] == 0
    assert got[("defected_year_1", "202401 online")] == 1  # the edge one; 'late' is after year 1
    assert got[("defected_day_90", "202401 branch")] == 1
    assert got[("customers", "202401 online")] == 2


def test_cohort_month_is_the_utc_month_of_the_opening() -> None:
    feb = int(datetime(2024, 2, 1, tzinfo=UTC).timestamp() * 1000)
    got = expected_answers([customer(opened_at=feb - 1), customer(opened_at=feb)], Rules(), FAR)
    assert got[("customers", "202401 online")] == 1
    assert got[("customers", "202402 online")] == 1


def test_stalls_follow_the_one_off_rule_definitions() -> None:
    rules = Rules()
    on_time = customer()  # login day 1, funded day 1, 2 sticky services (digital + card) by day 2
    no_login = customer(first_login_at=None, debit_card_at=None)
    login_at_deadline = customer(first_login_at=T0 + 7 * DAY_MS)  # not strictly before
    one_service = customer(debit_card_at=None)  # digital only: 1 of 2 sticky services
    late_fund = customer(funded_at=T0 + 31 * DAY_MS)
    got = expected_answers(
        [on_time, no_login, login_at_deadline, one_service, late_fund], rules, FAR
    )
    assert got[("stalls", "no_login_by_day_7")] == 2
    assert got[("stalls", "not_funded_by_day_30")] == 1
    # no_login has no service at all; one_service has only digital; login_at_deadline has
    # digital at day 7 and card at day 2: its second service is at day 7 -> in time
    assert got[("stalls", "no_sticky_by_day_90")] == 2
    # a deadline that is not yet past does not count
    early = expected_answers([no_login], rules, T0 + 7 * DAY_MS)
    assert early[("stalls", "no_login_by_day_7")] == 0
    assert (
        expected_answers([no_login], rules, T0 + 7 * DAY_MS + 1)[("stalls", "no_login_by_day_7")]
        == 1
    )


def test_sticky_needs_the_configured_number_of_services() -> None:
    c = customer(debit_card_at=T0 + 5 * DAY_MS, bill_pay_at=T0 + 3 * DAY_MS)
    assert milestone_instant(c, "sticky", Rules(sticky_services_required=1)) == T0 + DAY_MS
    assert milestone_instant(c, "sticky", Rules(sticky_services_required=3)) == T0 + 5 * DAY_MS
    assert milestone_instant(c, "sticky", Rules(sticky_services_required=4)) is None


def test_rules_from_the_engine_settings_skip_what_the_truth_cannot_decide() -> None:
    rules = Rules.from_engine_config(EngineConfig(dormancy_days=45, sticky_services_required=1))
    assert rules.dormancy_days == 45 and rules.sticky_services_required == 1
    assert [r.name for r in rules.checked_rules()] == [
        "no_login_by_day_7",
        "not_funded_by_day_30",
        "no_sticky_by_day_90",
    ]
    assert [r.name for r in rules.unchecked_rules()] == ["no_activity_30_days_in_day_90"]
    custom = Rules(stall_rules=(StallRuleSpec("engaged_by_60", "engaged", 60),))
    assert custom.checked_rules() == []


def test_compare_lines_up_both_sides_and_flags_every_difference() -> None:
    expected = {("defections", "closure"): 5, ("customers", "202401 branch"): 3}
    got = {("defections", "closure"): 4, ("defections", "silent_attrition"): 2,
           ("customers", "202401 branch"): 3}  # fmt: skip
    lines = compare(expected, got)
    assert [(x.metric, x.cell) for x in lines] == [
        ("customers", "202401 branch"),
        ("defections", "closure"),
        ("defections", "silent_attrition"),
    ]
    bad = mismatches(lines)
    assert bad == [
        Line("defections", "closure", 5, 4),
        Line("defections", "silent_attrition", 0, 2),
    ]
    assert [x.diff for x in bad] == [-1, 2]
    assert mismatches(compare(expected, dict(expected))) == []


@pytest.fixture(scope="module")
def truth_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationParams, Path]:
    params = SimulationParams(n_customers=1500, seed=5)
    path = tmp_path_factory.mktemp("truth") / "truth.jsonl"
    write_truth(path, params)
    return params, path


def test_agrees_with_the_simulators_own_answers_where_definitions_coincide(
    truth_file: tuple[SimulationParams, Path],
) -> None:
    """Closures and day counts are defined alike in truth.py: both derivations must agree."""
    params, path = truth_file
    truth = read_truth_file(path)
    assert len(truth.customers) == params.n_customers
    assert truth.horizon_end_ms == params.horizon_end_ms
    as_of = params.horizon_end_ms
    got = expected_answers(truth.customers, Rules(dormancy_days=params.dormancy_days), as_of)
    truths = list(generate_truth(params))
    by_kind = expected_defections_by_kind(truths, params, as_of)
    assert got[("defections", "closure")] == by_kind["closure"] > 0
    # silent leavers: truth.py also counts them as of their detection
    assert got[("defections", "silent_attrition")] == by_kind["silent_attrition"] > 0
    cells = expected_defections_by_cohort_channel(truths, params, window=None, as_of=as_of)
    for (month, channel), cell in cells.items():
        assert got[("customers", f"{month.replace('-', '')} {channel}")] == cell.customers
