"""Double-sign slashing (reference §5.3, design §5): verification reasons and exact amounts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harmony.chain.staking.records import get_validator_wrapper
from harmony.chain.staking.slashing import (
    SlashRejected,
    SlashResult,
    apply_slash,
    apply_slash_records,
    verify_slash_record,
)
from harmony.state.statedb import StateDB
from harmony.types.shard_state import Committee, Slot
from harmony.types.slash import ConflictingVotes, Evidence, InvalidEvidence, Moment, Record, Vote
from harmony.types.staking import EposStatus
from harmony.types.validator import Delegation, Undelegation, ValidatorWrapper
from tests.unit.chain.staking.test_election import addr, key, make_wrapper, new_state

OFFENDER = addr(1)
REPORTER = addr(77)
SIG = b"\x11" * 96


def record(
    *,
    epoch: int = 5,
    first_keys: tuple[bytes, ...] = (key(2),),
    second_keys: tuple[bytes, ...] = (key(2),),
    second_hash: bytes = b"\x02" * 32,
    offender: bytes = OFFENDER,
    reporter: bytes = REPORTER,
) -> Record:
    votes = ConflictingVotes(Vote(first_keys, b"\x01" * 32, SIG), Vote(second_keys, second_hash, SIG))
    return Record(Evidence(Moment(epoch, 0, 100, 3), votes, offender), reporter)


def ok(_: Record) -> bool:
    return True


def _wrapper(state: StateDB, address: bytes = OFFENDER) -> ValidatorWrapper:
    wrapper = get_validator_wrapper(state, address)
    assert wrapper is not None
    return wrapper


def _offender_state() -> StateDB:
    return new_state(make_wrapper(OFFENDER, [key(2), key(3)], 20_000, [(addr(51), 6_000), (addr(52), 2_000)]))


# ---------------------------------------------------------------- verification


def test_valid_record_returns_double_signed_keys() -> None:
    state = _offender_state()
    r = record(first_keys=(key(3), key(2)), second_keys=(key(2),))
    assert verify_slash_record(state, r, 5, ok) == (key(2),)
    committee = Committee(0, (Slot(OFFENDER, key(2), None), Slot(OFFENDER, key(3), None)))
    assert verify_slash_record(state, r, 6, ok, committee=committee) == (key(2),)


@pytest.mark.parametrize(
    ("kwargs", "current_epoch", "check"),
    [
        ({"offender": addr(9)}, 5, "offender_not_validator"),
        ({"reporter": OFFENDER}, 5, "reporter_is_offender"),
        ({"second_hash": b"\x01" * 32}, 5, "same_block"),
        ({"second_keys": (key(3),)}, 5, "no_common_key"),
        ({"second_keys": ()}, 5, "empty_vote"),
        ({"epoch": 6}, 5, "future_epoch"),
    ],
)
def test_rejections(kwargs: dict[str, object], current_epoch: int, check: str) -> None:
    state = _offender_state()
    with pytest.raises(InvalidEvidence) as err:
        verify_slash_record(state, record(**kwargs), current_epoch, ok)  # type: ignore[arg-type]
    assert err.value.check == check


def test_already_banned() -> None:
    state = new_state(make_wrapper(OFFENDER, [key(2)], 20_000, status=EposStatus.BANNED))
    with pytest.raises(SlashRejected) as err:
        verify_slash_record(state, record(), 5, ok)
    assert err.value.check == "already_banned"


def test_bad_signature_from_the_injected_check() -> None:
    seen: list[Record] = []

    def reject(r: Record) -> bool:
        seen.append(r)
        return False

    with pytest.raises(SlashRejected) as err:
        verify_slash_record(_offender_state(), record(), 5, reject)
    assert err.value.check == "bad_signature"
    assert seen == [record()]


def test_not_staking_era_and_committee_checks() -> None:
    state = _offender_state()
    with pytest.raises(SlashRejected) as err:
        verify_slash_record(state, record(epoch=2), 5, ok, staking_epoch=3)
    assert err.value.check == "not_staking_era"
    for committee, check in [
        (Committee(1, (Slot(OFFENDER, key(2)),)), "wrong_shard"),
        (Committee(0, (Slot(OFFENDER, key(3)),)), "key_not_in_committee"),
        (Committee(0, (Slot(addr(8), key(2)),)), "signer_not_offender"),
    ]:
        with pytest.raises(SlashRejected) as err:
            verify_slash_record(state, record(), 5, ok, committee=committee)
        assert err.value.check == check


# ---------------------------------------------------------------- application


def test_apply_hand_computed() -> None:
    state = _offender_state()
    state.set_balance(REPORTER, 5)
    result = apply_slash(state, record())
    # self 20,000 × 50 % = 10,000; delegators owe 80 % of that = 8,000, pro rata 6,000 : 2,000
    assert result == SlashResult(OFFENDER, 18_000, 10_000, 8_000, 9_000, 9_000)
    wrapper = _wrapper(state)
    assert wrapper.validator.status == EposStatus.BANNED
    assert [d.amount for d in wrapper.delegations] == [10_000, 0, 0]
    assert state.get_balance(REPORTER) == 5 + 9_000


def test_pro_rata_truncates_each_share() -> None:
    state = new_state(make_wrapper(OFFENDER, [key(2)], 1_001, [(addr(51), 10_000), (addr(52), 20_000)]))
    result = apply_slash(state, record())
    # self 500 (truncated), owed 400: 400 × 1/3 = 133, 400 × 2/3 = 266; total 899, reporter 449
    assert (result.validator_slashed, result.delegators_slashed) == (500, 399)
    assert (result.reporter_reward, result.burned) == (449, 450)
    assert [d.amount for d in _wrapper(state).delegations] == [501, 9_867, 19_734]


def test_debit_order_stake_then_later_undelegations_then_rewards() -> None:
    delegator = Delegation(
        addr(51),
        1_000,
        300,
        (Undelegation(500, 3), Undelegation(700, 5), Undelegation(400, 6)),
    )
    base = make_wrapper(OFFENDER, [key(2)], 5_000)
    state = new_state(replace(base, delegations=(*base.delegations, delegator)))
    result = apply_slash(state, record(epoch=5))  # self 2,500; delegator owes 2,000
    d = _wrapper(state).delegations[1]
    assert d.amount == 0
    assert d.undelegations == (Undelegation(500, 3), Undelegation(0, 5), Undelegation(100, 6))
    assert d.reward == 300
    assert result.delegators_slashed == 2_000


def test_debt_larger_than_everything_takes_what_there_is() -> None:
    delegator = Delegation(addr(51), 1_000, 300, (Undelegation(500, 3), Undelegation(700, 5)))
    base = make_wrapper(OFFENDER, [key(2)], 10_000)
    state = new_state(replace(base, delegations=(*base.delegations, delegator)))
    result = apply_slash(state, record(epoch=5))  # delegator owes 4,000, holds 1,000 + 700 + 300 reachable
    d = _wrapper(state).delegations[1]
    assert (d.amount, d.reward) == (0, 0)
    assert d.undelegations == (Undelegation(500, 3), Undelegation(0, 5))
    assert result.delegators_slashed == 2_000
    assert result.total_slashed == 7_000


def test_snapshot_amounts_set_the_debts() -> None:
    # at the offence the validator had 20,000 self-stake; since then it undelegated 15,000 (epoch 6)
    snapshot = make_wrapper(OFFENDER, [key(2)], 20_000, [(addr(51), 4_000)])
    now = make_wrapper(
        OFFENDER, [key(2)], 5_000, [(addr(51), 4_000)], undelegations=[Undelegation(15_000, 6)]
    )
    state = new_state(now)
    result = apply_slash(state, record(epoch=5), snapshot=snapshot)
    assert result.validator_slashed == 10_000  # 5,000 staked + 5,000 of the later undelegation
    assert result.delegators_slashed == 4_000  # 80 % of 10,000 = 8,000, capped at what it holds
    self_delegation = _wrapper(state).delegations[0]
    assert self_delegation.amount == 0
    assert self_delegation.undelegations == (Undelegation(10_000, 6),)


def test_second_record_against_a_banned_offender_is_refused() -> None:
    state = _offender_state()
    results = apply_slash_records(state, [record()], 5, ok)
    assert results[0].total_slashed == 18_000
    with pytest.raises(SlashRejected) as err:
        apply_slash_records(state, [record(reporter=addr(78))], 5, ok)
    assert err.value.check == "already_banned"


def test_records_with_committee_and_snapshot_lookups() -> None:
    state = _offender_state()
    asked: list[tuple[int, int]] = []

    def committee_of(epoch: int, shard_id: int) -> Committee:
        asked.append((epoch, shard_id))
        return Committee(shard_id, (Slot(addr(8), key(2)),))

    with pytest.raises(SlashRejected) as err:
        apply_slash_records(state, [record()], 5, ok, committee_of=committee_of)
    assert err.value.check == "signer_not_offender" and asked == [(5, 0)]
    snapshot = make_wrapper(OFFENDER, [key(2)], 2_000)
    (result,) = apply_slash_records(state, [record()], 5, ok, snapshot_of=lambda _: snapshot)
    assert result.validator_slashed == 1_000
    assert result.delegators_slashed == 0  # no external delegation in the snapshot


def test_apply_without_validator_record() -> None:
    with pytest.raises(SlashRejected) as err:
        apply_slash(new_state(), record())
    assert err.value.check == "offender_not_validator"
