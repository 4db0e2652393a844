"""A second process that owns a chdb folder the way a worker does, for the query relay tests.

``python -m streams.testing.relay_owner FOLDER [--no-relay]`` opens ``chdb://FOLDER`` through
the worker's own :func:`streams.worker.run.prepare_store` (migrations, then the query relay,
exactly as ``journey worker`` / ``journey up`` do; ``--no-relay`` opens it with ``open_store``
only, like a script holding the folder), prints one JSON line ``{"pid": ...}`` and then answers
JSON commands on stdin, one line each, with one JSON line on stdout (``{"error": ...}`` when a
command fails):

``{"op": "load", "database": D, "population": DIR, "rollups": bool}``
    migrate database ``D`` and insert the hand-made bank of ``DIR/analytics_population.py``
    (the roll-ups built too, or not).
``{"op": "query", "database": D, "sql": S, "out": PATH}``
    run ``S`` directly on this process's store and pickle the :class:`QueryResult` to ``PATH``
    (pickle keeps every Python value exactly, NaN and ``Decimal`` scale included).
``{"op": "named", "database": D, "name": N, "params": {NAME: TEXT}, "fmt": F}``
    the named query run directly and rendered as ``journey query --format F`` renders it.
``{"op": "report", "database": D, "as_of": ISO}``
    ``journey report``'s HTML, built directly.
``{"op": "tables", "database": D}``
    the table names of ``D``.
``{"op": "insert", "rows": N}``
    time an insert of ``N`` rows by the worker's own store (a scratch table).
``{"op": "close"}``
    close the worker's store (the relay stops with it).

:class:`Owner` starts it and talks to it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from streams.store.base import Store


class Owner:
    """The owning process, seen from a test: ``with Owner(folder) as owner: owner.call(...)``."""

    def __init__(self, folder: Path, *, relay: bool = True, timeout: float = 120.0) -> None:
        self.folder = folder
        self.timeout = timeout
        args = [sys.executable, "-m", "streams.testing.relay_owner", str(folder)]
        if not relay:
            args.append("--no-relay")
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.pid = int(self._reply()["pid"])

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put("")

    def _reply(self) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=self.timeout)
        except queue.Empty:
            raise AssertionError(f"the owner process gave no answer in {self.timeout} s") from None
        if not line:
            raise AssertionError(f"the owner process exited ({self.proc.wait()})")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise AssertionError(f"the owner process failed: {reply['error']}")
        return reply

    def call(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self._reply()

    def query(self, sql: str, database: str = "default") -> Any:
        out = self.folder.parent / f"direct-{os.getpid()}-{time.monotonic_ns()}.pickle"
        self.call(op="query", database=database, sql=sql, out=str(out))
        try:
            return pickle.loads(out.read_bytes())
        finally:
            out.unlink()

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as a crash."""
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # EOF: the owner closes its stores and exits
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> Owner:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.stop()


# -- the owning process -----------------------------------------------------------------------
def _load(store: Store, population: str, rollups: bool) -> None:
    sys.path.insert(0, population)
    import analytics_population as pop  # type: ignore[import-not-found]

    from streams.analytics.rollup import ensure_rollups
    from streams.store import migrate

    migrate(store)
    tables = {"events": pop.event_rows(), "customer_state": pop.state_rows(),
              "defections": pop.defection_rows(), "stalls": pop.stall_rows()}  # fmt: skip
    for table, rows in tables.items():
        cols, data = pop._columnar(rows)
        store.insert(table, cols, data)
    if rollups:
        ensure_rollups(store)


def main(argv: list[str]) -> int:
    from streams.analytics.catalogue import get_query
    from streams.analytics.formatting import render
    from streams.analytics.report import build_report
    from streams.settings import load_settings
    from streams.store import open_store
    from streams.store.embedded import EmbeddedStore
    from streams.worker.run import prepare_store

    folder = os.path.abspath(argv[0])
    url = f"chdb://{folder}"
    if "--no-relay" in argv:
        main_store = open_store(url)
    else:
        main_store = prepare_store(load_settings(clickhouse={"url": url}))
    stores: dict[str, Store] = {"default": main_store}

    def store_for(database: str) -> Store:
        if database not in stores:
            stores[database] = EmbeddedStore(folder, database)
        return stores[database]

    print(json.dumps({"pid": os.getpid()}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            op, db = cmd["op"], cmd.get("database", "default")
            reply: dict[str, Any] = {"ok": True}
            if op == "load":
                _load(store_for(db), cmd["population"], cmd["rollups"])
            elif op == "query":
                result = store_for(db).query_columns(cmd["sql"])
                Path(cmd["out"]).write_bytes(pickle.dumps(result))
            elif op == "named":
                named = get_query(cmd["name"])
                result = named.run(store_for(db), named.bind(cmd.get("params", {})))
                reply["text"] = render(result, cmd["fmt"])
            elif op == "report":
                as_of = dt.datetime.fromisoformat(cmd["as_of"]).replace(tzinfo=dt.UTC)
                reply["html"] = build_report(store_for(db), as_of=as_of)
            elif op == "tables":
                rows = store_for(db).execute(
                    "SELECT name FROM system.tables WHERE database = currentDatabase()"
                )
                reply["tables"] = sorted(r[0] for r in rows)
            elif op == "insert":
                main_store.execute("CREATE TABLE IF NOT EXISTS relay_scratch (x UInt64) "
                                   "ENGINE = MergeTree ORDER BY x")  # fmt: skip
                started = time.monotonic()
                main_store.insert("relay_scratch", ["x"], [list(range(cmd["rows"]))])
                reply["seconds"] = time.monotonic() - started
            elif op == "close":
                main_store.close()
            else:
                reply = {"error": f"unknown op {op!r}"}
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)
    for store in stores.values():
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
