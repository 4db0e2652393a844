"""Prometheus metrics of a worker: one prefix (``journey_``), base units, bounded labels only.

No label ever carries a customer id: labels are event types, reasons, record kinds, topics,
stages, rules, channels and slices, all small sets. Each worker exposes its own partitions'
share: counts and numerators / denominators add up across workers (alert rules ``sum`` them
and then divide; a ratio is never exported, so none is ever averaged).

Two kinds of metrics:

* counters and histograms updated on the hot path (per fetch or per record routed);
* gauges read from a :class:`WorkerView`, a plain snapshot that the worker builds in its event
  loop at every timer tick (:meth:`Metrics.refresh`) and that a custom collector reads at
  scrape time. The engine's journey aggregates (stages, stalls, cohort slices) are incremental
  counters (``streams.engine.aggregates``), so a refresh costs O(partitions x slices x
  channels x buckets per slice), whatever the number of customers, and a scrape never touches
  the engines from the HTTP thread.

Every metric is listed, with what to do when its alert fires, in the README ("Operations:
metrics and alerts") and ``docs/runbooks.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from streams.engine.aggregates import JourneyAggregates, merge
from streams.engine.config import CohortSlice
from streams.engine.outputs import Defection, Resurrection, StallCleared, StallRaised
from streams.engine.state import NEVER

if TYPE_CHECKING:
    from streams.sink.batcher import Batcher
    from streams.worker.processor import Processor

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass(frozen=True, slots=True)
class WorkerView:
    """What the gauges show, as of the worker's last refresh (immutable once built)."""

    #: topic -> records on the broker not yet consumed (sum over this worker's partitions)
    lag: dict[str, int] = field(default_factory=dict)
    #: topic -> highest event time (``occurred_at``) consumed, Unix seconds
    latest_event_s: dict[str, float] = field(default_factory=dict)
    #: lowest partition watermark of this worker, Unix seconds (None before any input)
    watermark_s: float | None = None
    partitions: int = 0
    journey: JourneyAggregates = field(default_factory=JourneyAggregates)


def view_of(processor: Processor) -> WorkerView:
    """Build the view from the processor's engines and input clocks (event-loop thread)."""
    lag: dict[str, int] = {}
    latest: dict[str, float] = {}
    watermarks = []
    parts = []
    for partition, engine in list(processor.engines.items()):
        clock = processor.clocks.get(partition)
        if clock is not None:
            for topic, backlog in clock.backlog.items():
                if backlog is not None:
                    lag[topic] = lag.get(topic, 0) + backlog
            for topic, t in clock.max_t.items():
                if t / 1000 > latest.get(topic, float("-inf")):
                    latest[topic] = t / 1000
        if engine.watermark > NEVER:
            watermarks.append(engine.watermark / 1000)
        parts.append(engine.aggregates())
    return WorkerView(
        lag=lag,
        latest_event_s=latest,
        watermark_s=min(watermarks) if watermarks else None,
        partitions=len(parts),
        journey=merge(parts),
    )


class Metrics:
    """The worker's metrics, in a registry of their own (several apps per process in tests)."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        cohort_slices: Iterable[CohortSlice] = (),
    ) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.cohort_slices = tuple(cohort_slices)
        self.events_consumed = Counter(
            "journey_events_consumed_total", "Records read from input topics.", ["event_type"],
            registry=r,
        )
        self.events_processed = Counter(
            "journey_events_processed_total",
            "Events applied to a customer's journey (held events once their opening arrived; "
            "never duplicates, too-late events or orphans).", ["event_type"], registry=r,
        )
        self.events_dead_lettered = Counter(
            "journey_events_dead_lettered_total",
            "Records sent to the dead-letter or orphan topic, by reason.",
            ["reason", "event_type"], registry=r,
        )
        self.events_too_late = Counter(
            "journey_events_too_late_total",
            "Events older than the partition watermark, sent to the too-late topic.",
            ["event_type"], registry=r,
        )
        self.events_held = Counter(
            "journey_events_held_total",
            "Events read before their customer's opening, held until it arrives (a backfill "
            "reads openings first to keep this near zero; each held event costs a copy).",
            registry=r,
        )
        self.records_emitted = Counter(
            "journey_records_emitted_total", "Journey records emitted by the engine, by kind.",
            ["kind"], registry=r,
        )
        self.stalls_raised = Counter(
            "journey_stalls_raised_total", "Onboarding stalls raised (a deadline missed).",
            ["rule"], registry=r,
        )
        self.stalls_cleared = Counter(
            "journey_stalls_cleared_total",
            "Onboarding stalls cleared (the milestone reached late).", ["rule"], registry=r,
        )
        self.defections = Counter(
            "journey_defections_total",
            "Defections decided (episode opened), by kind and window since opening.",
            ["kind", "window"], registry=r,
        )
        self.resurrections = Counter(
            "journey_resurrections_total",
            "Defected customers back to activity, by the kind of their defection.", ["kind"],
            registry=r,
        )
        self.batch_seconds = Histogram(
            "journey_batch_duration_seconds",
            "Time to decode, apply and route one fetch of records.", registry=r,
            buckets=_LATENCY_BUCKETS,
        )
        self.sink_rows = Counter(
            "journey_sink_rows_written_total", "Rows written to ClickHouse.", registry=r
        )
        self.sink_flush_seconds = Histogram(
            "journey_sink_flush_duration_seconds", "Time to write one batch to ClickHouse.",
            registry=r, buckets=_LATENCY_BUCKETS,
        )
        self.sink_retries = Gauge(
            "journey_sink_retries", "Insert retries since the worker started.", registry=r
        )
        self.sink_last_flush = Gauge(
            "journey_sink_last_flush_timestamp_seconds",
            "Unix time of the last successful ClickHouse write.", registry=r,
        )
        self.sink_pending = Gauge(
            "journey_sink_pending_rows", "Rows buffered for ClickHouse, not written yet.",
            registry=r,
        )
        self.rebalancing = Gauge(
            "journey_worker_rebalancing",
            "1 while the consumer group is rebalancing (no records are processed).", registry=r,
        )
        self._rebalances: Callable[[], int] = lambda: 0
        self._children: dict[tuple[int, tuple[str, ...]], Counter] = {}
        self.view = WorkerView()
        r.register(_ViewCollector(self))

    # ------------------------------------------------------------------ hot path
    def consumed(self, event_type: str, n: int = 1) -> None:
        self.events_consumed.labels(event_type).inc(n)

    def processed(self, events: Iterable[tuple[int, str, Mapping[str, Any], Any]]) -> None:
        """Count applied events (``Result.events``: (partition, event type, event, record))."""
        counts: dict[str, int] = {}
        for _, event_type, _, _ in events:
            counts[event_type] = counts.get(event_type, 0) + 1
        for event_type, n in counts.items():
            self.events_processed.labels(event_type).inc(n)

    def dead_lettered(self, reason: str, event_type: str = "unknown") -> None:
        self.events_dead_lettered.labels(reason, event_type).inc()

    def held(self, n: int) -> None:
        self.events_held.inc(n)

    def too_late(self, event_type: str) -> None:
        self.events_too_late.labels(event_type).inc()

    def output(self, out: Any) -> None:
        """Count one engine record (or a record kind, as text). Called per record: label
        children are cached (``labels()`` costs several microseconds, ``inc()`` far less)."""
        if isinstance(out, str):
            self._child(self.records_emitted, out).inc()
            return
        self._child(self.records_emitted, out.kind).inc()
        t = type(out)
        if t is StallRaised:
            self._child(self.stalls_raised, out.rule).inc()
        elif t is StallCleared:
            self._child(self.stalls_cleared, out.rule).inc()
        elif t is Defection:
            self._child(self.defections, out.defection_kind, out.window).inc()
        elif t is Resurrection:
            self._child(self.resurrections, out.defection_kind).inc()

    def _child(self, counter: Counter, *labels: str) -> Counter:
        key = (id(counter), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = counter.labels(*labels)
        return child

    def batch(self, seconds: float) -> None:
        self.batch_seconds.observe(seconds)

    def flushed(self, seconds: float, rows: int, batcher: Batcher) -> None:
        self.sink_flush_seconds.observe(seconds)
        self.sink_rows.inc(rows)
        self.sink_retries.set(batcher.retries)
        if batcher.last_flush_at is not None:
            self.sink_last_flush.set(batcher.last_flush_at)

    # ------------------------------------------------------------------ live values
    def watch_batcher(self, batcher: Batcher) -> None:
        """Read retries, the last flush time and pending rows from ``batcher`` at scrape time.

        Live during an outage: the write that is retrying has not returned yet, but the
        scrape shows its retries climbing and the last successful flush getting older.
        """
        self.sink_retries.set_function(lambda: batcher.retries)
        self.sink_last_flush.set_function(lambda: batcher.last_flush_at or 0.0)
        self.sink_pending.set_function(lambda: batcher.pending)

    def watch_app(self, app: Any) -> None:
        """Rebalancing state and count of a Faust app (plain attribute reads at scrape)."""
        self.rebalancing.set_function(lambda: float(bool(getattr(app, "rebalancing", False))))
        self._rebalances = lambda: int(getattr(app, "rebalancing_count", 0))

    def refresh(self, processor: Processor) -> WorkerView:
        """Rebuild the gauges' view from the processor (call from the worker's event loop)."""
        self.view = view_of(processor)
        return self.view

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        """Expose ``/metrics`` over HTTP (port 0 = do not serve)."""
        if port > 0:
            start_http_server(port, addr=addr, registry=self.registry)


class _ViewCollector(Collector):
    """Gauges from the last :class:`WorkerView` (swapped atomically by ``refresh``)."""

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def describe(self) -> list[Metric]:
        return []  # unchecked collector: its series vary with topics, stages and channels

    def collect(self) -> Iterator[Metric]:
        m = self._m
        v = m.view
        j = v.journey
        lag = GaugeMetricFamily(
            "journey_consumer_lag_records",
            "Records on the broker not yet consumed, per input topic (this worker's "
            "partitions).", labels=["topic"],
        )
        for topic, n in sorted(v.lag.items()):
            lag.add_metric([topic], n)
        yield lag
        latest = GaugeMetricFamily(
            "journey_latest_event_timestamp_seconds",
            "Highest event time (occurred_at) consumed per input topic, Unix seconds.",
            labels=["topic"],
        )
        for topic, t in sorted(v.latest_event_s.items()):
            latest.add_metric([topic], t)
        yield latest
        if v.latest_event_s:
            yield GaugeMetricFamily(
                "journey_event_freshness_seconds",
                "Now minus the newest event time consumed by this worker (event-time "
                "freshness).", value=time.time() - max(v.latest_event_s.values()),
            )
        if v.watermark_s is not None:
            yield GaugeMetricFamily(
                "journey_watermark_timestamp_seconds",
                "Lowest partition watermark of this worker: decisions up to it are final.",
                value=v.watermark_s,
            )
        yield GaugeMetricFamily(
            "journey_assigned_partitions", "Input partitions this worker is processing.",
            value=v.partitions,
        )
        yield CounterMetricFamily(
            "journey_worker_rebalances", "Consumer-group rebalances this worker went through.",
            value=m._rebalances(),
        )
        yield GaugeMetricFamily(
            "journey_customers", "New customers held by this worker (with an opening).",
            value=j.customers,
        )
        stages = GaugeMetricFamily(
            "journey_stage_customers",
            "Customers in each journey stage now, by opening channel.",
            labels=["stage", "channel"],
        )
        for (stage, channel), n in sorted(j.stages.items()):
            stages.add_metric([stage, channel], n)
        yield stages
        stalled = GaugeMetricFamily(
            "journey_stalled_customers",
            "Customers with the stall rule open now, by opening channel.",
            labels=["rule", "channel"],
        )
        for (rule, channel), n in sorted(j.stalled.items()):
            stalled.add_metric([rule, channel], n)
        yield stalled
        den = GaugeMetricFamily(
            "journey_cohort_customers",
            "Cohort-age slice denominator: customers whose opening is from_days..to_days "
            "before the partition watermark (slice = its stall rule), by opening channel.",
            labels=["slice", "channel"],
        )
        num = GaugeMetricFamily(
            "journey_cohort_stalled_customers",
            "Cohort-age slice numerator: customers of the slice with its stall rule open.",
            labels=["slice", "channel"],
        )
        for (rule, channel), (n, k) in sorted(j.slices.items()):
            den.add_metric([rule, channel], n)
            num.add_metric([rule, channel], k)
        yield den
        yield num
        ratio = GaugeMetricFamily(
            "journey_cohort_alert_threshold_ratio",
            "Configured alert threshold: share of a slice stalled (EngineConfig.cohort_slices).",
            labels=["slice"],
        )
        least = GaugeMetricFamily(
            "journey_cohort_alert_min_customers",
            "Configured alert floor: smallest slice (customers) worth alerting on.",
            labels=["slice"],
        )
        window = GaugeMetricFamily(
            "journey_cohort_slice_age_seconds",
            "Configured age bounds of each slice since opening (from_days, to_days), seconds.",
            labels=["slice", "bound"],
        )
        for s in m.cohort_slices:
            ratio.add_metric([s.rule], s.alert_ratio)
            least.add_metric([s.rule], s.min_customers)
            window.add_metric([s.rule, "from"], s.from_days * 86_400)
            window.add_metric([s.rule, "to"], s.to_days * 86_400)
        yield ratio
        yield least
        yield window
