"""``bench/propagation.py``'s reading of the nodes' logs: which blocks count, and how long each took to
reach 2/3 of the validators (the benchmark itself needs root and minutes: ``make bench``)."""

from __future__ import annotations

from typing import Any

from tests.bench_modules import bench_module


def _bench() -> Any:
    """``bench/propagation.py`` as a module."""
    return bench_module("propagation")


def _announce(number: int, block: str, size: int, at: int) -> str:
    return f"INFO harmony.node.propagation: announce block {number} {block} bytes {size} at {at}\n"


def _held(number: int, block: str, at: int) -> str:
    return f"INFO harmony.node.propagation: held block {number} {block} at {at}\n"


def test_a_block_first_announced_before_the_window_does_not_count() -> None:
    bench = _bench()
    logs = {
        "n0": _announce(5, "aa", 100, 900) + _announce(6, "bb", 200, 1_100),
        "n1": _announce(5, "aa", 100, 1_200),  # a new view's leader announces block 5 again
    }
    assert bench.first_announces(logs, since_ms=1_000) == {"bb": ("n0", 200, 1_100)}
    garbage = {"n0": "announce block x zz bytes ? at -\n" + _announce(7, "cc", 1, 2_000)}
    assert bench.first_announces(garbage, since_ms=0) == {"cc": ("n0", 1, 2_000)}


def test_a_block_that_never_reached_two_thirds_counts_until_the_logs_were_read() -> None:
    bench = _bench()
    announced = {"aa": ("n0", 100, 1_000), "bb": ("n1", 300, 2_000)}
    # 4 validators: 2/3 is 3 nodes, the leader and two more
    logs = {
        "n1": _held(5, "aa", 1_050),
        "n2": _held(5, "aa", 1_200) + _held(6, "bb", 2_100),
        "n3": _held(5, "aa", 1_900),
    }
    times, undelivered, leader, size, blocks = bench.block_times(logs, 4, announced, end_ms=5_000)
    assert times == [200.0, 3_000.0]  # block bb reached one other node only: 3 s until the logs were read
    assert undelivered == 1
    assert (leader, size, blocks) == ("n1", 300, 1)


def test_a_larger_committee_gets_a_longer_window() -> None:
    window = _bench().window_seconds
    assert [window(20, n) for n in (2, 4, 8, 16)] == [20, 20, 40, 80]


def test_a_larger_committee_gets_a_longer_phase_timeout() -> None:
    timeout = _bench().phase_timeout_ms
    assert [timeout(n) for n in (2, 4, 8, 15, 16, 32)] == [5000, 5000, 5000, 5000, 10_000, 20_000]
