"""`journey query` and `journey report` while another process owns the chdb folder.

The owner is a real second process that opens the folder with the worker's ``prepare_store``
(the code path of ``journey up`` / ``journey worker``, which starts the query relay) and loads
the seven-customer bank; the commands run here, in this process, against ``chdb://FOLDER``
exactly as an analyst types them, and must print what the same query prints on the folder
directly (rendered in the owner).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.store.relay import RELAY_FILE
from streams.testing.relay_owner import Owner

POPULATION = str(Path(__file__).resolve().parent)


@pytest.fixture(scope="module")
def owner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Owner]:
    folder = tmp_path_factory.mktemp("relay-cli") / "chdb"
    with Owner(folder) as proc:
        proc.call(op="load", database="default", population=POPULATION, rollups=True)
        proc.call(op="load", database="fresh", population=POPULATION, rollups=False)
        yield proc


def journey(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--clickhouse", url, *args])
    return result.exit_code, result.stdout, result.stderr


CASES = [
    ("cohort_customers", {"cohort": "2024-01-01", "status": "defected_year_1"}),
    ("survival_km", {"group_by": "all", "as_of": "2024-07-01T00:00:00"}),
    ("retention_brackets", {"bounds": "0,31,91,366", "as_of": "2024-07-01T00:00:00"}),
    ("defection_rates", {"breakdown": "segment", "as_of": "2024-07-01T00:00:00"}),
    ("lifecycle", {}),
]


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
@pytest.mark.parametrize(("name", "params"), CASES, ids=[c[0] for c in CASES])
def test_query_prints_what_a_direct_query_prints(
    owner: Owner, name: str, params: dict[str, str], fmt: str
) -> None:
    args = [a for k, v in params.items() for a in ("-p", f"{k}={v}")]
    code, out, err = journey(f"chdb://{owner.folder}", "query", name, *args, "--format", fmt)
    assert code == 0, err
    direct = owner.call(op="named", name=name, params=params, fmt=fmt)["text"]
    assert out == direct
    assert out.count("\n") >= 2  # a header and rows, not an empty answer


def test_values_survive_the_trip(owner: Owner) -> None:
    code, out, err = journey(f"chdb://{owner.folder}", "query", "cohort_customers",
                             "-p", "cohort=2024-01-01", "-p", "status=defected_year_1",
                             "--format", "json")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert [d["customer_id"] for d in data] == ["c2", "c3"]
    assert data[0]["opened_at"] == "2024-01-10T12:00:00Z"


def test_report_is_the_same_through_the_owner(owner: Owner, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    code, text, err = journey(f"chdb://{owner.folder}", "report", "--out", str(out),
                              "--as-of", "2024-07-01")  # fmt: skip
    assert code == 0, err
    assert text.startswith(f"wrote {out}")
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Data as of 2024-07-01 00:00 UTC" in html
    assert html == owner.call(op="report", as_of="2024-07-01T00:00:00")["html"]


def test_first_query_has_the_owner_build_the_roll_ups(owner: Owner) -> None:
    url = f"chdb://{owner.folder}?database=fresh"
    assert "customer_activity" not in owner.call(op="tables", database="fresh")["tables"]
    code, out, err = journey(url, "query", "milestone_funnel", "--format", "csv")
    assert code == 0, err
    assert "built the analytics roll-ups from events: customer_activity" in err
    assert "customer_activity" in owner.call(op="tables", database="fresh")["tables"]
    direct = owner.call(op="named", database="fresh", name="milestone_funnel", fmt="csv")
    assert out == direct["text"] and out.count("\n") > 1
    code, again, err = journey(url, "query", "milestone_funnel", "--format", "csv")
    assert (code, again) == (0, out) and "built" not in err  # once


def test_an_owner_without_relay_still_says_what_to_do(tmp_path: Path) -> None:
    folder = tmp_path / "chdb"
    with Owner(folder, relay=False):
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        relay = {"protocol": 1, "pid": dead.pid, "host": "127.0.0.1", "port": 9, "token": "t"}
        (folder / RELAY_FILE).write_text(json.dumps(relay))
        code, out, err = journey(f"chdb://{folder}", "query", "lifecycle")
    assert (code, out) == (1, "")
    assert "in use by another journey process that does not relay queries" in err
    assert f"(the query relay file names process {dead.pid}, which is not running)" in err
    assert "Stop that process" in err
