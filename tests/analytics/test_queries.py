"""Every named query against the hand-made bank (``analytics_population``), on both engines.

The expected values are worked out by hand from the population's story (the working is in the
comments); nothing here was copied from a query's output.  Each test runs once on the 18.16
server and once on chdb with the same expectations, which is what "identical results on both
engines" means in practice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from analytics_population import AS_OF

from streams.analytics.catalogue import get_query
from streams.store import Store

D = dt.date


def run(store: Store, name: str, **params: Any) -> list[dict[str, Any]]:
    query = get_query(name)
    if "as_of" in {p.name for p in query.params} and "as_of" not in params:
        params["as_of"] = AS_OF
    return query.run(store, params).as_dicts()


def pick(rows: list[dict[str, Any]], *cols: str) -> list[tuple[Any, ...]]:
    return [tuple(r[c] for c in cols) for r in rows]


def test_retention_grid_monthly(population: Store) -> None:
    # Activity days (login or customer-initiated transaction) -> 30-day periods:
    #   c1 1,2,3,10,40,100 -> {0,1,3}; c2 0 -> {0}; c3 5,35 -> {0,1};        (January)
    #   c4 2,15,20,25,30,65 -> {0,1,2} (direct deposit d8 is bank-initiated); c5 4 -> {0}; (Feb)
    #   c6 1 -> {0} (interest d20 is not activity); c7 0,1,1,86 -> {0,2}.    (March)
    # Complete periods = (tenure + 1) // 30: c1 6 (0-5), c2 5, c3 5, c4 4, c5 4, c6 4, c7 3.
    rows = run(population, "retention_grid")
    got = pick(rows, "cohort", "period", "eligible", "retained_on", "retained_on_or_after")
    assert got == [
        (D(2024, 1, 1), 0, 3, 3, 3),
        (D(2024, 1, 1), 1, 3, 2, 2),  # c1, c3
        (D(2024, 1, 1), 2, 3, 0, 1),  # nobody on; c1 comes back in period 3
        (D(2024, 1, 1), 3, 3, 1, 1),
        (D(2024, 1, 1), 4, 3, 0, 0),
        (D(2024, 1, 1), 5, 1, 0, 0),  # only c1 has lived days 150-179
        (D(2024, 2, 1), 0, 2, 2, 2),
        (D(2024, 2, 1), 1, 2, 1, 1),
        (D(2024, 2, 1), 2, 2, 1, 1),
        (D(2024, 2, 1), 3, 2, 0, 0),
        (D(2024, 3, 1), 0, 2, 2, 2),
        (D(2024, 3, 1), 1, 2, 0, 1),  # c7 is back in period 2
        (D(2024, 3, 1), 2, 2, 1, 1),
        (D(2024, 3, 1), 3, 1, 0, 0),  # c7 (tenure 112) has not finished days 90-119
    ]
    assert rows[1]["rate_on"] == round(2 / 3, 4)
    assert rows[2]["rate_on_or_after"] == round(1 / 3, 4)
    assert rows[1]["period_start_day"] == 30


def test_retention_grid_weekly_cohorts_and_date_filter(population: Store) -> None:
    # Weeks start on Monday: 2024-01-01 is a Monday, so c1 is cohort Jan 1 and c2 (Wed Jan 10)
    # cohort Jan 8; the date filter keeps January 1-15 openers only.
    rows = run(population, "retention_grid", cohort_grain="week", period_days=90,
               to_date=D(2024, 1, 15))  # fmt: skip
    got = pick(rows, "cohort", "period", "eligible", "retained_on", "retained_on_or_after")
    # c1: 90-day periods {0, 1} (day 100), tenure 181 -> 2 complete periods; c2: {0}, tenure
    # 172 -> 1 complete period.
    assert got == [
        (D(2024, 1, 1), 0, 1, 1, 1),
        (D(2024, 1, 1), 1, 1, 1, 1),
        (D(2024, 1, 8), 0, 1, 1, 1),
    ]


def test_retention_brackets(population: Store) -> None:
    # Brackets 0-30, 31-90, 91-365; every tenure (>= 112) has reached day 91.
    rows = run(population, "retention_brackets")
    got = pick(rows, "cohort", "bracket", "eligible", "retained_on", "retained_on_or_after")
    assert got == [
        (D(2024, 1, 1), "0-30", 3, 3, 3),
        (D(2024, 1, 1), "31-90", 3, 2, 2),  # c1 day 40, c3 day 35
        (D(2024, 1, 1), "91-365", 3, 1, 1),  # c1 day 100
        (D(2024, 2, 1), "0-30", 2, 2, 2),  # c4 day 30 is still the first bracket
        (D(2024, 2, 1), "31-90", 2, 1, 1),  # c4 day 65
        (D(2024, 2, 1), "91-365", 2, 0, 0),
        (D(2024, 3, 1), "0-30", 2, 2, 2),
        (D(2024, 3, 1), "31-90", 2, 1, 1),  # c7 day 86
        (D(2024, 3, 1), "91-365", 2, 0, 0),
    ]
    # Custom brackets: days 0-6 and 7-119 (both reached by every March customer).
    rows = run(population, "retention_brackets", bounds=[0, 7, 120], cohort_grain="month",
               from_date=D(2024, 3, 1))  # fmt: skip
    # March: c6 day 1 -> bracket 1; c7 days 0,1,86 -> brackets 1 and 2.
    assert pick(rows, "bracket", "eligible", "retained_on", "retained_on_or_after") == [
        ("0-6", 2, 2, 2),
        ("7-119", 2, 1, 1),
    ]


def test_defection_rates_by_channel(population: Store) -> None:
    # First defections: c2 closure d20, c3 dormancy d95 (its closure d150 is a 2nd episode),
    # c5 closure d30, c6 balance drained d50, c7 outbound transfer d100.  Nobody has lived a
    # year, so the year-1 window is observed only for those who defected inside it.
    rows = run(population, "defection_rates")
    got = pick(rows, "cohort", "breakdown_value", "customers", "day90_observed",
               "defected_day_90", "closure_day_90", "silent_day_90", "other_day_90",
               "year1_observed", "defected_year_1", "closure_year_1", "silent_year_1",
               "rate_day_90", "rate_year_1")  # fmt: skip
    assert got == [
        (D(2024, 1, 1), "branch", 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, None),
        (D(2024, 1, 1), "mobile", 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0.0, 1.0),
        (D(2024, 1, 1), "online", 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1.0, 1.0),
        (D(2024, 2, 1), "branch", 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, None),
        (D(2024, 2, 1), "online", 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1.0, 1.0),
        (D(2024, 3, 1), "mobile", 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0.0, 1.0),
        (D(2024, 3, 1), "online", 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 1.0, 1.0),
    ]


def test_defection_rates_by_segment_and_region(population: Store) -> None:
    rows = run(population, "defection_rates", breakdown="segment")
    # January: mass = c1, c2 (c2 closes d20); premium = c3 (dormant d95: year 1 only).
    got = pick(rows, "cohort", "breakdown_value", "customers", "defected_day_90",
               "defected_year_1", "rate_day_90")  # fmt: skip
    assert got == [
        (D(2024, 1, 1), "mass", 2, 1, 1, 0.5),
        (D(2024, 1, 1), "premium", 1, 0, 1, 0.0),
        (D(2024, 2, 1), "mass", 1, 1, 1, 1.0),
        (D(2024, 2, 1), "premium", 1, 0, 0, 0.0),
        (D(2024, 3, 1), "mass", 2, 1, 2, 0.5),
    ]
    rows = run(population, "defection_rates", breakdown="region", cohort_grain="month",
               onboarding_days=60, from_date=D(2024, 2, 1))  # fmt: skip
    # Feb-Mar openers: north = c5 (d30), c7 (d100); south = c4, c6 (d50).  Day-60 window.
    got = pick(rows, "cohort", "breakdown_value", "customers", "defected_day_90")
    assert got == [
        (D(2024, 2, 1), "north", 1, 1),
        (D(2024, 2, 1), "south", 1, 0),
        (D(2024, 3, 1), "north", 1, 0),
        (D(2024, 3, 1), "south", 1, 1),
    ]


def test_defection_rates_default_as_of_is_the_latest_event(population: Store) -> None:
    # Without as_of, "now" is the latest event: c7's transfer out on day 86 (2024-06-04 13:00).
    # c7's defection (day 100) is then in the future and c7 (tenure 86) is not observed at day 90.
    rows = get_query("defection_rates").run(population, {"breakdown": "all"}).as_dicts()
    march = next(r for r in rows if r["cohort"] == D(2024, 3, 1))
    # c6 (tenure 95, defected d50) is observed; c7 (tenure 86, no defection yet) is not.
    assert (march["customers"], march["day90_observed"], march["defected_day_90"]) == (2, 1, 1)
    assert (march["defected_year_1"], march["rate_day_90"]) == (1, 1.0)


def test_defections_where_by_stage_touchpoint_channel(population: Store) -> None:
    by_stage = run(population, "defections_where")
    # activated: c2 (closure d20), c5 (closure d30); funded: c3 (dormancy d95), c6 (drain d50);
    # sticky: c7 (outbound d100).  Median = quantileExact(0.5): the upper middle of two.
    assert pick(by_stage, "value", "defections", "closure", "silent_attrition", "other",
                "share", "median_day") == [
        ("activated", 2, 2, 0, 0, 0.4, 30.0),
        ("funded", 2, 0, 2, 0, 0.4, 95.0),
        ("sticky", 1, 0, 1, 0, 0.2, 100.0),
    ]  # fmt: skip
    by_touch = run(population, "defections_where", group_by="touchpoint")
    assert pick(by_touch, "value", "defections") == [
        ("login", 2),
        ("transaction", 2),
        ("complaint", 1),
    ]
    day90 = run(population, "defections_where", group_by="touchpoint_channel", window="day_90")
    # day-90 first defections: c2 (login online), c5 (complaint contact_centre), c6 (tx branch).
    assert pick(day90, "value", "defections", "share") == [
        ("complaint @ contact_centre", 1, round(1 / 3, 4)),
        ("login @ online", 1, round(1 / 3, 4)),
        ("transaction @ branch", 1, round(1 / 3, 4)),
    ]
    complaint = run(population, "defections_where", group_by="open_complaint")
    assert pick(complaint, "value", "defections") == [
        ("no open complaint", 4),
        ("complaint open", 1),
    ]


def test_defection_timing_weekly_hazard(population: Store) -> None:
    # Exits (week = day // 7): defections c2 d20 -> w2, c5 d30 -> w4, c6 d50 -> w7,
    # c3 d95 -> w13, c7 d100 -> w14; censored c4 tenure 146 -> w20, c1 tenure 181 -> w25.
    rows = run(population, "defection_timing")
    assert [r["bucket"] for r in rows] == list(range(26))
    at_risk = [r["at_risk"] for r in rows]
    assert at_risk == [7] * 3 + [6] * 2 + [5] * 3 + [4] * 6 + [3] + [2] * 6 + [1] * 5
    events = {r["bucket"]: (r["defections"], r["closure"], r["silent_attrition"], r["hazard"])
              for r in rows if r["defections"]}  # fmt: skip
    assert events == {
        2: (1, 1, 0, round(1 / 7, 6)),
        4: (1, 1, 0, round(1 / 6, 6)),
        7: (1, 0, 1, round(1 / 5, 6)),
        13: (1, 0, 1, round(1 / 4, 6)),
        14: (1, 0, 1, round(1 / 3, 6)),
    }
    assert {r["bucket"]: r["censored"] for r in rows if r["censored"]} == {20: 1, 25: 1}
    assert rows[0]["hazard"] == 0.0 and rows[2]["share_of_defections"] == 0.2
    assert rows[25]["start_day"] == 175


def test_defection_timing_30_day_buckets_for_one_cohort(population: Store) -> None:
    rows = run(population, "defection_timing", bucket_days=30, from_date=D(2024, 2, 1),
               to_date=D(2024, 2, 29))  # fmt: skip
    # February: c4 (censored at 146 -> bucket 4), c5 (closure d30 -> bucket 1).
    assert pick(rows, "bucket", "at_risk", "defections", "censored") == [
        (0, 2, 0, 0),
        (1, 2, 1, 0),
        (2, 1, 0, 0),
        (3, 1, 0, 0),
        (4, 1, 0, 1),
    ]


def test_survival_km_by_opening_channel(population: Store) -> None:
    rows = run(population, "survival_km")
    # branch: c1, c4 never defect (censored at 181 and 146): S stays 1.
    # mobile: c3 d95, c7 d100 -> S = 1/2, then 0.  online: c2 d20, c5 d30, c6 d50 -> 2/3, 1/3, 0.
    assert pick(rows, "curve", "day", "at_risk", "defections", "censored", "survival") == [
        ("branch", 146, 2, 0, 1, 1.0),
        ("branch", 181, 1, 0, 1, 1.0),
        ("mobile", 95, 2, 1, 0, 0.5),
        ("mobile", 100, 1, 1, 0, 0.0),
        ("online", 20, 3, 1, 0, round(2 / 3, 6)),
        ("online", 30, 2, 1, 0, round(1 / 3, 6)),
        ("online", 50, 1, 1, 0, 0.0),
    ]


def test_survival_km_censoring_all_customers(population: Store) -> None:
    rows = run(population, "survival_km", group_by="all")
    # All 7: S(20) = 6/7, S(30) = 6/7 * 5/6 = 5/7, S(50) = 4/7, S(95) = 3/7, S(100) = 2/7;
    # then c4 and c1 are censored (146, 181): the curve stays at 2/7 instead of dropping.
    expected = [
        (20, 7, 1, 0, 6 / 7), (30, 6, 1, 0, 5 / 7), (50, 5, 1, 0, 4 / 7), (95, 4, 1, 0, 3 / 7),
        (100, 3, 1, 0, 2 / 7), (146, 2, 0, 1, 2 / 7), (181, 1, 0, 1, 2 / 7),
    ]  # fmt: skip
    got = pick(rows, "day", "at_risk", "defections", "censored", "survival")
    assert [g[:4] for g in got] == [e[:4] for e in expected]
    for g, e in zip(got, expected, strict=True):
        assert g[4] == pytest.approx(e[4], abs=1e-6)
    assert {r["curve"] for r in rows} == {"all"}


def test_survival_km_by_cohort(population: Store) -> None:
    rows = run(population, "survival_km", group_by="cohort")
    # February: c5 closes d30 (S = 1/2), c4 censored at 146.
    feb = pick([r for r in rows if r["curve"] == "2024-02-01"], "day", "at_risk", "survival")
    assert feb == [(30, 2, 0.5), (146, 1, 0.5)]


def test_milestone_funnel(population: Store) -> None:
    # Population: tenure >= 90 for all 7.  Days reached:
    #   activated: c1 1, c2 0, c3 5, c4 2, c5 4, c6 1, c7 0        -> 7 by day 7
    #   funded:    c1 2, c3 5, c4 8 (direct deposit), c6 1, c7 1  -> 5 by day 30 (c2, c5 never)
    #   engaged (5th customer transaction): c1 d100 (late), c4 d65 -> 1 by day 90, 2 ever
    #   sticky (2 services): c1 d3 (digital d1 + card d3), c4 d8 (digital d2 + deposit d8),
    #            c7 d1 (digital d0 + card d1)                     -> 3 by day 90
    #   in order: only c4 reaches all four in time.
    rows = run(population, "milestone_funnel")
    assert pick(rows, "step", "milestone", "deadline_days", "population", "reached_in_time",
                "funnel", "reached_ever") == [
        (1, "activated", 7, 7, 7, 7, 7),
        (2, "funded", 30, 7, 5, 5, 5),
        (3, "engaged", 90, 7, 1, 1, 2),
        (4, "sticky", 90, 7, 3, 1, 3),
    ]  # fmt: skip
    assert [r["step_conversion"] for r in rows] == [1.0, round(5 / 7, 4), 0.2, 1.0]
    assert rows[3]["rate_in_time"] == round(3 / 7, 4)


def test_milestone_funnel_deadlines_are_parameters(population: Store) -> None:
    # Activated by day 2 (strictly before): c1 d1, c2 d0, c6 d1, c7 d0 -> 4; engaged after 4
    # transactions by day 40: c1 (d2, d3, d10, d40: the 4th on day 40 is not before 40) no;
    # c4 (d15, 20, 25, 30) yes -> 1; sticky needs 3 services: c4 (digital, deposit, bill pay
    # d15) -> 1.  Population: tenure >= 90 still (the largest deadline) -> 7.
    rows = run(population, "milestone_funnel", activated_days=2, engaged_days=40,
               engaged_transactions=4, sticky_services=3)  # fmt: skip
    assert pick(rows, "milestone", "reached_in_time", "funnel") == [
        ("activated", 4, 4),
        ("funded", 5, 3),
        ("engaged", 1, 0),
        ("sticky", 1, 0),
    ]


def test_missed_milestones_before_defection(population: Store) -> None:
    # First defections: c2 d20, c3 d95, c5 d30 (+1 h after its day-30 stall), c6 d50, c7 d100.
    #   no_login_by_day_7: c5, c6 stalled; both defected later; first warning for both.
    #   not_funded_by_day_30: c5; preceded (d30 00h < d30 01h); not first (d7 came before).
    #   no_activity_30_days_in_day_90: c4 (never defects), c6 (d31 < d50), c7 (d31 < d100,
    #     its 2nd episode d61 is the same customer); first only for c7.
    #   no_sticky_by_day_90: c3 (d90 < d95, first), c6 (d90 > d50: after the defection).
    rows = run(population, "missed_milestones")
    assert pick(rows, "rule", "stalled_customers", "defected_after", "first_missed",
                "total_defectors") == [
        ("no_activity_30_days_in_day_90", 3, 2, 1, 5),
        ("no_login_by_day_7", 2, 2, 2, 5),
        ("no_sticky_by_day_90", 2, 1, 1, 5),
        ("not_funded_by_day_30", 1, 1, 0, 5),
    ]  # fmt: skip
    assert rows[0]["defection_rate_after_stall"] == round(2 / 3, 4)
    assert rows[0]["share_of_defectors"] == 0.4


def test_complaint_linkage(population: Store) -> None:
    # c4: fees complaint d10 resolved d12, never defects.  c5: service complaint d3, unresolved,
    # closes d30 -> 27 days later.  Non-complainants c1, c2, c3, c6, c7: within 60 days of
    # opening c2 (d20) and c6 (d50) defect; in year 1 also c3 (d95) and c7 (d100).
    rows = run(population, "complaint_linkage")
    assert pick(rows, "who", "category", "resolution", "customers", "observed",
                "defected_within", "rate_within", "defected_year_1", "rate_year_1",
                "median_days_to_defection") == [
        ("complainant", "fees", "resolved", 1, 1, 0, 0.0, 0, 0.0, None),
        ("complainant", "service", "unresolved", 1, 1, 1, 1.0, 1, 1.0, 27.0),
        ("non_complainant", "", "", 5, 5, 2, 0.4, 4, 0.8, None),
    ]  # fmt: skip
    # Within 21 days: c5 (27 days after its complaint) no longer counts; of the
    # non-complainants only c2 (day 20, 20 days + 1 h after opening) does.
    short = run(population, "complaint_linkage", within_days=21)
    assert [r["defected_within"] for r in short] == [0, 0, 1]


def test_lifecycle_monthly(population: Store) -> None:
    # Active months: c1 Jan, Feb, Apr; c2 Jan; c3 Jan, Feb; c4 Feb, Mar, Apr; c5 Feb; c6 Mar;
    # c7 Mar, Jun.  First defections: c2 Jan 30, c5 Mar 16, c3 Apr 24, c6 Apr 20, c7 Jun 18.
    rows = run(population, "lifecycle")
    assert pick(rows, "period", "new", "returning", "resurrecting", "dormant", "defected",
                "active") == [
        (D(2024, 1, 1), 3, 0, 0, 0, 1, 3),
        (D(2024, 2, 1), 2, 2, 0, 1, 0, 4),  # returning c1, c3; dormant c2
        (D(2024, 3, 1), 2, 1, 0, 3, 1, 3),  # returning c4; dormant c1, c3, c5
        (D(2024, 4, 1), 0, 1, 1, 2, 2, 2),  # c4 returns, c1 resurrects; c6, c7 dormant
        (D(2024, 5, 1), 0, 0, 0, 2, 0, 0),  # c1, c4 dormant
        (D(2024, 6, 1), 0, 0, 1, 0, 1, 1),  # c7 resurrects (and defects on the 18th)
        (D(2024, 7, 1), 0, 0, 0, 1, 0, 0),  # as_of's month: c7 dormant
    ]  # fmt: skip


def test_lifecycle_weekly(population: Store) -> None:
    rows = run(population, "lifecycle", grain="week", to_date=D(2024, 1, 1))
    # c1 alone: active Jan 2-4 (week of Jan 1), Jan 11 (week of Jan 8), Feb 10 (week of Feb 5),
    # Apr 10 (week of Apr 8).
    by_week = {r["period"]: r for r in rows}
    assert by_week[D(2024, 1, 1)]["new"] == 1
    assert by_week[D(2024, 1, 8)]["returning"] == 1
    assert by_week[D(2024, 1, 15)]["dormant"] == 1
    assert by_week[D(2024, 2, 5)]["resurrecting"] == 1
    assert by_week[D(2024, 2, 12)]["dormant"] == 1
    assert by_week[D(2024, 4, 8)]["resurrecting"] == 1
    assert by_week[D(2024, 4, 15)]["dormant"] == 1
    assert sum(r["dormant"] for r in rows) == 3  # the weeks of Jan 15, Feb 12 and Apr 15
    assert sum(r["active"] for r in rows) == 4
    assert max(by_week) == D(2024, 7, 1)  # up to as_of's week (a Monday)


def test_acquisition_economics(population: Store) -> None:
    # $100 a month = 1200/365 a day.  Break-even: branch $300 -> 91.25 days, online $200 ->
    # 60.83, mobile $150 -> 45.63.  Branch c1, c4 outlive it; online c2 (d20), c5 (d30), c6 (d50)
    # leave before it; mobile c3 (d95), c7 (d100) leave after it.
    rows = run(
        population,
        "acquisition_economics",
        channels=["branch", "online", "mobile"],
        costs=[300.0, 200.0, 150.0],
        default_cost=999.0,
        monthly_revenue=100.0,
    )
    daily = 1200 / 365
    assert pick(rows, "opening_channel", "customers", "cost_per_customer", "defected",
                "lost_before_breakeven", "recovered", "pending", "share_lost") == [
        ("branch", 2, 300.0, 0, 0, 2, 0, 0.0),
        ("mobile", 2, 150.0, 2, 0, 2, 0, 0.0),
        ("online", 3, 200.0, 3, 3, 0, 0, 1.0),
    ]  # fmt: skip
    assert [r["breakeven_days"] for r in rows] == pytest.approx([91.25, 45.625, 60.83], abs=0.051)
    online = rows[2]
    assert online["unrecovered_cost"] == pytest.approx(600 - (20 + 30 + 50) * daily, abs=0.01)
    assert online["acquisition_cost"] == 600.0


def test_acquisition_economics_defaults_leave_young_customers_pending(population: Store) -> None:
    # Defaults: $12.50 a month, branch $300 -> 730 days, online/mobile $200 -> 486.7 days.
    # Nobody has lived that long: branch customers are pending; every defector was lost early.
    rows = run(population, "acquisition_economics")
    assert pick(rows, "opening_channel", "lost_before_breakeven", "recovered", "pending",
                "share_lost") == [
        ("branch", 0, 0, 2, None),
        ("mobile", 2, 0, 0, 1.0),
        ("online", 3, 0, 0, 1.0),
    ]  # fmt: skip


def test_cohort_customers_drill_down(population: Store) -> None:
    def ids(**params: Any) -> list[str]:
        return [r["customer_id"] for r in run(population, "cohort_customers", **params)]

    jan = D(2024, 1, 1)
    assert ids(cohort=jan) == ["c1", "c2", "c3"]
    assert ids(cohort=jan, status="defected_day_90") == ["c2"]
    assert ids(cohort=jan, status="defected_year_1") == ["c2", "c3"]
    assert ids(status="silent_attrition") == ["c3", "c6", "c7"]
    assert ids(status="closure") == ["c2", "c5"]
    assert ids(status="not_defected") == ["c1", "c4"]
    assert ids(breakdown="segment", breakdown_value="premium") == ["c3", "c4"]
    # The retention grid's cell (January, period 1, "on") had 2 customers: c1 (d40), c3 (d35).
    assert ids(cohort=jan, active_period=1) == ["c1", "c3"]
    assert ids(cohort_grain="week", cohort=D(2024, 2, 26)) == ["c6"]  # Fri Mar 1 -> Mon Feb 26
    assert ids(row_limit=2) == ["c1", "c2"]
    row = run(population, "cohort_customers", cohort=D(2024, 3, 1), status="defected")[1]
    assert (row["customer_id"], row["first_defection_kind"], row["first_defection_day"]) == (
        "c7",
        "silent_attrition",
        100,
    )
    assert row["opened_at"] == dt.datetime(2024, 3, 10, 12, tzinfo=dt.UTC)


def test_cohort_summary_still_runs(population: Store) -> None:
    # The walking skeleton's query: Jan online = c2 (defected in day 90 and year 1).
    rows = get_query("cohort_summary").run(population).as_dicts()
    jan_online = next(
        r for r in rows if r["cohort_month"] == D(2024, 1, 1) and r["opening_channel"] == "online"
    )
    assert (jan_online["customers"], jan_online["defected_day_90"]) == (1, 1)
