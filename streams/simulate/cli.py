"""``journey simulate``: a seeded synthetic bank, to Kafka or to a JSON-lines file, with its truth.

Why a command of its own: the same simulated bank feeds a backfill (as fast as possible), a live
demo (paced in simulated time, ``--speed``), ``journey produce`` (``--out FILE.jsonl``) and the
accuracy check (``--truth FILE`` then ``journey verify --truth FILE``). Messy options make the
input dirty on demand; what they did is written next to the truth (``--report``) so every record
can be accounted for afterwards.
"""

from __future__ import annotations

import json
import sys
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import click

from streams.simulate.messy import Malformed, MessOptions, MessReport, MessyItem, make_messy
from streams.simulate.params import DAY_MS, DEFAULTS, HOUR_MS, SimulationParams, _add_months
from streams.simulate.population import generate_events
from streams.simulate.truth import write_truth
from streams.simulate.writer import item_line, paced

_PROFILE_KEYS = ("channels", "segments", "products")


def load_overrides(path: Path) -> dict[str, Any]:
    """Parameter overrides from a TOML or JSON file (by suffix): ``{field: value}``.

    Profiles (``channels``, ``segments``, ``products``) may be given as tables keyed by name
    with only the fields to change, e.g. ``[channels.online] hazard_mult = 2.0``.
    """
    text = path.read_text(encoding="utf-8")
    data: dict[str, Any] = (
        json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    )
    if not isinstance(data, dict):
        raise click.BadParameter(f"{path}: expected a table/object of parameters")
    return data


def build_params(overrides: dict[str, Any] | None = None, **cli: Any) -> SimulationParams:
    """Defaults, then file overrides, then command-line values (None = not given)."""
    base = DEFAULTS.to_json_dict()
    for key, value in (overrides or {}).items():
        if key not in base:
            raise click.BadParameter(f"unknown simulation parameter {key!r}")
        if key in _PROFILE_KEYS and isinstance(value, dict):
            current = {name: dict(profile) for name, profile in base[key]}
            for name, fields in value.items():
                current.setdefault(name, dict(current[next(iter(current))]))
                current[name].update(fields)
            value = [[name, profile] for name, profile in current.items()]
        base[key] = value
    months = cli.pop("months", None)
    for key, value in cli.items():
        if value is not None:
            base[key] = value.isoformat() if isinstance(value, date) else value
    if months is not None:
        start = date.fromisoformat(base["start_date"])
        base["horizon_end"] = _add_months(start, months).isoformat()
    try:
        return SimulationParams.from_json_dict(base)
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc)) from exc


@dataclass(slots=True)
class Sent:
    """What went out: valid events per type, malformed records, failures."""

    events: Counter[str] = field(default_factory=Counter)
    malformed: int = 0
    failures: int = 0


def send_to_kafka(items: Iterable[MessyItem], settings: Any, sent: Sent) -> Iterator[MessyItem]:
    """Produce each item to its input topic (keyed by customer_id) and yield it on.

    Valid events are Avro-encoded with the configured wire format; a malformed record's payload
    goes on the wire as-is (that is the point). Delivery is confirmed by callbacks after flush.
    """
    from confluent_kafka import Producer

    from streams.codec import codec_from_settings
    from streams.kafka.clients import producer_config
    from streams.kafka.topics import input_topics

    producer = Producer(producer_config(settings.kafka))
    codec = codec_from_settings(settings)
    topics = input_topics(settings)

    def on_delivery(err: Any, msg: Any) -> None:
        if err is not None:
            sent.failures += 1

    for n, item in enumerate(items, 1):
        if isinstance(item, Malformed):
            topic, value, key = topics[item.event_type], item.payload, b"malformed"
        else:
            record = dict(item)
            event_type = record.pop("event_type")
            topic, value = topics[event_type], codec.encode(event_type, record)
            key = str(record["customer_id"]).encode()
        while True:
            try:
                producer.produce(topic, value, key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
        if n % 1000 == 0:
            producer.poll(0)
        if isinstance(item, Malformed):
            sent.malformed += 1
        else:
            sent.events[item["event_type"]] += 1
        yield item
    sent.failures += producer.flush(60)


def write_lines(items: Iterable[MessyItem], path: Path, sent: Sent) -> Iterator[MessyItem]:
    """Write each item as one JSON line (a malformed record as its raw payload)."""
    with path.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(item_line(item))
            fh.write("\n")
            if isinstance(item, Malformed):
                sent.malformed += 1
            else:
                sent.events[item["event_type"]] += 1
            yield item


def _progress(items: Iterable[MessyItem], params: SimulationParams) -> Iterator[MessyItem]:
    """A rich progress bar over simulated days (stderr, only on a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    start, end = params.start_ms, params.horizon_end_ms
    days = (end - start) // DAY_MS
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        "simulated days",
        TimeElapsedColumn(),
        transient=True,
        disable=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task("simulating", total=days)
        for n, item in enumerate(items, 1):
            if n % 5000 == 0 and not isinstance(item, Malformed):
                progress.update(task, completed=(item["occurred_at"] - start) // DAY_MS)
            yield item
        progress.update(task, completed=days)


@click.command("simulate")
@click.option("--customers", type=int, default=None, help="New customers (default 20,000).")
@click.option("--months", type=int, default=None,
              help="Months of simulated time from --start (default 15).")  # fmt: skip
@click.option("--opening-months", type=int, default=None,
              help="Openings are spread over the first N months (default 3).")  # fmt: skip
@click.option("--seed", type=int, default=None, help="Seed: same seed, same bank.")
@click.option("--start", "start_date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First opening day (default 2024-01-01).")  # fmt: skip
@click.option("--params", "params_file",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML or JSON file of parameter overrides (params.py).")  # fmt: skip
@click.option("--to-kafka", is_flag=True, help="Send to the configured Kafka input topics.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write JSON lines for `journey produce` to this file.")  # fmt: skip
@click.option("--truth", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the ground truth (what was decided, per customer) here.")  # fmt: skip
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write what the messy options did (JSON); default TRUTH.mess.json.")  # fmt: skip
@click.option("--shuffle-hours", type=float, default=0.0, show_default=True,
              help="Shuffle events within this lateness bound (keep it <= the worker's "
              "allowed lateness).")  # fmt: skip
@click.option("--duplicate-share", type=float, default=0.0, show_default=True,
              help="Share of events sent twice.")  # fmt: skip
@click.option("--too-late-share", type=float, default=0.0, show_default=True,
              help="Share of events delayed beyond the lateness bound.")  # fmt: skip
@click.option("--too-late-extra-hours", type=float, default=24.0, show_default=True,
              help="Too-late events arrive between this and twice this much later than the "
              "bound.")  # fmt: skip
@click.option("--too-late-types", default="", metavar="TYPE,...",
              help="Only these event types may be too late (default: all).")  # fmt: skip
@click.option("--malformed-share", type=float, default=0.0, show_default=True,
              help="Share of events followed by a malformed record.")  # fmt: skip
@click.option("--mess-seed", type=int, default=0, show_default=True)
@click.option("--speed", type=float, default=0.0, show_default=True,
              help="Simulated seconds per wall second (86400 = a day a second); 0 = as fast "
              "as possible.")  # fmt: skip
@click.pass_obj
def simulate(
    obj: Any,
    customers: int | None,
    months: int | None,
    opening_months: int | None,
    seed: int | None,
    start_date: Any,
    params_file: Path | None,
    to_kafka: bool,
    out: Path | None,
    truth: Path | None,
    report: Path | None,
    shuffle_hours: float,
    duplicate_share: float,
    too_late_share: float,
    too_late_extra_hours: float,
    too_late_types: str,
    malformed_share: float,
    mess_seed: int,
    speed: float,
) -> None:
    """Simulate a bank's new customers: events to Kafka or a file, and the ground truth.

    \b
    Every rate is a documented parameter (streams/simulate/params.py); override any of them
    with --params FILE (TOML or JSON). The defaults reproduce the mission's facts: 20-25 %
    of new customers leave in year one, about half of them within 90 days.
    \b
    Examples:
      journey simulate --out bank.jsonl --truth truth.jsonl
      journey simulate --to-kafka --truth truth.jsonl --shuffle-hours 12 --duplicate-share 0.02
      journey simulate --to-kafka --customers 500 --speed 86400     # a simulated day a second
    """
    if not to_kafka and out is None and truth is None:
        raise click.UsageError("say where to: --to-kafka, --out FILE.jsonl and/or --truth FILE")
    overrides = load_overrides(params_file) if params_file is not None else None
    params = build_params(
        overrides,
        n_customers=customers,
        seed=seed,
        start_date=start_date.date() if start_date is not None else None,
        opening_months=opening_months,
        months=months,
    )
    lateness = round(shuffle_hours * HOUR_MS)
    extra = max(1, round(too_late_extra_hours * HOUR_MS))
    types = frozenset(t.strip() for t in too_late_types.split(",") if t.strip()) or None
    mess = MessOptions(
        lateness_ms=lateness,
        duplicate_share=duplicate_share,
        late_share=too_late_share,
        late_extra_ms=(extra, 2 * extra),
        late_event_types=types,
        malformed_share=malformed_share,
        seed=mess_seed,
    )
    messy = bool(lateness or duplicate_share or too_late_share or malformed_share)
    if truth is not None:
        n = write_truth(truth, params)
        click.echo(f"truth: {n:,} customers -> {truth}", err=True)
    if not to_kafka and out is None:
        return
    settings = obj.settings
    if to_kafka and not settings.kafka.bootstrap_servers:
        raise click.UsageError(
            "no Kafka broker configured: set JOURNEY_KAFKA__BOOTSTRAP_SERVERS or pass --kafka"
        )
    stream: Iterable[MessyItem] = generate_events(params)
    mess_report: MessReport | None = None
    if messy:
        stream, mess_report = make_messy(generate_events(params), mess)
    if speed > 0:
        stream = paced(stream, speed)
    stream = _progress(stream, params)
    sent = Sent()
    if out is not None:
        stream = write_lines(stream, out, Sent() if to_kafka else sent)
    if to_kafka:
        stream = send_to_kafka(stream, settings, sent)
    for _ in stream:
        pass
    for event_type, k in sorted(sent.events.items()):
        click.echo(f"{k:>10,}  {event_type}")
    click.echo(f"{sum(sent.events.values()):>10,}  events" + (" (to Kafka)" if to_kafka else ""))
    if sent.malformed:
        click.echo(f"{sent.malformed:>10,}  malformed records")
    if mess_report is not None:
        path = report or (truth.with_suffix(".mess.json") if truth is not None else None)
        if path is not None:
            mess_report.write(path)
            click.echo(f"mess report -> {path}", err=True)
        click.echo(
            f"messy: {len(mess_report.duplicated):,} duplicated, {len(mess_report.late):,} too "
            f"late, {mess_report.malformed_total:,} malformed, max lateness within the bound "
            f"{mess_report.max_lateness_ms / HOUR_MS:.1f} h",
            err=True,
        )
    if sent.failures:
        click.echo(f"{sent.failures} record(s) not delivered", err=True)
        sys.exit(1)
