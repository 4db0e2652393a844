"""Run a real, throw-away ClickHouse server (Debian's 18.16) on loopback for tests and demos.

Why a real server: the server backend must be tested against the engine it will meet (18.16's
parser, types and errors differ from chdb's 26.x), and there is no Docker here.  The server starts
in ~2 s from a config generated into a temp directory: free loopback ports, data/tmp/user_files and
logs under that directory, a ``default`` user without a password and a ``journey`` user with one
(for authentication tests).  18.16 runs as root without complaint (it only refuses to switch
user when asked to), so no extra flags are needed.

    with ClickHouseServer() as ch:
        store = open_store(ch.url)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from xml.sax.saxutils import escape

JOURNEY_PASSWORD = "journey-test-password"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_server_binary() -> str | None:
    """``clickhouse-server`` on PATH, or in /usr/sbin (Debian puts it there; not on every PATH)."""
    found = shutil.which("clickhouse-server")
    if found:
        return found
    for candidate in ("/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM the server when the process that started it dies.

    Without this a killed test run (timeout, SIGKILL) leaves a server running forever, because
    the server is in its own session and never sees the terminal's signals.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # not Linux / no glibc: best effort only
        pass


class ClickHouseServerError(RuntimeError):
    """The server did not start; the message carries the tail of its logs."""


class ClickHouseServer:
    """A clickhouse-server subprocess with its own config, ports and data directory."""

    def __init__(
        self,
        binary: str | None = None,
        *,
        workdir: str | Path | None = None,
        journey_password: str = JOURNEY_PASSWORD,
        startup_timeout: float = 30.0,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        found = binary or find_server_binary()
        if not found:
            raise ClickHouseServerError(
                "clickhouse-server not found: apt-get install -y clickhouse-server "
                "(or set JOURNEY_TEST_CLICKHOUSE_URL to an existing server)"
            )
        self.binary: str = found
        self.journey_password = journey_password
        self.startup_timeout = startup_timeout
        self._own_dir = workdir is None
        self.dir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="journey-ch-"))
        self.tcp_port = 0
        self.http_port = 0
        #: (certificate, private key) PEM files: also serve the native protocol over TLS on
        #: ``tcp_port_secure`` (off by default; the plaintext port always stays on).
        self.tls = tls
        self.tcp_port_secure = 0
        self.proc: subprocess.Popen[bytes] | None = None

    # -- urls ---------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def url(self) -> str:
        """Native-protocol URL for the passwordless ``default`` user and database."""
        return f"clickhouse://default:@{self.host}:{self.tcp_port}/default"

    def url_for(self, database: str = "default", user: str = "default", password: str = "") -> str:
        return f"clickhouse://{user}:{password}@{self.host}:{self.tcp_port}/{database}"

    @property
    def journey_url(self) -> str:
        """URL for the password-protected ``journey`` user."""
        return self.url_for(user="journey", password=self.journey_password)

    # -- config -------------------------------------------------------------------------------
    def _write_config(self) -> Path:
        d = self.dir
        for sub in ("data", "tmp", "user_files", "log", "format_schemas"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        config = f"""<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <log>{d}/log/clickhouse-server.log</log>
    <errorlog>{d}/log/clickhouse-server.err.log</errorlog>
    <size>50M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{self.tcp_port}</tcp_port>
  <http_port>{self.http_port}</http_port>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <format_schema_path>{d}/format_schemas/</format_schema_path>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
{self._tls_config()}</yandex>
"""
        users = f"""<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>4000000000</max_memory_usage>
      <max_execution_time>120</max_execution_time>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile><quota>default</quota>
    </default>
    <journey>
      <password>{escape(self.journey_password)}</password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile><quota>default</quota>
    </journey>
  </users>
  <quotas><default></default></quotas>
</yandex>
"""
        (d / "users.xml").write_text(users)
        path = d / "config.xml"
        path.write_text(config)
        return path

    def _tls_config(self) -> str:
        if self.tls is None:
            return ""
        cert, key = self.tls
        return f"""  <tcp_port_secure>{self.tcp_port_secure}</tcp_port_secure>
  <openSSL>
    <server>
      <certificateFile>{escape(str(cert))}</certificateFile>
      <privateKeyFile>{escape(str(key))}</privateKeyFile>
      <verificationMode>none</verificationMode>
      <loadDefaultCAFile>false</loadDefaultCAFile>
      <cacheSessions>true</cacheSessions>
      <disableProtocols>sslv2,sslv3</disableProtocols>
      <preferServerCiphers>true</preferServerCiphers>
    </server>
  </openSSL>
"""

    def log_tail(self, lines: int = 30) -> str:
        """Last lines of the server's logs (error log first), for failure messages."""
        out = []
        for name in ("clickhouse-server.err.log", "clickhouse-server.log", "stdout.log"):
            p = self.dir / "log" / name
            if p.exists():
                text = p.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {p} ---\n" + "\n".join(text))
        return "\n".join(out) or "(no log written)"

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> ClickHouseServer:
        """Start the server and wait until ``SELECT 1`` answers over the native protocol.

        A restart (after ``stop(keep_data=True)``) keeps the ports and the data.
        """
        from clickhouse_driver import Client

        if not self.tcp_port:
            self.tcp_port, self.http_port = free_port(), free_port()
        if self.tls is not None and not self.tcp_port_secure:
            self.tcp_port_secure = free_port()
        config = self._write_config()
        stdout = open(self.dir / "log" / "stdout.log", "wb")  # noqa: SIM115 (owned by Popen)
        self.proc = subprocess.Popen(
            [self.binary, f"--config-file={config}"],
            cwd=self.dir,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C in pytest must not hit the server first
            preexec_fn=_die_with_parent,
        )
        stdout.close()
        deadline = time.monotonic() + self.startup_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ClickHouseServerError(
                    f"clickhouse-server exited with code {self.proc.returncode} during startup\n"
                    + self.log_tail()
                )
            try:
                # A bare socket first: clickhouse-driver logs a traceback per refused attempt.
                with socket.create_connection((self.host, self.tcp_port), timeout=1):
                    pass
                client = Client(host=self.host, port=self.tcp_port, connect_timeout=1)
                client.execute("SELECT 1")
                client.disconnect()
                return self
            except Exception as exc:  # not up yet
                last = exc
                time.sleep(0.1)
        self.stop()
        raise ClickHouseServerError(
            f"clickhouse-server did not answer on 127.0.0.1:{self.tcp_port} within "
            f"{self.startup_timeout:.0f}s (last error: {last})\n" + self.log_tail()
        )

    def stop(self, timeout: float = 5.0, *, keep_data: bool = False) -> None:
        """SIGTERM, wait, SIGKILL if needed; remove the temp directory we created.

        ``keep_data=True`` keeps it (and the ports) for a later :meth:`start`: an outage.

        18.16 waits for open client connections before exiting; a throw-away test server need
        not, so after ``timeout`` seconds it is killed.
        """
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        if self._own_dir and not keep_data:
            shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> ClickHouseServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
