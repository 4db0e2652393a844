"""Accuracy end to end: a simulated bank through the real broker, worker and ClickHouse, checked
against the simulator's ground truth with ``journey verify``.

20,000 customers over 15 months of simulated time. Each run drives the product as an operator
would, in real processes: ``journey simulate --to-kafka --truth`` produces the events onto a
fresh topic set on the Tansu broker, a ``journey worker`` subprocess consumes them into
ClickHouse until every record is committed, then ``journey verify --truth`` must report that
every cell matches (defections by kind; customers, day-90 and year-1 defections per monthly
cohort x opening channel; stalls per rule).

Why two runs and not four (clean and messy on each ClickHouse): the worker is the cost (about
a million events at a few tens of thousands a second on one core) and both properties are
already pinned by one run each:

* ``server`` (ClickHouse 18.16): clean, in-order input;
* ``chdb`` (26.x in process): the same bank made messy - shuffled within 20 h (under the
  worker's 1-day allowed lateness), 3 % of events sent twice, 1/1000 followed by a malformed
  record, and a quarter of the complaints delayed beyond the lateness. Too-late events are
  kept to complaints on purpose: a too-late event is *not applied* by design, so a too-late
  login would rightly change a stall; complaints move none of the verified cells, so the
  answers must still be exact, and every too-late / duplicate / malformed record must be
  found in its topic.

The bank is thinner than the default (routine logins, purchases and transfers at a tenth of
their rates, ~1.0 M events instead of ~4.2 M): routine activity changes no decision of the
simulator (defections, milestones and complaints are drawn before any event is rendered), so
the truth is the default bank's, and sparser activity puts more customers near the dormancy
and stall boundaries. The worker runs with the two amount-based silent-attrition rules off
(outbound transfer, balance drained): the simulator models silent attrition as dormancy and
does not decide the amounts those rules look at.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from streams.kafka.dlq import read_dead_letters
from streams.kafka.topics import input_topics
from streams.settings import Settings
from streams.testing.worker import WorkerProcess, committed_records, worker_env

pytestmark = [pytest.mark.broker, pytest.mark.slow]

PARTITIONS = 3
#: The issue asks for >= 20,000; the variable is for quicker local iterations only.
CUSTOMERS = int(os.environ.get("JOURNEY_ACCURACY_CUSTOMERS", "20000"))
SCALE = CUSTOMERS / 20_000
#: Checkpoints (rows, states, offsets) every 30 s rather than the tests' usual 1 s: each
#: checkpoint publishes a snapshot of every customer changed since the last one, and at this
#: volume 1 s checkpoints make the derived-topic traffic, not the events, the bottleneck.
CHECKPOINT_S = 30
THIN_BANK = """\
# routine activity at a tenth of the default rates (decisions are unchanged)
login_rate = 0.025
failed_login_rate = 0.0015
card_purchase_rate = 0.03
bill_pay_rate = 0.0067
transfer_in_rate = 0.0033
transfer_out_rate = 0.0067
atm_withdrawal_rate = 0.005
cash_deposit_rate = 0.0017
"""
ENGINE_ENV = {
    # the simulator decides no amounts for these rules: off for an exact check
    "JOURNEY_ENGINE__LARGE_OUTBOUND_MINOR": str(10**15),
    "JOURNEY_ENGINE__BALANCE_FLOOR_MINOR": str(-(10**15)),
}
MESSY = [
    "--shuffle-hours", "20",
    "--duplicate-share", "0.03",
    "--malformed-share", "0.001",
    "--too-late-share", "0.25",
    "--too-late-types", "complaint",
    "--too-late-extra-hours", "48",
    "--mess-seed", "11",
]  # fmt: skip


def _journey(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(params=["server", "chdb"])
def flavour(
    request: pytest.FixtureRequest, tmp_path: Path, clickhouse_server: Any
) -> tuple[str, str]:
    if request.param == "server":
        return "server", clickhouse_server.url_for(f"acc_{uuid.uuid4().hex[:10]}")
    return "chdb", f"chdb://{tmp_path / 'chdb'}"


def test_verify_reports_an_exact_match(
    broker: str, topic_prefix: str, flavour: tuple[str, str], tmp_path: Path
) -> None:
    name, url = flavour
    messy = name == "chdb"
    settings = Settings(
        kafka={"bootstrap_servers": broker},
        topics={"prefix": topic_prefix, "partitions": PARTITIONS},
    )
    app_id = topic_prefix + "acc"
    env = worker_env(
        bootstrap=broker,
        prefix=topic_prefix,
        clickhouse_url=url,
        data_dir=tmp_path / "worker",
        partitions=PARTITIONS,
        app_id=app_id,
        checkpoint_seconds=CHECKPOINT_S,
        sink_batch_seconds=5,
    )
    env.update(ENGINE_ENV)
    params = tmp_path / "thin.toml"
    params.write_text(THIN_BANK)
    truth = tmp_path / "truth.jsonl"
    report = tmp_path / "mess.json"

    t0 = time.monotonic()
    topics = _journey(["topics", "create"], env, 60)
    assert topics.returncode == 0, topics.stderr
    sim = _journey(
        ["simulate", "--customers", str(CUSTOMERS), "--months", "15", "--seed", "20240101",
         "--params", str(params), "--to-kafka", "--truth", str(truth), "--report", str(report),
         *(MESSY if messy else [])],
        env, 900,
    )  # fmt: skip
    assert sim.returncode == 0, sim.stdout + sim.stderr
    t_sim = time.monotonic() - t0
    sent = _sent(sim.stdout)
    total = sum(sent.values())
    assert sent["account_opened"] >= CUSTOMERS and total > 25 * CUSTOMERS

    worker = WorkerProcess(env).start()
    try:
        worker.wait(
            lambda: (
                committed_records(broker, app_id, list(input_topics(settings).values())) == total
            ),
            1500,
            "waiting for every record to be committed",
        )
        # idle topics (1 s) release the watermark, due deadlines fire, the next checkpoint
        # stores and publishes them
        time.sleep(CHECKPOINT_S + 5)
        counters = _worker_counters(worker)
        print(f"{name} worker: {counters}")
        assert worker.stop() == 0, worker.output()
    finally:
        worker.stop()
    t_worker = time.monotonic() - t0 - t_sim

    result = _journey(["verify", "--truth", str(truth), "--format", "json"], env, 300)
    table = _journey(["verify", "--truth", str(truth)], env, 300)
    print(table.stdout, table.stderr)
    print(
        f"{name}: {total:,} records ({sent}); simulate+produce {t_sim:.0f} s, "
        f"worker {t_worker:.0f} s ({total / max(t_worker, 1e-9):,.0f} records/s incl. start)"
    )
    assert result.returncode == 0, table.stdout + result.stderr
    answer = json.loads(result.stdout)
    assert answer["mismatches"] == 0 and answer["customers"] == CUSTOMERS
    cells = {(x["metric"], x["cell"]): x["got"] for x in answer["lines"]}
    # the check has teeth: every kind of cell is there, with real counts
    assert cells[("defections", "closure")] > 500 * SCALE
    assert cells[("defections", "silent_attrition")] > 500 * SCALE
    assert sum(v for (m, _), v in cells.items() if m == "defected_day_90") > 500 * SCALE
    assert len([k for k in cells if k[0] == "customers"]) == 3 * 4  # 3 monthly cohorts x 4
    assert all(cells[("stalls", r)] > 100 * SCALE for r in
               ("no_login_by_day_7", "not_funded_by_day_30", "no_sticky_by_day_90"))  # fmt: skip

    if messy:
        _account_for_the_mess(settings, url, json.loads(report.read_text()), sent, live=False)


def _worker_counters(worker: WorkerProcess) -> dict[str, float]:
    """The worker's own account of what it rejected (for the failure message)."""
    names = ("journey_events_too_late_total", "journey_events_dead_lettered_total",
             "journey_events_applied_total", "journey_events_consumed_total")  # fmt: skip
    return {n.removeprefix("journey_events_"): worker.metric(n) for n in names}


def _sent(stdout: str) -> Counter[str]:
    """Per-record-kind counts printed by ``journey simulate`` ("  12,345  login")."""
    out: Counter[str] = Counter()
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].replace(",", "").isdigit():
            kind = " ".join(parts[1:])
            if kind in ("account_opened", "login", "transaction", "complaint", "closure"):
                out[kind] = int(parts[0].replace(",", ""))
            elif kind == "malformed records":
                out["malformed"] = int(parts[0].replace(",", ""))
    return out


def _account_for_the_mess(
    settings: Settings,
    url: str,
    report: dict[str, Any],
    sent: Counter[str],
    *,
    live: bool,
    scale: float = SCALE,
) -> None:
    """Every injected record is where it must be: duplicates and malformed records in the
    dead-letter topic, too-late events in the too-late topic or, if their partition's
    watermark had not passed them yet, applied once (never lost, never both).

    In a backfill (everything on the broker before the worker starts) the watermark is held
    by the topics still being read, so a delayed event is normally still in time: the worker
    accepts it rather than risk false too-late verdicts. ``live``: the worker keeps up with a
    paced producer, and delayed events must really be judged too late."""
    from streams.codec import codec_from_settings
    from streams.store import open_store

    late = set(report["late"])
    delayed = late | set(report["delayed_not_late"])
    duplicated = Counter(report["duplicated"])
    assert len(late) > 100 * scale and len(duplicated) > 10_000 * scale
    assert report["malformed_total"] > 500 * scale
    assert report["max_lateness_ms"] <= report["options"]["lateness_ms"]
    assert sent["malformed"] == report["malformed_total"]

    dead = list(read_dead_letters(settings))
    reasons = Counter(d.reason for d in dead)
    codec = codec_from_settings(settings)
    too_late = [codec.decode(d.value)[1]["event_id"] for d in
                read_dead_letters(settings, settings.topics.name("too_late"))]  # fmt: skip
    assert len(set(too_late)) == len(too_late)
    if live:
        assert len(too_late) > len(late) / 2, (len(too_late), len(late))
    assert set(too_late) <= delayed, "a clean event was judged too late"
    dup_ids = Counter(codec.decode(d.value)[1]["event_id"] for d in dead if d.reason == "duplicate")

    store = open_store(url)
    try:
        applied = {r[0] for r in store.execute("SELECT event_id FROM events")} & delayed
    finally:
        store.close()
    # too late: in the too-late topic, or applied (never both, never lost)
    assert not set(too_late) & (applied - set(duplicated))
    assert late <= set(too_late) | applied
    # malformed: every one dead-lettered as undecodable
    undecodable = sum(n for r, n in reasons.items() if r not in ("duplicate", "orphan"))
    assert undecodable == report["malformed_total"], reasons
    assert reasons.get("orphan", 0) == 0
    # duplicates: each second copy dead-lettered, unless one copy was too late instead
    late_dups = {e for e in duplicated if e in set(too_late)}
    assert set(dup_ids) == set(duplicated) - late_dups
    assert all(n == 1 for n in dup_ids.values())
    print(
        f"mess accounted for: {len(too_late):,} too late (of {len(late):,} injected, "
        f"{len(late - set(too_late)):,} applied in time), {sum(dup_ids.values()):,} duplicates, "
        f"{undecodable:,} malformed ({dict(reasons)})"
    )


LIVE_CUSTOMERS = 300


def test_live_too_late_and_malformed_records_are_accounted_for(
    broker: str, topic_prefix: str, tmp_path: Path
) -> None:
    """Live: the worker runs first and ``journey simulate --speed`` paces a small bank in
    simulated time (a simulated day every 1.5 s), so the worker keeps up and its watermark
    follows the stream. A share of events of every type is delayed 2-4 simulated days beyond
    the 1-day allowed lateness: each must be in the too-late topic (or, rarely, applied in
    time), no clean event may be judged too late, and duplicates and malformed records must be
    dead-lettered one for one. (Exactness of the answers is the backfill test's job: an event
    that is too late is, by design, not applied.)"""
    settings = Settings(
        kafka={"bootstrap_servers": broker},
        topics={"prefix": topic_prefix, "partitions": PARTITIONS},
    )
    app_id = topic_prefix + "live"
    url = f"chdb://{tmp_path / 'chdb'}"
    env = worker_env(
        bootstrap=broker, prefix=topic_prefix, clickhouse_url=url, data_dir=tmp_path / "w",
        partitions=PARTITIONS, app_id=app_id,
    )  # fmt: skip
    env.update(ENGINE_ENV)
    report = tmp_path / "mess.json"
    assert _journey(["topics", "create"], env, 60).returncode == 0
    worker = WorkerProcess(env).start()
    try:
        # metrics up; the group settles within seconds, then the worker keeps up
        worker.wait(lambda: worker.metric("journey_sink_pending_rows") >= 0, 120, "starting")
        sim = _journey(
            ["simulate", "--customers", str(LIVE_CUSTOMERS), "--months", "2",
             "--opening-months", "1", "--seed", "5", "--speed", str(86_400 / 1.5),
             "--to-kafka", "--truth", str(tmp_path / "truth.jsonl"), "--report", str(report),
             "--shuffle-hours", "6", "--duplicate-share", "0.05", "--malformed-share", "0.005",
             "--too-late-share", "0.01", "--too-late-extra-hours", "48", "--mess-seed", "3"],
            env, 600,
        )  # fmt: skip
        assert sim.returncode == 0, sim.stdout + sim.stderr
        sent = _sent(sim.stdout)
        total = sum(sent.values())
        worker.wait(
            lambda: (
                committed_records(broker, app_id, list(input_topics(settings).values())) == total
            ),
            300,
            "waiting for every record to be committed",
        )
        time.sleep(3)
        print(f"live worker: {_worker_counters(worker)}")
        assert worker.stop() == 0, worker.output()
    finally:
        worker.stop()
    _account_for_the_mess(
        settings, url, json.loads(report.read_text()), sent, live=True,
        scale=LIVE_CUSTOMERS / 20_000,
    )  # fmt: skip
