"""pytest plugin: a real Kafka-compatible broker for the whole test session.

``broker`` yields a bootstrap string. With ``JOURNEY_TEST_KAFKA_BOOTSTRAP`` set it points at that
broker (e.g. a real Kafka in CI) and starts nothing; otherwise one Tansu broker is started for the
session (starting takes well under a second, but topics and consumer groups are cheap to share).
Tests share it, so each one names its topics under its own ``topic_prefix``.

Use from another project with ``pytest_plugins = ["streams.testing.pytest_broker"]``.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator

import pytest

BOOTSTRAP_ENV = "JOURNEY_TEST_KAFKA_BOOTSTRAP"


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers of the session's broker (``host:port``)."""
    external = os.environ.get(BOOTSTRAP_ENV)
    if external:
        yield external
        return
    from streams.embedded.broker import BrokerError, TansuBroker

    try:
        tansu = TansuBroker(log_dir=tmp_path_factory.mktemp("tansu")).start()
    except BrokerError as exc:
        pytest.fail(f"cannot start the Tansu test broker: {exc}", pytrace=False)
    try:
        yield tansu.bootstrap
    finally:
        tansu.stop(timeout=0.5)  # memory storage: nothing to lose; clients may linger


@pytest.fixture
def topic_prefix(request: pytest.FixtureRequest) -> str:
    """A prefix unique to this test (readable name + random suffix), ending with a dot."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:40].strip("-")
    return f"t.{name}.{uuid.uuid4().hex[:8]}."
