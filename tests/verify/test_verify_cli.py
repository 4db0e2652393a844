"""``journey verify`` against real ClickHouse (18.16 server and chdb): the verify queries, the
side-by-side table and the exit status, on a hand-made truth file and hand-inserted rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from streams.cli import main
from streams.store import Store
from streams.store.migrations import migrate

DAY_S = 86_400
OPEN_S = int(datetime(2024, 1, 10, 12, tzinfo=UTC).timestamp())
FEB_S = int(datetime(2024, 2, 3, 9, tzinfo=UTC).timestamp())


def _truth(path: Path) -> None:
    """Three customers: a day-20 closure (Jan, branch), a silent leaver whose last activity is
    day 50 (detected day 110: year 1), and a stayer who never funded (Feb, online)."""
    header = {
        "format": "journey-simulate-truth/1",
        "params": {"horizon_end": "2025-04-01", "dormancy_days": 60},
    }

    def c(cid: str, opened_s: int, channel: str, **kw: Any) -> dict[str, Any]:
        ms = opened_s * 1000
        base = {
            "customer_id": cid,
            "opened_at": ms,
            "channel": channel,
            "kind": None,
            "defection_at": None,
            "first_login_at": ms + 3_600_000,
            "funded_at": ms + 3_600_000,
            "debit_card_at": ms + 7_200_000,
            "bill_pay_at": None,
            "direct_deposit_at": None,
        }
        base.update(kw)
        return base

    rows = [
        c("c1", OPEN_S, "branch", kind="closure", defection_at=(OPEN_S + 20 * DAY_S) * 1000),
        c(
            "c2",
            OPEN_S,
            "branch",
            kind="silent_attrition",
            defection_at=(OPEN_S + 50 * DAY_S) * 1000,
        ),
        c("c3", FEB_S, "online", funded_at=None, debit_card_at=None),
    ]
    path.write_text("\n".join(json.dumps(r) for r in [header, *rows]) + "\n")


def _rows(store: Store) -> None:
    """What a correct worker writes for those three customers (the columns verify reads)."""
    store.insert(
        "customer_state",
        ["customer_id", "opened_at", "opening_channel", "version"],
        [["c1", "c2", "c3"], [OPEN_S, OPEN_S, FEB_S], ["branch", "branch", "online"], [5, 5, 5]],
    )
    store.insert(
        "defections",
        ["record_id", "customer_id", "kind", "defected_at", "detected_at", "opened_at",
         "days_since_opening", "window", "opening_channel", "version"],
        [["c1:d:1", "c2:d:1"], ["c1", "c2"], ["closure", "dormancy"],
         [OPEN_S + 20 * DAY_S, OPEN_S + 110 * DAY_S], [OPEN_S + 20 * DAY_S, OPEN_S + 110 * DAY_S],
         [OPEN_S, OPEN_S], [20, 110], ["day_90", "year_1"], ["branch", "branch"], [1, 1]],
    )  # fmt: skip
    # c3 never funded: not_funded_by_day_30; with one sticky service (digital), no_sticky too;
    # the rolling rule is reported but not checked
    stalls = [("not_funded_by_day_30", 30), ("no_sticky_by_day_90", 90),
              ("no_activity_30_days_in_day_90", 30)]  # fmt: skip
    store.insert(
        "stalls",
        ["record_id", "customer_id", "milestone", "deadline_day", "deadline_at", "detected_at",
         "opened_at", "window", "version"],
        [[f"c3:{r}" for r, _ in stalls], ["c3"] * 3, [r for r, _ in stalls],
         [d for _, d in stalls], [FEB_S + d * DAY_S for _, d in stalls],
         [FEB_S + d * DAY_S for _, d in stalls], [FEB_S] * 3, ["day_90"] * 3, [1] * 3],
    )  # fmt: skip


def _verify(url: str, truth: Path, *extra: str) -> Any:
    return CliRunner().invoke(
        main, ["--clickhouse", url, "verify", "--truth", str(truth), *extra],
        catch_exceptions=False,
    )  # fmt: skip


def test_verify_matches_then_reports_the_difference(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    migrate(store)
    truth = tmp_path / "truth.jsonl"
    _truth(truth)
    _rows(store)

    ok = _verify(store_url, truth, "--format", "json")
    assert ok.exit_code == 0, ok.output
    answer = json.loads(ok.output[ok.output.index("{") :])
    cells = {(x["metric"], x["cell"]): (x["expected"], x["got"]) for x in answer["lines"]}
    assert cells[("defections", "closure")] == (1, 1)
    assert cells[("defections", "silent_attrition")] == (1, 1)
    assert cells[("defected_day_90", "202401 branch")] == (1, 1)
    assert cells[("defected_year_1", "202401 branch")] == (2, 2)
    assert cells[("customers", "202402 online")] == (1, 1)
    assert cells[("stalls", "no_login_by_day_7")] == (0, 0)
    assert cells[("stalls", "not_funded_by_day_30")] == (1, 1)
    assert answer["not_checked"] == {"no_activity_30_days_in_day_90": 1}
    assert answer["mismatches"] == 0

    # a later version of c2's defection (same record id) that lands in day 90: FINAL sees it
    store.insert(
        "defections",
        ["record_id", "customer_id", "kind", "defected_at", "detected_at", "opened_at",
         "days_since_opening", "window", "opening_channel", "version"],
        [["c2:d:1"], ["c2"], ["dormancy"], [OPEN_S + 80 * DAY_S], [OPEN_S + 80 * DAY_S],
         [OPEN_S], [80], ["day_90"], ["branch"], [2]],
    )  # fmt: skip
    bad = _verify(store_url, truth)
    assert bad.exit_code == 1
    lines = [x for x in bad.output.splitlines() if "defected_day_90" in x]
    assert any("202401 branch" in x and "+1" in x for x in lines), bad.output
    assert "1 of" in bad.output and "cells differ" in bad.output

    # as of before the first opening nothing has happened, on either side
    early = _verify(store_url, truth, "--as-of", "2024-01-01", "--only-diff")
    assert early.exit_code == 0, early.output  # the queries filter by the same instant
    assert "all cells match" in early.output
