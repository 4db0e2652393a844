"""The embedded stack: a Tansu broker, one worker and a chdb store, all in one command.

chdb allows exactly one process per data folder, so the worker process owns the store; the
demo's summary runs inside it, and other processes' queries go through it (streams.store.relay).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from streams.embedded.broker import TansuBroker
from streams.settings import Settings
from streams.store.base import Store

SQL_QUERIES = Path(__file__).resolve().parents[2] / "sql" / "queries"


def load_query(name: str) -> str:
    """The text of ``sql/queries/NAME.sql``."""
    return (SQL_QUERIES / f"{name}.sql").read_text()


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _embedded_settings(settings: Settings, bootstrap: str, data_dir: Path) -> Settings:
    return settings.model_copy(
        update={
            "kafka": settings.kafka.model_copy(update={"bootstrap_servers": bootstrap}),
            "worker": settings.worker.model_copy(
                update={
                    "data_dir": data_dir,
                    "session_timeout_s": 6.0,
                    "idle_topic_s": 2.0,
                    "recovery_consistency_check": False,  # Tansu: see WorkerSettings
                }
            ),
        }
    )


def _start_broker(data_dir: Path) -> TansuBroker:
    data_dir.mkdir(parents=True, exist_ok=True)
    _say("starting the embedded Kafka broker (Tansu) ...")
    broker = TansuBroker(log_dir=data_dir).start()
    _say(f"broker ready at {broker.bootstrap}")
    return broker


def _create_topics(settings: Settings) -> None:
    from confluent_kafka.admin import AdminClient

    from streams.kafka.clients import admin_config
    from streams.kafka.topics import create_topics

    create_topics(settings, AdminClient(admin_config(settings.kafka)))


def run_up(settings: Settings) -> None:
    """Broker + worker + chdb until Ctrl-C."""
    from streams.worker.run import run_worker

    data_dir = settings.worker.data_dir
    with _start_broker(data_dir / "broker") as broker:
        s = _embedded_settings(settings, broker.bootstrap, data_dir)
        _create_topics(s)
        _say(
            f"worker starting; send events with:\n"
            f"  journey --kafka {broker.bootstrap} produce FILE\n"
            f"ClickHouse (chdb) at {s.clickhouse.url} (journey query/report go through this "
            "process meanwhile); Ctrl-C to stop."
        )
        run_worker(s, loglevel="WARN")
    _say("stopped.")


def simulated_events(
    customers: int, months: int, seed: int
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The demo's traffic: the calibrated bank simulator."""
    from datetime import date

    from streams.simulate.params import SimulationParams
    from streams.simulate.population import iter_records

    start = date(2024, 1, 1)
    end_month = start.month - 1 + months
    horizon = date(start.year + end_month // 12, end_month % 12 + 1, 1)
    params = SimulationParams(
        n_customers=customers,
        seed=seed,
        start_date=start,
        opening_months=max(1, min(months - 3, 12)),
        horizon_end=horizon,
    )
    return iter_records(params=params)


def run_demo(settings: Settings, *, customers: int, months: int, seed: int) -> None:
    """Simulate a bank end to end on the embedded stack and print a cohort summary."""
    from streams.worker.run import prepare_store, run_worker

    base = settings.worker.data_dir / "demo"
    if base.exists():
        import shutil

        shutil.rmtree(base)
    chdb_url = f"chdb://{(base / 'chdb').resolve()}"
    settings = settings.model_copy(
        update={"clickhouse": settings.clickhouse.model_copy(update={"url": chdb_url})}
    )
    with _start_broker(base / "broker") as broker:
        s = _embedded_settings(settings, broker.bootstrap, base)
        s = s.model_copy(
            update={"worker": s.worker.model_copy(update={"store": "memory://", "metrics_port": 0})}
        )
        _create_topics(s)
        store = prepare_store(s)
        events = list(simulated_events(customers, months, seed))
        state: dict[str, Any] = {}

        def setup(jw: Any) -> None:
            @jw.app.task
            async def drive() -> None:
                loop = asyncio.get_running_loop()
                _say(f"producing {len(events):,} simulated events for {customers:,} customers ...")
                summary = await loop.run_in_executor(None, _produce, s, events)
                state["sent"] = summary.total_sent
                target = summary.total_sent
                _say(f"sent {target:,} events; the worker is processing them ...")
                last, started = -1, time.monotonic()
                while jw.events_processed < target:
                    await asyncio.sleep(1.0)
                    if jw.events_processed != last:
                        last = jw.events_processed
                        rate = last / max(time.monotonic() - started, 1e-9)
                        _say(f"  processed {last:,}/{target:,} ({rate:,.0f} events/s)")
                # Let the input topics go idle so each partition's watermark reaches the end
                # of the simulated history and the deadlines due by then fire.
                await asyncio.sleep(s.worker.idle_topic_s + 2 * jw.tick_seconds)
                await jw.flush()
                state["processed"] = jw.events_processed
                os.kill(os.getpid(), signal.SIGTERM)

        run_worker(s, store=store, setup=setup)
        try:
            print_summary(store)
        finally:
            store.close()


def _produce(settings: Settings, events: Iterable[tuple[str, dict[str, Any]]]) -> Any:
    from streams.kafka.produce import produce_records

    return produce_records(events, settings)


def print_summary(store: Store) -> None:
    """Print the cohort summary read back from ClickHouse."""
    from rich.console import Console
    from rich.table import Table

    result = store.query_columns(load_query("cohort_summary"))
    table = Table(title="New-customer cohorts: defections read back from ClickHouse")
    for col in result.columns:
        table.add_column(col, justify="right" if col not in ("opening_channel",) else "left")
    for row in result.rows:
        table.add_row(*[str(v.date() if hasattr(v, "date") else v) for v in row])
    Console().print(table)
