"""Messy input: every option does exactly what its report says."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

from streams.simulate.messy import Malformed, MessOptions, make_messy
from streams.simulate.params import DAY_MS, HOUR_MS, SimulationParams
from streams.simulate.population import generate_events
from streams.simulate.validate import validate_event

L = 3 * HOUR_MS


@cache
def clean() -> tuple[dict[str, Any], ...]:
    return tuple(generate_events(SimulationParams(n_customers=150, seed=4)))


def _lateness(items: list[Any]) -> list[tuple[str, int]]:
    out, seen = [], -(2**63)
    for item in items:
        if isinstance(item, Malformed):
            continue
        out.append((item["event_id"], max(0, seen - item["occurred_at"])))
        seen = max(seen, item["occurred_at"])
    return out


def test_shuffle_respects_the_lateness_bound() -> None:
    events = clean()
    stream, report = make_messy(events, MessOptions(lateness_ms=L, seed=1))
    out = list(stream)
    assert Counter(e["event_id"] for e in out) == Counter(e["event_id"] for e in events)
    assert [e["event_id"] for e in out] != [e["event_id"] for e in events]  # really shuffled
    measured = max(x for _, x in _lateness(out))
    assert measured == report.max_lateness_ms <= L
    assert report.out_of_order > 0 and report.output_events == len(events)


def test_no_options_is_the_identity() -> None:
    events = clean()[:2000]
    stream, report = make_messy(events, MessOptions())
    assert list(stream) == list(events) and report.max_lateness_ms == 0


def test_duplicates_late_and_malformed_are_all_accounted_for(tmp_path: Path) -> None:
    events = clean()
    opts = MessOptions(
        lateness_ms=L,
        duplicate_share=0.02,
        late_share=0.005,
        malformed_share=0.003,
        seed=9,
        late_extra_ms=(HOUR_MS, DAY_MS),
    )
    stream, report = make_messy(events, opts)
    out = list(stream)
    good = [x for x in out if not isinstance(x, Malformed)]
    bad = [x for x in out if isinstance(x, Malformed)]
    # duplicates: exactly the reported ids appear twice, with identical content
    counts = Counter(e["event_id"] for e in good)
    assert sorted(i for i, c in counts.items() if c == 2) == sorted(report.duplicated)
    assert set(counts.values()) == {1, 2} and report.duplicated
    first_seen: dict[str, dict[str, Any]] = {}
    for e in good:
        assert first_seen.setdefault(e["event_id"], e) == e
    # late: every reported late event really is later than L at emission; nobody else is
    lateness = dict(_lateness(out))
    late_ids = set(report.late)
    assert late_ids and all(lateness[i] == report.late[i] > L for i in late_ids)
    assert all(x <= L for i, x in lateness.items() if i not in late_ids)
    assert all(lateness[i] <= L for i in report.delayed_not_late)
    # malformed: counted, each fails to parse or to validate
    assert len(bad) == report.malformed_total == sum(report.malformed_by_reason.values()) > 0
    for m in bad:
        assert b"\n" not in m.payload
        try:
            record = json.loads(m.payload)
        except ValueError:
            assert m.reason == "invalid_json"
            continue
        assert not validate_event(record, raise_errors=False)
    # the books balance
    assert report.input_events == len(events)
    assert report.output_events == len(good) == len(events) + len(report.duplicated)
    path = tmp_path / "mess.json"
    report.write(path)
    side = json.loads(path.read_text())
    assert sorted(side["late"]) == sorted(late_ids) and side["malformed_total"] == len(bad)


def test_messy_output_is_reproducible() -> None:
    events = clean()[:3000]
    opts = MessOptions(lateness_ms=L, duplicate_share=0.1, malformed_share=0.01, seed=3)
    a, _ = make_messy(events, opts)
    b, _ = make_messy(events, opts)
    assert list(a) == list(b)
