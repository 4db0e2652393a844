"""The TypedDicts must match the Avro contract field for field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_type_hints

import pytest

from streams.engine import builders
from streams.engine.events import EVENT_CLASSES, EVENT_TYPES

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_typeddict_keys_match_avsc(event_type: str) -> None:
    schema = json.loads((SCHEMAS / f"{event_type}.avsc").read_text())
    fields = [f["name"] for f in schema["fields"]]
    assert list(get_type_hints(EVENT_CLASSES[event_type])) == fields


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_builders_produce_exactly_the_contract_keys(event_type: str) -> None:
    make = {
        "account_opened": lambda: builders.opened("c", 0),
        "login": lambda: builders.login("c", 0),
        "transaction": lambda: builders.tx("c", 0),
        "complaint": lambda: builders.complaint("c", 0, "k"),
        "closure": lambda: builders.closure("c", 0),
    }[event_type]
    name, event = make()
    assert name == event_type
    assert set(event) == set(get_type_hints(EVENT_CLASSES[event_type]))
