"""Put events on the input topics: from a file (``journey produce``) or from Python iterables.

Input comes from outside journey, so every record is validated against its schema first; bad
lines are counted and reported with their line number and reason, never sent, and never stop
the import. Valid records are keyed by ``customer_id`` (all of a customer's events on one
partition) and sent with an idempotent producer batching ~20 ms; delivery is confirmed by
callbacks, so the summary counts what the broker acknowledged, not what was merely queued.

File formats:

* JSON lines (``.jsonl``, ``.ndjson``, ``.json``): one object per line with ``"event_type"`` and
  the event's fields, typed as in the schema;
* CSV (``.csv``): a header with an ``event_type`` column plus field columns (the union of the
  types' fields is fine: cells of fields a type does not have are left empty). Cells are coerced by
  the schema: ints, booleans (true/false/1/0/yes/no), and an empty cell is null for a nullable
  field or "use the default" for a field with a default.

In both, ``occurred_at`` may be epoch milliseconds or an ISO-8601 timestamp (a timestamp without
offset is taken as UTC).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from streams.codec import Codec, EncodeError, codec_from_settings
from streams.codec.schemas import SchemaSet, default_schemas
from streams.codec.validation import validate
from streams.kafka.clients import producer_config
from streams.kafka.topics import input_topics
from streams.settings import Settings

Progress = Callable[[int, int], None]  #: called with (lines processed, bytes read)
FileFormat = Literal["jsonl", "csv"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}
PROGRESS_EVERY = 1000


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one input line (1-based; for CSV the line where the row ends) was not sent."""

    line: int
    reason: str
    event_type: str | None = None

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(slots=True)
class ProduceSummary:
    """What a produce run did. ``sent`` counts broker-acknowledged records per event type."""

    sent: Counter[str] = field(default_factory=Counter)
    lines: int = 0
    invalid: int = 0
    delivery_failures: int = 0
    problems: list[Problem] = field(default_factory=list)
    bytes_read: int = 0

    @property
    def total_sent(self) -> int:
        return sum(self.sent.values())

    @property
    def ok(self) -> bool:
        return self.invalid == 0 and self.delivery_failures == 0


class _Sender:
    """Encode, key, produce; count acknowledgements and failures from delivery callbacks."""

    def __init__(self, settings: Settings, producer: Any, codec: Codec | None) -> None:
        if producer is None:
            from confluent_kafka import Producer

            producer = Producer(producer_config(settings.kafka))
        self.producer = producer
        self.codec = codec or codec_from_settings(settings)
        self.topics = input_topics(settings)
        self.summary: ProduceSummary | None = None
        self.queued = 0
        self.callbacks = {t: self._callback(t) for t in self.topics}

    def _callback(self, event_type: str) -> Callable[[Any, Any], None]:
        def on_delivery(err: Any, _msg: Any) -> None:
            assert self.summary is not None
            if err is None:
                self.summary.sent[event_type] += 1
            else:
                self.summary.delivery_failures += 1
                if len(self.summary.problems) < 1000:
                    self.summary.problems.append(Problem(0, f"delivery failed: {err}", event_type))

        return on_delivery

    def send(self, event_type: str, record: dict[str, Any]) -> None:
        value = self.codec.encode(event_type, record)
        key = str(record["customer_id"]).encode()
        topic, callback = self.topics[event_type], self.callbacks[event_type]
        while True:
            try:
                self.producer.produce(topic, value, key, on_delivery=callback)
                break
            except BufferError:  # local queue full: let deliveries drain, then retry
                self.producer.poll(0.1)
        self.queued += 1
        if self.queued % 1000 == 0:
            self.producer.poll(0)

    def finish(self, timeout: float) -> None:
        remaining = self.producer.flush(timeout)
        if remaining and self.summary is not None:
            self.summary.delivery_failures += remaining
            self.summary.problems.append(
                Problem(0, f"{remaining} messages still undelivered after {timeout:.0f}s")
            )


def produce_records(
    records: Iterable[tuple[str, dict[str, Any]]],
    settings: Settings,
    *,
    producer: Any = None,
    codec: Codec | None = None,
    check: bool = True,
    max_problems: int = 20,
    flush_timeout: float = 30.0,
) -> ProduceSummary:
    """Send ``(event_type, record)`` pairs (demo, simulator); invalid ones are skipped.

    ``check=False`` skips validation for trusted generators (encoding still rejects bad types).
    Problems carry the 1-based position in ``records`` as their line.
    """
    sender = _Sender(settings, producer, codec)
    summary = sender.summary = ProduceSummary()
    for n, (event_type, record) in enumerate(records, 1):
        summary.lines = n
        _send_one(sender, summary, n, event_type, record, check, max_problems)
    sender.finish(flush_timeout)
    return summary


def _send_one(
    sender: _Sender,
    summary: ProduceSummary,
    line: int,
    event_type: str | None,
    record: Any,
    check: bool,
    max_problems: int,
) -> None:
    problems: list[str]
    if event_type is None:
        problems = ['no "event_type"']
    elif check or event_type not in sender.topics:
        problems = validate(event_type, record)
    else:
        problems = []
    if not problems:
        try:
            sender.send(event_type, record)  # type: ignore[arg-type]
            return
        except EncodeError as exc:
            problems = [str(exc)]
    summary.invalid += 1
    if len(summary.problems) < max_problems:
        summary.problems.append(Problem(line, "; ".join(problems), event_type))


def produce_file(
    path: Path | str,
    settings: Settings,
    *,
    fmt: FileFormat | None = None,
    producer: Any = None,
    codec: Codec | None = None,
    progress: Progress | None = None,
    max_problems: int = 20,
    flush_timeout: float = 30.0,
) -> ProduceSummary:
    """Validate and send every event of a JSON-lines or CSV file (format from the suffix)."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    sender = _Sender(settings, producer, codec)
    summary = sender.summary = ProduceSummary()
    schemas = default_schemas()
    with path.open("rb") as fb:
        lines = _counting_lines(fb, summary)
        rows = _jsonl_rows(lines) if fmt == "jsonl" else _csv_rows(lines, schemas)
        for line, event_type, record, error in rows:
            summary.lines = line
            if error is not None:
                summary.invalid += 1
                if len(summary.problems) < max_problems:
                    summary.problems.append(Problem(line, error, event_type))
            else:
                _send_one(sender, summary, line, event_type, record, True, max_problems)
            if progress is not None and line % PROGRESS_EVERY == 0:
                progress(line, summary.bytes_read)
    sender.finish(flush_timeout)
    if progress is not None:
        progress(summary.lines, summary.bytes_read)
    return summary


def detect_format(path: Path) -> FileFormat:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise ValueError(f"{path}: unknown input format {suffix!r} (use .jsonl/.ndjson or .csv)")


Row = tuple[int, str | None, dict[str, Any] | None, str | None]  # line, type, record, error


def _counting_lines(fb: Iterable[bytes], summary: ProduceSummary) -> Iterator[str]:
    """Decoded lines of a binary file, adding their size to ``summary.bytes_read``."""
    for raw in fb:
        summary.bytes_read += len(raw)
        yield raw.decode("utf-8", errors="replace")


def _jsonl_rows(lines: Iterable[str]) -> Iterator[Row]:
    for n, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            yield n, None, None, f"invalid JSON: {exc}"
            continue
        if not isinstance(obj, dict):
            yield n, None, None, f"expected a JSON object, got {type(obj).__name__}"
            continue
        event_type = obj.pop("event_type", None)
        if not isinstance(event_type, str):
            yield n, None, None, 'missing or non-string "event_type"'
            continue
        if isinstance(obj.get("occurred_at"), str):
            obj["occurred_at"] = parse_timestamp(obj["occurred_at"])
        yield n, event_type, obj, None


def _csv_rows(lines: Iterator[str], schemas: SchemaSet) -> Iterator[Row]:
    reader = csv.DictReader(lines)
    if reader.fieldnames is None or "event_type" not in reader.fieldnames:
        raise ValueError('CSV input needs a header row with an "event_type" column')
    for row in reader:
        n = reader.line_num
        event_type = (row.pop("event_type", None) or "").strip()
        if not event_type:
            yield n, None, None, 'empty "event_type"'
            continue
        version = schemas.current.get(event_type)
        if version is None:
            yield n, event_type, None, f"unknown event_type {event_type!r}"
            continue
        if None in row:  # DictReader's key for cells beyond the header
            yield n, event_type, None, "more cells than header columns"
            continue
        yield n, event_type, coerce_csv_row(row, version.source["fields"]), None


def coerce_csv_row(row: dict[str, Any], fields: list[dict[str, Any]]) -> dict[str, Any]:
    """Turn a CSV row of strings into a record typed by the schema's ``fields``.

    A value that cannot be coerced is kept as its string, so validation reports it by field.
    """
    record: dict[str, Any] = {}
    known = set()
    for f in fields:
        name = f["name"]
        known.add(name)
        if name not in row or row[name] is None:
            continue
        value = row[name]
        nullable, base = _base_type(f["type"])
        if value == "":
            if nullable:
                record[name] = None
            elif "default" in f:
                continue
            elif base in ("string", "enum"):
                record[name] = ""
            continue  # a missing int/bool: validation reports "missing required field"
        record[name] = _coerce(value, base, name)
    for name, value in row.items():  # non-empty cells of fields this type lacks: report them
        if name not in known and value not in ("", None):
            record[name] = value
    return record


def _base_type(schema: Any) -> tuple[bool, str]:
    """(nullable, primitive or 'enum' or logical type name) of a field type."""
    nullable = False
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        nullable = len(branches) < len(schema)
        schema = branches[0] if len(branches) == 1 else "union"
    if isinstance(schema, dict):
        return nullable, str(schema.get("logicalType") or schema.get("type"))
    return nullable, str(schema)


def _coerce(value: str, base: str, name: str) -> Any:
    text = value.strip()
    try:
        if base == "timestamp-millis":
            return parse_timestamp(text)
        if base in ("int", "long"):
            return int(text)
        if base in ("float", "double"):
            return float(text)
    except ValueError:
        return value
    if base == "boolean":
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    return value


def parse_timestamp(text: str) -> int | str:
    """Epoch millis from digits or ISO-8601 (naive = UTC); the input unchanged if neither."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return text
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // timedelta(milliseconds=1)
