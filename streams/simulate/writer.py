"""Write the simulated stream and its truth to files; pace it; report progress.

Why separate from generation: the same stream feeds a JSON-lines file for ``journey produce``,
a Kafka producer (the lead wires ``produce_records`` to :func:`records`), or a live demo paced
in simulated time. Serialisation is deterministic (dict order, compact separators), so the same
params give byte-identical files.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from streams.simulate.events import Event
from streams.simulate.messy import Malformed, MessOptions, MessReport, MessyItem, make_messy
from streams.simulate.params import SimulationParams
from streams.simulate.population import generate_events
from streams.simulate.truth import write_truth

Progress = Callable[[int], None]


def event_line(event: Event) -> str:
    """One JSON line (no newline) for an event dict (``event_type`` included)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def item_line(item: MessyItem) -> str:
    """A JSON line for an event, or a malformed record's raw payload (already one line)."""
    if isinstance(item, Malformed):
        return item.payload.decode("utf-8", errors="replace")
    return event_line(item)


def write_events_jsonl(
    out: str | Path | IO[str],
    items: Iterable[MessyItem],
    progress: Progress | None = None,
    progress_every: int = 10_000,
) -> int:
    """Write one record a line; call ``progress(n_written)`` every ``progress_every`` records
    and once at the end. Returns the number of lines."""
    if isinstance(out, str | Path):
        with open(out, "w", encoding="utf-8") as fh:
            return write_events_jsonl(fh, items, progress, progress_every)
    n = 0
    write = out.write
    for item in items:
        write(item_line(item))
        write("\n")
        n += 1
        if progress is not None and n % progress_every == 0:
            progress(n)
    if progress is not None:
        progress(n)
    return n


def records(items: Iterable[MessyItem]) -> Iterator[tuple[str, Any]]:
    """``(event_type, record)`` for a producer: the Avro record dict without ``event_type``, or
    the raw ``bytes`` of a malformed record (to be sent unencoded to that type's topic)."""
    for item in items:
        if isinstance(item, Malformed):
            yield item.event_type, item.payload
        else:
            record = dict(item)
            yield record.pop("event_type"), record


def paced(
    items: Iterable[MessyItem],
    sim_seconds_per_second: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[MessyItem]:
    """Release items no faster than simulated time allows: with ``86_400`` one simulated day
    passes per wall second. Anchored at the first event; malformed records pass through."""
    if sim_seconds_per_second <= 0:
        raise ValueError("sim_seconds_per_second must be > 0")
    start_wall: float | None = None
    start_sim = 0
    for item in items:
        if not isinstance(item, Malformed):
            t = item["occurred_at"]
            if start_wall is None:
                start_wall, start_sim = clock(), t
            else:
                due = start_wall + (t - start_sim) / 1000.0 / sim_seconds_per_second
                wait = due - clock()
                if wait > 0:
                    sleep(wait)
        yield item


def simulate_to_files(
    params: SimulationParams,
    events_path: str | Path,
    truth_path: str | Path,
    mess: MessOptions | None = None,
    mess_report_path: str | Path | None = None,
    progress: Progress | None = None,
) -> tuple[int, MessReport | None]:
    """Generate, optionally mess up, and write events + truth (+ mess report side file).

    Returns (lines written, the mess report or None)."""
    stream: Iterable[MessyItem] = generate_events(params)
    report: MessReport | None = None
    if mess is not None:
        stream, report = make_messy(generate_events(params), mess)
    n = write_events_jsonl(events_path, stream, progress)
    write_truth(truth_path, params)
    if report is not None and mess_report_path is not None:
        report.write(mess_report_path)
    return n, report
