"""The Grafana pipeline-health dashboard (Grafana is not installable here: structure, and every
query parsed by a real Prometheus against the metrics the worker really exports)."""

from __future__ import annotations

import json
import re
import sys
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from streams.engine import EngineConfig
from streams.metrics import Metrics
from streams.testing.prometheus import DEPLOY_DIR, PrometheusServer

DASHBOARD = DEPLOY_DIR / "grafana" / "journey-pipeline.json"
#: Series a dashboard may use besides the worker's: Prometheus's own.
PROMETHEUS_SERIES = {"up", "ALERTS"}
PROMQL_WORDS = {
    "sum", "by", "max", "min", "count", "rate", "increase", "time", "histogram_quantile",
    "le", "without", "on", "ignoring", "group_left", "avg",
}  # fmt: skip


def _dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def _panels() -> list[dict[str, Any]]:
    return [p for p in _dashboard()["panels"] if p["type"] != "row"]


def _exprs() -> list[str]:
    return [t["expr"] for p in _panels() for t in p["targets"]]


def _concrete(expr: str) -> str:
    return expr.replace("$instance", ".*").replace("$__rate_interval", "5m")


def _worker_metric_names() -> set[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "metrics"))
    from test_metrics import _processor  # a populated processor: every gauge has series

    m = Metrics(cohort_slices=EngineConfig().cohort_slices)
    m.refresh(_processor())
    names = set()
    for metric in m.registry.collect():
        if metric.type == "counter":
            names.add(f"{metric.name}_total")
        elif metric.type == "histogram":
            names |= {f"{metric.name}_{s}" for s in ("bucket", "sum", "count")}
        else:
            names.add(metric.name)
    return names


def test_dashboard_structure() -> None:
    d = _dashboard()
    assert d["uid"] == "journey-pipeline" and d["title"]
    assert isinstance(d["schemaVersion"], int) and d["schemaVersion"] >= 30
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["instance"]["includeAll"] and "journey-worker" in (
        variables["instance"]["definition"]
    )
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for p in d["panels"]:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
        xs, ys = range(g["x"], g["x"] + g["w"]), range(g["y"], g["y"] + g["h"])
        box = {(x, y) for x in xs for y in ys}
        assert not box & cells, f"panel {p['title']!r} overlaps another"
        cells |= box
    for p in _panels():
        assert p["title"] and p["targets"], p
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${datasource}" and t["expr"].strip(), p["title"]


def test_dashboard_queries_use_only_exported_metrics() -> None:
    exported = _worker_metric_names() | PROMETHEUS_SERIES
    used = set()
    for expr in _exprs():
        # identifiers not followed by "(" and not inside braces or quotes: series names
        bare = re.sub(r'"[^"]*"|\{[^}]*\}|\[[^\]]*\]', " ", expr)
        bare = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
        for name in re.findall(r"\b([A-Za-z_:][A-Za-z0-9_:]*)\b(?!\s*\()", bare):
            if name in PROMQL_WORDS or name.isdigit():
                continue
            used.add(name)
    assert used <= exported, used - exported
    # the pipeline's health signals are all on it
    for name in ("journey_consumer_lag_records", "journey_latest_event_timestamp_seconds",
                 "journey_sink_last_flush_timestamp_seconds", "journey_sink_retries",
                 "journey_events_dead_lettered_total", "journey_sink_flush_duration_seconds_bucket",
                 "journey_worker_rebalancing", "up"):  # fmt: skip
        assert name in used, name


@pytest.mark.prometheus
def test_every_dashboard_query_parses_in_prometheus(tmp_path: Path) -> None:
    exprs = _exprs()
    assert exprs, "the dashboard has no PromQL to check"
    prom = PrometheusServer(tmp_path / "prom", [], [])
    prom.start()
    try:
        for expr in exprs:
            try:
                prom.query(_concrete(expr))
            except urllib.error.HTTPError as exc:  # 400: bad PromQL
                raise AssertionError(f"{expr}: {exc.read().decode()}") from exc
    finally:
        prom.stop()
