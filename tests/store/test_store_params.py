"""The single client-side binder (used for 18.16) and placeholder scanning; no engine needed."""

from __future__ import annotations

import datetime as dt

import pytest

from streams.store.params import ParameterError, bind_client_side, find_placeholders, native_params


def test_injection_is_bound_as_one_string() -> None:
    sql = bind_client_side("SELECT * FROM t WHERE c = {c:String}", {"c": "x' OR 1=1 --"})
    assert sql == "SELECT * FROM t WHERE c = 'x\\' OR 1=1 --'"
    assert bind_client_side("SELECT {c:String}", {"c": "a\\'b\n"}) == "SELECT 'a\\\\\\'b\\n'"


def test_placeholders_in_strings_and_comments_are_ignored() -> None:
    sql = "SELECT '{a:String}', `{b:String}` -- {c:String}\n/* {d:String} */, {e:UInt8}"
    assert [p.name for p in find_placeholders(sql)] == ["e"]
    assert bind_client_side(sql, {"e": 1}).endswith(", 1")


def test_typed_literals() -> None:
    when = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert bind_client_side("{t:DateTime('UTC')}", {"t": when}) == "toDateTime(1704067200, 'UTC')"
    assert (
        bind_client_side("{t:DateTime}", {"t": when.replace(tzinfo=None)})
        == "toDateTime(1704067200)"
    )
    assert bind_client_side("{n:Int32}", {"n": -5}) == "(-5)"
    assert bind_client_side("{a:Array(String)}", {"a": ["x'"]}) == "CAST(['x\\''] AS Array(String))"
    assert bind_client_side("{z:Nullable(UInt8)}", {"z": None}) == "CAST(NULL AS Nullable(UInt8))"
    assert bind_client_side("FROM {t:Identifier}", {"t": "events"}) == "FROM `events`"


@pytest.mark.parametrize(
    ("sql", "params", "match"),
    [
        ("{n:UInt8}", {"n": 256}, "out of range"),
        ("{n:UInt8}", {"n": True}, "expected int"),
        ("{s:String}", {"s": 5}, "expected str"),
        ("{s:String}", {"s": None}, "NULL given"),
        ("{d:Date}", {"d": dt.datetime(2024, 1, 1)}, "not datetime"),
        ("{t:Identifier}", {"t": "x; DROP"}, "plain identifier"),
        ("{s:String} {s:UInt8}", {"s": "a"}, "declared twice"),
        ("{s:Map(String, String)}", {"s": {}}, "not supported"),
    ],
)
def test_strict_checks(sql: str, params: dict[str, object], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        bind_client_side(sql, params)


def test_native_text_forms() -> None:
    assert native_params("{s:String}", {"s": "a\tb\\"}) == {"s": "a\\tb\\\\"}
    assert native_params("{a:Array(Nullable(String))}", {"a": ["q'", None]}) == {
        "a": "['q\\'',NULL]"
    }
    assert native_params("{t:DateTime('UTC')}", {"t": dt.datetime(2024, 1, 1)}) == {
        "t": "1704067200"
    }
