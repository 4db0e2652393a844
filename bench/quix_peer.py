"""The Quix Streams peer of ``worker_bench.py``: the same topics, the same decode, state in RocksDB.

Runs in its own virtualenv (quixstreams pins other versions of confluent-kafka and pydantic
than journey): ``python -m venv .quixvenv && .quixvenv/bin/pip install quixstreams fastavro``.
Imports nothing from ``streams``. Job per event: strip the Avro single-object header, decode
the body with fastavro against the topic's schema, and update the customer's state in Quix's
RocksDB store (event count, amount sum, first and last event time), with changelog topics on.

    python bench/quix_peer.py BOOTSTRAP TOPICS_JSON EVENTS STATE_DIR

Prints one JSON line: {"events": n, "seconds": s} from the first processed record to the last.
"""

from __future__ import annotations

import json
import sys
import time
from io import BytesIO
from typing import Any

import fastavro
from quixstreams import Application
from quixstreams.models.serializers import Deserializer

HEADER = 10  # C3 01 + 8-byte fingerprint


def _strip_logical(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_logical(v) for k, v in node.items() if k != "logicalType"}
    if isinstance(node, list):
        return [_strip_logical(v) for v in node]
    return node


class SingleObjectAvro(Deserializer):
    def __init__(self, schema_path: str) -> None:
        super().__init__()
        with open(schema_path) as f:
            # Times as epoch-millisecond ints, as journey's codec reads them.
            self.schema = fastavro.parse_schema(_strip_logical(json.load(f)))

    def __call__(self, value: bytes, ctx: Any) -> Any:
        return fastavro.schemaless_reader(BytesIO(value[HEADER:]), self.schema, None)


def main() -> None:
    bootstrap, topics_json, events, state_dir = sys.argv[1:5]
    topics: dict[str, str] = json.loads(topics_json)  # topic name -> .avsc path
    target = int(events)
    marks: dict[str, float] = {}

    def on_processed(topic: str, partition: int, offset: int) -> None:
        if "first" not in marks:
            marks["first"] = time.perf_counter()
        marks["last"] = time.perf_counter()

    app = Application(
        broker_address=bootstrap,
        consumer_group=f"quix-bench-{time.time_ns()}",
        auto_offset_reset="earliest",
        state_dir=state_dir,
        loglevel="WARNING",
        on_message_processed=on_processed,
    )

    def update(value: dict[str, Any], state: Any) -> None:
        s = state.get("s")
        t = value["occurred_at"]
        if s is None:
            s = {"n": 0, "amount": 0, "first": t, "last": t}
        s["n"] += 1
        s["amount"] += value.get("amount_minor") or 0
        s["first"] = min(s["first"], t)
        s["last"] = max(s["last"], t)
        state.set("s", s)

    for name, schema in topics.items():
        topic = app.topic(name, key_deserializer="str", value_deserializer=SingleObjectAvro(schema))
        # Tansu does not report retention settings, which Quix derives changelog configs from.
        topic.broker_config.extra_config.setdefault("retention.ms", "-1")
        topic.broker_config.extra_config.setdefault("retention.bytes", "-1")
        app.dataframe(topic).update(update, stateful=True)
    app.run(count=target, collect=False)
    print(json.dumps({"events": target, "seconds": marks["last"] - marks["first"]}), flush=True)


if __name__ == "__main__":
    main()
