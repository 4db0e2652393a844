"""``journey simulate``: files, truth, parameter overrides, messy options (Kafka: see the
end-to-end accuracy test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.kafka.produce import produce_file
from streams.settings import Settings
from streams.simulate.cli import build_params
from streams.simulate.params import DEFAULTS, SimulationParams
from streams.simulate.population import generate_events
from streams.simulate.truth import read_truth
from streams.simulate.writer import event_line


def run(args: list[str]) -> str:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_out_and_truth_are_the_seeded_bank(tmp_path: Path) -> None:
    out, truth = tmp_path / "ev.jsonl", tmp_path / "truth.jsonl"
    text = run(["simulate", "--customers", "60", "--months", "6", "--opening-months", "2",
                "--seed", "9", "--start", "2024-03-01",
                "--out", str(out), "--truth", str(truth)])  # fmt: skip
    params = SimulationParams(
        n_customers=60,
        seed=9,
        start_date=DEFAULTS.start_date.replace(month=3),
        opening_months=2,
        horizon_end=DEFAULTS.start_date.replace(month=9),
    )
    lines = out.read_text().splitlines()
    assert lines == [event_line(e) for e in generate_events(params)]
    got_params, truths = read_truth(truth)
    assert got_params == params and len(truths) == 60
    assert f"{len(lines):>10,}  events" in text


def test_params_file_overrides_rates_and_profiles(tmp_path: Path) -> None:
    toml = tmp_path / "p.toml"
    toml.write_text(
        "login_rate = 0.5\nhazard_day_90 = 0.002\n[channels.online]\nhazard_mult = 3.0\n"
    )
    p = build_params(
        __import__("tomllib").loads(toml.read_text()), n_customers=10, months=4, seed=None
    )
    assert p.login_rate == 0.5 and p.hazard_day_90 == 0.002 and p.n_customers == 10
    assert p.channel("online").hazard_mult == 3.0
    assert p.channel("online").weight == DEFAULTS.channel("online").weight  # others kept
    assert p.channel("branch") == DEFAULTS.channel("branch")
    assert p.seed == DEFAULTS.seed and p.horizon_end.isoformat() == "2024-05-01"
    js = tmp_path / "p.json"
    js.write_text(json.dumps({"p_closure": 0.3}))
    run(["simulate", "--customers", "5", "--params", str(js), "--truth", str(tmp_path / "t")])
    assert read_truth(tmp_path / "t")[0].p_closure == 0.3
    js.write_text(json.dumps({"no_such_rate": 1}))
    bad = CliRunner().invoke(main, ["simulate", "--params", str(js), "--truth", "x"])
    assert bad.exit_code != 0 and "no_such_rate" in bad.output


def test_messy_options_and_their_report(tmp_path: Path) -> None:
    out, truth, report = tmp_path / "ev.jsonl", tmp_path / "truth.jsonl", tmp_path / "m.json"
    run(["simulate", "--customers", "80", "--out", str(out), "--truth", str(truth),
         "--report", str(report), "--shuffle-hours", "6", "--duplicate-share", "0.05",
         "--malformed-share", "0.01", "--too-late-share", "0.01"])  # fmt: skip
    mess = json.loads(report.read_text())
    lines = out.read_text().splitlines()
    assert len(lines) == mess["output_events"] + mess["malformed_total"]
    assert mess["duplicated"] and mess["malformed_total"] and mess["late"]
    assert mess["max_lateness_ms"] <= 6 * 3_600_000
    # the file is what `journey produce` reads: malformed lines are rejected, the rest valid
    summary = produce_file(out, Settings(), producer=_NullProducer())
    assert summary.invalid == mess["malformed_total"]
    assert summary.total_sent == mess["output_events"]


def test_needs_a_destination() -> None:
    result = CliRunner().invoke(main, ["simulate", "--customers", "3"])
    assert result.exit_code != 0 and "--to-kafka" in result.output


@pytest.mark.parametrize("args", [["--to-kafka"]])
def test_kafka_needs_a_broker(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOURNEY_KAFKA__BOOTSTRAP_SERVERS", raising=False)
    result = CliRunner().invoke(main, ["simulate", "--customers", "3", *args])
    assert result.exit_code != 0 and "broker" in result.output


class _NullProducer:
    """Accepts and acknowledges everything (produce_file's delivery callbacks)."""

    def __init__(self) -> None:
        self.pending: list[object] = []

    def produce(self, topic: str, value: bytes, key: bytes, on_delivery: object) -> None:
        self.pending.append(on_delivery)

    def poll(self, timeout: float) -> int:
        return self.flush(timeout)

    def flush(self, timeout: float = 0) -> int:
        for cb in self.pending:
            cb(None, None)  # type: ignore[operator]
        self.pending.clear()
        return 0
