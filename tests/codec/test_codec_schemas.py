"""The contract itself: shared envelope, documentation, loading and the history folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from streams.codec import schemas as schemas_mod
from streams.codec.schemas import (
    SchemaLoadError,
    default_schemas,
    find_schemas_dir,
    load_schema_set,
    strip_logical_types,
)
from streams.settings import EVENT_TYPES

ENVELOPE = (
    "event_id",
    "customer_id",
    "account_id",
    "occurred_at",
    "channel",
    "branch_id",
    "region",
)


def _sources() -> dict[str, dict]:
    return {t: dict(v.source) for t, v in default_schemas().current.items()}


def test_every_event_type_has_a_schema() -> None:
    assert set(default_schemas().current) == set(EVENT_TYPES)


def test_envelope_is_identical_in_all_schemas() -> None:
    sources = _sources()
    reference = sources[EVENT_TYPES[0]]["fields"][: len(ENVELOPE)]
    assert [f["name"] for f in reference] == list(ENVELOPE)
    for event_type, source in sources.items():
        fields = source["fields"][: len(ENVELOPE)]
        assert [f["name"] for f in fields] == list(ENVELOPE), event_type
        for ref, field in zip(reference, fields, strict=True):
            # same type (incl. enum symbols/default), same doc, same default
            assert field == ref, f"{event_type}.{field['name']} differs from the envelope"


def _docs_missing(schema: object, where: str) -> list[str]:
    missing = []
    if isinstance(schema, dict):
        if schema.get("type") == "record":
            for f in schema["fields"]:
                if not str(f.get("doc", "")).strip():
                    missing.append(f"{where}.{f['name']}")
                missing += _docs_missing(f["type"], f"{where}.{f['name']}")
        elif schema.get("type") == "enum" and not str(schema.get("doc", "")).strip():
            missing.append(f"{where} (enum {schema['name']})")
    elif isinstance(schema, list):
        for s in schema:
            missing += _docs_missing(s, where)
    return missing


def test_every_field_and_record_is_documented() -> None:
    for event_type, source in _sources().items():
        assert str(source.get("doc", "")).strip(), event_type
        assert _docs_missing(source, event_type) == []


def test_fingerprints_unique_and_pcf_ignores_logical_types() -> None:
    current = default_schemas().current
    fps = {v.fingerprint for v in current.values()}
    assert len(fps) == len(current)
    for v in current.values():
        assert len(v.fingerprint) == 8
        assert "logicalType" not in v.canonical_form
        assert "doc" not in v.canonical_form


def test_decoding_variant_has_no_logical_types() -> None:
    v = default_schemas().current["login"]
    assert "logicalType" in json.dumps(v.source)
    assert "logicalType" not in json.dumps(strip_logical_types(dict(v.source)))


def test_schemas_dir_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(schemas_mod.SCHEMAS_DIR_ENV, str(tmp_path))
    assert find_schemas_dir() == tmp_path
    with pytest.raises(SchemaLoadError, match="missing schema"):
        load_schema_set(find_schemas_dir())
    monkeypatch.setenv(schemas_mod.SCHEMAS_DIR_ENV, str(tmp_path / "nope"))
    with pytest.raises(SchemaLoadError, match="not a directory"):
        find_schemas_dir()


def test_source_checkout_dir_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(schemas_mod.SCHEMAS_DIR_ENV, raising=False)
    assert (find_schemas_dir() / "login.avsc").is_file()


def test_history_versions_are_registered(tmp_path: Path) -> None:
    shutil.copytree(find_schemas_dir(), tmp_path, dirs_exist_ok=True)
    login = json.loads((tmp_path / "login.avsc").read_text())
    login["fields"] = [f for f in login["fields"] if f["name"] != "auth_method"]
    (tmp_path / "history" / "login").mkdir(parents=True, exist_ok=True)
    (tmp_path / "history" / "login" / "v1.avsc").write_text(json.dumps(login))
    (tmp_path / "history" / "login" / "notes.txt").write_text("ignored")
    loaded = load_schema_set(tmp_path)
    [old] = loaded.history("login")
    assert old.version == 1
    assert loaded.by_fingerprint[old.fingerprint] is old
    assert len(loaded.by_fingerprint) == len(EVENT_TYPES) + 1


def test_history_of_unknown_type_is_an_error(tmp_path: Path) -> None:
    shutil.copytree(find_schemas_dir(), tmp_path, dirs_exist_ok=True)
    (tmp_path / "history" / "nope").mkdir(parents=True)
    (tmp_path / "history" / "nope" / "v1.avsc").write_text('{"type": "string"}')
    with pytest.raises(SchemaLoadError, match="unknown event type"):
        load_schema_set(tmp_path)
