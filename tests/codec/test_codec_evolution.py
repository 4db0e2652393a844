"""The schema evolution rule: every historical writer stays readable by the current schema."""

from __future__ import annotations

import copy
import json

import pytest

from streams.codec.evolution import check_readable, roundtrip_problems, sample_record
from streams.codec.schemas import default_schemas, find_schemas_dir, iter_history

CURRENT = {t: dict(v.source) for t, v in default_schemas().current.items()}
HISTORY = [
    pytest.param(t, n, json.loads(p.read_text()), id=f"{t}-v{n}")
    for t, n, p in iter_history(find_schemas_dir())
] or [
    pytest.param(None, 0, {}, marks=pytest.mark.skip(reason="no versions in schemas/history/ yet"))
]


@pytest.mark.parametrize("event_type", sorted(CURRENT))
def test_current_schema_round_trips(event_type: str) -> None:
    assert roundtrip_problems(CURRENT[event_type]) == []


@pytest.mark.parametrize("event_type", sorted(CURRENT))
def test_current_schema_reads_itself(event_type: str) -> None:
    assert check_readable(CURRENT[event_type], CURRENT[event_type]) == []


@pytest.mark.parametrize(("event_type", "version", "old"), HISTORY)
def test_history_is_readable_by_current(event_type: str, version: int, old: dict) -> None:
    assert check_readable(old, CURRENT[event_type]) == []


def test_history_folder_convention_is_applied() -> None:
    """Each history file belongs to a known type, and every type's newest version is current."""
    history = list(iter_history(find_schemas_dir()))
    assert all(t in CURRENT and n >= 1 for t, n, _ in history)
    newest: dict[str, tuple[int, dict]] = {}
    for t, n, path in history:
        if t not in newest or n > newest[t][0]:
            newest[t] = (n, json.loads(path.read_text()))
    assert sorted(newest) == sorted(CURRENT), "every event type needs history/<type>/v1.avsc"
    stale = [t for t, (_, schema) in newest.items() if schema != CURRENT[t]]
    assert stale == [], f"copy changed schemas to schemas/history as the next version: {stale}"


def _login() -> dict:
    return copy.deepcopy(CURRENT["login"])


def test_adding_a_field_with_default_is_compatible() -> None:
    new = _login()
    new["fields"].append(
        {"name": "device", "type": ["null", "string"], "default": None, "doc": "d"}
    )
    assert check_readable(CURRENT["login"], new) == []


def test_adding_a_field_without_default_is_detected() -> None:
    new = _login()
    new["fields"].append({"name": "device", "type": "string", "doc": "d"})
    problems = check_readable(CURRENT["login"], new)
    assert problems and "device" in problems[0]


def test_renaming_a_required_field_is_detected() -> None:
    new = _login()
    for f in new["fields"]:
        if f["name"] == "success":
            f["name"] = "succeeded"
    assert check_readable(CURRENT["login"], new)


def test_incompatible_type_change_is_detected() -> None:
    new = _login()
    for f in new["fields"]:
        if f["name"] == "success":
            f["type"] = "int"
    assert check_readable(CURRENT["login"], new)


def test_removing_an_enum_symbol_or_default_is_detected() -> None:
    new = copy.deepcopy(CURRENT["transaction"])
    kind = next(f for f in new["fields"] if f["name"] == "kind")
    kind["type"]["symbols"].remove("fee")
    channel = next(f for f in new["fields"] if f["name"] == "channel")
    del channel["type"]["default"]
    problems = check_readable(CURRENT["transaction"], new)
    assert any("lost symbol(s) fee" in p for p in problems)
    assert any("Channel changed its default" in p for p in problems)


def test_samples_cover_every_enum_symbol() -> None:
    schema = CURRENT["transaction"]
    kinds = {sample_record(schema, i)["kind"] for i in range(10)}
    kind_field = next(f for f in schema["fields"] if f["name"] == "kind")
    assert kinds == set(kind_field["type"]["symbols"])
