"""EPoS election (reference §3): candidates, bids, median, clamp, assignment, the whole election."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.chain.params import LOCALNET, MAINNET, ONE
from harmony.chain.staking.election import (
    AuctionResult,
    ElectionError,
    SlotBid,
    auction,
    build_shard_state,
    candidates,
    effective_stake,
    elect,
    key_mod_assign,
    median_stake,
    run_auction,
    slot_bids,
)
from harmony.chain.staking.records import get_validator_wrapper, register_validator, set_validator_wrapper
from harmony.encoding.fixed import Dec
from harmony.state.statedb import StateDB
from harmony.types.shard_state import ShardState, Slot
from harmony.types.staking import CommissionRates, Description, EposStatus
from harmony.types.validator import (
    Commission,
    Counters,
    Delegation,
    Undelegation,
    Validator,
    ValidatorWrapper,
)

# ---------------------------------------------------------------- helpers shared by the staking tests


def addr(n: int) -> bytes:
    """A 20-byte address from a small number."""
    return n.to_bytes(20, "big")


def key(n: int) -> bytes:
    """A 48-byte 'BLS key' whose value mod 2 is n mod 2 (its localnet shard)."""
    return n.to_bytes(48, "big")


TEN_PERCENT = Dec.from_str("0.1")
NO_COUNTS = Counters()


def make_wrapper(
    address: bytes,
    keys: Sequence[bytes],
    self_stake: int,
    others: Sequence[tuple[bytes, int]] = (),
    *,
    status: EposStatus = EposStatus.ACTIVE,
    rate: Dec = TEN_PERCENT,
    last_epoch: int = 0,
    counters: Counters = NO_COUNTS,
    min_self: int = 10_000 * ONE,
    max_total: int = 10**12 * ONE,
    undelegations: Sequence[Undelegation] = (),
) -> ValidatorWrapper:
    """A validator record with a self-delegation and the given external delegations."""
    validator = Validator(
        address=address,
        slot_pub_keys=tuple(keys),
        last_epoch_in_committee=last_epoch,
        min_self_delegation=min_self,
        max_total_delegation=max_total,
        status=status,
        commission=Commission(CommissionRates(rate, Dec.one(), Dec.from_str("0.05")), 0),
        description=Description("v", "", "", "", ""),
        creation_height=0,
    )
    delegations = (
        Delegation(address, self_stake, 0, tuple(undelegations)),
        *(Delegation(d, amount, 0) for d, amount in others),
    )
    return ValidatorWrapper(validator, delegations, counters, 0)


def put(state: StateDB, wrapper: ValidatorWrapper) -> None:
    """Register and store a validator record."""
    register_validator(state, wrapper.validator.address)
    set_validator_wrapper(state, wrapper.validator.address, wrapper)


def new_state(*wrappers: ValidatorWrapper) -> StateDB:
    """A StateDB over a dict holding the given validators."""
    state = StateDB({})
    for wrapper in wrappers:
        put(state, wrapper)
    return state


def operators(shards: int = 2, per_shard: int = 2) -> tuple[tuple[Slot, ...], ...]:
    """Harmony-operated seats with keys 1000+ (never colliding with the test validators' keys)."""
    return tuple(
        tuple(Slot(addr(900 + s), key(1000 + 10 * s + j)) for j in range(per_shard)) for s in range(shards)
    )


def D(text: str) -> Dec:
    return Dec.from_str(text)


# ---------------------------------------------------------------- median and clamp


def test_median_odd_count() -> None:
    assert median_stake([D("3"), D("1"), D("2")]) == D("2")
    assert median_stake([D("7")]) == D("7")


def test_median_even_count_is_mean_of_middle_values() -> None:
    assert median_stake([D("1"), D("10"), D("2"), D("3")]) == D("2.5")
    # half an atto-unit in the 18th decimal rounds half to even
    assert median_stake([Dec(1), Dec(2)]) == Dec(2)
    assert median_stake([Dec(1), Dec(4)]) == Dec(2)


def test_median_empty_is_zero() -> None:
    assert median_stake([]) == Dec.zero()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("200", "135"),  # above the band: (1 + 0.35) × 100
        ("135", "135"),  # exactly the upper edge
        ("134.999999999999999999", "134.999999999999999999"),
        ("100", "100"),
        ("65", "65"),  # exactly the lower edge
        ("64.999999999999999999", "65"),
        ("10", "65"),  # below the band: (1 − 0.35) × 100
    ],
)
def test_effective_stake_clamps_at_both_edges(raw: str, expected: str) -> None:
    assert effective_stake(D(raw), D("100"), D("0.35")) == D(expected)


# ---------------------------------------------------------------- bids and auction


def test_stake_split_equally_over_keys() -> None:
    w = make_wrapper(addr(1), [key(2), key(3), key(5)], 30_000 * ONE, [(addr(50), 15_000 * ONE)])
    bids = slot_bids([w], shard_count=2, slots_limit=0)
    assert [b.bls_public_key for b in bids] == [key(2), key(3), key(5)]
    assert {b.raw_stake for b in bids} == {Dec.from_int(15_000 * ONE)}


def test_hip16_slots_limit_per_shard() -> None:
    # keys 2, 4, 6 fall in shard 0, key 3 in shard 1; at most 2 per shard count
    w = make_wrapper(addr(1), [key(2), key(4), key(6), key(3)], 30_000 * ONE)
    bids = slot_bids([w], shard_count=2, slots_limit=2)
    assert [b.bls_public_key for b in bids] == [key(2), key(4), key(3)]
    assert bids[0].raw_stake == Dec.from_int(10_000 * ONE)


def test_mainnet_slots_limit() -> None:
    assert MAINNET.slots_limit_per_shard == 6  # int(100 × 0.06)
    assert LOCALNET.slots_limit_per_shard == 0


def test_auction_sorts_by_stake_then_address_then_key() -> None:
    bids = [
        SlotBid(addr(2), key(9), D("10")),
        SlotBid(addr(1), key(8), D("10")),
        SlotBid(addr(1), key(7), D("10")),
        SlotBid(addr(3), key(1), D("30")),
        SlotBid(addr(4), key(2), D("5")),
    ]
    result = run_auction(bids, seats=4, band=D("0.35"))
    assert [(b.address, b.bls_public_key) for b in result.winning_bids] == [
        (addr(3), key(1)),
        (addr(1), key(7)),
        (addr(1), key(8)),
        (addr(2), key(9)),
    ]
    assert result.median == D("10")
    assert [s.effective_stake for s in result.winners] == [D("13.5"), D("10"), D("10"), D("10")]
    assert len(result.bids) == 5 and result.bids[-1].address == addr(4)
    assert result.elected_addresses == (addr(1), addr(2), addr(3))


def test_auction_with_fewer_bids_than_seats_and_none() -> None:
    assert run_auction([SlotBid(addr(1), key(1), D("4"))], 10, D("0.35")).median == D("4")
    empty = run_auction([], 10, D("0.35"))
    assert empty == AuctionResult((), Dec.zero(), (), ())


# ---------------------------------------------------------------- candidates


def test_candidates_filters() -> None:
    good = make_wrapper(addr(1), [key(2)], 10_000 * ONE)
    inactive = make_wrapper(addr(2), [key(4)], 20_000 * ONE, status=EposStatus.INACTIVE)
    banned = make_wrapper(addr(3), [key(6)], 20_000 * ONE, status=EposStatus.BANNED)
    poor = make_wrapper(addr(4), [key(8)], 9_999 * ONE)  # below the network minimum
    below_own_min = make_wrapper(addr(5), [key(10)], 15_000 * ONE, min_self=20_000 * ONE)
    overfull = make_wrapper(addr(6), [key(12)], 15_000 * ONE, [(addr(60), ONE)], max_total=15_000 * ONE)
    operator_key = make_wrapper(addr(7), [key(1000)], 20_000 * ONE)
    dup_first = make_wrapper(addr(8), [key(14)], 20_000 * ONE)
    dup_later = make_wrapper(addr(9), [key(16), key(14)], 20_000 * ONE)
    no_keys = make_wrapper(addr(10), [], 20_000 * ONE)
    state = new_state(
        dup_later, good, inactive, banned, poor, below_own_min, overfull, operator_key, dup_first, no_keys
    )
    found = candidates(state, LOCALNET, 3, frozenset({key(1000)}))
    assert [w.validator.address for w in found] == [addr(1), addr(8)]


def test_candidates_drop_validators_below_threshold_in_last_committee() -> None:
    snap = Counters(10, 10)
    lazy = make_wrapper(addr(1), [key(2)], 10_000 * ONE, last_epoch=3, counters=Counters(13, 12))
    okay = make_wrapper(addr(2), [key(4)], 10_000 * ONE, last_epoch=3, counters=Counters(14, 13))
    # not in the ending epoch's committee: its counters are not judged
    absent = make_wrapper(addr(3), [key(6)], 10_000 * ONE, last_epoch=2, counters=Counters(13, 10))
    state = new_state(lazy, okay, absent)
    snapshots = {addr(1): snap, addr(2): snap, addr(3): snap}
    found = candidates(state, LOCALNET, 3, snapshot_counters=snapshots)
    assert [w.validator.address for w in found] == [addr(2), addr(3)]
    assert len(candidates(state, LOCALNET, 3)) == 3  # no snapshot: status only


# ---------------------------------------------------------------- assignment


def test_build_shard_state_operators_first_then_key_mod() -> None:
    ops = operators()
    winners = [Slot(addr(1), key(5), D("1")), Slot(addr(2), key(2), D("2")), Slot(addr(3), key(7), D("3"))]
    state = build_shard_state(4, ops, winners, 2)
    assert state.epoch == 4
    assert state.shards[0].slots == (*ops[0], winners[1])
    assert state.shards[1].slots == (*ops[1], winners[0], winners[2])
    assert key_mod_assign(4, ops, winners, 2) == state


def test_build_shard_state_errors() -> None:
    with pytest.raises(ElectionError) as err:
        build_shard_state(1, operators(shards=1), [], 2)
    assert err.value.reason == "operator_shards"
    staked_op = ((Slot(addr(1), key(1), D("1")),), ())
    with pytest.raises(ElectionError) as err:
        build_shard_state(1, staked_op, [], 2)
    assert err.value.reason == "operator_stake"


# ---------------------------------------------------------------- the whole election


def _three_validators() -> StateDB:
    a = make_wrapper(addr(1), [key(2), key(3)], 30_000 * ONE, [(addr(50), 10_000 * ONE)])
    b = make_wrapper(addr(2), [key(4)], 10_000 * ONE)
    c = make_wrapper(addr(3), [key(5)], 50_000 * ONE)
    return new_state(c, a, b)


def test_elect_hand_computed() -> None:
    state = _three_validators()
    ops = operators()
    shard_state = elect(state, LOCALNET, 7, ops)
    k = 1000 * ONE
    # bids: C 50k, A 20k (two keys), B 10k; median (20k + 20k) / 2; band [13k, 27k]
    assert shard_state.epoch == 7
    assert shard_state.shards[0].slots == (
        *ops[0],
        Slot(addr(1), key(2), Dec.from_int(20 * k)),
        Slot(addr(2), key(4), Dec.from_int(13 * k)),
    )
    assert shard_state.shards[1].slots == (
        *ops[1],
        Slot(addr(3), key(5), Dec.from_int(27 * k)),
        Slot(addr(1), key(3), Dec.from_int(20 * k)),
    )
    for n in (1, 2, 3):
        wrapper = get_validator_wrapper(state, addr(n))
        assert wrapper is not None and wrapper.validator.last_epoch_in_committee == 7
    assert ShardState.decode(shard_state.encode()) == shard_state


def test_elect_takes_only_the_external_seats() -> None:
    params = replace(LOCALNET, seats_per_shard=3, harmony_seats_per_shard=2)  # 2 external seats
    state = _three_validators()
    result = auction(state, params, 7, operators())
    assert [(s.ecdsa_address, s.bls_public_key) for s in result.winners] == [
        (addr(3), key(5)),
        (addr(1), key(2)),
    ]
    assert result.median == Dec.from_int(35_000 * ONE)
    elect(state, params, 7, operators())
    b = get_validator_wrapper(state, addr(2))
    assert b is not None and b.validator.last_epoch_in_committee == 0


def test_elect_uses_the_given_assignment() -> None:
    calls: list[tuple[int, int, int]] = []

    def everything_in_shard_one(
        epoch: int, operator_slots: Sequence[Sequence[Slot]], winners: Sequence[Slot], shard_count: int
    ) -> ShardState:
        calls.append((epoch, len(winners), shard_count))
        return build_shard_state(epoch, operator_slots, [], shard_count)

    elect(_three_validators(), LOCALNET, 2, operators(), assign=everything_in_shard_one)
    assert calls == [(2, 4, 2)]


def test_nobody_wins_leaves_operator_seats_only() -> None:
    state = new_state(make_wrapper(addr(1), [key(2)], 5 * ONE))
    shard_state = elect(state, LOCALNET, 1, operators())
    assert [c.slots for c in shard_state.shards] == [tuple(s) for s in operators()]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(1, 10**30), max_size=30),
    st.integers(0, 12),
    st.sampled_from(["0.15", "0.35", "0"]),
)
def test_auction_invariants(stakes: list[int], seats: int, band_text: str) -> None:
    band = D(band_text)
    bids = [SlotBid(addr(i % 7), key(i), Dec(stake)) for i, stake in enumerate(stakes)]
    result = run_auction(bids, seats, band)
    assert len(result.winners) == min(seats, len(bids))
    assert sorted(b.raw_stake for b in result.bids) == sorted(Dec(s) for s in stakes)
    if result.winning_bids:
        lowest_winner = min(b.raw_stake for b in result.winning_bids)
        losers = result.bids[len(result.winners) :]
        assert all(b.raw_stake <= lowest_winner for b in losers)
    low = (Dec.one() - band).mul(result.median)
    high = (Dec.one() + band).mul(result.median)
    for slot, bid in zip(result.winners, result.winning_bids, strict=True):
        assert slot.effective_stake is not None
        assert low <= slot.effective_stake <= high
        assert (slot.ecdsa_address, slot.bls_public_key) == (bid.address, bid.bls_public_key)
        if low <= bid.raw_stake <= high:
            assert slot.effective_stake == bid.raw_stake
    assert run_auction(list(reversed(bids)), seats, band) == result  # order of input does not matter
