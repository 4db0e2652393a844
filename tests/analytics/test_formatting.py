"""Query results as table, CSV and JSON: every ClickHouse value type a query can return."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import uuid
from decimal import Decimal

from streams.analytics.formatting import render
from streams.store.base import QueryResult

U = uuid.UUID("12345678-1234-5678-1234-567812345678")
RESULT = QueryResult(
    columns=["id", "ip", "share", "worst", "when", "tags", "m", "amount"],
    types=["UUID", "IPv4", "Float64", "Float64", "DateTime", "Array(String)", "Map(String, UInt8)",
           "Decimal(9, 2)"],
    rows=[
        (U, ipaddress.IPv4Address("10.0.0.1"), float("nan"), float("inf"),
         dt.datetime(2024, 6, 3, 12, 0, tzinfo=dt.UTC), ["a", "b"], {"x": 1}, Decimal("1.50")),
    ],
)  # fmt: skip


def test_json_is_standard_json_with_uuids_addresses_and_no_nan() -> None:
    text = render(RESULT, "json")
    rows = json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert rows == [{
        "id": str(U), "ip": "10.0.0.1", "share": None, "worst": None,
        "when": "2024-06-03T12:00:00Z", "tags": ["a", "b"], "m": {"x": 1}, "amount": "1.50",
    }]  # fmt: skip


def test_table_and_csv_show_the_same_values_as_text() -> None:
    csv_text = render(RESULT, "csv")
    assert str(U) in csv_text and "10.0.0.1" in csv_text and "nan" in csv_text
    table = render(RESULT, "table")
    assert str(U) in table and "2024-06-03T12:00:00Z" in table
