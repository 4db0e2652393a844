"""``journey query`` and ``journey report``: the analysts' commands.

``c`` is the main group's ``Context`` (``streams.cli``), passed as the click object rather than
imported, so ``streams.cli`` can import this module without a cycle.

Both read the store named by the settings (``JOURNEY_CLICKHOUSE__URL`` or ``--clickhouse``), a
ClickHouse server or the embedded chdb folder, and run the named queries of ``sql/queries``
with their parameters bound as ClickHouse query parameters.  Heavy imports stay inside the
commands so ``journey --help`` stays instant.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from streams.store import Store


def open_analytics_store(url: str) -> Store:
    """Open the configured store, or say plainly what to do when it cannot be opened.

    chdb lets one process own a data folder: while ``journey up`` (or a worker) runs on it,
    ``open_store`` answers with a read-only store that goes through that process's query relay
    (:mod:`streams.store.relay`).  An owner without a relay (a script, another command, an
    owner whose relay file is stale) leaves the folder locked, and the useful answer is how to
    get at the data, not a lock-file error.
    """
    from streams.store import StoreError, open_store, redact_url
    from streams.store.embedded import FolderOwnedError

    try:
        store = open_store(url)
    except FolderOwnedError as exc:
        stale = f" ({exc.detail})" if exc.detail else ""
        raise click.ClickException(
            f"the embedded store {url} is in use by another journey process that does not "
            f"relay queries{stale}: chdb lets one process own a data folder, and `journey up`, "
            "`journey worker` and `journey demo` answer other processes' queries, but a script "
            "or another command holding the folder does not. Stop that process and run this "
            "command again, or run the stack against a ClickHouse server "
            "(JOURNEY_CLICKHOUSE__URL=clickhouse://...)."
        ) from exc
    except StoreError as exc:
        raise click.ClickException(f"cannot open {redact_url(url)}: {exc.message}") from exc
    try:
        prepare(store)
    except BaseException:
        store.close()
        raise
    return store


def prepare(store: Store) -> None:
    """Make sure the analytics roll-ups exist (the first time: one back-fill over events)."""
    from streams.analytics.rollup import ensure_rollups, table_exists
    from streams.store import StoreError

    if not table_exists(store, "events"):
        raise click.ClickException(
            f"no journey tables in database {store.database!r}: run `journey migrate` first "
            "(or point --clickhouse / JOURNEY_CLICKHOUSE__URL at the journey database)"
        )
    try:
        filled = ensure_rollups(store)
    except StoreError as exc:
        raise click.ClickException(
            f"cannot prepare the analytics roll-ups (sql/analytics): {exc.message[:300]}. The "
            "ClickHouse user needs the right to create tables and views once (later runs only "
            "read)."
        ) from exc
    if filled:
        click.echo(f"built the analytics roll-ups from events: {', '.join(filled)}", err=True)


def _parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r}: write NAME=VALUE", param_hint="--param")
        out[name.strip()] = value
    return out


def _list_queries() -> str:
    from streams.analytics.catalogue import catalogue

    lines: list[str] = []
    for name, q in catalogue().items():
        lines.append(f"{name}")
        lines.append(f"    {q.description}")
        for p in q.params:
            default = "required" if p.required else f"default {p.default_text}"
            lines.append(f"    --param {p.name}=…  {p.type}, {default}")
            if p.doc:
                lines.append(f"        {p.doc}")
        lines.append("")
    return "\n".join(lines)


@click.command("query")
@click.argument("name", required=False)
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A query parameter (repeatable); see --list for each query's parameters.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--list",
    "list_",
    is_flag=True,
    help="List the named queries with their descriptions and parameters.",
)
@click.option(
    "--sql",
    "show_sql",
    is_flag=True,
    help="Print the query's SQL (to paste into clickhouse-client) instead of running it.",
)
@click.pass_obj
def query(c: Any, name: str | None, params: tuple[str, ...], fmt: str, list_: bool,
          show_sql: bool) -> None:  # fmt: skip
    """Run a named cohort query from sql/queries against the configured ClickHouse.

    \b
    Examples:
      journey query --list
      journey query retention_grid --param cohort_grain=week --param period_days=7
      journey query defection_rates -p breakdown=segment --format csv > rates.csv
      journey query cohort_customers -p cohort=2024-03-01 -p status=defected_day_90 --format csv

    \b
    Parameter values are typed by the query's header: dates as 2024-01-31, times as
    2024-01-31T00:00:00 (UTC), arrays as 0,31,91,366, NULL (or empty) for "not set". They are
    sent as ClickHouse query parameters, never pasted into the SQL. Most queries take as_of,
    the data's "now" (default: the latest event time), so results are reproducible.

    With the embedded store (chdb://, the default) the folder belongs to one process at a
    time; while `journey up` or `journey worker` owns it, the query runs through that process
    (read-only statements only).
    """
    from streams.analytics.catalogue import get_query
    from streams.analytics.formatting import render
    from streams.store import StoreError

    if list_:
        click.echo(_list_queries(), nl=False)
        return
    if not name:
        raise click.UsageError("name a query (see `journey query --list`)")
    try:
        named = get_query(name)
        bound = named.bind(_parse_params(params))
    except StoreError as exc:  # unknown query or parameter, bad value
        raise click.UsageError(exc.message) from exc
    if show_sql:
        click.echo(named.sql)
        return
    store = open_analytics_store(c.settings.clickhouse.store_url())
    try:
        result = store.query_columns(named.sql, bound)
    except StoreError as exc:
        raise click.ClickException(f"{name}: {exc.message}") from exc
    finally:
        store.close()
    sys.stdout.write(render(result, fmt))  # type: ignore[arg-type]


@click.command("report")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The HTML file to write.",
)
@click.option(
    "--as-of",
    "as_of",
    metavar="TIME",
    help="The data's 'now' (ISO-8601, UTC); default: the latest event time.",
)
@click.option("--title", default="New-customer defection report", show_default=True)
@click.pass_obj
def report(c: Any, out: Path, as_of: str | None, title: str) -> None:
    """Write a self-contained HTML report of where and when new customers defect.

    \b
    One file, no network needed to open or mail it (charts are inline SVG drawn by journey):
      - retention heat map by opening cohort (30-day periods since opening)
      - survival curves (Kaplan-Meier, censored) by opening channel
      - defections by journey stage reached and by week since opening (with the hazard)
      - onboarding milestone funnel, and the missed milestones that precede defection
      - complaint -> defection linkage
    Each chart is built from the named query of the same name (journey query --list).
    """
    from streams.analytics.catalogue import parse_text
    from streams.analytics.report import build_report
    from streams.store import StoreError
    from streams.store.types import parse_type

    when = None
    if as_of:
        try:
            when = parse_text(as_of, parse_type("DateTime('UTC')"), "--as-of")
        except StoreError as exc:
            raise click.BadParameter(exc.message, param_hint="--as-of") from exc
    store = open_analytics_store(c.settings.clickhouse.store_url())
    try:
        html = build_report(store, as_of=when, title=title)
    except StoreError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        store.close()
    out.write_text(html, encoding="utf-8")
    click.echo(f"wrote {out} ({len(html) / 1024:.0f} KiB)")
