"""Skip-or-fail for tests that need a real component (a server binary, a CLI client).

On a developer's machine a missing component skips the test with the reason and how to get it.
In CI (``JOURNEY_REQUIRE_REAL=1``, set by ``.ci/run``) the same situation fails the run: CI
installs every real component, so a skip there would hide a broken install.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_REAL_ENV = "JOURNEY_REQUIRE_REAL"


def real_required() -> bool:
    """True when a missing real component must fail the test run (CI)."""
    return os.environ.get(REQUIRE_REAL_ENV, "").strip().lower() in ("1", "true", "yes")


def missing(reason: str) -> NoReturn:
    """Skip with ``reason``, or fail with it when real components are required."""
    if real_required():
        pytest.fail(
            f"{reason} ({REQUIRE_REAL_ENV} is set: real components are required)", pytrace=False
        )
    pytest.skip(reason)
