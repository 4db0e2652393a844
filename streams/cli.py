"""The ``journey`` command line: one entry point, a subcommand per job.

Every subcommand reads the same settings object (``streams.settings``): environment variables
``JOURNEY_*``, a TOML file given with ``--config`` (or ``./journey.toml``), and defaults that run
the embedded stack. Heavy imports happen inside the commands so ``--help`` stays instant.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from streams.settings import Settings

HELP = """Follow every new bank customer from account opening through day 90 and year 1,
and see where and when they defect.

\b
Typical first run (embedded broker and chdb, nothing to install):
  journey demo                 simulate customers end to end and print a cohort summary
\b
Running it for real:
  journey topics create        create the event, derived and dead-letter topics
  journey migrate              create or upgrade the ClickHouse tables
  journey worker               run a stream worker (start several to share partitions)
  journey produce FILE         send events from a JSON-lines or CSV export
  journey up                   embedded broker + worker + chdb until Ctrl-C
  journey simulate             a synthetic bank's events (Kafka or JSON lines) + ground truth
  journey verify --truth FILE  ClickHouse's cohort answers vs the simulator's ground truth
  journey dlq inspect          what is in the dead-letter topic, and why
  journey dlq replay           send dead-lettered records back once the cause is fixed
  journey erase CUSTOMER_ID    delete one customer's rows from ClickHouse (right to erasure)
\b
For analysts:
  journey query --list         the named cohort queries (sql/queries) and their parameters
  journey query NAME           run one: retention, defection rates, survival, funnel, ...
  journey report --out F.html  a self-contained HTML report with the charts

\b
Configuration comes from JOURNEY_* environment variables (nested names joined by "__",
e.g. JOURNEY_KAFKA__BOOTSTRAP_SERVERS=broker:9092, JOURNEY_CLICKHOUSE__URL=clickhouse://...),
from a TOML file (--config, or ./journey.toml), and from defaults that run everything
embedded under ./journey-data. See README.md, "Configuration".
"""


class Context:
    """Lazily built settings shared by subcommands."""

    def __init__(self, config: Path | None, overrides: dict[str, Any]) -> None:
        self.config = config
        self.overrides = overrides
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from pydantic import ValidationError

            from streams.settings import load_settings

            if self.config is not None:
                os.environ["JOURNEY_CONFIG"] = str(self.config)
            try:
                self._settings = load_settings(**self.overrides)
            except ValidationError as exc:
                raise click.UsageError(f"invalid configuration:\n{exc}") from exc
        return self._settings


pass_ctx = click.make_pass_decorator(Context)


@click.group(help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML settings file (default: ./journey.toml when present).",
)
@click.option(
    "--kafka",
    "bootstrap",
    metavar="HOST:PORT",
    help="Kafka bootstrap servers; overrides JOURNEY_KAFKA__BOOTSTRAP_SERVERS.",
)
@click.option(
    "--clickhouse",
    "clickhouse_url",
    metavar="URL",
    help="chdb://PATH or clickhouse://USER:PASSWORD@HOST:9000/DB; "
    "overrides JOURNEY_CLICKHOUSE__URL.",
)
@click.version_option(package_name="journey")
@click.pass_context
def main(
    ctx: click.Context, config: Path | None, bootstrap: str | None, clickhouse_url: str | None
) -> None:
    overrides: dict[str, Any] = {}
    if bootstrap:
        overrides["kafka"] = {"bootstrap_servers": bootstrap}
    if clickhouse_url:
        overrides["clickhouse"] = {"url": clickhouse_url}
    ctx.obj = Context(config, overrides)


def _require_broker(settings: Settings) -> str:
    if not settings.kafka.bootstrap_servers:
        raise click.UsageError(
            "no Kafka broker configured: set JOURNEY_KAFKA__BOOTSTRAP_SERVERS or pass "
            "--kafka HOST:PORT (or use `journey up` / `journey demo`, which start one for you)"
        )
    # One connection as the clients will make it (TLS, CA): a wrong CA or a TLS/plaintext
    # mismatch is reported in one sentence instead of the clients' "transport failure".
    from streams.kafka.preflight import BrokerConnectionError, check_broker

    try:
        check_broker(settings.kafka)
    except BrokerConnectionError as exc:
        raise click.ClickException(str(exc)) from None
    return settings.kafka.bootstrap_servers


# --------------------------------------------------------------------------- topics
@main.group()
def topics() -> None:
    """Create and list Kafka topics (inputs, derived streams, dead letters)."""


@topics.command("create")
@pass_ctx
def topics_create(c: Context) -> None:
    """Create every topic journey uses, idempotently.

    The five input topics (one per event type, keyed by customer_id) and the derived topics
    all get the same partition count (JOURNEY_TOPICS__PARTITIONS), so inputs are
    co-partitioned and need no repartition hop. Existing topics are left as they are;
    input topics with differing partition counts are reported as an error.
    """
    from confluent_kafka.admin import AdminClient

    from streams.kafka.clients import admin_config
    from streams.kafka.topics import create_topics

    settings = c.settings
    _require_broker(settings)
    admin = AdminClient(admin_config(settings.kafka))
    for name, created in create_topics(settings, admin).items():
        click.echo(f"{'created' if created else 'exists':>8}  {name}")


@topics.command("list")
@pass_ctx
def topics_list(c: Context) -> None:
    """Print the topic names journey uses with the current settings."""
    from streams.kafka.topics import all_topics

    for key, name in all_topics(c.settings).items():
        click.echo(f"{key:<16} {name}")


# --------------------------------------------------------------------------- produce
@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "jsonl", "csv"]),
    default="auto",
    show_default=True,
    help="Input format; auto picks by file extension (.csv, else JSON lines).",
)
@pass_ctx
def produce(c: Context, path: Path, fmt: str) -> None:
    """Send events from a file to their topics, validating each one first.

    \b
    JSON lines: one object per line with "event_type" (account_opened, login, transaction,
    complaint, closure) and the fields of that event's schema (schemas/*.avsc).
    CSV: a header row with an event_type column and the fields; empty cells are nulls.
    occurred_at may be epoch milliseconds or ISO-8601 (UTC assumed when no offset).

    Invalid lines are reported with their line number and reason and are not sent; the
    command exits with status 1 when any line was invalid or undelivered.
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from streams.kafka.produce import produce_file

    settings = c.settings
    _require_broker(settings)
    size = path.stat().st_size
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task(f"producing {path.name}", total=size)

        def on_progress(lines: int, bytes_read: int) -> None:
            progress.update(task, completed=bytes_read)

        summary = produce_file(
            path,
            settings,
            fmt=None if fmt == "auto" else fmt,  # type: ignore[arg-type]
            progress=on_progress,
        )
    for event_type, n in sorted(summary.sent.items()):
        click.echo(f"sent {n:>9}  {event_type}")
    for problem in summary.problems:
        click.echo(f"invalid: {problem}", err=True)
    if summary.invalid:
        click.echo(f"{summary.invalid} invalid line(s) not sent", err=True)
    if summary.delivery_failures:
        click.echo(f"{summary.delivery_failures} event(s) not delivered", err=True)
    if summary.invalid or summary.delivery_failures:
        sys.exit(1)


# --------------------------------------------------------------------------- migrate
@main.group()
def dlq() -> None:
    """Inspect and replay the dead-letter topic.

    \b
    The worker never drops a record it cannot use: it goes to the dead-letter topic with its
    original bytes and headers saying why (reason, detail) and where it came from (topic,
    partition, offset). Reasons: not_avro, unknown_schema, wrong_topic, wrong_key, malformed,
    duplicate, orphan.
    """


@dlq.command("inspect")
@click.option("--reason", multiple=True, help="Only these reasons (repeatable).")
@click.option("--limit", default=50, show_default=True, help="Records to list (0 = all).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@pass_ctx
def dlq_inspect(c: Context, reason: tuple[str, ...], limit: int, fmt: str) -> None:
    """Count dead-lettered records by reason and list the latest ones."""
    import json

    from streams.kafka.dlq import read_dead_letters

    s = c.settings
    _require_broker(s)
    counts: dict[str, int] = {}
    shown: list[dict[str, Any]] = []
    try:
        for rec in read_dead_letters(s):
            counts[rec.reason] = counts.get(rec.reason, 0) + 1
            if not reason or rec.reason in reason:
                shown.append(rec.as_dict())
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    if limit:
        shown = shown[-limit:]
    if fmt == "json":
        click.echo(json.dumps({"counts": counts, "records": shown}, indent=2))
        return
    click.echo(f"dead-letter topic {s.topics.name('dead_letter')}: {sum(counts.values())} records")
    for r, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        click.echo(f"  {n:>8,}  {r}")
    for d in shown:
        click.echo(
            f"{d['dlq_partition']}:{d['dlq_offset']}  {d['reason']:<14} "
            f"{d['source_topic']}[{d['source_partition']}]@{d['source_offset']}  "
            f"key={d['key']}  {d['detail'][:120]}"
        )


@dlq.command("replay")
@click.option("--reason", multiple=True, help="Replay only these reasons (repeatable).")
@click.option("--all", "all_", is_flag=True, help="Replay every reason except duplicate.")
@click.option("--dry-run", is_flag=True, help="Say what would be replayed; send nothing.")
@pass_ctx
def dlq_replay(c: Context, reason: tuple[str, ...], all_: bool, dry_run: bool) -> None:
    """Send dead-lettered records back to the topic they came from, unchanged.

    Fix the cause first (register the schema, correct the producer): a record that is still
    bad is dead-lettered again. Duplicates are never replayed (they were applied already).
    """
    from streams.kafka.dlq import read_dead_letters, replay

    if not reason and not all_:
        raise click.UsageError("say which records: --reason REASON (repeatable) or --all")
    s = c.settings
    _require_broker(s)

    def accept(rec: Any) -> bool:
        return rec.reason != "duplicate" and (all_ or rec.reason in reason)

    try:
        summary = replay(s, read_dead_letters(s), accept, dry_run=dry_run)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    verb = "would replay" if dry_run else "replayed"
    click.echo(f"{verb} {summary.total} records; {summary.skipped} left in place")
    for topic, n in sorted(summary.replayed.items()):
        click.echo(f"  {n:>8,}  -> {topic}")


@main.command()
@pass_ctx
def migrate(c: Context) -> None:
    """Create or upgrade the ClickHouse tables from sql/migrations, idempotently.

    Applied migrations are recorded in the schema_migrations table; a migration file that
    changed after it was applied is refused (write a new numbered file instead).
    """
    from streams.store import open_store
    from streams.store.base import StoreError
    from streams.store.migrations import migrate as run_migrations

    try:
        store = open_store(c.settings.clickhouse.store_url())
        try:
            applied = run_migrations(store)
        finally:
            store.close()
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    if applied:
        for name in applied:
            click.echo(f"applied  {name}")
    else:
        click.echo("schema is up to date")


@main.command()
@click.argument("customer_id")
@click.option("--state", "with_state", is_flag=True,
              help="Also tombstone the customer's worker state (stop the workers first).")
@click.option("--timeout", default=300.0, show_default=True,
              help="Seconds to wait for ClickHouse to apply the deletions.")  # fmt: skip
@pass_ctx
def erase(c: Context, customer_id: str, with_state: bool, timeout: float) -> None:
    """Erase one customer's rows from ClickHouse (right to erasure).

    Runs sql/admin/erase_customer.sql with CUSTOMER_ID as a bound parameter (ALTER TABLE ...
    DELETE on every table holding customer rows), waits until the deletions are applied and
    prints the rows removed per table. With --state, first sends a tombstone for the customer
    to the worker state's changelog topic (<app_id>-customer-state-changelog); the workers must
    be stopped, and delete the key from their RocksDB when they start. Kafka's input topics
    expire with their retention: see docs/privacy.md.
    """
    from streams.privacy import erase_customer, tombstone_state
    from streams.store import open_store
    from streams.store.base import StoreError

    if with_state:
        _require_broker(c.settings)
        try:
            parts = tombstone_state(c.settings, customer_id)
        except (LookupError, RuntimeError) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"tombstoned worker state on {len(parts)} changelog partition(s)")
    try:
        store = open_store(c.settings.clickhouse.store_url())
        try:
            result = erase_customer(store, customer_id, timeout=timeout)
        finally:
            store.close()
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    for table, n in result.before.items():
        left = result.after[table]
        click.echo(f"{n:>8,}  {table}" + (f"  ({left} left)" if left else ""))
    if not result.complete:
        click.echo("deletions still pending: run the command again later", err=True)
        sys.exit(1)
    click.echo(f"erased customer {customer_id!r} from ClickHouse")


# --------------------------------------------------------------------------- worker
@main.command()
@pass_ctx
def worker(c: Context) -> None:
    """Run a stream worker against the configured Kafka and ClickHouse.

    Start several (on one host or many) with the same settings to share the partitions:
    Kafka's consumer group assigns them. Stops cleanly on SIGTERM or Ctrl-C, flushing what
    it has buffered and committing only what was stored.
    """
    from streams.worker.run import run_worker

    settings = c.settings
    _require_broker(settings)
    run_worker(settings)


# --------------------------------------------------------------------------- up / demo
@main.command()
@pass_ctx
def up(c: Context) -> None:
    """Run the embedded stack until Ctrl-C: a Tansu broker, a worker and a chdb store.

    Everything listens on loopback, on free ports, with data under the worker's data_dir
    (./journey-data by default). The broker address is printed so `journey produce --kafka`
    can send to it from another terminal. The chdb folder is owned by this process.
    """
    from streams.embedded.stack import run_up

    run_up(c.settings)


@main.command()
@click.option("--customers", default=2000, show_default=True, help="New customers to simulate.")
@click.option("--months", default=15, show_default=True, help="Months of simulated history.")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same bank).")
@pass_ctx
def demo(c: Context, customers: int, months: int, seed: int) -> None:
    """Simulate new customers end to end and print a cohort summary.

    Starts the embedded stack (its own broker and a chdb store under ./journey-data/demo),
    streams a simulated bank's events through the worker into ClickHouse, then prints where
    and when customers defected, read back from ClickHouse.
    """
    from streams.embedded.stack import run_demo

    run_demo(c.settings, customers=customers, months=months, seed=seed)


# --------------------------------------------------------------------------- simulate / verify
from streams.simulate.cli import simulate  # noqa: E402  (stdlib + click only: --help stays fast)
from streams.verify.cli import verify  # noqa: E402

main.add_command(simulate)
main.add_command(verify)

# --------------------------------------------------------------------------- query / report
from streams.analytics.cli import query, report  # noqa: E402  (imports stay inside the commands)

main.add_command(query)
main.add_command(report)


if __name__ == "__main__":  # pragma: no cover
    main()
