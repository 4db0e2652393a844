"""The worker's metrics as a scrape shows them: names, labels, values summed over partitions."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streams.codec import SingleObjectCodec
from streams.engine import EngineConfig
from streams.engine.builders import day, login, opened, tx
from streams.engine.outputs import Defection, StallCleared, StallRaised
from streams.metrics import Metrics
from streams.worker.processor import Processor

T0 = 1_717_372_800_000  # 2024-06-03
TOPICS = {f"journey.{t}": t for t in ("account_opened", "login", "transaction")}
README = Path(__file__).resolve().parents[2] / "README.md"


def _samples(m: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(m.registry).decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _processor() -> Processor:
    cfg = EngineConfig()
    p = Processor(SingleObjectCodec(), cfg, TOPICS)
    # partition 0: 10 online openers on day 0, 4 of them log in; partition 1: 6 online
    # openers on day 1 (2 log in) and 3 branch openers; both partitions' event time at day 10.
    e0 = p.engine(0)
    evs = [opened(f"a{i}", T0 + i * 60_000, channel="online") for i in range(10)]
    evs += [login(f"a{i}", T0 + day(2)) for i in range(4)]
    evs += [tx("a0", T0 + day(10), direction="credit", kind="transfer_in", amount=10_000)]
    e0.process_many(sorted(evs, key=lambda e: e[1]["occurred_at"]))
    e1 = p.engine(1)
    evs = [opened(f"b{i}", T0 + day(1) + i * 60_000, channel="online") for i in range(6)]
    evs += [opened(f"c{i}", T0 + day(1), channel="branch") for i in range(3)]
    evs += [login(f"b{i}", T0 + day(3)) for i in range(2)]
    evs += [login("c0", T0 + day(10))]
    e1.process_many(sorted(evs, key=lambda e: e[1]["occurred_at"]))
    for e in (e0, e1):
        e.advance(T0 + day(10))
        e.take_snapshots()
    p.clocks[0].observe("journey.login", T0 + day(2))
    p.clocks[1].observe("journey.login", T0 + day(10))
    p.clocks[0].set_backlog("journey.login", 40)
    p.clocks[1].set_backlog("journey.login", 2)
    p.clocks[1].set_backlog("journey.transaction", 5)
    return p


def test_gauges_sum_the_partitions_numerators_and_denominators() -> None:
    cfg = EngineConfig()
    m = Metrics(cohort_slices=cfg.cohort_slices)
    view = m.refresh(_processor())
    assert view.partitions == 2
    s = _samples(m)

    def g(name: str, **labels: str) -> float:
        return s[(name, tuple(sorted(labels.items())))]

    # slice no_login_by_day_7 at watermark day 10: every opener of days 0-1 (ages 9-10 days)
    assert g("journey_cohort_customers", slice="no_login_by_day_7", channel="online") == 16
    assert g("journey_cohort_stalled_customers", slice="no_login_by_day_7", channel="online") == 10
    assert g("journey_cohort_customers", slice="no_login_by_day_7", channel="branch") == 3
    # c0 logged in on day 10: cleared at that instant, the watermark is there
    assert g("journey_cohort_stalled_customers", slice="no_login_by_day_7", channel="branch") == 2
    assert g("journey_cohort_customers", slice="not_funded_by_day_30", channel="online") == 0
    assert g("journey_stalled_customers", rule="no_login_by_day_7", channel="online") == 10
    assert g("journey_stage_customers", stage="stalled", channel="online") == 10
    assert g("journey_stage_customers", stage="activated", channel="online") == 5
    assert g("journey_stage_customers", stage="funded", channel="online") == 1  # a0
    assert g("journey_customers") == 19
    assert g("journey_consumer_lag_records", topic="journey.login") == 42
    assert g("journey_consumer_lag_records", topic="journey.transaction") == 5
    latest = g("journey_latest_event_timestamp_seconds", topic="journey.login")
    assert latest == (T0 + day(10)) / 1000
    assert g("journey_watermark_timestamp_seconds") == (T0 + day(10)) / 1000
    assert g("journey_event_freshness_seconds") > 0
    assert g("journey_cohort_alert_threshold_ratio", slice="no_login_by_day_7") == 0.3
    assert g("journey_cohort_alert_min_customers", slice="not_funded_by_day_30") == 20
    assert g("journey_cohort_slice_age_seconds", slice="no_login_by_day_7", bound="to") == (
        14 * 86_400
    )
    assert g("journey_assigned_partitions") == 2


def test_no_label_carries_a_customer_id() -> None:
    m = Metrics(cohort_slices=EngineConfig().cohort_slices)
    m.refresh(_processor())
    text = generate_latest(m.registry).decode()
    labels = re.findall(r'="([^"]*)"', text)
    assert labels and not any(re.fullmatch(r"[abc]\d+", v) for v in labels)
    ratios = [f.name for f in text_string_to_metric_families(text) if f.name.endswith("_ratio")]
    assert ratios == ["journey_cohort_alert_threshold_ratio"]  # a setting; shares never are


def test_records_counted_by_rule_kind_and_window() -> None:
    m = Metrics()
    raised = StallRaised("r1", "c", "no_login_by_day_7", "login", 1, 0, 7, 0, "online", None,
                         None, None)  # fmt: skip
    cleared = StallCleared("r2", "c", "no_login_by_day_7", "login", 1, 1, 8, 0, 1.0)
    d = Defection("r3", "c", 1, "closure", "x", 5, 12, "day_90", 0, "opened", None, None, None,
                  "branch", None, None, None, (), False, None, ())  # fmt: skip
    for out in (raised, raised, cleared, d):
        m.output(out)
    m.dead_lettered("not_avro", "login")
    m.consumed("login", 5)
    m.processed([(0, "login", {}, None), (0, "login", {}, None), (1, "transaction", {}, None)])
    s = _samples(m)
    assert s[("journey_stalls_raised_total", (("rule", "no_login_by_day_7"),))] == 2
    assert s[("journey_stalls_cleared_total", (("rule", "no_login_by_day_7"),))] == 1
    assert s[("journey_defections_total", (("kind", "closure"), ("window", "day_90")))] == 1
    assert s[("journey_records_emitted_total", (("kind", raised.kind),))] == 2
    assert s[("journey_events_dead_lettered_total",
              (("event_type", "login"), ("reason", "not_avro")))] == 1  # fmt: skip
    assert s[("journey_events_processed_total", (("event_type", "login"),))] == 2
    assert s[("journey_events_consumed_total", (("event_type", "login"),))] == 5


def test_readme_lists_every_metric() -> None:
    m = Metrics(cohort_slices=EngineConfig().cohort_slices)
    m.refresh(_processor())
    m.output(StallRaised("r1", "c", "x", "login", 1, 0, 7, 0, None, None, None, None))
    text = generate_latest(m.registry).decode()
    names = {f.name for f in text_string_to_metric_families(text)}
    names = {n for n in names if not n.endswith("_created")}  # prometheus-client's own
    section = README.read_text().split("## Operations: metrics and alerts", 1)[1]
    section = section.split("\n## ", 1)[0]
    assert len(names) > 25
    for name in names:
        shown = name + "_total" if f"{name}_total" in section else name
        assert f"`{shown}" in section, name


def test_rebalancing_and_sink_gauges_are_read_live_at_scrape() -> None:
    class App:
        rebalancing = False
        rebalancing_count = 0

    class Batcher:
        retries = 0
        last_flush_at: float | None = None
        pending = 0

    app, batcher = App(), Batcher()
    m = Metrics()
    m.watch_app(app)
    m.watch_batcher(batcher)  # type: ignore[arg-type]
    s = _samples(m)
    assert s[("journey_worker_rebalancing", ())] == 0
    assert s[("journey_sink_last_flush_timestamp_seconds", ())] == 0
    app.rebalancing, app.rebalancing_count = True, 3
    batcher.retries, batcher.last_flush_at, batcher.pending = 4, 1_700_000_000.5, 250
    s = _samples(m)
    assert s[("journey_worker_rebalancing", ())] == 1
    assert s[("journey_worker_rebalances_total", ())] == 3
    assert s[("journey_sink_retries", ())] == 4
    assert s[("journey_sink_last_flush_timestamp_seconds", ())] == 1_700_000_000.5
    assert s[("journey_sink_pending_rows", ())] == 250
