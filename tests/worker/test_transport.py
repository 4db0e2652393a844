"""Which partitions a fetch asks for first (pure: ``behind_first``, no broker)."""

from __future__ import annotations

from faust.types import TP
from hypothesis import given
from hypothesis import strategies as st

from streams.worker.transport import behind_first

OPEN, LOGIN = "j.account_opened", "j.login"


def _behind(
    active: list[TP], marks: dict[TP, int | None], read: dict[TP, int], empty: dict
) -> set[TP]:
    return behind_first(active, (OPEN,), marks.get, lambda tp: read.get(tp, 0), empty)


def test_first_topic_partitions_with_unread_records_only() -> None:
    o0, o1, o2, l0 = TP(OPEN, 0), TP(OPEN, 1), TP(OPEN, 2), TP(LOGIN, 0)
    marks = {o0: 10, o1: 5, o2: None, l0: 99}
    read = {o0: 4, o1: 5, l0: 0}
    # o1 is caught up, o2 has no fetch response yet, l0 is not a first topic
    assert _behind([o0, o1, o2, l0], marks, read, {}) == {o0}


def test_no_first_topics_means_no_restriction() -> None:
    tp = TP(OPEN, 0)
    assert behind_first([tp], (), {tp: 10}.get, lambda tp: 0, {}) == set()


def test_partition_a_fetch_left_empty_waits_until_its_highwater_moves() -> None:
    tp = TP(OPEN, 0)
    empty: dict[TP, int | None] = {tp: 10}
    assert _behind([tp], {tp: 10}, {tp: 3}, empty) == set()  # overstated mark: not again
    assert empty == {tp: 10}
    assert _behind([tp], {tp: 11}, {tp: 3}, empty) == {tp}  # it moved: behind again
    assert empty == {}


def test_inactive_partitions_are_never_asked_for() -> None:
    paused = TP(OPEN, 1)
    assert _behind([TP(LOGIN, 1)], {paused: 50}, {}, {}) == set()


@given(
    st.dictionaries(
        st.builds(TP, st.sampled_from([OPEN, LOGIN]), st.integers(0, 5)),
        st.tuples(st.none() | st.integers(0, 100), st.integers(0, 100)),
    )
)
def test_exactly_the_first_topic_partitions_known_to_be_behind(
    parts: dict[TP, tuple[int | None, int]],
) -> None:
    marks = {tp: m for tp, (m, _) in parts.items()}
    read = {tp: r for tp, (_, r) in parts.items()}
    got = _behind(list(parts), marks, read, {})
    want = {tp for tp, (m, r) in parts.items() if tp.topic == OPEN and m is not None and m > r}
    assert got == want
