"""Confluent Schema Registry framing.

A real registry is needed for the serializer path; karapace (Aiven's open-source,
API-compatible registry) is used when importable. It is not published on PyPI, so on machines
that only reach PyPI the round-trip test is skipped; the framing checks need no registry.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from streams.codec import DecodeError
from streams.codec.registry import parse_header


def test_parse_header() -> None:
    assert parse_header(b"\x00\x00\x00\x01\x02body") == 258


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not_avro"),
        (b"\xc3\x01" + b"\x00" * 8, "not_avro"),
        (b"{}", "not_avro"),
        (b"\x00\x00\x01", "malformed"),
    ],
)
def test_bad_framing(data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        parse_header(data)
    assert info.value.reason == reason


def test_single_object_bytes_hint() -> None:
    with pytest.raises(DecodeError, match="single-object"):
        parse_header(b"\xc3\x01" + b"\x00" * 8)


@pytest.fixture(scope="module")
def karapace(broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start karapace's registry (``python -m karapace``, configured by KARAPACE_* variables)."""
    if importlib.util.find_spec("karapace") is None:
        pytest.skip("karapace (a real Schema Registry) is not installed; it is not on PyPI")
    import httpx

    from streams.embedded.broker import free_port

    port = free_port()
    log = tmp_path_factory.mktemp("karapace") / "karapace.log"
    env = {
        **os.environ,
        "KARAPACE_BOOTSTRAP_URI": broker,
        "KARAPACE_HOST": "127.0.0.1",
        "KARAPACE_PORT": str(port),
        "KARAPACE_REGISTRY_HOST": "127.0.0.1",
        "KARAPACE_REGISTRY_PORT": str(port),
        "KARAPACE_TOPIC_NAME": f"_schemas_{uuid.uuid4().hex[:6]}",
        "KARAPACE_KARAPACE_REGISTRY": "true",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "karapace"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"karapace exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/subjects", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail(f"karapace did not answer: {log.read_text()[-2000:]}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_round_trip_through_karapace(karapace: str, topic_prefix: str) -> None:
    from streams.codec.evolution import sample_record
    from streams.codec.registry import RegistryCodec
    from streams.codec.schemas import default_schemas
    from streams.settings import TopicSettings

    topics = TopicSettings(prefix=topic_prefix)
    record = sample_record(dict(default_schemas().current["login"].source), 1)
    data = RegistryCodec(karapace, topics).encode("login", record)
    assert data[0] == 0
    subject = f"{topics.name('login')}-value"
    import httpx

    latest = httpx.get(f"{karapace}/subjects/{subject}/versions/latest", timeout=5).json()
    assert int.from_bytes(data[1:5], "big") == latest["id"]
    # a fresh codec knows no ids: it must fetch the writer schema from the registry
    fresh = RegistryCodec(karapace, topics)
    assert fresh.current_body(data) is None  # not resolved yet: a sink encodes it again
    assert fresh.decode(data, topics.name("login")) == ("login", record)
    assert fresh.current_body(data) == data[5:]  # the current schema's id: the body as is
    with pytest.raises(DecodeError) as info:
        RegistryCodec(karapace, topics).decode(b"\x00\x00\x0f\x42\x3f" + data[5:])
    assert info.value.reason == "unknown_schema"
