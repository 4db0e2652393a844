"""The HTML report: self-contained, and every chart renders in a real headless Chromium.

Chromium (Debian's ``chromium``) loads the file with the network disabled; the page's own
check script marks each chart ``data-rendered="yes"`` once its SVG has a laid-out size and
shapes, and counts script errors on ``<body>``; ``--dump-dom`` gives the DOM after scripts
ran.  A screenshot is kept in the test's tmp dir as an artefact.  Missing Chromium skips
locally and fails in CI (``JOURNEY_REQUIRE_REAL``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from analytics_population import AS_OF

from streams.analytics.report import CHARTS, build_report
from streams.store import Store
from streams.testing.real import missing

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0",
]  # fmt: skip


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    missing("no headless browser: apt-get install -y chromium")


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def report_html(population: Store) -> str:
    return build_report(population, as_of=AS_OF, title="Test bank <report>")


def test_report_is_self_contained(report_html: str) -> None:
    # Nothing fetched from anywhere: no external scripts, styles, images or fonts.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", report_html)
    assert "@import" not in report_html and "url(" not in report_html
    assert report_html.count('<figure class="chart"') == len(CHARTS)
    assert "Test bank &lt;report&gt;" in report_html  # titles are escaped
    # The numbers are the queries' numbers: c5's complaint row says 100 % within 60 days.
    assert "complainant / service / unresolved, % defected within 60 days: 100 %" in report_html
    # ... and the funnel's last step is c4 alone: 1 of 7.
    assert "sticky: 1 of 7 (14.3%)" in report_html


@pytest.mark.slow
def test_every_chart_renders_in_headless_chromium(report_html: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(report_html, encoding="utf-8")
    dom = run_chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-ready="yes"' in dom.stdout, "the page's script did not run"
    assert 'data-errors="0"' in dom.stdout
    console = [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert console == [], console
    for chart_id, *_ in CHARTS:
        m = re.search(rf'<figure[^>]*id="chart-{chart_id}"[^>]*>', dom.stdout)
        assert m, f"chart {chart_id} missing from the DOM"
        tag = m.group(0)
        assert 'data-rendered="yes"' in tag, f"chart {chart_id} did not render: {tag}"
        assert int(re.search(r'data-shapes="(\d+)"', tag).group(1)) > 0  # type: ignore[union-attr]
    shot = tmp_path / "report.png"
    run_chromium(tmp_path, "--window-size=1100,3800", f"--screenshot={shot}", page.as_uri())
    assert shot.stat().st_size > 10_000  # a real picture, kept as the test's artefact
    print(f"report screenshot: {shot}")
