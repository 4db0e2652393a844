"""Writer: JSON-lines files, progress hook, records for a producer, pacing in simulated time."""

from __future__ import annotations

import json
from pathlib import Path

from streams.simulate.messy import Malformed, MessOptions
from streams.simulate.params import DAY_MS, SimulationParams
from streams.simulate.population import generate_events
from streams.simulate.truth import read_truth
from streams.simulate.writer import paced, records, simulate_to_files, write_events_jsonl


def test_simulate_to_files(tmp_path: Path) -> None:
    params = SimulationParams(n_customers=40, seed=8)
    seen: list[int] = []
    n, report = simulate_to_files(
        params,
        tmp_path / "ev.jsonl",
        tmp_path / "truth.jsonl",
        mess=MessOptions(lateness_ms=60_000, malformed_share=0.01, seed=2),
        mess_report_path=tmp_path / "mess.json",
        progress=seen.append,
    )
    lines = (tmp_path / "ev.jsonl").read_text().splitlines()
    assert n == len(lines) and seen[-1] == n
    assert report is not None and report.output_events + report.malformed_total == n
    assert json.loads(lines[0])["event_type"] == "account_opened"
    got, truths = read_truth(tmp_path / "truth.jsonl")
    assert got == params and len(truths) == 40
    assert (tmp_path / "mess.json").exists()


def test_progress_every(tmp_path: Path) -> None:
    seen: list[int] = []
    n = write_events_jsonl(
        tmp_path / "x.jsonl",
        generate_events(SimulationParams(n_customers=10, seed=1)),
        seen.append,
        progress_every=100,
    )
    assert seen == [*range(100, n + 1, 100), n]


def test_records_for_a_producer() -> None:
    bad = Malformed("login", b"{oops", "invalid_json", "x")
    items = [*generate_events(SimulationParams(n_customers=3, seed=1)), bad]
    pairs = list(records(items))
    assert pairs[-1] == ("login", b"{oops")
    assert all(isinstance(r, dict) and "event_type" not in r for _, r in pairs[:-1])


def test_paced_follows_simulated_time() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    events = [{"event_type": "login", "occurred_at": t * DAY_MS} for t in (0, 1, 1, 3)]
    out = list(paced(events, 86_400, clock=lambda: now[0], sleep=sleep))
    assert out == events
    assert slept == [1.0, 2.0]  # one simulated day per second
