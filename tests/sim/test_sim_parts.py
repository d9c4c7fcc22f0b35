"""Unit tests of the simulator's parts: the scheduler, the network model, fault plans and the checkers."""

from __future__ import annotations

import random
from functools import cache, partial

import pytest

from harmony.chain.genesis import dev_bls_key
from harmony.crypto import bls
from harmony.crypto.bitmap import encode_bitmap
from harmony.sim.checkers import (
    CommitteeView,
    DoubleSignChecker,
    Finalized,
    LivenessChecker,
    SafetyChecker,
    SignedPayload,
    commit_payload,
)
from harmony.sim.faults import ByzantineRole, draw_fault_plan, max_byzantine_nodes
from harmony.sim.network import LinkFaults, Network
from harmony.sim.scheduler import Scheduler
from harmony.types.header import Header


# -- scheduler ---------------------------------------------------------------------------------------
def test_scheduler_fires_in_time_order_and_same_time_order_depends_only_on_seed() -> None:
    def order(seed: int) -> list[str]:
        sched = Scheduler(random.Random(seed))
        fired: list[str] = []
        for name in "abcdefgh":
            sched.at(10, name, partial(fired.append, name))
        sched.at(5, "first", lambda: fired.append("first"))
        sched.at(20, "last", lambda: fired.append("last"))
        sched.run_until(100)
        assert sched.now_ms == 100
        return fired

    a = order(1)
    assert a[0] == "first" and a[-1] == "last"
    assert a == order(1)
    assert any(order(s)[1:-1] != a[1:-1] for s in range(2, 10))


def test_scheduler_cancel_and_stop() -> None:
    sched = Scheduler(random.Random(0))
    fired: list[int] = []
    handle = sched.after(5, "x", lambda: fired.append(1))
    sched.after(7, "y", lambda: fired.append(2))
    handle.cancel()
    sched.after(9, "z", lambda: fired.append(3))
    sched.run_until(100, should_stop=lambda: 2 in fired)
    assert fired == [2]
    assert sched.now_ms == 7


def test_scheduler_never_goes_back_in_time() -> None:
    sched = Scheduler(random.Random(0))
    times: list[int] = []

    def schedule_in_the_past() -> None:
        sched.at(10, "b", lambda: times.append(sched.now_ms))

    sched.at(50, "a", schedule_in_the_past)
    sched.run_until(100)
    assert times == [50]


# -- network -----------------------------------------------------------------------------------------
def _net(
    seed: int, faults: LinkFaults, n: int = 4
) -> tuple[Scheduler, Network[str], list[tuple[int, int, str, int]]]:
    rng = random.Random(seed)
    sched = Scheduler(rng)
    got: list[tuple[int, int, str, int]] = []
    net: Network[str] = Network(sched, rng, n, lambda s, d, p: got.append((s, d, p, sched.now_ms)), faults)
    return sched, net, got


def test_network_delivers_within_latency_and_jitter() -> None:
    sched, net, got = _net(1, LinkFaults(latency_ms=30, jitter_ms=10))
    for i in range(50):
        net.send(0, 1, f"m{i}")
    sched.run_until(1000)
    assert len(got) == 50
    assert all(30 <= at <= 40 for *_, at in got)


def test_network_loss_rate_and_duplication() -> None:
    sched, net, got = _net(2, LinkFaults(loss=0.3, duplicate=0.1))
    for i in range(4000):
        net.send(0, 1, f"m{i}")
    sched.run_until(10_000)
    assert 0.26 < net.counts["loss"] / 4000 < 0.34
    assert net.counts["duplicated"] > 0
    assert len(got) == 4000 - net.counts["loss"] + net.counts["duplicated"]


def test_network_reorders() -> None:
    sched, net, got = _net(3, LinkFaults(reorder=0.5, jitter_ms=0))
    for i in range(100):
        net.send(0, 1, f"{i:03d}")
    sched.run_until(10_000)
    payloads = [p for _, _, p, _ in got]
    assert payloads != sorted(payloads)


def test_network_partition_cuts_in_flight_and_heals() -> None:
    sched, net, got = _net(4, LinkFaults(latency_ms=100, jitter_ms=0))
    net.send(0, 1, "in-flight")
    net.send(2, 3, "in-flight-too")
    net.partition([(0, 2), (1, 3)])
    assert not net.connected(0, 1) and net.connected(0, 2)
    net.send(0, 3, "cut")
    sched.run_until(50)
    sched.run_until(200)
    assert [p for _, _, p, _ in got] == []
    net.partition([(0,)])
    assert net.component(1) == (1, 2, 3)
    net.heal()
    net.send(0, 1, "healed")
    sched.run_until(400)
    assert [p for _, _, p, _ in got] == ["healed"]
    assert net.counts["partition"] == 3


# -- fault plans -------------------------------------------------------------------------------------
def test_byzantine_nodes_hold_under_a_third() -> None:
    assert max_byzantine_nodes([1, 1, 1, 1]) == [3]
    assert max_byzantine_nodes([1, 1, 1]) == []
    assert max_byzantine_nodes([1] * 7) == [5, 6]
    assert max_byzantine_nodes([2, 1, 1, 1, 1]) == [5 - 1]  # 2 of 6 is exactly 1/3: only one 1-key node


def test_fault_plan_is_a_function_of_the_seed() -> None:
    for seed in range(50):
        a = draw_fault_plan(random.Random(seed), [1] * 5)
        b = draw_fault_plan(random.Random(seed), [1] * 5)
        assert a == b
        assert 0 <= a.link.loss <= 0.30
        assert 3 * len(a.byzantine) < 5
        for c in a.crashes:
            assert c.node not in a.byzantine and c.restart_ms <= a.fault_end_ms
        for p in a.partitions:
            assert p.end_ms <= a.fault_end_ms
    roles = {r for s in range(200) for r in draw_fault_plan(random.Random(s), [1] * 4).byzantine.values()}
    assert roles == set(ByzantineRole)


# -- checkers ----------------------------------------------------------------------------------------
@cache
def _keys(n: int) -> tuple[bls.SecretKey, ...]:
    return tuple(dev_bls_key(0, i) for i in range(n))


def _committee(n: int = 4) -> CommitteeView:
    return CommitteeView(0, tuple(k.public_key for k in _keys(n)), (1,) * n)


def _finalize(header: Header, signers: list[int], node: int = 0, n: int = 4) -> Finalized:
    h = header.hash()
    payload = commit_payload(header.number, h, header.view_id)
    sig = bls.aggregate_signatures([_keys(n)[i].sign(payload) for i in signers])
    return Finalized(node, header, h, sig.to_bytes(), encode_bitmap(signers, n), 0)


def test_safety_accepts_a_good_chain() -> None:
    checker = SafetyChecker(_committee())
    b1 = Header(number=1, view_id=1)
    f1 = _finalize(b1, [0, 1, 2])
    checker.on_finalized(f1)
    b2 = Header(number=2, view_id=2, parent_hash=f1.block_hash).with_last_commit(f1.signature, f1.bitmap)
    checker.on_finalized(_finalize(b2, [0, 1, 2, 3], node=1))
    checker.on_finalized(_finalize(b2, [1, 2, 3], node=2))
    assert checker.violations == []
    assert checker.height == 2


def test_safety_catches_two_blocks_at_one_height() -> None:
    """A deliberately broken core: two nodes finalize different blocks at height 1."""
    checker = SafetyChecker(_committee())
    checker.on_finalized(_finalize(Header(number=1, view_id=1, extra=b"a"), [0, 1, 2], node=0))
    checker.on_finalized(_finalize(Header(number=1, view_id=1, extra=b"b"), [1, 2, 3], node=1))
    assert any("two blocks finalized at height 1" in v for v in checker.violations)


def test_safety_catches_a_commit_without_quorum_or_with_a_bad_signature() -> None:
    checker = SafetyChecker(_committee())
    checker.on_finalized(_finalize(Header(number=1), [0, 1]))  # 2 of 4 is not > 2/3
    assert "not more than 2/3" in checker.violations[-1]
    good = _finalize(Header(number=2), [0, 1, 2])
    bad = Finalized(0, good.header, good.block_hash, _keys(4)[0].sign(b"x").to_bytes(), good.bitmap, 0)
    checker.on_finalized(bad)
    assert any("does not verify" in v for v in checker.violations)


def test_safety_catches_a_bad_last_commit_and_a_broken_parent_link() -> None:
    checker = SafetyChecker(_committee())
    f1 = _finalize(Header(number=1), [0, 1, 2])
    checker.on_finalized(f1)
    wrong = Header(number=2, parent_hash=f1.block_hash).with_last_commit(
        f1.signature, encode_bitmap([0, 1, 3], 4)
    )
    checker.on_finalized(_finalize(wrong, [0, 1, 2]))
    assert "bad last-commit" in checker.violations[-1]
    orphan = Header(number=3, parent_hash=bytes(32))
    checker.on_finalized(_finalize(orphan, [0, 1, 2]))
    assert "is not the finalized block" in checker.violations[-1]


def test_double_sign_checker() -> None:
    checker = DoubleSignChecker()
    key = b"k" * 48
    checker.on_signed(SignedPayload(0, key, 0, 5, 1, "commit", b"A", 10))
    checker.on_signed(SignedPayload(0, key, 0, 5, 1, "commit", b"A", 11))  # resend: fine
    checker.on_signed(SignedPayload(0, key, 0, 5, 2, "commit", b"B", 12))  # other view: fine
    assert checker.violations == []
    checker.on_signed(SignedPayload(0, key, 0, 5, 1, "commit", b"B", 13))
    assert "honest double sign" in checker.violations[-1]
    checker.on_evidence(1, key, frozenset({key}))
    assert "against honest key" in checker.violations[-1]


def test_liveness_checker() -> None:
    checker = LivenessChecker((0, 1, 2), fault_end_ms=1000, bound_ms=500)
    checker.start(7)
    checker.on_finalized(0, 7, 1100)
    checker.on_finalized(0, 8, 1200)
    checker.on_finalized(1, 8, 1400)
    assert not checker.done
    checker.on_finalized(2, 8, 1600)
    assert checker.done
    checker.finish()
    assert len(checker.violations) == 1 and "node 2" in checker.violations[0]


@pytest.mark.parametrize("n", [4])
def test_commit_payload_layout(n: int) -> None:
    assert commit_payload(1, b"h" * 32, 2) == (1).to_bytes(8, "little") + b"h" * 32 + (2).to_bytes(
        8, "little"
    )
