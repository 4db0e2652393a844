"""Debian's Prometheus and promtool for tests: a real server on loopback, rule copies, the API.

``PrometheusServer`` runs ``prometheus`` with a configuration of its own in a temporary
directory (free port, short scrape and evaluation intervals) and answers through its HTTP API
(``/api/v1/alerts``, ``/api/v1/rules``, ``/api/v1/query``). ``fast_rules`` copies the shipped
rule files with every ``for:`` shortened, so an end-to-end test sees an alert go to firing in
seconds instead of the production half hour; everything else in the rules is unchanged.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from streams.embedded.broker import free_port
from streams.testing.real import missing

#: The shipped configuration: scrape config, rules, promtool unit tests.
DEPLOY_DIR = Path(__file__).resolve().parents[2] / "deploy"
RULES_DIR = DEPLOY_DIR / "prometheus" / "rules"


def find_tool(name: str) -> str:
    """Path of ``prometheus`` / ``promtool`` / ``amtool``; skip (or fail in CI) if missing."""
    path = shutil.which(name)
    if path is None and Path(f"/usr/bin/{name}").is_file():
        path = f"/usr/bin/{name}"
    if path is None:
        package = "prometheus-alertmanager" if name == "amtool" else "prometheus"
        missing(f"{name} not found (apt-get install --no-install-recommends {package})")
    return path


_FOR = re.compile(r"^(\s+)for:\s*\S+\s*$", re.MULTILINE)
_INTERVAL = re.compile(r"^\s+interval:\s*\S+\s*$\n", re.MULTILINE)


def fast_rules(dst: Path, for_: str = "2s", src: Path = RULES_DIR) -> list[Path]:
    """Copy every rule file of ``src`` into ``dst`` with each rule's ``for:`` set to ``for_``
    and each group's ``interval`` removed (the server's short evaluation interval applies).

    A line edit (the shipped files keep ``for:`` and ``interval:`` on lines of their own), so
    the copy is the shipped text but for those values; a test loading it checks that each
    rule file still has rules with a ``for:``.
    """
    dst.mkdir(parents=True, exist_ok=True)
    out = []
    for path in sorted(src.glob("*.yml")):
        text, n = _FOR.subn(rf"\1for: {for_}", path.read_text())
        if n == 0:
            raise ValueError(f"{path}: no 'for:' to shorten")
        target = dst / path.name
        target.write_text(_INTERVAL.sub("", text))
        out.append(target)
    return out


class PrometheusServer:
    """One ``prometheus`` process on 127.0.0.1 scraping ``targets`` (job ``journey-worker``)."""

    def __init__(
        self,
        workdir: Path,
        targets: list[str],
        rule_files: list[Path],
        *,
        interval: str = "1s",
        job: str = "journey-worker",
    ) -> None:
        self.binary = find_tool("prometheus")
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        config = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": targets}]}],
        }
        self.config_path = workdir / "prometheus.yml"
        self.config_path.write_text(json.dumps(config, indent=2))  # JSON is YAML
        self.log_path = workdir / "prometheus.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> PrometheusServer:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                self.binary,
                f"--config.file={self.config_path}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1h",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited {self.proc.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"prometheus not ready after {timeout}s:\n{self.output()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")[-tail:]
        except OSError:
            return ""

    def api(self, path: str, **params: str) -> Any:
        """GET ``/api/v1/<path>``; returns ``data`` (raises on an error status)."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=5) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise RuntimeError(f"prometheus API {path}: {body}")
        return body["data"]

    def alerts(self, name: str | None = None) -> list[dict[str, Any]]:
        """Active alerts (pending and firing), optionally only ``name``."""
        alerts: list[dict[str, Any]] = self.api("alerts")["alerts"]
        return [a for a in alerts if name is None or a["labels"].get("alertname") == name]

    def rule(self, name: str) -> dict[str, Any]:
        """The rule named ``name`` (alert or recording) as ``/api/v1/rules`` reports it."""
        for group in self.api("rules")["groups"]:
            for rule in group["rules"]:
                if rule["name"] == name:
                    return dict(rule)
        raise KeyError(name)

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the result vector."""
        result: list[dict[str, Any]] = self.api("query", query=expr)["result"]
        return result

    def targets_up(self) -> bool:
        active = self.api("targets")["activeTargets"]
        return bool(active) and all(t["health"] == "up" for t in active)
