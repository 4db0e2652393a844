"""The shipped Prometheus and Alertmanager configuration, checked by the real tools.

``promtool check rules`` / ``check config`` / ``test rules`` (the unit tests in
``deploy/prometheus/tests``), ``amtool check-config`` and ``amtool config routes test``, and
the rules as a real Prometheus loads them (``/api/v1/rules``): every alert has a ``for:``, a
severity, summary / description / runbook annotations, a runbook section, README lines and
promtool tests that see it both fire and stay silent.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from streams.testing.prometheus import DEPLOY_DIR, RULES_DIR, PrometheusServer, find_tool

pytestmark = [pytest.mark.prometheus]

ROOT = DEPLOY_DIR.parent
PROM_TESTS = DEPLOY_DIR / "prometheus" / "tests"
ALERTMANAGER = DEPLOY_DIR / "alertmanager" / "alertmanager.yml"


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def test_promtool_check_rules_and_config() -> None:
    promtool = find_tool("promtool")
    rules = sorted(RULES_DIR.glob("*.yml"))
    assert len(rules) >= 2
    r = _run(promtool, "check", "rules", *rules)
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run(promtool, "check", "config", DEPLOY_DIR / "prometheus" / "prometheus.yml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"{len(rules)} rule files found" in r.stdout + r.stderr


def test_promtool_unit_tests_pass() -> None:
    promtool = find_tool("promtool")
    files = sorted(PROM_TESTS.glob("*_test.yml"))
    assert files
    r = _run(promtool, "test", "rules", *files)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("SUCCESS") == len(files), r.stdout


def test_promtool_unit_tests_catch_a_broken_rule(tmp_path: Path) -> None:
    """The unit tests are not vacuous: a rule with a wrong threshold fails them."""
    promtool = find_tool("promtool")
    (tmp_path / "rules").mkdir()
    for p in RULES_DIR.glob("*.yml"):
        text = p.read_text().replace("> 10000", "> 100000")  # lag alert threshold x10
        (tmp_path / "rules" / p.name).write_text(text)
    (tmp_path / "tests").mkdir()
    test = (PROM_TESTS / "pipeline_test.yml").read_text()
    (tmp_path / "tests" / "pipeline_test.yml").write_text(test)
    r = _run(promtool, "test", "rules", tmp_path / "tests" / "pipeline_test.yml")
    assert r.returncode != 0 and "JourneyConsumerLagGrowing" in r.stdout + r.stderr


def _alert_rules(tmp_path: Path) -> list[dict[str, Any]]:
    """Alerting rules as Debian's Prometheus loads the shipped files."""
    prom = PrometheusServer(tmp_path / "prom", [], sorted(RULES_DIR.glob("*.yml")))
    prom.start()
    try:
        groups = prom.api("rules")["groups"]
    finally:
        prom.stop()
    return [r for g in groups for r in g["rules"] if r["type"] == "alerting"]


@pytest.fixture(scope="module")
def alert_rules(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return _alert_rules(tmp_path_factory.mktemp("rules"))


def test_every_alert_has_for_severity_annotations_and_a_runbook(
    alert_rules: list[dict[str, Any]],
) -> None:
    runbooks = (ROOT / "docs" / "runbooks.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^## (.+)$", runbooks, re.MULTILINE)
    }
    assert len(alert_rules) >= 8
    for rule in alert_rules:
        name = rule["name"]
        assert rule["duration"] > 0, name
        assert rule["labels"].get("severity") in ("critical", "warning"), name
        assert rule["labels"].get("team") in ("ops", "retention"), name
        ann = rule["annotations"]
        assert ann.get("summary") and ann.get("description"), name
        url = ann.get("runbook_url", "")
        assert url.split("#")[0].endswith("docs/runbooks.md"), name
        assert url.split("#")[1] == name.lower() and name.lower() in anchors, name


def test_every_alert_has_firing_and_silent_unit_tests(alert_rules: list[dict[str, Any]]) -> None:
    cases: dict[str, set[str]] = {}
    for path in PROM_TESTS.glob("*_test.yml"):
        for chunk in path.read_text().split("- alertname: ")[1:]:
            name = chunk.split()[0]
            body = chunk.split("- alertname: ")[0]
            kind = "silent" if "exp_alerts: []" in body.split("\n", 3)[2] else "firing"
            if kind == "firing":
                assert "exp_labels" in body, (path.name, name)
            cases.setdefault(name, set()).add(kind)
    for rule in alert_rules:
        assert cases.get(rule["name"]) == {"firing", "silent"}, rule["name"]


def test_readme_lists_every_alert(alert_rules: list[dict[str, Any]]) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Operations: metrics and alerts", 1)[1].split("\n## ", 1)[0]
    for rule in alert_rules:
        assert f"`{rule['name']}`" in section, rule["name"]


def test_alertmanager_config_and_routes() -> None:
    amtool = find_tool("amtool")
    r = _run(amtool, "check-config", ALERTMANAGER)
    assert r.returncode == 0, r.stdout + r.stderr
    for labels, receiver in (
        (["team=ops", "severity=critical", "alertname=JourneyWorkerDown"], "ops-pager"),
        (["team=ops", "severity=warning", "alertname=JourneyConsumerLagGrowing"], "ops-chat"),
        (["team=retention", "severity=warning", "alertname=JourneyOnboardingStallShareHigh",
          "slice=no_login_by_day_7", "channel=online"], "retention"),
    ):  # fmt: skip
        r = _run(amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels)
        assert r.returncode == 0 and r.stdout.split() == [receiver], (labels, r.stdout, r.stderr)
