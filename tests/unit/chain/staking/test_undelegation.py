"""Undelegation payout at the end of epoch e + 7 (reference §2.5 "Lock period"; design §5)."""

from __future__ import annotations

from dataclasses import replace

from harmony.chain.params import LOCALNET, ONE
from harmony.chain.staking import records
from harmony.chain.staking.epoch import EpochEnd, end_of_epoch
from harmony.chain.staking.transactions import StakingContext, apply_delegate, apply_undelegate
from harmony.chain.staking.undelegation import Payout, is_unlocked, payout_undelegations
from harmony.types.staking import Delegate, Undelegate
from harmony.types.validator import Undelegation, ValidatorWrapper
from tests.unit.chain.staking.test_transactions import D1, D2, V1, V2, with_validators, wrapper
from tests.unit.chain.support import BALANCE, fresh_state

PARAMS = LOCALNET


def ctx(epoch: int) -> StakingContext:
    return StakingContext(PARAMS, epoch, PARAMS.epoch_first_block(epoch) + 1)


def test_lock_is_seven_epochs() -> None:
    assert PARAMS.undelegation_lock_epochs == 7
    assert not is_unlocked(3, 9, PARAMS)
    assert is_unlocked(3, 10, PARAMS)
    assert is_unlocked(3, 11, PARAMS)


def test_paid_exactly_at_the_end_of_epoch_plus_seven() -> None:
    state = with_validators()
    apply_delegate(state, Delegate(D1, V1, 1_000 * ONE), ctx(3))
    apply_undelegate(state, Undelegate(D1, V1, 300 * ONE), ctx(3))
    apply_undelegate(state, Undelegate(D1, V1, 200 * ONE), ctx(5))
    after_delegating = BALANCE - 1_000 * ONE
    for epoch in range(3, 10):  # ends of epochs 3 … 9: still locked
        root = state.state_root()
        assert payout_undelegations(state, epoch, PARAMS) == ()
        assert state.state_root() == root
    assert state.get_balance(D1) == after_delegating
    assert payout_undelegations(state, 10, PARAMS) == (Payout(V1, D1, 300 * ONE),)
    assert state.get_balance(D1) == after_delegating + 300 * ONE
    d = wrapper(state).delegations[1]
    assert d.amount == 500 * ONE and d.undelegations == (Undelegation(200 * ONE, 5),)
    assert payout_undelegations(state, 11, PARAMS) == ()
    assert end_of_epoch(state, 12, PARAMS) == EpochEnd(12, (Payout(V1, D1, 200 * ONE),))
    assert state.get_balance(D1) == after_delegating + 500 * ONE
    assert wrapper(state).delegations[1].undelegations == ()


def test_every_validator_and_delegator_paid_nothing_dropped() -> None:
    state = with_validators()
    apply_delegate(state, Delegate(D1, V1, 500 * ONE), ctx(1))
    apply_delegate(state, Delegate(D2, V2, 500 * ONE), ctx(1))
    apply_undelegate(state, Undelegate(D1, V1, 500 * ONE), ctx(1))
    apply_undelegate(state, Undelegate(D2, V2, 100 * ONE), ctx(2))
    apply_undelegate(state, Undelegate(V2, V2, 5_000 * ONE), ctx(1))
    staked_before = sum(
        d.amount + sum(u.amount for u in d.undelegations)
        for v in (V1, V2)
        for d in wrapper(state, v).delegations
    )
    balances_before = {a: state.get_balance(a) for a in (D1, D2, V2)}
    payouts = payout_undelegations(state, 20, PARAMS)
    assert payouts == (Payout(V1, D1, 500 * ONE), Payout(V2, V2, 5_000 * ONE), Payout(V2, D2, 100 * ONE))
    staked_after = sum(d.amount for v in (V1, V2) for d in wrapper(state, v).delegations)
    paid = sum(p.amount for p in payouts)
    assert staked_before == staked_after + paid
    assert sum(state.get_balance(a) for a in (D1, D2, V2)) == sum(balances_before.values()) + paid
    assert all(not d.undelegations for v in (V1, V2) for d in wrapper(state, v).delegations)


def test_zero_amount_entry_removed_quietly() -> None:
    state = with_validators()

    def zero_entry(w: ValidatorWrapper) -> ValidatorWrapper:
        first = replace(w.delegations[0], undelegations=(Undelegation(0, 1),))
        return replace(w, delegations=(first, *w.delegations[1:]))

    records.set_validator_wrapper(state, V1, zero_entry(wrapper(state)))
    assert payout_undelegations(state, 8, PARAMS) == ()
    assert wrapper(state).delegations[0].undelegations == ()


def test_no_validators_nothing_happens() -> None:
    state, _ = fresh_state()
    root = state.state_root()
    assert end_of_epoch(state, 9, PARAMS) == EpochEnd(9)
    assert state.state_root() == root
