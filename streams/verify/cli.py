"""``journey verify --truth FILE``: ClickHouse's answers next to the ground truth's."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from streams.verify.expected import (
    DAY_MS,
    Line,
    Rules,
    compare,
    expected_answers,
    mismatches,
    read_truth_file,
)

#: Above this a threshold is "off" (no simulated amount reaches it).
_OFF = 10**12


def default_as_of(horizon_end_ms: int, allowed_lateness_s: int) -> int:
    """Latest instant every partition's decisions are surely final at, once the worker has
    read the whole simulated history: a partition's watermark ends at its latest event time
    minus the allowed lateness, and a simulated bank's partitions all have events within the
    last day before the horizon. Whole seconds (ClickHouse stores seconds)."""
    t = horizon_end_ms - allowed_lateness_s * 1000 - DAY_MS
    return t - t % 1000


def render(lines: list[Line], only_diff: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="journey verify: ClickHouse vs the simulator's ground truth")
    for col, justify in (("metric", "left"), ("cell", "left"), ("expected", "right"),
                         ("got", "right"), ("diff", "right")):  # fmt: skip
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for line in lines:
        if only_diff and line.ok:
            continue
        diff = line.diff
        style = None if line.ok else "bold red"
        table.add_row(
            line.metric,
            line.cell,
            str(line.expected),
            str(line.got),
            "" if diff == 0 else f"{diff:+d}" if diff is not None else "?",
            style=style,
        )
    Console(width=100).print(table)


@click.command("verify")
@click.option("--truth", "truth_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Ground truth written by `journey simulate --truth FILE`.")  # fmt: skip
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
              default=None, help="Compare decisions due before this UTC instant (default: the "
              "horizon minus the allowed lateness and one day).")  # fmt: skip
@click.option("--only-diff", is_flag=True, help="Print only the cells that differ.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@click.pass_obj
def verify(obj: Any, truth_path: Path, as_of: datetime | None, only_diff: bool, fmt: str) -> None:
    """Compare the cohort answers in ClickHouse with the simulator's ground truth.

    \b
    Expected answers are derived from the truth file alone, by the rules of docs/rules.md
    (not by the journey engine's code), with the thresholds of the current settings:
      defections       by kind (closure, silent_attrition)
      customers, defected_day_90, defected_year_1
                       per monthly opening cohort and opening channel
      stalls           per one-off stall rule (login / funded / sticky milestones)
    ClickHouse is asked with sql/queries/verify_*.sql. Prints metric, cell, expected, got
    and diff, and exits with status 1 when any cell differs.

    \b
    The simulator models silent attrition as dormancy. Run the worker with the amount-based
    silent rules off (JOURNEY_ENGINE__LARGE_OUTBOUND_MINOR and a negative
    JOURNEY_ENGINE__BALANCE_FLOOR_MINOR, see README "Simulate and verify") for an exact check.
    """
    from streams.store import open_store
    from streams.verify.observed import observed_answers

    settings = obj.settings
    cfg = settings.engine
    truth = read_truth_file(truth_path)
    rules = Rules.from_engine_config(cfg)
    simulated_dormancy = truth.params.get("dormancy_days")
    if simulated_dormancy is not None and simulated_dormancy != rules.dormancy_days:
        click.echo(
            f"warning: the truth was simulated with dormancy_days={simulated_dormancy}, the "
            f"settings say {rules.dormancy_days}",
            err=True,
        )
    if cfg.large_outbound_minor < _OFF or cfg.balance_floor_minor > -_OFF:
        click.echo(
            "note: outbound_transfer / balance_drained rules are on; the truth does not decide "
            "the amounts they look at, so silent-attrition cells may differ",
            err=True,
        )
    if as_of is None:
        as_of_ms = default_as_of(truth.horizon_end_ms, cfg.allowed_lateness_s)
    else:
        as_of_ms = int(as_of.replace(tzinfo=UTC).timestamp() * 1000)
    expected = expected_answers(truth.customers, rules, as_of_ms)
    store = open_store(settings.clickhouse.store_url())  # user, password, TLS merged in
    try:
        got = observed_answers(store, as_of_ms)
    finally:
        store.close()
    checked = {r.name for r in rules.checked_rules()}
    unchecked = {k: v for k, v in got.items() if k[0] == "stalls" and k[1] not in checked}
    got = {k: v for k, v in got.items() if k not in unchecked}
    lines = compare(expected, got)
    bad = mismatches(lines)
    as_of_text = datetime.fromtimestamp(as_of_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "as_of": as_of_text,
                    "customers": len(truth.customers),
                    "lines": [
                        {
                            "metric": x.metric,
                            "cell": x.cell,
                            "expected": x.expected,
                            "got": x.got,
                            "diff": x.diff,
                        }
                        for x in lines
                    ],
                    "not_checked": {k[1]: v for k, v in unchecked.items()},
                    "mismatches": len(bad),
                },
                indent=1,
            )
        )
    else:
        render(lines, only_diff)
        for (_, rule), n in sorted(unchecked.items()):
            click.echo(f"not checked (the truth does not decide it): stall {rule} = {n}")
        verdict = f"{len(bad)} of {len(lines)} cells differ" if bad else "all cells match"
        click.echo(f"as of {as_of_text} UTC, {len(truth.customers):,} customers: {verdict}")
    if bad:
        sys.exit(1)
