"""Start a worker process: open the store, apply migrations, run Faust until told to stop."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import faust

from streams.settings import Settings
from streams.store import open_store
from streams.store.base import Store
from streams.store.migrations import migrate
from streams.store.relay import serve_queries
from streams.worker.app import JourneyWorker

log = logging.getLogger(__name__)


def prepare_store(settings: Settings) -> Store:
    """Open the configured ClickHouse and bring its schema up to date."""
    store = open_store(settings.clickhouse.store_url())
    applied = migrate(store)
    for name in applied:
        log.info("applied migration %s", name)
    serve_queries(store)  # an embedded folder: other processes' read-only queries come here
    return store


def tune_gc(threshold: int) -> None:
    """Run CPython's young-generation collection every ``threshold`` allocations (0: default).

    The hot path allocates many short-lived tuples and dicts (decoded events, timeline
    entries, rows) and creates few reference cycles, so the default (every 700 allocations)
    mostly walks live objects for nothing: about 15 % of the hot path's time in an
    interleaved A/B here. Cycles are still collected, just less often.
    """
    if threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(threshold, max(gen1, 20), max(gen2, 100))


@contextmanager
def event_loop_policy(kind: str) -> Iterator[str]:
    """Run the block with uvloop's event loops when ``kind`` asks for them; yields the kind used.

    Why: the worker is bound by one interpreter's CPU, and every fetch, write and timer goes
    through the loop's callbacks; uvloop runs them in C. Faust supports it (``faust -L
    uvloop``); the policy covers the consumer thread's loop too. The previous policy is put
    back afterwards: callers (the demo, tests) may run other asyncio code in the process.
    """
    if kind == "asyncio":
        yield "asyncio"
        return
    try:
        import uvloop
    except ImportError:
        if kind == "uvloop":
            raise RuntimeError(
                "worker.event_loop = uvloop but uvloop is not installed: "
                "pip install uvloop, or set JOURNEY_WORKER__EVENT_LOOP=asyncio (or auto)"
            ) from None
        yield "asyncio"
        return
    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    try:
        yield "uvloop"
    finally:
        asyncio.set_event_loop_policy(previous)


def run_worker(
    settings: Settings,
    *,
    store: Store | None = None,
    setup: Callable[[JourneyWorker], None] | None = None,
    loglevel: str = "WARN",
) -> JourneyWorker:
    """Run one worker until SIGTERM/SIGINT; returns it (stopped) for callers that inspect it.

    ``setup`` may register extra tasks on the app before it starts (the demo does).
    """
    tune_gc(settings.worker.gc_threshold)
    own_store = store is None
    store = store if store is not None else prepare_store(settings)
    try:
        with event_loop_policy(settings.worker.event_loop) as kind:
            log.info("event loop: %s", kind)
            jw = JourneyWorker(settings, store)
            jw.metrics.serve(settings.worker.metrics_port, settings.worker.metrics_host)
            if setup is not None:
                setup(jw)
            worker = faust.Worker(jw.app, loglevel=loglevel, quiet=True)
            try:
                worker.execute_from_commandline()
            except SystemExit as exc:
                if exc.code not in (0, None):
                    raise
    finally:
        if own_store:
            store.close()
    return jw
