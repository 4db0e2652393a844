"""The Grafana cohort dashboard, generated from the named queries (``deploy/grafana``).

Why generated: a panel's SQL is the named query's SQL, so the dashboard cannot drift from what
``journey query`` and the report show.  Grafana's ClickHouse data source (the
``grafana-clickhouse-datasource`` plugin) has no ``{name:Type}`` parameters, so each
placeholder becomes a Grafana expression: the opening-date range comes from the dashboard's
time picker (``$__fromTime`` / ``$__toTime``), ``cohort_grain`` from a fixed-choice variable,
``as_of`` is NULL (the latest event), and every other parameter is its header default rendered
as a typed literal by :func:`streams.store.params.bind_client_side`.  The plugin needs a
ClickHouse it supports (a modern server); the SQL itself also runs on 18.16.

    python -m streams.analytics.grafana > deploy/grafana/journey-cohorts.json
"""

from __future__ import annotations

import json
import re
from typing import Any

from streams.analytics.catalogue import NamedQuery, get_query
from streams.store.params import bind_client_side

DATASOURCE_UID = "journey-clickhouse"
DATASOURCE = {"type": "grafana-clickhouse-datasource", "uid": DATASOURCE_UID}

#: Placeholders Grafana fills itself (all others take their header default).
GRAFANA_VALUES = {
    "from_date": "toDate($__fromTime)",
    "to_date": "toDate($__toTime)",
    "cohort_grain": "'${cohort_grain}'",
    "as_of": "CAST(NULL AS Nullable(DateTime('UTC')))",
}

#: (title, named query, parameter overrides, panel type, width, height)
PANELS: tuple[tuple[str, str, dict[str, Any], str, int, int], ...] = (
    ("Retention by opening cohort (share active per 30-day period)", "retention_grid", {},
     "table", 24, 9),
    ("Retention brackets (day 0-30 / 31-90 / 91-365)", "retention_brackets", {}, "table", 12, 8),
    ("Day-90 and year-1 defection rates by opening channel", "defection_rates", {}, "table", 12,
     8),
    ("Survival by opening channel (Kaplan-Meier, censored)", "survival_km", {}, "trend", 12, 9),
    ("First defections by week since opening, and the hazard", "defection_timing", {}, "trend",
     12, 9),
    ("Where: first defections by stage reached", "defections_where", {}, "barchart", 12, 8),
    ("Where: first defections by last touchpoint and channel", "defections_where",
     {"group_by": "touchpoint_channel"}, "barchart", 12, 8),
    ("Onboarding funnel (milestones in time, in order)", "milestone_funnel", {}, "bargauge", 12,
     8),
    ("Missed milestones before defection", "missed_milestones", {}, "table", 12, 8),
    ("Complaint -> defection within 60 days", "complaint_linkage", {}, "table", 12, 7),
    ("Lifecycle per month", "lifecycle", {}, "barchart", 12, 7),
    ("Acquisition cost recovered?", "acquisition_economics", {}, "table", 24, 6),
)  # fmt: skip


def panel_sql(query: NamedQuery, overrides: dict[str, Any] | None = None) -> str:
    """The query's SQL with Grafana's expressions and literal defaults in the placeholders."""
    sql = query.sql
    names = {p.name for p in query.params}
    for name, expr in GRAFANA_VALUES.items():
        if name in names:
            sql = re.sub(r"\{\s*" + name + r"\s*:(?:[^{}'\"]|'[^']*')*\}", expr, sql)
    rest = {p.name: v for p, v in zip(query.params, query.bind(overrides).values(), strict=True)
            if p.name not in GRAFANA_VALUES}  # fmt: skip
    return bind_client_side(sql, rest)


def _panel(pid: int, title: str, name: str, overrides: dict[str, Any], kind: str, w: int, h: int,
           x: int, y: int) -> dict[str, Any]:  # fmt: skip
    query = get_query(name)
    panel: dict[str, Any] = {
        "id": pid,
        "type": kind,
        "title": title,
        "description": f"{query.description} (journey query {name})",
        "datasource": DATASOURCE,
        "gridPos": {"h": h, "w": w, "x": x, "y": y},
        "targets": [{
            "refId": "A", "datasource": DATASOURCE, "editorType": "sql", "format": 1,
            "queryType": "table", "rawSql": panel_sql(query, overrides),
        }],
        "options": {},
        "fieldConfig": {"defaults": {}, "overrides": []},
    }  # fmt: skip
    if kind == "trend":
        x_field = "day" if name == "survival_km" else "start_day"
        panel["options"] = {"xField": x_field}
        if name == "survival_km":
            panel["transformations"] = [
                {"id": "partitionByValues", "options": {"fields": ["curve"]}}
            ]
            panel["fieldConfig"]["defaults"] = {
                "min": 0,
                "max": 1,
                "unit": "percentunit",
                "custom": {"lineInterpolation": "stepAfter"},
            }
    elif kind == "barchart":
        panel["options"] = {
            "orientation": "horizontal",
            "stacking": "normal",
            "xField": "period" if name == "lifecycle" else "value",
        }
    elif kind == "bargauge":
        panel["options"] = {
            "orientation": "horizontal",
            "displayMode": "basic",
            "reduceOptions": {"values": True, "calcs": [], "fields": "/^funnel_rate$/"},
        }
        panel["fieldConfig"]["defaults"] = {
            "unit": "percentunit",
            "min": 0,
            "max": 1,
            "displayName": "${__field.labels.milestone}",
        }
    return panel


def dashboard() -> dict[str, Any]:
    """The whole dashboard JSON (as a dict), panels laid out two per row."""
    panels, x, y, row_h = [], 0, 0, 0
    for pid, (title, name, overrides, kind, w, h) in enumerate(PANELS, start=1):
        if x + w > 24:
            x, y, row_h = 0, y + row_h, 0
        panels.append(_panel(pid, title, name, overrides, kind, w, h, x, y))
        x, row_h = x + w, max(row_h, h)
    return {
        "uid": "journey-cohorts",
        "title": "journey: new-customer cohorts",
        "description": "Where and when new customers defect: the named queries of sql/queries "
        "(journey query --list). The time picker selects the opening dates of the cohorts.",
        "tags": ["journey", "cohorts", "analytics"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "time": {"from": "now-1y", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "cohort_grain",
                    "label": "Cohort by",
                    "type": "custom",
                    "query": "month,week",
                    "current": {"text": "month", "value": "month"},
                    "options": [
                        {"text": "month", "value": "month", "selected": True},
                        {"text": "week", "value": "week", "selected": False},
                    ],
                    "hide": 0,
                }
            ]
        },
        "annotations": {"list": []},
        "links": [],
        "panels": panels,
    }


def main() -> None:
    print(json.dumps(dashboard(), indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
