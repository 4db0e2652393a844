"""Make a clean, in-order event stream messy on demand — and account for every record.

Why: a stream processor is only trustworthy if its answers survive the input real banks send:
out-of-order arrival, redelivered duplicates, stragglers later than the allowed lateness, and
garbage. Each option here records exactly what it did in a :class:`MessReport`, so an accuracy
check can reconcile every input and output record (and find the late ones in the too-late topic).

Bounded shuffle, and why the bound holds: every event gets a release key
``occurred_at + U`` with ``U`` uniform in ``[0, L]`` and events are emitted in release-key order
(ties: input order). If ``a`` is emitted before ``b`` then ``key(a) <= key(b)``, so
``occurred_at(a) <= key(a) <= key(b) <= occurred_at(b) + L``: no event ever arrives after one
more than ``L`` newer than itself. Its *lateness* (max occurred_at emitted before it, minus its
own occurred_at) is therefore <= L — exactly the quantity a watermark with allowed lateness L
judges. Streaming: the input is in occurred_at order, so once the input reaches time ``t`` no
future event can get a key below ``t``; everything buffered with key <= ``t`` is released. The
buffer holds about ``L`` worth of events.

Duplicates get their own key in the same way (same dict content, same event_id), so they are
within the bound too. Too-late events get key ``occurred_at + L + D`` (``D`` in ``late_extra``),
so they are emitted after events newer than them by more than L *if the stream is dense enough*;
the report records each one's actual lateness at emission, so checks can tell the truly late
(``late``) from the merely delayed (``delayed_not_late``), e.g. at the very end of the stream.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from streams.simulate.events import Event, uuid4_str
from streams.simulate.params import DAY_MS, HOUR_MS


@dataclass(frozen=True, slots=True)
class Malformed:
    """A record that is not a valid event: ``payload`` goes on the wire as-is."""

    #: Topic (event type) it is sent to; malformed records still arrive on some input topic.
    event_type: str
    payload: bytes
    #: 'invalid_json' | 'missing_field' | 'wrong_type' | 'unknown_enum'
    reason: str
    #: Event id of the clean event it was derived from (it is NOT that event).
    derived_from: str


@dataclass(frozen=True, slots=True)
class MessOptions:
    """What to do. All shares are per clean input event; 0 disables the option."""

    #: Maximum displacement in event time (ms) of the bounded shuffle (0 = keep order).
    lateness_ms: int = 0
    #: Share of events sent twice (second copy identical, same event_id).
    duplicate_share: float = 0.0
    #: Share of events delayed beyond the lateness; their extra delay is drawn in late_extra_ms.
    late_share: float = 0.0
    late_extra_ms: tuple[int, int] = (HOUR_MS, DAY_MS)
    #: Only these event types may be made too late (None = all).
    late_event_types: frozenset[str] | None = None
    #: Share of events after which a malformed record is injected.
    malformed_share: float = 0.0
    seed: int = 0


@dataclass(slots=True)
class MessReport:
    """Exactly what was done. Complete once the messy iterator is exhausted."""

    options: dict[str, Any] = field(default_factory=dict)
    input_events: int = 0
    #: Valid events emitted, duplicates included (malformed records are not events).
    output_events: int = 0
    #: Event ids sent twice (each appears exactly twice in the output).
    duplicated: list[str] = field(default_factory=list)
    #: Too-late events: event_id -> actual lateness at emission (ms), all > lateness_ms.
    late: dict[str, int] = field(default_factory=dict)
    #: Delayed like the late ones but ended up within the lateness (e.g. at the stream's end).
    delayed_not_late: dict[str, int] = field(default_factory=dict)
    #: Injected malformed records: reason -> count, and their (reason, derived_from) list.
    malformed_by_reason: dict[str, int] = field(default_factory=dict)
    malformed: list[tuple[str, str]] = field(default_factory=list)
    #: Largest lateness observed among events that were not made late (must be <= lateness_ms).
    max_lateness_ms: int = 0
    #: Events emitted out of occurred_at order (lateness > 0), late ones excluded.
    out_of_order: int = 0

    @property
    def malformed_total(self) -> int:
        return len(self.malformed)

    def write(self, path: str | Path) -> None:
        """Side file for accuracy checks (JSON)."""
        d = asdict(self)
        d["malformed_total"] = self.malformed_total
        Path(path).write_text(json.dumps(d, indent=1, sort_keys=True), encoding="utf-8")


MessyItem = Event | Malformed


def make_messy(
    events: Iterable[Event], options: MessOptions
) -> tuple[Iterator[MessyItem], MessReport]:
    """Wrap an in-order stream. Returns the messy iterator and its (filling) report."""
    report = MessReport(
        options={
            k: (sorted(v) if isinstance(v, frozenset) else v) for k, v in asdict(options).items()
        }
    )
    return _messy(events, options, report), report


def _messy(events: Iterable[Event], o: MessOptions, report: MessReport) -> Iterator[MessyItem]:
    rng = random.Random(f"{o.seed}:messy")
    bound = o.lateness_ms
    # heap of (release key, input sequence, tie, item, is_late)
    heap: list[tuple[int, int, int, MessyItem, bool]] = []
    seq = 0
    max_seen = -(2**63)

    def emit(item: MessyItem, is_late: bool) -> Iterator[MessyItem]:
        nonlocal max_seen
        if isinstance(item, Malformed):
            yield item
            return
        t = item["occurred_at"]
        lateness = max(0, max_seen - t)
        if is_late:
            target = report.late if lateness > bound else report.delayed_not_late
            target[item["event_id"]] = lateness
        else:
            if lateness > report.max_lateness_ms:
                report.max_lateness_ms = lateness
            if lateness > 0:
                report.out_of_order += 1
        if t > max_seen:
            max_seen = t
        report.output_events += 1
        yield item

    def release(upto: int | None) -> Iterator[MessyItem]:
        while heap and (upto is None or heap[0][0] <= upto):
            _, _, _, item, is_late = heapq.heappop(heap)
            yield from emit(item, is_late)

    for event in events:
        report.input_events += 1
        t = event["occurred_at"]
        yield from release(t)  # future input has keys >= t and a larger input sequence
        late = (
            o.late_share > 0
            and (o.late_event_types is None or event["event_type"] in o.late_event_types)
            and rng.random() < o.late_share
        )
        if late:
            key = t + bound + rng.randint(max(1, o.late_extra_ms[0]), o.late_extra_ms[1])
        else:
            key = t + (rng.randint(0, bound) if bound else 0)
        heapq.heappush(heap, (key, seq, 0, event, late))
        seq += 1
        if o.duplicate_share > 0 and rng.random() < o.duplicate_share:
            report.duplicated.append(event["event_id"])
            dkey = t + (rng.randint(0, bound) if bound else 0)
            heapq.heappush(heap, (dkey, seq, 1, dict(event), False))
            seq += 1
        if o.malformed_share > 0 and rng.random() < o.malformed_share:
            bad = _malform(event, rng)
            report.malformed.append((bad.reason, bad.derived_from))
            report.malformed_by_reason[bad.reason] = (
                report.malformed_by_reason.get(bad.reason, 0) + 1
            )
            heapq.heappush(heap, (key, seq, 2, bad, False))
            seq += 1
    yield from release(None)


_REQUIRED = ("event_id", "customer_id", "occurred_at", "channel")


def _malform(event: Event, rng: random.Random) -> Malformed:
    """A record derived from ``event`` that no schema accepts (one line, no newline)."""
    reason = rng.choice(("invalid_json", "missing_field", "wrong_type", "unknown_enum"))
    d = dict(event)
    d["event_id"] = uuid4_str(rng.getrandbits(128))  # fresh id: never a real event's
    if reason == "invalid_json":
        text = json.dumps(d, separators=(",", ":"))
        payload = text[: max(1, len(text) // 2)].encode()  # truncated mid-record
    elif reason == "missing_field":
        del d[rng.choice(_REQUIRED[1:])]
        payload = json.dumps(d, separators=(",", ":")).encode()
    elif reason == "wrong_type":
        d["occurred_at"] = f"not-a-time-{d['occurred_at']}"
        payload = json.dumps(d, separators=(",", ":")).encode()
    else:
        d["channel"] = "carrier_pigeon"
        payload = json.dumps(d, separators=(",", ":")).encode()
    return Malformed(event["event_type"], payload, reason, event["event_id"])
