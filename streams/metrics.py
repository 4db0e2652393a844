"""Prometheus metrics of a worker: one prefix (``journey_``), base units, bounded labels only.

No label ever carries a customer id: labels are event types, reasons and record kinds, all
small fixed sets. Each worker exposes its own partitions' share; rules sum across workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

if TYPE_CHECKING:
    from streams.sink.batcher import Batcher


class Metrics:
    """The worker's metrics, in a registry of their own (several apps per process in tests)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.events_consumed = Counter(
            "journey_events_consumed_total", "Records read from input topics.", ["event_type"],
            registry=r,
        )
        self.events_dead_lettered = Counter(
            "journey_events_dead_lettered_total",
            "Records sent to the dead-letter or orphan topic, by reason.", ["reason"], registry=r,
        )
        self.events_too_late = Counter(
            "journey_events_too_late_total",
            "Events older than the partition watermark, sent to the too-late topic.",
            ["event_type"], registry=r,
        )
        self.records_emitted = Counter(
            "journey_records_emitted_total", "Journey records emitted by the engine, by kind.",
            ["kind"], registry=r,
        )
        self.sink_rows = Counter(
            "journey_sink_rows_written_total", "Rows written to ClickHouse.", registry=r
        )
        self.sink_flush_seconds = Histogram(
            "journey_sink_flush_duration_seconds", "Time to write one batch to ClickHouse.",
            registry=r, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.sink_retries = Gauge(
            "journey_sink_retries", "Insert retries since the worker started.", registry=r
        )
        self.sink_last_flush = Gauge(
            "journey_sink_last_flush_timestamp_seconds",
            "Unix time of the last successful ClickHouse write.", registry=r,
        )

    def consumed(self, event_type: str, n: int = 1) -> None:
        self.events_consumed.labels(event_type).inc(n)

    def dead_lettered(self, reason: str) -> None:
        self.events_dead_lettered.labels(reason).inc()

    def too_late(self, event_type: str) -> None:
        self.events_too_late.labels(event_type).inc()

    def output(self, kind: str) -> None:
        self.records_emitted.labels(kind).inc()

    def flushed(self, seconds: float, rows: int, batcher: Batcher) -> None:
        self.sink_flush_seconds.observe(seconds)
        self.sink_rows.inc(rows)
        self.sink_retries.set(batcher.retries)
        if batcher.last_flush_at is not None:
            self.sink_last_flush.set(batcher.last_flush_at)

    def watch_batcher(self, batcher: Batcher) -> None:
        """Read retries and the last flush time from ``batcher`` at scrape time.

        Live during an outage: the write that is retrying has not returned yet, but the
        scrape shows its retries climbing and the last successful flush getting older.
        """
        self.sink_retries.set_function(lambda: batcher.retries)
        self.sink_last_flush.set_function(lambda: batcher.last_flush_at or 0.0)

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        """Expose ``/metrics`` over HTTP (port 0 = do not serve)."""
        if port > 0:
            start_http_server(port, addr=addr, registry=self.registry)
