"""Seat assignment rules (design §5, §7; reference §3.5): key mod shards, random, and our Cuckoo rule."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from harmony.chain import assignment as asg
from harmony.chain.assignment import AssignmentError, SeedDraws
from harmony.chain.staking.election import key_mod_assign
from harmony.crypto.keccak import keccak256
from harmony.encoding.fixed import Dec
from harmony.types.shard_state import ShardState, Slot

SEED = keccak256(b"epoch randomness")
MOVE = Dec.from_str("0.125")


def _slot(i: int, stake: bool = True) -> Slot:
    key = keccak256(b"bls" + i.to_bytes(4, "big")) + keccak256(b"more" + i.to_bytes(4, "big"))[:16]
    return Slot(i.to_bytes(20, "big"), key, Dec.from_int(100 + i) if stake else None)


def _operators(shards: int, per_shard: int) -> list[list[Slot]]:
    return [[_slot(10_000 + s * per_shard + j, stake=False) for j in range(per_shard)] for s in range(shards)]


WINNERS = [_slot(i) for i in range(200)]
OPERATORS = _operators(4, 3)


def _shard_of(state: ShardState) -> dict[bytes, int]:
    return {
        s.bls_public_key: c.shard_id for c in state.shards for s in c.slots if s.effective_stake is not None
    }


def _check_wellformed(
    state: ShardState, operators: list[list[Slot]], winners: list[Slot], shards: int
) -> None:
    assert len(state.shards) == shards
    assert [c.shard_id for c in state.shards] == list(range(shards))
    seated = [s for c in state.shards for s in c.slots if s.effective_stake is not None]
    assert sorted(s.bls_public_key for s in seated) == sorted(w.bls_public_key for w in winners)
    order = {w.bls_public_key: i for i, w in enumerate(winners)}
    for committee in state.shards:
        ops = operators[committee.shard_id] if operators else []
        assert list(committee.slots[: len(ops)]) == list(ops)  # operators first
        external = committee.slots[len(ops) :]
        assert all(s.effective_stake is not None for s in external)
        idx = [order[s.bls_public_key] for s in external]
        assert idx == sorted(idx)  # auction order within a shard


def test_seed_draws_deterministic_and_in_range() -> None:
    a, b = SeedDraws(SEED, 3), SeedDraws(SEED, 3)
    xs = [a.below(7) for _ in range(200)]
    assert xs == [b.below(7) for _ in range(200)]
    assert set(xs) == set(range(7))
    assert xs != [SeedDraws(SEED, 4).below(7) for _ in range(200)]
    assert SeedDraws(SEED).below(1) == 0
    with pytest.raises(AssignmentError):
        SeedDraws(SEED).below(0)


def test_key_mod_reference_rule() -> None:
    state = key_mod_assign(5, OPERATORS, WINNERS, 4)
    assert state.epoch == 5
    _check_wellformed(state, OPERATORS, WINNERS, 4)
    for key, shard in _shard_of(state).items():
        assert shard == int.from_bytes(key, "big") % 4


@pytest.mark.parametrize("rule", ["random", "cuckoo"])
def test_deterministic_and_seed_dependent(rule: str) -> None:
    def run(seed: bytes, previous: ShardState | None = None) -> ShardState:
        if rule == "random":
            return asg.random_assigner(seed, previous)(2, OPERATORS, WINNERS, 4)
        return asg.cuckoo_assign(2, seed, previous, OPERATORS, WINNERS, 4, MOVE)

    first = run(SEED)
    assert run(SEED) == first
    _check_wellformed(first, OPERATORS, WINNERS, 4)
    assert run(keccak256(b"another seed")) != first
    assert [len(c.slots) for c in first.shards] == [3 + 50] * 4  # balanced


def test_cuckoo_assigner_matches_the_election_signature() -> None:
    assign = asg.cuckoo_assigner(SEED, None, MOVE)
    assert assign(7, OPERATORS, WINNERS, 4) == asg.cuckoo_assign(7, SEED, None, OPERATORS, WINNERS, 4, MOVE)


def test_moved_fraction_bounded_with_unchanged_winners() -> None:
    previous = asg.cuckoo_assign(1, SEED, None, OPERATORS, WINNERS, 4, MOVE)
    nxt = asg.cuckoo_assign(2, keccak256(b"next"), previous, OPERATORS, WINNERS, 4, MOVE)
    before, after = _shard_of(previous), _shard_of(nxt)
    for shard in range(4):
        members = [k for k, s in before.items() if s == shard]
        left = sum(after[k] != shard for k in members)
        assert left <= MOVE.mul_int(len(members)).truncate_int()  # ⌊0.125 · 50⌋ = 6
    assert sum(before[k] != after[k] for k in before) > 0


def test_zero_move_fraction_and_no_joins_keeps_everyone() -> None:
    previous = asg.cuckoo_assign(1, SEED, None, OPERATORS, WINNERS, 4, MOVE)
    same = asg.cuckoo_assign(2, keccak256(b"x"), previous, OPERATORS, WINNERS, 4, Dec.zero())
    assert _shard_of(same) == _shard_of(previous)
    assert asg.random_assigner(keccak256(b"x"), previous)(2, OPERATORS, WINNERS, 4) == same


def test_joins_cuckoo_a_bounded_number() -> None:
    previous = asg.cuckoo_assign(1, SEED, None, OPERATORS, WINNERS, 4, MOVE)
    winners = WINNERS[:190] + [_slot(500 + i) for i in range(10)]
    nxt = asg.cuckoo_assign(2, keccak256(b"y"), previous, OPERATORS, winners, 4, Dec.zero())
    _check_wellformed(nxt, OPERATORS, winners, 4)
    before, after = _shard_of(previous), _shard_of(nxt)
    moved = sum(before[k] != after[k] for k in before if k in after)
    assert moved <= asg.CUCKOO_EVICTIONS_PER_JOIN * 10


def test_effective_stake_follows_the_election() -> None:
    previous = asg.cuckoo_assign(1, SEED, None, OPERATORS, WINNERS, 4, MOVE)
    restaked = [Slot(w.ecdsa_address, w.bls_public_key, Dec.from_int(7)) for w in WINNERS]
    nxt = asg.cuckoo_assign(2, SEED, previous, OPERATORS, restaked, 4, MOVE)
    assert all(s.effective_stake == Dec.from_int(7) for c in nxt.shards for s in c.slots[3:])


def test_errors_are_typed() -> None:
    with pytest.raises(AssignmentError) as info:
        asg.cuckoo_assign(1, SEED, None, OPERATORS, [*WINNERS, WINNERS[0]], 4, MOVE)
    assert info.value.reason == "duplicate_key"
    with pytest.raises(AssignmentError) as info:
        asg.cuckoo_assign(1, SEED, None, OPERATORS, WINNERS, 4, Dec.from_str("1.5"))
    assert info.value.reason == "move_fraction"
    with pytest.raises(AssignmentError) as info:
        asg.cuckoo_assign(1, SEED, None, OPERATORS, WINNERS, 3, MOVE)
    assert info.value.reason == "operator_slots"


def test_move_fraction_presets() -> None:
    assert asg.move_fraction_for("mainnet") == Dec.from_str("0.125")
    assert asg.move_fraction_for("unknown") == asg.DEFAULT_MOVE_FRACTION


def test_fewer_winners_than_shards() -> None:
    state = asg.cuckoo_assign(1, SEED, None, [], WINNERS[:2], 4, MOVE)
    assert sorted(len(c.slots) for c in state.shards) == [0, 0, 1, 1]


@example(shards=2, old=15, keep=15, fresh=16, move=0, seed=b"\x00", k=0)  # 4 stayers cuckooed at k = 0
@settings(max_examples=40, deadline=None)
@given(
    shards=st.integers(1, 6),
    old=st.integers(0, 60),
    keep=st.integers(0, 60),
    fresh=st.integers(0, 30),
    move=st.integers(0, 1000),
    seed=st.binary(min_size=1, max_size=32),
    k=st.integers(0, 5),
)
def test_cuckoo_properties(
    shards: int, old: int, keep: int, fresh: int, move: int, seed: bytes, k: int
) -> None:
    operators = _operators(shards, 1)
    first = [_slot(i) for i in range(old)]
    previous = asg.cuckoo_assign(0, seed, None, operators, first, shards, MOVE)
    winners = first[: min(keep, old)] + [_slot(1000 + i) for i in range(fresh)]
    fraction = Dec.from_int(move).quo_int(1000)
    state = asg.cuckoo_assign(1, seed, previous, operators, winners, shards, fraction, evictions_per_join=k)
    again = asg.cuckoo_assign(1, seed, previous, operators, winners, shards, fraction, evictions_per_join=k)
    assert state == again
    _check_wellformed(state, operators, winners, shards)
    sizes = sorted(len(c.slots) - 1 for c in state.shards)
    assert sizes[-1] - sizes[0] <= 1  # balanced
    before, after = _shard_of(previous), _shard_of(state)
    stayers = [key for key in after if key in before]
    moved = sum(before[key] != after[key] for key in stayers)
    overflow = max(0, len(stayers) - len(winners) // shards) * shards
    # a join into a full shard evicts one seat even at k = 0 (module docstring's cost bound)
    assert moved <= fraction.mul_int(len(stayers)).truncate_int() + shards + max(k, 1) * fresh + overflow


@settings(max_examples=30, deadline=None)
@given(shards=st.integers(1, 5), count=st.integers(0, 40), seed=st.binary(min_size=1, max_size=8))
def test_random_and_key_mod_properties(shards: int, count: int, seed: bytes) -> None:
    winners = [_slot(i) for i in range(count)]
    for state in (
        asg.random_assigner(seed, None)(3, [], winners, shards),
        key_mod_assign(3, [[]] * shards, winners, shards),
    ):
        _check_wellformed(state, [], winners, shards)
