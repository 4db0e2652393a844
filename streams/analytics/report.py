"""The analysts' HTML report: one self-contained file built from the named queries.

Why one file with inline SVG and a few lines of inline script: an analyst opens it offline or
mails it; nothing is fetched (no CDN, no fonts), so it renders the same anywhere.  Each chart is
the picture of one named query (its name is under the chart, so the numbers can be reproduced
with ``journey query NAME``), and every query runs with the same ``as_of``, so the charts agree.
The inline script only checks the page: it marks each chart ``data-rendered="yes"`` once its
SVG has a laid-out size and shapes, and counts script errors in ``data-errors`` on ``<body>``
(the headless-browser test reads both).
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from streams.analytics import charts
from streams.analytics.catalogue import get_query
from streams.analytics.formatting import text
from streams.store.base import Store

#: (chart id, title, named query, parameters): the charts of the report, in order.
CHARTS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("retention", "Retention by opening cohort (share active in each 30-day period since opening)",
     "retention_grid", {"cohort_grain": "month", "period_days": 30}),
    ("survival", "Survival by opening channel (Kaplan-Meier, customers still here are censored)",
     "survival_km", {"group_by": "opening_channel"}),
    ("stages", "Where: first defections by journey stage reached", "defections_where",
     {"group_by": "stage"}),
    ("weeks", "When: first defections by week since opening, with the weekly hazard",
     "defection_timing", {"bucket_days": 7}),
    ("funnel", "Onboarding funnel: milestones reached in time, in order", "milestone_funnel", {}),
    ("missed", "Missed milestones that preceded a defection", "missed_milestones", {}),
    ("complaints", "Complaint -> defection within 60 days of the complaint (non-complainants: "
     "of opening)", "complaint_linkage", {"within_days": 60}),
)  # fmt: skip

CHECK_SCRIPT = """
(function () {
  var errors = [];
  window.addEventListener('error', function (e) { errors.push(String(e.message)); });
  document.addEventListener('DOMContentLoaded', function () {
    var figures = document.querySelectorAll('figure.chart');
    for (var i = 0; i < figures.length; i++) {
      var svg = figures[i].querySelector('svg');
      var box = svg ? svg.getBBox() : null;
      var shapes = svg ? svg.querySelectorAll('rect.cell, rect.bar, path.curve, polyline.line')
                       : [];
      var ok = box && box.width > 0 && box.height > 0 && shapes.length > 0;
      figures[i].setAttribute('data-shapes', String(shapes.length));
      figures[i].setAttribute('data-rendered', ok ? 'yes' : 'no');
    }
    document.body.setAttribute('data-errors', String(errors.length));
    document.body.setAttribute('data-ready', 'yes');
  });
})();
"""

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #111; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.1em; margin: 1.6em 0 0.4em; }
p.meta { color: #555; margin-top: 0; } figure.chart { margin: 0 0 1em; }
figcaption { color: #555; font-size: 0.85em; } code { background: #f3f3f3; padding: 0 3px; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.4em 0 1em; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
"""


def _chart(chart_id: str, rows: list[dict[str, Any]]) -> str:
    """The SVG of one chart from its query's rows."""
    if chart_id == "retention":
        cohorts = sorted({r["cohort"].strftime("%Y-%m") for r in rows})
        periods = sorted({r["period"] for r in rows})
        values = {(r["cohort"].strftime("%Y-%m"), str(r["period"])): r["rate_on"] for r in rows}
        counts = {(r["cohort"].strftime("%Y-%m"), str(r["period"])): r["eligible"] for r in rows}
        return charts.heatmap(cohorts, [str(p) for p in periods], values, counts=counts,
                              label="retention heat map")  # fmt: skip
    if chart_id == "survival":
        series: dict[str, list[tuple[float, float]]] = {}
        for r in rows:
            series.setdefault(r["curve"], []).append((float(r["day"]), float(r["survival"])))
        return charts.step_curves(series, label="survival curves", xlabel="days since opening",
                                  ylabel="not yet defected")  # fmt: skip
    if chart_id == "stages":
        cats = [r["value"] for r in rows]
        stacks = {k: [float(r[k]) for r in rows] for k in ("closure", "silent_attrition", "other")}
        return charts.stacked_bars(cats, stacks, label="defections by stage")
    if chart_id == "weeks":
        return charts.columns_with_line(
            [r["bucket"] for r in rows], [float(r["defections"]) for r in rows],
            [r["hazard"] for r in rows], label="defections by week since opening",
            xlabel="week since opening", bar_label="defections", line_label="hazard",
        )  # fmt: skip
    if chart_id == "funnel":
        steps = [(r["milestone"], r["funnel"], r["population"]) for r in rows]
        return charts.funnel(steps, label="milestone funnel")
    if chart_id == "missed":
        return charts.stacked_bars(
            [r["rule"] for r in rows],
            {"first warning": [float(r["first_missed"]) for r in rows],
             "earlier warning too": [float(r["defected_after"] - r["first_missed"]) for r in rows]},
            label="missed milestones before defection", unit="defectors",
        )  # fmt: skip
    if chart_id == "complaints":
        cats = [" / ".join(x for x in (r["who"], r["category"], r["resolution"]) if x)
                for r in rows]  # fmt: skip
        share = [100.0 * (r["rate_within"] or 0.0) for r in rows]
        return charts.stacked_bars(cats, {"% defected within 60 days": share},
                                   label="complaint linkage", unit="%")  # fmt: skip
    raise ValueError(f"unknown chart {chart_id!r}")


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(text(r[c]))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _run(store: Store, name: str, params: dict[str, Any], as_of: dt.datetime | None,
         ) -> list[dict[str, Any]]:  # fmt: skip
    return get_query(name).run(store, {**params, "as_of": as_of}).as_dicts()


def build_report(store: Store, *, as_of: dt.datetime | None = None,
                 title: str = "New-customer defection report") -> str:  # fmt: skip
    """The whole report as HTML text (``as_of`` None = the latest event time in the store)."""
    if as_of is None:
        latest = store.execute("SELECT max(occurred_at) FROM events")[0][0]
        as_of = latest if isinstance(latest, dt.datetime) else None
    sections = []
    for chart_id, heading, name, params in CHARTS:
        rows = _run(store, name, params, as_of)
        sections.append(
            f'<h2>{escape(heading)}</h2><figure class="chart" id="chart-{chart_id}" '
            f'data-chart="{chart_id}">{_chart(chart_id, rows)}'
            f"<figcaption>journey query {escape(name)}"
            + "".join(f" -p {escape(k)}={escape(str(v))}" for k, v in params.items())
            + "</figcaption></figure>"
        )
    rates = _run(store, "defection_rates", {"breakdown": "opening_channel"}, as_of)
    money = _run(store, "acquisition_economics", {}, as_of)
    when = as_of.strftime("%Y-%m-%d %H:%M UTC") if as_of else "no data"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{STYLE}</style>
<script>{CHECK_SCRIPT}</script></head>
<body>
<h1>{escape(title)}</h1>
<p class="meta">Data as of {escape(when)}. New customers followed from account opening
through day 90 and year 1; a customer counts once, at their first defection. Every chart and
table is a named query: <code>journey query --list</code>.</p>
{"".join(sections)}
<h2>Day-90 and year-1 defection rates by cohort and opening channel</h2>
{
        _table(
            rates,
            [
                "cohort",
                "breakdown_value",
                "customers",
                "defected_day_90",
                "rate_day_90",
                "closure_day_90",
                "silent_day_90",
                "defected_year_1",
                "rate_year_1",
            ],
        )
    }
<h2>Acquisition cost recovered? (default assumptions: journey query acquisition_economics)</h2>
{
        _table(
            money,
            [
                "opening_channel",
                "customers",
                "breakeven_days",
                "lost_before_breakeven",
                "recovered",
                "pending",
                "share_lost",
                "unrecovered_cost",
            ],
        )
    }
</body></html>
"""
