"""Debian's Prometheus scrapes a real worker and the onboarding-stall alert goes to firing.

One worker (real process, Tansu broker, chdb) and one Prometheus (loopback, 1 s scrape and
evaluation) loaded with the shipped rules, every ``for:`` shortened to 2 s
(``streams.testing.prometheus.fast_rules``; nothing else changes). The worker's cohort slice
floor is lowered to 5 customers (``JOURNEY_ENGINE``) so that a few dozen customers suffice.

1. Healthy traffic: openers over days 0-7 who all log in the next day, then a few customers on
   day 16 whose events move the partition's event time on. The no-login slice (openers 7-14
   days before the watermark) is populated and its share is 0: the alert stays silent over
   several evaluations (the freshness alert does fire: the traffic is from 2024). The scrape
   passes ``promtool check metrics``.
2. A stalling cohort: 30 online openers on days 17-18 who never log in; then other customers'
   events on day 27 push the watermark past their day-7 deadline. The alert goes to firing
   for slice ``no_login_by_day_7``, channel ``online``, and for nothing else.

The delay from producing the events that move the watermark past the deadline to the alert's
expression turning true (Prometheus's ``activeAt``) is printed (run with ``-s``).
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from streams.engine.builders import day, login, opened
from streams.kafka.clients import admin_config
from streams.kafka.produce import produce_records
from streams.kafka.topics import create_topics
from streams.settings import Settings
from streams.testing.prometheus import PrometheusServer, fast_rules, find_tool
from streams.testing.worker import WorkerProcess, worker_env

pytestmark = [pytest.mark.broker, pytest.mark.prometheus, pytest.mark.slow]

T0 = 1_717_372_800_000  # 2024-06-03T00:00:00Z
ALERT = "JourneyOnboardingStallShareHigh"
CHANNELS = ("online", "branch", "mobile")
SLICES = [
    {"rule": "no_login_by_day_7", "from_days": 7, "to_days": 14, "alert_ratio": 0.3,
     "min_customers": 5},
    {"rule": "not_funded_by_day_30", "from_days": 30, "to_days": 37, "alert_ratio": 0.35,
     "min_customers": 5},
]  # fmt: skip


def _healthy() -> list[tuple[str, dict[str, Any]]]:
    evs = []
    for i in range(30):
        t = T0 + i * day(0.25)
        cid = f"h{i}"
        evs += [opened(cid, t, channel=CHANNELS[i % 3]), login(cid, t + day(1))]
    for i in range(3):
        evs += [opened(f"t{i}", T0 + day(16), channel="branch"),
                login(f"t{i}", T0 + day(16.5))]  # fmt: skip
    return sorted(evs, key=lambda e: e[1]["occurred_at"])


def _stalling() -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, dict[str, Any]]]]:
    cohort = [opened(f"s{i}", T0 + day(17) + i * 3_600_000, channel="online") for i in range(30)]
    clock = []
    for i in range(3):
        clock += [opened(f"u{i}", T0 + day(27), channel="branch"),
                  login(f"u{i}", T0 + day(27.5))]  # fmt: skip
    return cohort, sorted(clock, key=lambda e: e[1]["occurred_at"])


def _wait(predicate: Any, timeout: float, what: str, worker: WorkerProcess,
          prom: PrometheusServer) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert worker.proc is not None and worker.proc.poll() is None, worker.output()
        time.sleep(0.25)
    raise AssertionError(f"timed out {what}\nworker:\n{worker.output()}\nprom:\n{prom.output()}")


def _value(prom: PrometheusServer, expr: str) -> dict[str, float]:
    return {
        r["metric"].get("channel", ""): float(r["value"][1]) for r in prom.query(expr)
    }


def test_stall_alert_fires_on_a_stalled_cohort_and_stays_silent_on_healthy_traffic(
    broker: str, topic_prefix: str, tmp_path: Path
) -> None:
    promtool = find_tool("promtool")
    settings = Settings(
        kafka={"bootstrap_servers": broker}, topics={"prefix": topic_prefix, "partitions": 1}
    )
    create_topics(settings, AdminClient(admin_config(settings.kafka)))
    env = worker_env(
        bootstrap=broker, prefix=topic_prefix, clickhouse_url=f"chdb://{tmp_path / 'chdb'}",
        data_dir=tmp_path / "worker",
    )  # fmt: skip
    env["JOURNEY_ENGINE"] = json.dumps({"cohort_slices": SLICES})
    worker = WorkerProcess(env).start()
    prom = PrometheusServer(
        tmp_path / "prometheus",
        [f"127.0.0.1:{worker.metrics_port}"],
        fast_rules(tmp_path / "rules", for_="2s"),
    )
    try:
        prom.start()
        # ---- 1. healthy traffic: the slice is populated, the share is 0, no alert
        healthy = _healthy()
        assert produce_records(healthy, settings).total_sent == len(healthy)
        _wait(
            lambda: sum(_value(prom, 'journey:cohort_customers:sum{slice="no_login_by_day_7"}')
                        .values()) >= 24,
            120, "for the healthy cohort in Prometheus", worker, prom,
        )  # fmt: skip
        ratios = _value(prom, 'journey:cohort_stalled:ratio{slice="no_login_by_day_7"}')
        assert set(ratios) == set(CHANNELS) and all(v == 0 for v in ratios.values()), ratios
        dens = _value(prom, 'journey:cohort_customers:sum{slice="no_login_by_day_7"}')
        assert all(v >= 5 for v in dens.values()), dens  # above the floor: a real evaluation
        seen_at = time.time()
        time.sleep(6)  # several evaluations, each longer than for: 2s
        rule = prom.rule(ALERT)
        assert rule["health"] == "ok", rule
        evaluated = datetime.fromisoformat(rule["lastEvaluation"].replace("Z", "+00:00"))
        assert evaluated.timestamp() > seen_at + 2
        assert prom.alerts(ALERT) == [] and rule["state"] == "inactive", rule
        retention = [a for a in prom.alerts() if a["labels"].get("team") == "retention"]
        assert retention == []  # no other journey alert either
        # the traffic is from 2024: the event-time freshness alert does fire, as it should
        assert [a["state"] for a in prom.alerts("JourneyEventTimeStale")] == ["firing"]

        body = urllib.request.urlopen(
            f"http://127.0.0.1:{worker.metrics_port}/metrics", timeout=5
        ).read()
        lint = subprocess.run(
            [promtool, "check", "metrics"], input=body, capture_output=True, timeout=30
        )
        assert lint.returncode == 0, lint.stdout.decode() + lint.stderr.decode()
        text = body.decode()
        assert "journey_stage_customers{" in text and "journey_cohort_stalled_customers{" in text
        assert 'customer_id' not in text and '"h1"' not in text  # no per-customer labels

        # ---- 2. a cohort of online openers who never log in
        cohort, clock = _stalling()
        produce_records(cohort, settings)
        time.sleep(2)  # openings consumed first; the watermark is still before their deadline
        assert prom.alerts(ALERT) == []
        produce_records(clock, settings)
        moved_at = time.time()
        _wait(lambda: any(a["state"] == "firing" for a in prom.alerts(ALERT)),
              90, "for the stall alert to fire", worker, prom)  # fmt: skip
        alerts = prom.alerts(ALERT)
        assert [(a["labels"]["slice"], a["labels"]["channel"], a["labels"]["severity"])
                for a in alerts] == [("no_login_by_day_7", "online", "warning")]  # fmt: skip
        retention = [a for a in prom.alerts() if a["labels"].get("team") == "retention"]
        assert retention == alerts
        ratio = float(alerts[0]["value"])
        assert ratio == pytest.approx(1.0), alerts  # s0..s29 only: all stalled
        assert alerts[0]["annotations"]["runbook_url"].endswith("#journeyonboardingstallsharehigh")
        active = datetime.fromisoformat(alerts[0]["activeAt"].replace("Z", "+00:00"))
        stalled = _value(prom, 'sum by (channel) (journey_stalled_customers'
                               '{rule="no_login_by_day_7"})')  # fmt: skip
        assert stalled.get("online") == 30, stalled
        print(
            f"\ndeadline passed (watermark-moving events produced) -> alert expression true: "
            f"{active.timestamp() - moved_at:.1f} s; -> firing (for: 2s): "
            f"{time.time() - moved_at:.1f} s (scrape/evaluation 1 s, checkpoint 1 s, idle 1 s)"
        )
    finally:
        prom.stop()
        worker.stop()
