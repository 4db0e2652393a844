"""The Grafana cohort dashboard (Grafana is not installable here): its structure, its data
source, that it is what the generator makes from the named queries, and that every panel's
SQL reads only tables the migrations create and runs on a real ClickHouse."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.analytics.grafana import DATASOURCE_UID, PANELS, dashboard
from streams.analytics.rollup import ROLLUP_DIR
from streams.store import Store
from streams.store.migrations import MIGRATIONS_DIR

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "journey-cohorts.json"
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning" / "journey-cohorts.yml"


def saved() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def tables_created() -> set[str]:
    files = [*sorted(MIGRATIONS_DIR.glob("*.sql")), *sorted(ROLLUP_DIR.glob("*.sql"))]
    text = "\n".join(p.read_text() for p in files)
    return set(re.findall(r"CREATE (?:TABLE|MATERIALIZED VIEW) IF NOT EXISTS (\w+)", text))


def tables_read(sql: str) -> set[str]:
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return set(re.findall(r"\b(?:FROM|(?<!ARRAY )JOIN)\s+([A-Za-z_]\w*)", code))


def test_saved_dashboard_is_the_generated_one() -> None:
    # Regenerate with: python -m streams.analytics.grafana > deploy/grafana/journey-cohorts.json
    assert saved() == json.loads(json.dumps(dashboard()))


def test_structure_and_datasource() -> None:
    board = saved()
    assert board["uid"] == "journey-cohorts" and board["schemaVersion"] >= 36
    panels = board["panels"]
    assert len(panels) == len(PANELS)
    assert len({p["id"] for p in panels}) == len(panels)
    provisioned = yaml.safe_load(PROVISIONING.read_text())
    [source] = provisioned["datasources"]
    assert source["uid"] == DATASOURCE_UID
    assert source["type"] == "grafana-clickhouse-datasource"
    assert "password" not in source["jsonData"]  # secrets only in secureJsonData (from env)
    assert provisioned["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards/journey"
    for p in panels:
        assert p["datasource"]["uid"] == DATASOURCE_UID
        assert p["targets"], f"panel {p['title']!r} has no query"
        for t in p["targets"]:
            assert t["datasource"]["uid"] == DATASOURCE_UID and t["rawSql"].strip()
        grid = p["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24 and grid["h"] > 0
    variables = {v["name"] for v in board["templating"]["list"]}
    for p in panels:
        for used in re.findall(r"\$\{(\w+)\}", p["targets"][0]["rawSql"]):
            assert used in variables


def test_panel_sql_reads_existing_tables_and_has_no_placeholders_left() -> None:
    known = tables_created()
    assert {"events", "customer_state", "defections", "stalls", "customer_activity"} <= known
    for p in saved()["panels"]:
        sql = p["targets"][0]["rawSql"]
        read = tables_read(sql)
        assert read and read <= known, f"{p['title']}: unknown tables {read - known}"
        assert not re.search(r"\{\w+:", sql), f"{p['title']}: an unbound placeholder"


@pytest.mark.parametrize("index", range(len(PANELS)))
def test_panel_sql_runs(population: Store, index: int) -> None:
    # Grafana would substitute its macros; here the time range is all of 2024 and the
    # variable takes its first option, then the SQL must run as is.
    sql = saved()["panels"][index]["targets"][0]["rawSql"]
    frm = int(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp())
    to = int(dt.datetime(2024, 12, 31, tzinfo=dt.UTC).timestamp())
    sql = (sql.replace("$__fromTime", f"toDateTime({frm}, 'UTC')")
              .replace("$__toTime", f"toDateTime({to}, 'UTC')")
              .replace("${cohort_grain}", "month"))  # fmt: skip
    assert not re.search(r"\$(__\w|\{)", sql), "a Grafana macro or variable left"
    rows = population.execute(sql)
    assert rows, f"panel {index} returned nothing on the test bank"
