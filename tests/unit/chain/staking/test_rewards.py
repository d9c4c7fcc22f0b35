"""Block rewards (reference §4.2), supply bookkeeping and APR (§4.3)."""

from __future__ import annotations

import pytest

from harmony.chain.params import ONE
from harmony.chain.quorum import Roster
from harmony.chain.staking.records import get_validator_wrapper
from harmony.chain.staking.rewards import (
    RewardError,
    RewardPayout,
    add_reward,
    block_dues,
    distribute_aggregated_rewards,
    distribute_block_reward,
    key_earning,
    validator_apr,
    voting_power,
)
from harmony.chain.staking.supply import SupplyBreakdown, counted_supply, staked_supply
from harmony.crypto.bls import SecretKey
from harmony.encoding.fixed import Dec
from harmony.state.statedb import StateDB
from harmony.types.shard_state import Committee, Slot
from harmony.types.staking import EposStatus
from harmony.types.validator import Undelegation
from tests.unit.chain.staking.test_election import addr, key, make_wrapper, new_state

D = Dec.from_str


def _rewards(state: StateDB, n: int) -> tuple[tuple[int, ...], int]:
    wrapper = get_validator_wrapper(state, addr(n))
    assert wrapper is not None
    return tuple(d.reward for d in wrapper.delegations), wrapper.block_reward


# ---------------------------------------------------------------- add_reward (one validator)


def test_commission_then_pro_rata_with_leftover_to_self() -> None:
    # three equal delegations, no commission: 100 / 3 = 33.33 each, 1 atto left for the validator
    state = new_state(make_wrapper(addr(1), [key(2)], 1, [(addr(51), 1), (addr(52), 1)], rate=Dec.zero()))
    assert add_reward(state, addr(1), 100) == 100
    assert _rewards(state, 1) == ((34, 33, 33), 100)


def test_commission_rounding_half_to_even() -> None:
    state = new_state(make_wrapper(addr(1), [key(2)], 600, [(addr(51), 300), (addr(52), 100)], rate=D("0.1")))
    # commission round(100.5) = 100 (half to even); pool 905: 543, 271.5 -> 272, 90.5 -> 90
    add_reward(state, addr(1), 1005)
    assert _rewards(state, 1) == ((100 + 543, 272, 90), 1005)
    state = new_state(make_wrapper(addr(1), [key(2)], 10, rate=D("0.15")))
    add_reward(state, addr(1), 10)  # commission round(1.5) = 2, the rest to the only delegation
    assert _rewards(state, 1) == ((10,), 10)


def test_rounding_never_pays_more_than_the_reward() -> None:
    # pool 2 over three thirds: 0.67 rounds to 1, 1, then only 0 is left for the third
    state = new_state(make_wrapper(addr(1), [key(2)], 1, [(addr(51), 1), (addr(52), 1)], rate=Dec.zero()))
    add_reward(state, addr(1), 2)
    assert _rewards(state, 1) == ((1, 1, 0), 2)


def test_full_commission() -> None:
    state = new_state(make_wrapper(addr(1), [key(2)], 5, [(addr(51), 5)], rate=Dec.one()))
    add_reward(state, addr(1), 7)
    assert _rewards(state, 1) == ((7, 0), 7)


def test_banned_missing_and_zero_get_nothing() -> None:
    state = new_state(make_wrapper(addr(1), [key(2)], 5, status=EposStatus.BANNED))
    assert add_reward(state, addr(1), 100) == 0
    assert _rewards(state, 1) == ((0,), 0)
    assert add_reward(state, addr(9), 100) == 0
    assert add_reward(state, addr(1), 0) == 0
    with pytest.raises(RewardError):
        add_reward(state, addr(1), -1)


# ---------------------------------------------------------------- voting power and distribution


def _committee() -> Committee:
    return Committee(
        0,
        (
            Slot(addr(900), key(1000)),
            Slot(addr(901), key(1001)),
            Slot(addr(1), key(2), Dec.from_int(300)),
            Slot(addr(2), key(4), Dec.from_int(100)),
        ),
    )


def test_voting_power_hand_computed() -> None:
    assert voting_power(_committee(), D("0.5")) == (D("0.25"), D("0.25"), D("0.375"), D("0.125"))
    only_harmony = Committee(0, (Slot(addr(900), key(1000)),) * 3)
    assert sum(voting_power(only_harmony, D("0.5")), Dec.zero()) == Dec.one()
    assert voting_power(Committee(0, ()), D("0.5")) == ()


def test_voting_power_is_computed_once_per_committee_object() -> None:
    committee = _committee()
    first = voting_power(committee, D("0.5"))
    assert voting_power(committee, D("0.5")) is first  # the same frozen committee: the power it had
    assert voting_power(_committee(), D("0.5")) == first  # an equal committee: recomputed, equal
    other = voting_power(committee, D("0.25"))  # another share: recomputed
    assert other != first and sum(other, Dec.zero()) == Dec.one()
    assert voting_power(committee, D("0.5")) == first


def test_voting_power_matches_the_quorum_roster() -> None:
    keys = [SecretKey.key_gen(bytes([i]) * 32).public_key.to_bytes() for i in range(6)]
    stakes: list[Dec | None] = [None, Dec.from_int(7), Dec.from_int(3), None, Dec.from_int(11), D("0.3")]
    committee = Committee(
        0, tuple(Slot(addr(i), k, s) for i, (k, s) in enumerate(zip(keys, stakes, strict=True)))
    )
    for share in (D("0.01"), D("0.6"), D("0.333333333333333333")):
        assert voting_power(committee, share) == Roster(committee, share).power
        assert sum(voting_power(committee, share), Dec.zero()) == Dec.one()


def _two_validators() -> StateDB:
    return new_state(
        make_wrapper(addr(1), [key(2)], 300, rate=Dec.zero()),
        make_wrapper(addr(2), [key(4)], 100, rate=Dec.zero()),
    )


def test_distribution_by_power_among_staked_signers() -> None:
    state = _two_validators()
    payout = distribute_block_reward(state, _committee(), [0, 2, 3], 1000, D("0.5"))
    assert payout == RewardPayout(1000, 1000, 0, ((addr(1), 750), (addr(2), 250)))
    assert _rewards(state, 1) == ((750,), 750)
    assert _rewards(state, 2) == ((250,), 250)


def test_distribution_truncates_and_returns_the_rest() -> None:
    state = _two_validators()
    payout = distribute_block_reward(state, _committee(), [2, 3], 7, D("0.5"))
    assert (payout.paid, payout.unpaid) == (6, 1)  # 5.25 -> 5, 1.75 -> 1
    payout = distribute_block_reward(state, _committee(), [2], 7, D("0.5"))
    assert payout.credited == ((addr(1), 7),)


def test_harmony_signers_earn_nothing() -> None:
    state = _two_validators()
    payout = distribute_block_reward(state, _committee(), [0, 1], 1000, D("0.5"))
    assert payout == RewardPayout(1000, 0, 1000, ())


def test_banned_signer_is_not_paid() -> None:
    state = new_state(
        make_wrapper(addr(1), [key(2)], 300, rate=Dec.zero(), status=EposStatus.BANNED),
        make_wrapper(addr(2), [key(4)], 100, rate=Dec.zero()),
    )
    payout = distribute_block_reward(state, _committee(), [2, 3], 1000, D("0.5"))
    assert payout == RewardPayout(1000, 250, 750, ((addr(2), 250),))


def test_several_seats_of_one_validator_are_paid_once() -> None:
    committee = Committee(
        0,
        (
            Slot(addr(1), key(2), Dec.from_int(1)),
            Slot(addr(1), key(3), Dec.from_int(1)),
            Slot(addr(2), key(4), Dec.from_int(2)),
        ),
    )
    state = new_state(
        make_wrapper(addr(1), [key(2), key(3)], 10, [(addr(51), 10)], rate=D("0.25")),
        make_wrapper(addr(2), [key(4)], 10, rate=Dec.zero()),
    )
    payout = distribute_block_reward(state, committee, [0, 1, 2], 40, D("0.5"))
    # powers 1/4, 1/4, 1/2; validator 1 gets 10 + 10 at once: commission 5, then 7.5 -> 8 and 7.5 -> 7
    assert payout.credited == ((addr(1), 20), (addr(2), 20))
    assert _rewards(state, 1) == ((13, 7), 20)


def test_each_key_records_its_earning_of_the_epoch() -> None:
    committee = Committee(
        0,
        (
            Slot(addr(1), key(2), Dec.from_int(1)),
            Slot(addr(1), key(3), Dec.from_int(3)),
            Slot(addr(2), key(4), Dec.from_int(4)),
            Slot(addr(900), key(1000)),
        ),
    )
    state = new_state(
        make_wrapper(addr(1), [key(2), key(3)], 10, rate=D("0.25")),
        make_wrapper(addr(2), [key(4)], 10, rate=Dec.zero(), status=EposStatus.BANNED),
    )
    payout = distribute_block_reward(state, committee, [0, 1, 2, 3], 80, D("0.5"), epoch=5)
    assert payout.credited == ((addr(1), 40),)
    assert [key_earning(state, key(k), 5) for k in (2, 3, 4, 1000)] == [10, 30, 0, 0]  # banned: not paid
    distribute_block_reward(state, committee, [1], 80, D("0.5"), epoch=5)
    assert key_earning(state, key(3), 5) == 30 + 80
    assert key_earning(state, key(3), 6) == 0  # another epoch's earning is not this one's
    distribute_block_reward(state, committee, [0], 8, D("0.5"), epoch=6)
    assert [key_earning(state, key(k), 6) for k in (2, 3)] == [8, 0]
    assert key_earning(state, key(2), 5) == 0  # a new epoch started the key from zero
    assert sum(key_earning(state, key(k), 6) for k in (2, 3)) == _rewards(state, 1)[1] - 40 - 80
    distribute_block_reward(state, committee, [0], 8, D("0.5"))  # no epoch: nothing recorded
    assert key_earning(state, key(2), 6) == 8


def test_aggregated_payout_credits_each_validator_once() -> None:
    committee = _committee()
    assert block_dues(committee, [2, 3], 7, D("0.5")) == {addr(1): 5, addr(2): 1}
    state = new_state(
        make_wrapper(addr(1), [key(2)], 300, rate=D("0.1")),
        make_wrapper(addr(2), [key(4)], 100, rate=Dec.zero()),
    )
    blocks = [(committee, [2, 3]), (committee, [0, 2]), (committee, [0, 1])]
    payout = distribute_aggregated_rewards(state, blocks, 7, D("0.5"))
    # dues: 5 + 7 + 0 for validator 1, 1 for validator 2; 21 offered
    assert payout == RewardPayout(21, 13, 8, ((addr(1), 12), (addr(2), 1)))
    assert _rewards(state, 1) == ((12,), 12)  # commission round(1.2) = 1, the rest to the self-delegation
    assert distribute_aggregated_rewards(state, [], 7, D("0.5")) == RewardPayout(0, 0, 0, ())


def test_distribution_input_errors() -> None:
    state = _two_validators()
    with pytest.raises(RewardError) as err:
        distribute_block_reward(state, _committee(), [4], 10, D("0.5"))
    assert err.value.reason == "signer_index"
    with pytest.raises(RewardError) as err:
        distribute_block_reward(state, _committee(), [2], -1, D("0.5"))
    assert err.value.reason == "negative_reward"


# ---------------------------------------------------------------- supply and APR


def test_total_supply_and_staked_supply() -> None:
    state = new_state(
        make_wrapper(addr(1), [key(2)], 300, [(addr(51), 50)], undelegations=[Undelegation(20, 3)]),
        make_wrapper(addr(2), [key(4)], 100),
    )
    add_reward(state, addr(2), 9)
    state.set_balance(addr(51), 1000)
    state.set_balance(addr(52), 1)
    assert staked_supply(state) == (450, 20, 9)
    breakdown = counted_supply(state, [addr(51), addr(52), addr(51)])
    assert breakdown == SupplyBreakdown(1001, 450, 20, 9)
    assert breakdown.total == 1480


def test_validator_apr() -> None:
    # 100 ONE a day on 1,000,000 ONE: 100 × 31,557,600 / (86,400 × 1,000,000) = 3.6525 %
    assert validator_apr(150 * ONE, 50 * ONE, 86_400, 1_000_000 * ONE) == D("0.036525")
    assert validator_apr(10, 0, 0, 100) == Dec.zero()
    assert validator_apr(10, 0, 5, 0) == Dec.zero()
    with pytest.raises(RewardError):
        validator_apr(0, 10, 5, 100)
