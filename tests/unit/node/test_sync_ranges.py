"""The fast sync's range bookkeeping: every block asked once at a time, answers handed on in order."""

from __future__ import annotations

import random

import pytest

from harmony.node.sync_ranges import RangeSchedule, Span


def item(n: int) -> tuple[bytes, bytes, bytes]:
    return (b"block-%d" % n, b"s" * 96, b"\x07")


def test_ranges_are_handed_out_in_order_within_the_window_and_the_peer_head() -> None:
    schedule = RangeSchedule(1, 100, size=10, window=30)
    assert schedule.take(peer_head=5) == Span(1, 5)  # never past what the peer holds
    assert schedule.take(peer_head=100) == Span(6, 10)
    assert schedule.take(peer_head=100) == Span(16, 10)
    assert schedule.take(peer_head=100) == Span(26, 5)  # the window ends at 30
    assert schedule.take(peer_head=100) is None
    assert schedule.in_flight == 4


def test_answers_come_back_in_block_order_whatever_order_they_arrive() -> None:
    schedule = RangeSchedule(1, 30, size=10, window=30)
    spans = [schedule.take(30) for _ in range(3)]
    assert all(s is not None for s in spans)
    a, b, c = spans
    assert a is not None and b is not None and c is not None
    schedule.answered(c, "p3", [item(n) for n in range(21, 31)])
    schedule.answered(b, "p2", [item(n) for n in range(11, 21)])
    assert schedule.next_answer() is None  # block 1 has not come
    schedule.answered(a, "p1", [item(n) for n in range(1, 11)])
    got = []
    while (answer := schedule.next_answer()) is not None:
        got.extend(answer.items)
        schedule.imported(len(answer.items))
    assert got == [item(n) for n in range(1, 31)]
    assert schedule.done()


def test_a_failed_or_short_answer_is_asked_again_and_a_bad_block_from_where_it_was() -> None:
    schedule = RangeSchedule(1, 20, size=10, window=20)
    first, second = schedule.take(20), schedule.take(20)
    assert first is not None and second is not None
    schedule.failed(second)
    schedule.answered(first, "short", [item(n) for n in range(1, 5)])  # a prefix: 5..10 asked again
    assert schedule.take(20) == Span(5, 6)
    assert schedule.take(20) == Span(11, 10)
    answer = schedule.next_answer()
    assert answer is not None and answer.peer == "short"
    schedule.imported(2)
    schedule.rejected(answer, 2)  # block 3 was forged: 3 and 4 are asked again
    assert schedule.take(20) == Span(3, 2)
    with pytest.raises(ValueError):
        RangeSchedule(1, 5, size=0, window=10)


def test_blocks_committed_meanwhile_are_skipped() -> None:
    schedule = RangeSchedule(1, 40, size=10, window=40)
    spans = [schedule.take(40) for _ in range(2)]
    assert spans[0] is not None and spans[1] is not None
    schedule.failed(spans[1])
    schedule.answered(spans[0], "p", [item(n) for n in range(1, 11)])
    schedule.skip_to(15)  # consensus stored up to block 14
    answer_span = schedule.take(40)
    assert answer_span == Span(15, 6)  # the rest of the failed 11..20
    schedule.answered(answer_span, "p", [item(n) for n in range(15, 21)])
    answer = schedule.next_answer()
    assert answer is not None and answer.start == 15


def test_random_interleavings_deliver_every_block_exactly_once() -> None:
    for seed in range(30):
        rng = random.Random(seed)
        target = rng.randrange(1, 200)
        schedule = RangeSchedule(1, target, size=10, window=rng.randrange(10, 60))
        heads = {f"p{i}": rng.randrange(1, target + 1) for i in range(3)} | {"full": target}
        flying: list[tuple[Span, str]] = []
        delivered: list[bytes] = []
        for _ in range(10_000):
            if schedule.done():
                break
            peer = rng.choice(list(heads))
            span = schedule.take(heads[peer])
            if span is not None:
                flying.append((span, peer))
            if flying and rng.random() < 0.6:
                span, peer = flying.pop(rng.randrange(len(flying)))
                roll = rng.random()
                if roll < 0.2:
                    schedule.failed(span)
                else:
                    keep = span.count if roll < 0.8 else rng.randrange(0, span.count + 1)
                    schedule.answered(span, peer, [item(n) for n in range(span.start, span.start + keep)])
            answer = schedule.next_answer()
            if answer is not None:
                good = len(answer.items) if rng.random() < 0.9 else rng.randrange(len(answer.items))
                delivered.extend(x[0] for x in answer.items[:good])
                schedule.imported(good)
                if good < len(answer.items):
                    schedule.rejected(answer, good)
        assert schedule.done(), f"seed {seed}"
        assert delivered == [item(n)[0] for n in range(1, target + 1)], f"seed {seed}"


def test_a_peer_can_be_asked_for_fewer_blocks_than_the_size() -> None:
    schedule = RangeSchedule(1, 100, size=10, window=100)
    assert schedule.take(100, most=3) == Span(1, 3)
    assert schedule.take(100, most=50) == Span(4, 10)  # never above the size
    assert schedule.take(100, most=0) == Span(14, 1)  # at least one
    first = Span(1, 3)
    schedule.failed(first)
    assert schedule.take(100, most=2) == Span(1, 2)  # a retried span is cut too
    assert schedule.take(100) == Span(3, 1)
