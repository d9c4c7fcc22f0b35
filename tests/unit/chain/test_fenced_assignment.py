"""Seat assignment with country fences (issue 21): fenced seats only to attested validators."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.chain.assignment import cuckoo_assign
from harmony.chain.fenced_assignment import (
    SHORT_SEATS,
    SHORT_STAKE,
    FencedAssignment,
    cuckoo_group_assigner,
    fenced_assign,
)
from harmony.chain.fences import Fence, Fences
from harmony.encoding.fixed import Dec
from harmony.types.shard_state import ShardState, Slot

SEED = b"\x07" * 32
MOVE = Dec.from_str("0.25")
ATTESTOR = b"\xaa" * 20
OPERATORS = tuple((Slot(bytes([0xF0, s]) + b"\x00" * 18, bytes([0xF0, s]) + b"\x00" * 46),) for s in range(4))


def slot(i: int, stake: int = 100) -> Slot:
    """Winner ``i``: address and key from ``i``, ``stake`` ONE-ish units of effective stake."""
    return Slot(i.to_bytes(20, "big"), i.to_bytes(48, "big"), Dec.from_int(stake))


def fences(
    shards: int = 3, *, fenced: tuple[int, ...] = (2,), min_seats: int = 1, share: str = "0"
) -> Fences:
    layout = tuple("EU" if s in fenced else None for s in range(shards))
    fence = Fence("EU", (ATTESTOR,), min_seats=min_seats, min_stake_share=Dec.from_str(share))
    return Fences((fence,), layout)


def run(
    winners: list[Slot],
    attested: set[int],
    rules: Fences | None = None,
    previous: ShardState | None = None,
    shards: int = 3,
    epoch: int = 5,
) -> FencedAssignment:
    allowed = frozenset(winners[i].ecdsa_address for i in attested)
    return fenced_assign(
        epoch,
        OPERATORS[:shards],
        winners,
        shards,
        fences() if rules is None else rules,
        {"EU": allowed},
        previous,
        cuckoo_group_assigner(SEED, MOVE),
    )


def external(state: ShardState, shard: int) -> list[Slot]:
    return [s for s in state.committee(shard).slots if s.effective_stake is not None]


def test_the_fenced_shard_takes_its_share_of_attested_winners() -> None:
    winners = [slot(i, 1000 - i) for i in range(9)]
    result = run(winners, {1, 4, 6, 8})
    assert result.shortfalls == ()
    fenced = external(result.shard_state, 2)
    assert len(fenced) == 3  # its fair share of 9 over 3 shards
    assert {s.ecdsa_address for s in fenced} <= {winners[i].ecdsa_address for i in (1, 4, 6, 8)}
    assert {s.ecdsa_address for s in fenced} == {winners[i].ecdsa_address for i in (1, 4, 6)}  # auction order
    others = external(result.shard_state, 0) + external(result.shard_state, 1)
    assert len(others) == 6 and winners[8] in others  # an attested validator may sit outside too
    for shard in range(3):
        assert result.shard_state.committee(shard).slots[0] == OPERATORS[shard][0]


def test_last_epochs_members_stay_first() -> None:
    winners = [slot(i, 1000 - i) for i in range(9)]
    first = run(winners, {1, 4, 6, 8}).shard_state
    again = run(winners, {1, 4, 6, 8, 0, 2}, previous=first).shard_state
    assert {s.bls_public_key for s in external(again, 2)} == {s.bls_public_key for s in external(first, 2)}


def test_too_few_attested_keeps_the_previous_attested_members() -> None:
    winners = [slot(i) for i in range(9)]
    first = run(winners, {3, 5, 7}).shard_state
    members = {s.ecdsa_address for s in external(first, 2)}
    # one loses its attestation and one newcomer is attested: 3 < min_seats 4 -> short; the two previous
    # members stay where they sat, the newcomer does not come in
    assert {winners[i].ecdsa_address for i in (3, 5, 7)} == members
    still = {3, 5}
    result = run(winners, still | {0}, fences(min_seats=4), previous=first)
    (shortfall,) = result.shortfalls
    assert (
        shortfall.reason == SHORT_SEATS
        and shortfall.shards == (2,)
        and "keep 2 previous" in shortfall.message
    )
    kept = {s.ecdsa_address for s in external(result.shard_state, 2)}
    assert kept == {winners[i].ecdsa_address for i in still}
    seated = [s.bls_public_key for c in result.shard_state.shards for s in c.slots if s.effective_stake]
    assert sorted(seated) == sorted(w.bls_public_key for w in winners)  # everyone else sits outside


def test_too_little_attested_stake_is_short() -> None:
    winners = [slot(i, 1000) for i in range(6)] + [slot(6 + i, 1) for i in range(3)]
    result = run(winners, {6, 7, 8}, fences(share="0.5"))
    assert [s.reason for s in result.shortfalls] == [SHORT_STAKE]
    assert external(result.shard_state, 2) == []  # no previous committee: only the operator seat
    assert run(winners, {6, 7, 8}, fences(share="0.001")).shortfalls == ()  # 3 >= 0.001 x 6003 / 3


def test_without_fences_it_is_the_plain_cuckoo_rule() -> None:
    winners = [slot(i, 1000 - i) for i in range(11)]
    previous = run(winners[:7], set(), Fences()).shard_state
    plain = cuckoo_assign(5, SEED, previous, OPERATORS[:3], winners, 3, MOVE)
    assert run(winners, set(), Fences(), previous).shard_state == plain


def test_two_jurisdictions_draw_apart() -> None:
    rules = Fences(
        (Fence("EU", (ATTESTOR,)), Fence("CH", (ATTESTOR,))),
        (None, "EU", "CH", None),
    )
    winners = [slot(i) for i in range(12)]
    attested = {"EU": frozenset(winners[i].ecdsa_address for i in range(6)), "CH": frozenset()}
    result = fenced_assign(5, OPERATORS, winners, 4, rules, attested, None, cuckoo_group_assigner(SEED, MOVE))
    assert [s.jurisdiction for s in result.shortfalls] == ["CH"]
    assert {s.ecdsa_address for s in external(result.shard_state, 1)} <= attested["EU"]
    assert external(result.shard_state, 2) == []


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(0, 24),
    attested=st.sets(st.integers(0, 23), max_size=24),
    later_attested=st.sets(st.integers(0, 23), max_size=24),
    fenced=st.sets(st.integers(1, 3), min_size=1, max_size=3),
    min_seats=st.integers(0, 4),
    share=st.sampled_from(["0", "0.3", "1"]),
    stakes=st.lists(st.integers(1, 10_000), min_size=24, max_size=24),
)
def test_no_unattested_validator_on_a_fenced_shard(
    count: int,
    attested: set[int],
    later_attested: set[int],
    fenced: set[int],
    min_seats: int,
    share: str,
    stakes: list[int],
) -> None:
    rules = fences(4, fenced=tuple(sorted(fenced)), min_seats=min_seats, share=share)
    winners = [slot(i, stakes[i]) for i in range(count)]
    previous = None
    for epoch, drawn in ((1, attested), (2, later_attested)):  # a second election from the first
        allowed = {i for i in drawn if i < count}
        result = run(winners, allowed, rules, previous, shards=4, epoch=epoch)
        state = result.shard_state
        addresses = {winners[i].ecdsa_address for i in allowed}
        for shard in fenced:
            assert all(s.ecdsa_address in addresses for s in external(state, shard))
        seated = [s.bls_public_key for c in state.shards for s in c.slots if s.effective_stake is not None]
        assert sorted(seated) == sorted(w.bls_public_key for w in winners)  # each winner exactly once
        for shard in range(4):
            assert state.committee(shard).slots[0] == OPERATORS[shard][0]
        short = {s for f in result.shortfalls for s in f.shards}
        assert short <= fenced
        previous = state
