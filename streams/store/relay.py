"""Read-only queries on an embedded store that another process owns, through that process.

chdb lets exactly one process open a data folder (ClickHouse ``flock``s ``<folder>/status``),
and in embedded mode that process is the worker (``journey up``, ``journey worker``, ``journey
demo``).  So the owner serves queries for everyone else:

* **the relay** (:class:`QueryRelay`, started by :func:`serve_queries` when a worker prepares
  its store): an HTTP server on ``127.0.0.1``, a random port, daemon threads.  Every request
  carries a random token (``Authorization: Bearer``).  It advertises itself in
  ``<folder>/journey-relay.json`` (pid, port, token; mode 0600, so only the folder's user reads
  it), written atomically after the server listens and removed before the store is closed.  Each
  query runs on a fresh chdb session of its own with ClickHouse's ``readonly = 2`` (about 2 ms
  to open): analysts never wait for the worker's inserts nor hold them up (one shared session
  would serialise them: an analyst's 3-second query would stall a checkpoint), and no session
  state (``USE``, settings) leaks between requests.
* **the client** (:class:`RelayStore`, what ``open_store("chdb://FOLDER")`` returns while an
  owner with a live relay runs): a read-only :class:`~streams.store.base.Store`.  "Live" means the
  folder's lock is held *and* the advertised process answers an authenticated hello naming the
  same folder; otherwise the caller gets the old "another process owns" error.

Read-only: a statement must start with SELECT, WITH, SHOW, DESCRIBE/DESC or EXISTS, be alone
(no second statement after ``;``) and not write a file (``INTO OUTFILE``); both sides check, so a
mistake fails before a round trip, and the relay's session refuses anything else anyway.  The
one write a reader needs, the analytics roll-ups (``sql/analytics``, created on first use by
:func:`streams.analytics.rollup.ensure_rollups`), is an action of its own (``POST /v1/rollups``):
the owner runs its own roll-up code on a writable session, one caller at a time, so the relay
never widens what SQL it accepts and two analysts arriving at once back-fill once.

Parameters stay ClickHouse query parameters end to end: the JSON carries their Python values
(tagged, below) and the owner hands them to :meth:`EmbeddedStore.query_columns`, which checks and
binds them as it does for a direct query.

Values in JSON (:func:`encode_value` / :func:`decode_value`): ``None``, ``bool``, ``int`` (any
size), ``str`` (lone surrogates from invalid UTF-8 included, escaped) and finite ``float`` are
JSON's own; lists are lists; everything else is ``{"$": tag, "v": text}``: ``float`` nan/inf/-inf,
``Decimal`` (its text, so the scale is kept), ``datetime`` and ``date`` (ISO), ``uuid.UUID``,
``IPv4Address``/``IPv6Address``, ``tuple``, and ``dict`` (as pairs, since map keys need not be
strings).  A query through the relay therefore returns the same values, of the same Python types,
as the same query on the folder directly.  Known differences: a NaN's sign and payload are not
kept (every NaN comes back as ``float("nan")``); a ``datetime`` parameter with a named time zone
(``ZoneInfo``) arrives with the equal fixed UTC offset (results are always UTC, as directly).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hmac
import http.client
import ipaddress
import itertools
import json
import logging
import math
import os
import re
import secrets
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from streams.store.base import Params, QueryResult, Store, StoreError
from streams.store.params import skip_quoted

log = logging.getLogger(__name__)

RELAY_FILE = "journey-relay.json"
PROTOCOL = 1
HOST = "127.0.0.1"
MAX_BODY = 64 * 1024 * 1024
#: Seconds a client waits for an answer (a query's whole run; the roll-up back-fill included).
QUERY_TIMEOUT_S = 3600.0
HELLO_TIMEOUT_S = 10.0
#: Seconds :meth:`QueryRelay.stop` waits for queries in flight before the owner goes on closing.
STOP_WAIT_S = 10.0

READ_ONLY_KEYWORDS = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS")
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# -- the read-only rule -----------------------------------------------------------------------
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEREDOC = re.compile(r"\$([A-Za-z0-9_]*)\$")


def _tokens(sql: str) -> list[str]:
    """Upper-cased words and the ``;`` ``(`` marks of ``sql`` outside literals and comments.

    A scan, not a parser: it only has to find the first keyword, a second statement and
    ``INTO OUTFILE``.  Quoted strings and identifiers (doubled or backslash-escaped quotes),
    ``$tag$`` heredocs and ``--``, ``#`` and (nested) ``/* */`` comments are skipped, as
    ClickHouse's lexer does; anything unterminated is refused rather than guessed at.  Where the
    scan and ClickHouse could differ, ClickHouse refuses the text anyway (``#x`` is a comment
    here and a syntax error there), so the scan may refuse a query but not miss a statement.
    """
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"`":
            i = skip_quoted(sql, i, c)  # raises ParameterError (a StoreError) if unterminated
            out.append("'")  # a literal or quoted name: a token, never a keyword
        elif sql.startswith("--", i) or c == "#":
            nl = sql.find("\n", i)
            i = n if nl < 0 else nl + 1
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2  # ClickHouse nests /* /* */ */
            while depth:
                if i >= n:
                    raise StoreError("unterminated /* comment in the query")
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == "$" and (m := _HEREDOC.match(sql, i)):
            end = sql.find(m.group(0), m.end())
            if end < 0:
                raise StoreError(f"unterminated {m.group(0)} heredoc in the query")
            out.append("'")
            i = end + len(m.group(0))
        elif m := _WORD.match(sql, i):
            out.append(m.group(0).upper())
            i = m.end()
        elif c in ";(":
            out.append(c)
            i += 1
        else:
            i += 1
    return out


def read_only_problem(sql: str) -> str | None:
    """Why ``sql`` may not run through the relay, or None when it is one read-only statement."""
    try:
        tokens = _tokens(sql)
    except StoreError as exc:
        return exc.message
    first = next((t for t in tokens if t != "("), None)
    if first is None:
        return "empty query"
    if first not in READ_ONLY_KEYWORDS:
        return f"{first[:40]} is not a read-only statement"
    if ";" in tokens and any(t != ";" for t in tokens[tokens.index(";") :]):
        return "one statement at a time (a second one follows ';')"
    if any(a == "INTO" and b == "OUTFILE" for a, b in itertools.pairwise(tokens)):
        return "INTO OUTFILE would write a file in the owning process"
    return None


def _relay_rule(folder: str, pid: int) -> str:
    return (
        f"the embedded store at {folder} is owned by journey process {pid} (`journey up`, "
        "`journey worker` or `journey demo`), and other processes reach it through that "
        "process's query relay, which runs read-only statements only ("
        + ", ".join(READ_ONLY_KEYWORDS)
        + "). Stop that process to change the store, or run the stack against a ClickHouse "
        "server (JOURNEY_CLICKHOUSE__URL=clickhouse://...)"
    )


def _refuse(problem: str, folder: str, pid: int) -> StoreError:
    return StoreError(f"{problem}: {_relay_rule(folder, pid)}", retryable=False)


# -- values in JSON ---------------------------------------------------------------------------
def encode_value(value: Any) -> Any:
    """A query value or result value as JSON-able data (see the module's docstring)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"$": "float", "v": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, tuple):
        return {"$": "tuple", "v": [encode_value(v) for v in value]}
    if isinstance(value, dict):
        return {"$": "map", "v": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
    if isinstance(value, Decimal):
        return {"$": "decimal", "v": str(value)}
    if isinstance(value, dt.datetime):
        return {"$": "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$": "date", "v": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"$": "uuid", "v": str(value)}
    if isinstance(value, ipaddress.IPv4Address):
        return {"$": "ipv4", "v": str(value)}
    if isinstance(value, ipaddress.IPv6Address):
        return {"$": "ipv6", "v": str(value)}
    if isinstance(value, bytes):
        return {"$": "bytes", "v": base64.b64encode(value).decode("ascii")}
    raise StoreError(f"cannot send a {type(value).__name__} through the query relay: {value!r}")


_DECODERS: dict[str, Any] = {
    "float": float,
    "decimal": Decimal,
    "datetime": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "uuid": uuid.UUID,
    "ipv4": ipaddress.IPv4Address,
    "ipv6": ipaddress.IPv6Address,
    "bytes": base64.b64decode,
}


def decode_value(data: Any) -> Any:
    """The inverse of :func:`encode_value`."""
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if not isinstance(data, dict):
        return data
    tag, v = data.get("$"), data.get("v", "")
    if tag == "tuple":
        return tuple(decode_value(x) for x in v)
    if tag == "map":
        return {decode_value(k): decode_value(x) for k, x in v}
    if tag in _DECODERS:
        return _DECODERS[tag](v)
    raise StoreError(f"the query relay sent a value this version cannot read: {data!r:.100}")


def _dumps(obj: Any) -> bytes:
    # ensure_ascii: lone surrogates (invalid UTF-8 in a String column) travel as \\udcXX escapes
    return json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def encode_result(result: QueryResult) -> dict[str, Any]:
    return {
        "columns": list(result.columns),
        "types": list(result.types),
        "rows": [[encode_value(v) for v in row] for row in result.rows],
    }


def decode_result(data: Mapping[str, Any]) -> QueryResult:
    return QueryResult(
        columns=[str(c) for c in data["columns"]],
        types=[str(t) for t in data["types"]],
        rows=[tuple(decode_value(v) for v in row) for row in data["rows"]],
    )


# -- the relay file ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RelayInfo:
    """What ``<folder>/journey-relay.json`` advertises."""

    pid: int
    port: int
    token: str


def relay_file(folder: str) -> str:
    return os.path.join(folder, RELAY_FILE)


def read_relay_file(folder: str) -> RelayInfo | None:
    """The advertised relay, or None when there is no (readable, well-formed) relay file."""
    try:
        with open(relay_file(folder), encoding="utf-8") as fh:
            data = json.load(fh)
        if data.get("protocol") != PROTOCOL:
            return None
        return RelayInfo(pid=int(data["pid"]), port=int(data["port"]), token=str(data["token"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_relay_file(folder: str, info: RelayInfo) -> None:
    """Write the file atomically (readers never see half of it), mode 0600 from the start."""
    final = relay_file(folder)
    tmp = f"{final}.{info.pid}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        body = {"protocol": PROTOCOL, "pid": info.pid, "host": HOST, "port": info.port,
                "token": info.token}  # fmt: skip
        os.write(fd, json.dumps(body).encode())
    finally:
        os.close(fd)
    os.replace(tmp, final)


def remove_relay_file(folder: str) -> bool:
    """Remove the folder's relay file; True if one was there.

    Called by the relay when it stops, and by :class:`EmbeddedStore` right after it takes a
    folder's lock (no other process can be serving it then: a file there is a dead owner's).
    """
    try:
        os.unlink(relay_file(folder))
    except FileNotFoundError:
        return False
    except OSError as exc:
        log.warning("cannot remove the stale query relay file in %s: %s", folder, exc)
        return False
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, someone else's (the hello then fails on the token)
    return True


# -- the server (in the owning process) -------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: nothing to keep alive

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("query relay: " + format, *args)

    def _answer(self, status: int, body: Mapping[str, Any]) -> None:
        payload = _dumps(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "")
        expected = f"Bearer {self.server.relay.token}"
        if hmac.compare_digest(given.encode(), expected.encode()):
            return True
        self._answer(403, {"error": "wrong or missing query relay token"})
        return False

    def do_GET(self) -> None:
        if not self._authorised():
            return
        if self.path != "/v1/hello":
            self._answer(404, {"error": f"no {self.path} here"})
            return
        relay = self.server.relay
        self._answer(200, {"protocol": PROTOCOL, "pid": os.getpid(), "folder": relay.folder})

    def do_POST(self) -> None:
        if not self._authorised():
            return
        relay = self.server.relay
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._answer(411, {"error": "Content-Length required"})
            return
        if not 0 <= length <= MAX_BODY:
            self._answer(413, {"error": f"request over {MAX_BODY} bytes"})
            return
        try:
            request = json.loads(self.rfile.read(length))
            database = request["database"]
            if not isinstance(database, str) or not _DB_NAME.match(database):
                raise ValueError(f"invalid database name {database!r}")
        except (ValueError, KeyError, TypeError) as exc:
            self._answer(400, {"error": f"bad query relay request: {exc}"})
            return
        try:
            with relay.in_flight():
                if self.path == "/v1/query":
                    body = relay.run_query(database, request.get("sql"), request.get("params"))
                elif self.path == "/v1/rollups":
                    body = {"filled": relay.ensure_rollups(database)}
                else:
                    self._answer(404, {"error": f"no {self.path} here"})
                    return
        except StoreError as exc:
            self._answer(400, {"error": exc.message, "retryable": exc.retryable, "code": exc.code})
            return
        except Exception as exc:  # a bug on the owner's side: say it, keep serving
            log.exception("query relay: %s failed", self.path)
            self._answer(500, {"error": f"query relay failed: {type(exc).__name__}: {exc}"})
            return
        self._answer(200, body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    relay: QueryRelay


class QueryRelay:
    """Serve read-only queries on the chdb ``folder`` this process owns (see the module doc)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.token = secrets.token_urlsafe(32)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._rollups = threading.Lock()
        self._busy = threading.Condition()
        self._running = 0

    @property
    def port(self) -> int:
        if self._server is None:
            raise StoreError("the query relay is not running")
        return int(self._server.server_address[1])

    def start(self) -> QueryRelay:
        server = _Server((HOST, 0), _Handler)
        server.relay = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="journey-query-relay", daemon=True
        )
        self._thread.start()
        try:
            _write_relay_file(self.folder, RelayInfo(os.getpid(), self.port, self.token))
        except BaseException:
            self._shutdown()
            raise
        log.info("query relay for %s on %s:%d", self.folder, HOST, self.port)
        return self

    def stop(self) -> None:
        """Withdraw the relay file, stop serving, and wait (a while) for queries in flight."""
        if self._server is None:
            return
        info = read_relay_file(self.folder)
        if info is not None and info.token == self.token:
            remove_relay_file(self.folder)
        self._shutdown()
        with self._busy:
            if not self._busy.wait_for(lambda: self._running == 0, timeout=STOP_WAIT_S):
                log.warning("query relay: %d query(s) still running at stop", self._running)

    def _shutdown(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=STOP_WAIT_S)
            self._thread = None

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count a request as running (:meth:`stop` waits for the count to reach zero)."""
        with self._busy:
            self._running += 1
        try:
            yield
        finally:
            with self._busy:
                self._running -= 1
                self._busy.notify_all()

    # -- the work ---------------------------------------------------------------------------
    def run_query(self, database: str, sql: Any, params: Any) -> dict[str, Any]:
        from streams.store.embedded import EmbeddedStore

        if not isinstance(sql, str):
            raise StoreError("bad query relay request: sql must be a string")
        problem = read_only_problem(sql)
        if problem is not None:
            raise _refuse(problem, self.folder, os.getpid())
        if params is not None and not isinstance(params, dict):
            raise StoreError("bad query relay request: params must be an object")
        values = {str(k): decode_value(v) for k, v in (params or {}).items()}
        with EmbeddedStore(self.folder, database, read_only=True) as store:
            return encode_result(store.query_columns(sql, values))

    def ensure_rollups(self, database: str) -> list[str]:
        """Create the analytics roll-ups of ``database`` here, with this process's own code."""
        from streams.analytics.rollup import ensure_rollups
        from streams.store.embedded import EmbeddedStore

        with self._rollups, EmbeddedStore(self.folder, database) as store:
            return ensure_rollups(store)


def serve_queries(store: Store) -> QueryRelay | None:
    """Let other processes query ``store`` through this process, if it is an embedded folder.

    A no-op (None) for a server store or an in-memory chdb.  A relay that cannot start (a
    read-only folder, no local port) is logged, not raised: the worker runs without it, and
    readers get the "another process owns" error as before.  Stopped by ``store.close()``.
    """
    from streams.store.embedded import EmbeddedStore

    if not isinstance(store, EmbeddedStore) or store.folder in ("", ":memory:"):
        return None
    try:
        return store.serve_queries()
    except (OSError, StoreError) as exc:
        log.warning("no query relay for %s (other processes cannot query it): %s",
                    store.folder, exc)  # fmt: skip
        return None


# -- the client -------------------------------------------------------------------------------
class RelayStore(Store):
    """A read-only store on a chdb folder another journey process owns, through its relay."""

    scheme = "chdb"

    def __init__(self, folder: str, database: str, info: RelayInfo,
                 timeout: float = QUERY_TIMEOUT_S) -> None:  # fmt: skip
        super().__init__(database)
        self.folder = folder
        self.info = info
        self.timeout = timeout

    @property
    def owner_pid(self) -> int:
        return self.info.pid

    def _request(self, method: str, path: str, body: Mapping[str, Any] | None = None,
                 timeout: float | None = None) -> Any:  # fmt: skip
        self._check_open()
        payload = _dumps(body) if body is not None else None
        headers = {"Authorization": f"Bearer {self.info.token}", "Content-Type": "application/json"}
        conn = http.client.HTTPConnection(HOST, self.info.port, timeout=timeout or self.timeout)
        try:
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            raise StoreError(
                f"the query relay of journey process {self.info.pid}, which owns the embedded "
                f"store at {self.folder}, does not answer ({exc}); if that process stopped, run "
                "this again",
                retryable=True,
            ) from exc
        finally:
            conn.close()
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise StoreError(f"the query relay answered {status} with no JSON") from exc
        if status != 200:
            message = str(data.get("error", f"HTTP {status}")) if isinstance(data, dict) else raw
            retryable = bool(data.get("retryable", False)) if isinstance(data, dict) else False
            code = data.get("code") if isinstance(data, dict) else None
            raise StoreError(str(message), retryable=retryable,
                             code=code if isinstance(code, int) else None)  # fmt: skip
        return data

    def hello(self) -> None:
        """Check the advertised process answers, with our token, for this folder."""
        data = self._request("GET", "/v1/hello", timeout=HELLO_TIMEOUT_S)
        try:
            same = data["pid"] == self.info.pid and os.path.samefile(data["folder"], self.folder)
        except (OSError, KeyError, TypeError) as exc:
            raise StoreError(f"the query relay answered an unexpected hello: {exc}") from exc
        if not same:
            raise StoreError(f"the query relay on port {self.info.port} serves another folder")

    # -- Store --------------------------------------------------------------------------------
    def query_columns(self, sql: str, params: Params | None = None) -> QueryResult:
        problem = read_only_problem(sql)
        if problem is not None:
            raise _refuse(problem, self.folder, self.info.pid)
        body = {
            "database": self.database,
            "sql": sql,
            "params": {k: encode_value(v) for k, v in (params or {}).items()},
        }
        data = self._request("POST", "/v1/query", body)
        try:
            return decode_result(data)
        except (KeyError, TypeError, ValueError) as exc:
            why = f"the query relay sent a result this version cannot read: {exc}"
            raise StoreError(why) from exc

    def ensure_rollups(self) -> list[str]:
        """Have the owner create the analytics roll-ups of this database; tables back-filled."""
        data = self._request("POST", "/v1/rollups", {"database": self.database})
        return [str(t) for t in data["filled"]]

    def insert(self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]]) -> int:
        raise StoreError(
            f"insert into {table}: inserts into the embedded store at {self.folder} go through "
            f"the worker that owns it (journey process {self.info.pid}); this connection "
            "reaches the store through that process's query relay and only reads"
        )

    def ping(self) -> None:
        self.query_columns("SELECT 1")

    def server_version(self) -> str:
        return str(self.execute("SELECT version()")[0][0])

    def close(self) -> None:
        self._closed = True

    def __repr__(self) -> str:
        return (f"RelayStore(folder={self.folder!r}, database={self.database!r}, "
                f"owner_pid={self.info.pid})")  # fmt: skip


def connect_relay(folder: str, database: str) -> tuple[RelayStore | None, str]:
    """A :class:`RelayStore` on ``folder`` if its owner advertises a live relay, else
    ``(None, why)`` (``why`` empty when there is no relay file at all)."""
    info = read_relay_file(folder)
    if info is None:
        return None, ""
    if not _pid_alive(info.pid):
        return None, f"the query relay file names process {info.pid}, which is not running"
    store = RelayStore(folder, database, info)
    try:
        store.hello()
    except StoreError as exc:
        return None, f"the query relay advertised by process {info.pid} does not answer: {exc}"
    return store, ""
