"""The worker's hot path without Kafka: records in; engine records, raw-event rows, rejects out."""

from __future__ import annotations

from dataclasses import dataclass

from streams.codec import SingleObjectCodec
from streams.engine import EngineConfig
from streams.engine.builders import day, login, opened, tx
from streams.engine.outputs import Duplicate, TooLate
from streams.worker.processor import InputClock, Processor

T0 = 1_717_372_800_000  # 2024-06-03
TYPES = ("account_opened", "login", "transaction", "complaint", "closure")
TOPICS = {f"journey.{t}": t for t in TYPES}
CODEC = SingleObjectCodec()


@dataclass
class Rec:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _records(events: list[tuple[str, dict]], partition: int = 0) -> list[Rec]:
    offsets: dict[str, int] = {}
    out = []
    for event_type, ev in events:
        topic = f"journey.{event_type}"
        offsets[topic] = offsets.get(topic, -1) + 1
        value = CODEC.encode(event_type, ev)
        out.append(Rec(topic, partition, offsets[topic], ev["customer_id"].encode(), value))
    return out


def _processor(clock: Clock, **config: object) -> Processor:
    return Processor(CODEC, EngineConfig(**config), TOPICS, idle_s=5.0, clock=clock)  # type: ignore[arg-type]


def test_bad_records_are_rejected_with_reasons_and_the_rest_applied() -> None:
    clock = Clock()
    p = _processor(clock)
    events = [opened("c1", T0), login("c1", T0 + day(1))]
    good = _records(events)
    et, ev = login("c2", T0 + day(1))
    wrong_key = Rec("journey.login", 0, 7, b"someone-else", CODEC.encode(et, ev))
    records = [
        *good,
        Rec("journey.login", 0, 8, b"c1", None),
        Rec("journey.login", 0, 9, b"c1", b"{\"json\": true}"),
        Rec("journey.login", 0, 10, b"c1", good[1].value[:-2]),  # type: ignore[index]
        Rec("journey.transaction", 0, 11, b"c1", good[1].value),  # a login on the tx topic
        wrong_key,
    ]
    result = p.process(records)
    assert [(r.record.offset, r.reason) for r in result.rejected] == [
        (8, "malformed"), (9, "not_avro"), (10, "malformed"), (11, "wrong_topic"),
        (7, "wrong_key"),
    ]  # fmt: skip
    assert [(part, t, e["customer_id"], r) for part, t, e, r in result.events] == [
        (0, "account_opened", "c1", good[0]),  # with the record each was decoded from
        (0, "login", "c1", good[1]),
    ]
    # the original record of every decoded event, to forward its bytes if the engine rejects it
    pairs = zip(events, good, strict=True)
    assert result.sources == {ev["event_id"]: rec for (_, ev), rec in pairs}
    assert p.engine(0).state_of("c1") is not None


def test_an_event_held_for_its_opening_still_comes_with_its_record() -> None:
    """The engine applies its copy of a held event: the processor kept the record meanwhile."""
    p = _processor(Clock())
    early = _records([login("c1", T0 + day(1))])
    assert p.process(early).events == []  # held until its customer's opening
    [opening] = _records([opened("c1", T0)])
    result = p.process([opening])
    assert [(t, r) for _, t, _, r in result.events] == [
        ("account_opened", opening),
        ("login", early[0]),
    ]
    assert p._held == {0: {}}  # forgotten once applied
    # held and released within one batch
    batch = _records([login("c2", T0 + day(1)), opened("c2", T0)], partition=1)
    assert [(t, r) for _, t, _, r in p.process(batch).events] == [
        ("account_opened", batch[1]),
        ("login", batch[0]),
    ]


def test_the_record_of_an_orphan_is_forgotten() -> None:
    clock = Clock()
    p = _processor(clock, allowed_lateness_s=0, orphan_hold_s=3600)
    [held] = _records([login("c9", T0 + day(1))])
    p.process([held])
    assert set(p._held[0]) == {CODEC.decode(held.value)[1]["event_id"]}  # type: ignore[arg-type]
    p.process(_records([opened("c1", T0 + day(2))]))  # the watermark passes the hold
    clock.now += 6
    outputs = p.tick(0)
    assert [type(o).__name__ for o in outputs if type(o).__name__ == "Orphan"] == ["Orphan"]
    assert p._held[0] == {}
    p.drop(0)
    assert 0 not in p._held


def test_watermark_waits_for_every_topic_that_still_holds_it() -> None:
    clock = Clock()
    p = _processor(clock, allowed_lateness_s=0)
    p.process(_records([opened("c1", T0), login("c1", T0 + day(5))]))
    # transaction, complaint and closure have said nothing and are not idle yet: no watermark
    assert p.watermark_for(0) is None
    clock.now += 6  # past idle_s: silent topics stop holding, login is idle too -> caught up
    assert p.watermark_for(0) == T0 + day(5)
    # a topic with records still on the broker holds the watermark at its last event time
    p.set_backlog(0, "journey.account_opened", 3)
    assert p.watermark_for(0) == T0


def test_duplicates_and_too_late_events_come_back_as_engine_rejections() -> None:
    clock = Clock()
    p = _processor(clock, allowed_lateness_s=0)
    first = _records([opened("c1", T0), tx("c1", T0 + day(2), amount=500)])
    p.process(first)
    clock.now += 6
    p.tick(0)  # the topics went idle: the watermark moves to the last event time
    assert p.engine(0).watermark == T0 + day(2)
    again = first[1]
    late = _records([login("c1", T0 + day(1))])[0]
    result = p.process([again, late])
    kinds = {type(o) for o in result.outputs}
    assert Duplicate in kinds and TooLate in kinds
    assert result.events == []  # neither is applied to the journey, nor a raw-event row
    for out in result.outputs:
        if isinstance(out, Duplicate | TooLate):
            assert result.sources[out.event_id].value in (again.value, late.value)


def test_input_clock_observe_keeps_the_highest_time_per_topic() -> None:
    clock = Clock()
    c = InputClock(["a", "b"], idle_s=5.0, clock=clock)
    c.observe("a", 50)
    c.observe("a", 40)
    c.observe("b", 45)
    assert c.input_time() == 45
    clock.now += 10
    assert c.input_time() == 50  # both idle: caught up, the highest time seen overall


def test_time_the_worker_spent_blocked_does_not_make_topics_idle() -> None:
    # A 30 s ClickHouse outage blocks consumption: every topic is silent meanwhile, but
    # not idle. Counted as silence, the first logins fetched after it would run the watermark
    # past transactions still on their way (false too-late events).
    clock = Clock()
    p = _processor(clock, allowed_lateness_s=0)
    p.process(_records([opened("c1", T0), login("c1", T0 + day(5)), tx("c1", T0 + day(1))]))
    clock.now += 1
    assert p.watermark_for(0) is None  # complaint and closure still hold it (not idle yet)
    clock.now += 30
    p.stalled(30)  # the worker waited for its writes for those 30 s
    assert p.watermark_for(0) is None  # still 1 s of silence, not 31
    clock.now += 5
    assert p.watermark_for(0) == T0 + day(5)  # 6 s of consuming without records: caught up
    # a stall is a shift, not a reset: a topic idle before it stays idle after it
    c = InputClock(["a", "b"], idle_s=5.0, clock=clock)
    c.observe("a", 50)
    clock.now += 10
    c.observe("b", 60)
    clock.now += 30
    c.stalled(30)
    assert c.input_time() == 60  # "a" was silent 10 s before the stall: still idle
