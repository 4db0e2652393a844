"""Record validation: every problem of a record, in words a user can act on."""

from __future__ import annotations

import uuid

from streams.codec import validate

GOOD = {
    "event_id": str(uuid.uuid4()),
    "customer_id": "c-1",
    "occurred_at": 1_700_000_000_000,
    "channel": "mobile",
    "success": True,
}


def test_valid_record_with_defaults_omitted() -> None:
    assert validate("login", dict(GOOD)) == []


def test_unknown_event_type() -> None:
    [problem] = validate("logout", dict(GOOD))
    assert "unknown event_type 'logout'" in problem


def test_collects_all_problems() -> None:
    bad = {**GOOD, "event_id": "nope", "customer_id": " ", "success": "yes", "channel": "fax"}
    bad["extra"] = 1
    del bad["occurred_at"]
    problems = validate("login", bad)
    text = "\n".join(problems)
    assert "event_id 'nope' is not a UUID" in text
    assert "customer_id is empty" in text
    assert "missing required field 'occurred_at'" in text
    assert "unknown field(s) for login: extra" in text
    assert "field 'success'" in text and "boolean" in text
    assert "field 'channel'" in text and "contact_centre" in text


def test_not_a_dict() -> None:
    assert validate("login", ["x"])  # type: ignore[arg-type]


def test_wrong_types() -> None:
    problems = validate("transaction", {**GOOD, "amount_minor": "12"})
    assert any("amount_minor" in p for p in problems)
