"""The invariant checks over observations: each finds the violation it exists for, and passes a clean run."""

from __future__ import annotations

from harmony.testnet import invariants as inv
from harmony.testnet.invariants import BlockSeen


def chain(shard: int, hashes: list[str], signers: tuple[str, ...] = ("a", "b", "c")) -> dict[int, BlockSeen]:
    return {n: BlockSeen(shard, n, h, n, 100 + 2 * n, signers, (f"tx{h}",)) for n, h in enumerate(hashes)}


def test_no_fork_finds_two_hashes_at_one_height() -> None:
    same = {0: {"n0": chain(0, ["g", "x", "y"]), "n1": chain(0, ["g", "x"])}}
    assert inv.no_fork(same).ok
    forked = {0: {"n0": chain(0, ["g", "x", "y"]), "n1": chain(0, ["g", "x", "z"])}}
    check = inv.no_fork(forked)
    assert not check.ok and "shard 0 height 2" in check.violations[0]


def test_double_sign_needs_one_key_on_two_blocks_at_one_height_and_view() -> None:
    a = chain(0, ["g", "x"], ("k1", "k2"))
    b = chain(0, ["g", "y"], ("k3", "k4"))
    assert inv.no_double_sign({0: {"n0": a, "n1": b}}).ok  # a fork, but no key on both sides
    c = chain(0, ["g", "z"], ("k2", "k5"))
    check = inv.no_double_sign({0: {"n0": a, "n1": c}})
    assert not check.ok and "key k2" in check.violations[0]


def test_equivocator_must_be_detected_and_a_staked_one_slashed() -> None:
    assert inv.equivocator_caught([], 0, {}).ok
    assert inv.equivocator_caught(["s0v1"], 3, {"s0v1": None}).ok
    assert not inv.equivocator_caught(["s0v1"], 0, {"s0v1": None}).ok
    assert not inv.equivocator_caught(["x0"], 2, {"x0": False}).ok


def test_exactly_once_counts_lost_and_duplicated() -> None:
    accepted = {"t1": 0, "t2": 0, "t3": 1}
    check, lost, dup = inv.exactly_once(accepted, {0: {"t1": 1, "t2": 2}, 1: {}})
    assert (lost, dup) == (1, 1) and not check.ok
    check, lost, dup = inv.exactly_once(accepted, {0: {"t1": 1, "t2": 1}, 1: {"t3": 1}})
    assert check.ok and (lost, dup) == (0, 0)


def test_credits_must_match_what_was_owed() -> None:
    owed = {(b"\x01" * 20, 1): 50, (b"\x02" * 20, 0): 7}
    assert inv.credited_once(owed, dict(owed))[0].ok
    check, dup = inv.credited_once(owed, {(b"\x01" * 20, 1): 100, (b"\x02" * 20, 0): 7})
    assert dup == 1 and "duplicated credit" in check.violations[0]
    check, dup = inv.credited_once(owed, {(b"\x01" * 20, 1): 50})
    assert dup == 0 and "lost credit" in check.violations[0]


def test_supply_and_counters() -> None:
    assert inv.supply_conserved(1000, 900, 60, 40).ok
    assert not inv.supply_conserved(1000, 900, 60, 41).ok
    assert inv.counters_match({0: 3}, {0: 3}).ok
    assert not inv.counters_match({0: 3}, {0: 4}).ok


def test_recovery_is_measured_from_each_heal_until_every_shard_advanced() -> None:
    samples = [(0.0, 0, 5), (0.0, 1, 5), (10.0, 0, 5), (10.0, 1, 5), (12.0, 0, 6), (17.0, 1, 6)]
    assert inv.recovery_times(samples, [10.0], 2, end=30.0) == [7.0]
    assert inv.recovery_times(samples, [20.0], 2, end=30.0) == [10.0]  # nothing after: counts to the end
    assert inv.liveness([7.0], 12.0).ok and not inv.liveness([13.0], 12.0).ok


def test_signing_gap_and_processes() -> None:
    blocks = list(chain(0, ["a", "b", "c", "d"], ("k1",)).values())
    rates = inv.signing(blocks, {"v1": "k1", "v2": "k2"})
    assert rates["v1"] == {"signed": 4, "missed": 0, "missed_out": 0, "missed_late": 0, "rate": 1.0}
    assert rates["v2"]["missed"] == 4
    split = inv.signing(blocks, {"v1": "k1", "v2": "k2"}, {"v2": [(2, 3)], "v1": [(1, 4)]})
    assert (split["v2"]["missed_out"], split["v2"]["missed_late"]) == (2, 2)
    assert split["v1"]["missed_out"] == 0  # signed while "out": not a miss
    assert inv.longest_gap(blocks) == 2
    assert inv.processes({"a": None, "b": 0}, {"b"}).ok
    assert not inv.processes({"a": -9}, set()).ok
