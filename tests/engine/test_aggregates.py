"""Journey aggregates: incremental counts equal a full recount of the states, whatever the
order of events, snapshot points and restarts; cohort slices follow the watermark."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_partition_properties import END, histories

from streams.engine import EngineConfig, PartitionEngine, snapshot
from streams.engine.aggregates import JourneyAggregates, merge, slice_buckets
from streams.engine.builders import day, login, opened, tx
from streams.engine.config import CohortSlice, StallRule
from streams.engine.state import DAY_MS, NEVER

T0 = 1_700_000_000_000


def recount(engine: PartitionEngine) -> JourneyAggregates:
    """The aggregates by brute force: every state, its snapshot, exact slice membership."""
    cfg = engine.config
    bucket = cfg.cohort_bucket_s * 1000
    stages: dict[tuple[str, str], int] = {}
    stalled: dict[tuple[str, str], int] = {}
    slices: dict[tuple[str, str], tuple[int, int]] = {}
    rules = {r.name for r in cfg.stall_rules}
    wm = engine.watermark
    channels = set()
    for cid in engine.customer_ids():
        state = engine.state_of(cid)
        assert state is not None
        if state.opened_at is None:
            continue
        snap = snapshot(state, cfg)
        ch = snap.opening_channel or "unknown"
        channels.add(ch)
        stages[(snap.stage, ch)] = stages.get((snap.stage, ch), 0) + 1
        for rule in snap.open_stalls:
            stalled[(rule, ch)] = stalled.get((rule, ch), 0) + 1
    for s in cfg.cohort_slices:
        if s.rule not in rules or wm == NEVER:
            continue
        for ch in channels:
            n = k = 0
            for cid in engine.customer_ids():
                state = engine.state_of(cid)
                assert state is not None
                if state.opened_at is None or (state.open_channel or "unknown") != ch:
                    continue
                end_age = wm - (state.opened_at // bucket + 1) * bucket
                if s.from_days * DAY_MS <= end_age < s.to_days * DAY_MS:
                    n += 1
                    k += s.rule in state.open_stalls()
            slices[(s.rule, ch)] = (n, k)
    return JourneyAggregates(stages, stalled, slices, sum(stages.values()))


def _same(a: JourneyAggregates, b: JourneyAggregates) -> None:
    def nz(d: dict[Any, int]) -> dict[Any, int]:
        return {k: v for k, v in d.items() if v}

    assert nz(a.stages) == nz(b.stages)
    assert nz(a.stalled) == nz(b.stalled)
    assert a.slices == b.slices
    assert a.customers == b.customers


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=histories(),
    cuts=st.lists(st.integers(0, 60), max_size=4),
    stops=st.lists(st.integers(1, 400), max_size=3),
)
def test_incremental_counts_equal_a_recount(
    history: list[Any], cuts: list[int], stops: list[int]
) -> None:
    cfg = EngineConfig(cohort_bucket_s=1)  # 1 s buckets: slices are exact for these times
    engine = PartitionEngine(cfg)
    arrivals = [e for e, _ in sorted(history, key=lambda x: x[0][1]["occurred_at"] + x[1])]
    points = sorted({min(c, len(arrivals)) for c in cuts} | {len(arrivals)})
    start = 0
    for p in points:
        engine.process_many(arrivals[start:p])
        start = p
        engine.take_snapshots()
        _same(engine.aggregates(), recount(engine))
    for d in sorted(stops):
        engine.advance(T0 + d * DAY_MS)
        engine.take_snapshots()
        _same(engine.aggregates(), recount(engine))
    engine.advance(END)
    engine.take_snapshots()
    _same(engine.aggregates(), recount(engine))
    # a restart: states reloaded into a new engine count the same
    restored = PartitionEngine(cfg)
    for cid in engine.customer_ids():
        data = engine.encoded(cid)
        assert data is not None
        restored.load(cid, data)
    restored.import_meta(engine.export_meta())
    _same(restored.aggregates(), engine.aggregates())


def test_no_login_slice_counts_openers_aged_7_to_14_days() -> None:
    engine = PartitionEngine(EngineConfig())
    evs = []
    for i in range(10):  # openers on day 0, half of them log in on day 2
        evs.append(opened(f"a{i}", T0 + i * 60_000, channel="online"))
        if i % 2 == 0:
            evs.append(login(f"a{i}", T0 + day(2)))
    evs.append(opened("b0", T0 + day(1), channel="branch"))
    engine.process_many(sorted(evs, key=lambda e: e[1]["occurred_at"]))
    engine.take_snapshots()
    for d, want_online in ((6, (0, 0)), (8, (10, 5)), (13.9, (10, 5)), (14.1, (0, 0))):
        engine.advance(T0 + day(d))
        engine.take_snapshots()
        agg = engine.aggregates()
        assert agg.slices[("no_login_by_day_7", "online")] == want_online, d
        assert agg.customers == 11
    engine.advance(T0 + day(8) + 0)  # never back: still at day 14.1
    assert engine.aggregates().slices[("no_login_by_day_7", "branch")] == (1, 1)


def test_stage_counts_follow_the_journey() -> None:
    engine = PartitionEngine(EngineConfig())
    engine.process_many([opened("c", T0, channel="mobile")])
    engine.take_snapshots()
    assert engine.aggregates().stages == {("opened", "mobile"): 1}
    engine.advance(T0 + day(7) + 1)
    engine.take_snapshots()
    agg = engine.aggregates()
    assert agg.stages == {("opened", "mobile"): 0, ("stalled", "mobile"): 1}
    assert agg.stalled == {("no_login_by_day_7", "mobile"): 1}
    engine.process_many([login("c", T0 + day(8), channel="mobile")])
    engine.advance(T0 + day(8) + 1)
    engine.take_snapshots()
    agg = engine.aggregates()
    assert agg.stages[("activated", "mobile")] == 1 and agg.stages[("stalled", "mobile")] == 0
    assert agg.stalled[("no_login_by_day_7", "mobile")] == 0


def test_merge_sums_numerators_and_denominators() -> None:
    a = JourneyAggregates({("opened", "x"): 2}, {("r", "x"): 1}, {("r", "x"): (10, 3)}, 2)
    b = JourneyAggregates({("opened", "x"): 1}, {}, {("r", "x"): (30, 3)}, 1)
    m = merge([a, b])
    assert m.slices == {("r", "x"): (40, 6)} and m.stages == {("opened", "x"): 3}
    assert m.customers == 3 and m.stalled == {("r", "x"): 1}


@given(
    wm=st.integers(-(10**13), 10**13),
    f=st.integers(0, 40),
    width=st.integers(1, 40),
    bucket_s=st.sampled_from([1, 60, 3600, 86_400]),
    t=st.integers(-(10**13), 10**13),
)
def test_slice_buckets_match_the_definition(
    wm: int, f: int, width: int, bucket_s: int, t: int
) -> None:
    bucket_ms = bucket_s * 1000
    b = t // bucket_ms
    end_age = wm - (b + 1) * bucket_ms
    inside = f * DAY_MS <= end_age < (f + width) * DAY_MS
    assert (b in slice_buckets(wm, f, f + width, bucket_ms)) == inside


def test_slices_of_unknown_rules_are_ignored_and_config_is_validated() -> None:
    cfg = EngineConfig(stall_rules=(StallRule("late_login", "login", 3),))
    engine = PartitionEngine(cfg)
    engine.process_many([opened("c", T0), tx("c", T0 + day(20), amount=5)])
    engine.take_snapshots()
    assert engine.aggregates().slices == {}
    with pytest.raises(ValueError):
        CohortSlice("x", 14, 7)
    with pytest.raises(ValueError):
        CohortSlice("x", 1, 7, alert_ratio=0)
    with pytest.raises(ValueError):
        EngineConfig(cohort_slices=(CohortSlice("x", 1, 7), CohortSlice("x", 2, 8)))
