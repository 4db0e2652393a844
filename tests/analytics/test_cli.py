"""``journey query`` and ``journey report`` as an analyst types them."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from streams.cli import main
from streams.store import Store


def journey(store: Store, *args: str) -> tuple[int, str]:
    url = store.test_url  # type: ignore[attr-defined]
    result = CliRunner().invoke(main, ["--clickhouse", url, *args])
    return result.exit_code, result.output


def test_list_shows_every_query_with_its_parameters() -> None:
    result = CliRunner().invoke(main, ["query", "--list"])
    assert result.exit_code == 0, result.output
    for name in ("retention_grid", "survival_km", "cohort_customers", "acquisition_economics"):
        assert f"\n{name}\n" in f"\n{result.output}"
    assert "--param cohort_grain=…  String, default 'month'" in result.output
    assert "one of: week, month" in result.output


def test_query_table_csv_json(population: Store) -> None:
    code, out = journey(population, "query", "survival_km", "-p", "group_by=all",
                        "-p", "as_of=2024-07-01T00:00:00", "--format", "csv")  # fmt: skip
    assert code == 0, out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["day"] for r in rows] == ["20", "30", "50", "95", "100", "146", "181"]
    assert rows[-1]["survival"] == "0.285714"  # 2/7
    code, out = journey(population, "query", "cohort_customers", "-p", "cohort=2024-01-01",
                        "-p", "status=defected_year_1", "--format", "json")  # fmt: skip
    assert code == 0, out
    data = json.loads(out)
    assert [d["customer_id"] for d in data] == ["c2", "c3"]
    assert data[0]["opened_at"] == "2024-01-10T12:00:00Z"
    code, out = journey(population, "query", "retention_brackets", "-p", "bounds=0,31,91,366",
                        "-p", "as_of=2024-07-01T00:00:00")  # fmt: skip
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["cohort", "bracket", "first_day"]
    assert lines[-1] == "(9 rows)"


def test_bad_parameters_are_usage_errors(population: Store) -> None:
    code, out = journey(population, "query", "survival_km", "-p", "group_by=nope")
    assert code == 2 and "not one of" in out
    code, out = journey(population, "query", "survival_km", "-p", "typo=1")
    assert code == 2 and "has no parameter 'typo'" in out
    code, out = journey(population, "query", "retention_grid", "-p", "period_days=many")
    assert code == 2 and "cannot read 'many'" in out
    code, out = journey(population, "query", "no_such_query")
    assert code == 2 and "known queries" in out


def test_show_sql_prints_the_file() -> None:
    result = CliRunner().invoke(main, ["query", "lifecycle", "--sql"])
    assert result.exit_code == 0
    assert result.output.startswith("-- name: lifecycle")


def test_report_command_writes_html(population: Store, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    code, text = journey(population, "report", "--out", str(out), "--as-of", "2024-07-01")
    assert code == 0, text
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_locked_embedded_store_says_what_to_do(tmp_path: Path) -> None:
    # Another process owns the chdb folder (as `journey up` would): the CLI, in a process of
    # its own, must explain instead of failing on a lock file.
    folder = tmp_path / "owned"
    owner = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from streams.store import open_store; "
         f"s = open_store('chdb://{folder}'); print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert owner.stdout is not None and owner.stdout.readline().strip() == "ready"
        env = {**os.environ, "JOURNEY_CLICKHOUSE__URL": f"chdb://{folder}"}
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "streams.cli", "query", "lifecycle"],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        assert "in use by another journey process" in done.stderr
        assert "Stop that process" in done.stderr
        assert time.monotonic() - started < 60
    finally:
        owner.kill()
        owner.wait()


def test_unmigrated_database_says_run_migrate(population: Store) -> None:
    url = population.test_url  # type: ignore[attr-defined]
    if url.startswith("chdb://"):
        other = url.replace("?database=", "?database=empty_")
    else:
        base, _, _db = url.rpartition("/")
        other = f"{base}/empty_{_db}"
    result = CliRunner().invoke(main, ["--clickhouse", other, "query", "lifecycle"])
    assert result.exit_code == 1
    assert "run `journey migrate` first" in result.output
