"""Token buckets by key (:mod:`harmony.ratelimit`): the RPC's per-client limit and the coded broadcast's
per-peer allowance."""

from __future__ import annotations

import pytest

from harmony.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(8, burst=32, clock=clock)
    assert all(limiter.allow("peer") for _ in range(32))
    assert not limiter.allow("peer")
    clock.now = 0.5  # four tokens back
    assert [limiter.allow("peer") for _ in range(5)] == [True] * 4 + [False]
    assert limiter.allow("another")  # buckets are per key


def test_the_default_burst_is_one_seconds_worth_and_a_refused_request_takes_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock=clock)
    assert [limiter.allow("ip") for _ in range(4)] == [True, True, True, False]
    clock.now = 1 / 3
    assert not limiter.allow("ip", cost=2)
    assert limiter.allow("ip")


def test_the_table_stays_bounded_and_forgets_full_buckets_first() -> None:
    clock = Clock()
    limiter = RateLimiter(1, burst=2, clock=clock, max_keys=4)
    limiter.allow("busy", cost=2)
    for n in range(4):
        limiter.allow(f"idle{n}", cost=0)
    assert len(limiter._buckets) == 1  # the four full buckets went, the empty one stayed
    assert not limiter.allow("busy")
    for n in range(10):  # every key active: the table starts over rather than grow
        limiter.allow(f"k{n}")
    assert len(limiter._buckets) <= 5


@pytest.mark.parametrize(("rate", "burst"), [(0, None), (-1, None), (1, 0.5)])
def test_bad_parameters_are_refused(rate: float, burst: float | None) -> None:
    with pytest.raises(ValueError):
        RateLimiter(rate, burst=burst)
