"""Property: the supply (balances + delegated + undelegating + pending rewards) moves only by the rewards
paid and the amounts slashing burns, whatever the elections, signings, rewards and slashes in between."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import event, given, settings
from hypothesis import strategies as st

from harmony.chain.params import LOCALNET
from harmony.chain.staking.availability import compute_and_mutate_status, counters_snapshot, record_signing
from harmony.chain.staking.election import elect
from harmony.chain.staking.records import get_validator_wrapper
from harmony.chain.staking.rewards import distribute_aggregated_rewards, distribute_block_reward
from harmony.chain.staking.slashing import apply_slash
from harmony.chain.staking.supply import counted_supply
from harmony.encoding.fixed import Dec
from harmony.types.shard_state import ShardState
from harmony.types.slash import ConflictingVotes, Evidence, Moment, Record, Vote
from harmony.types.staking import EposStatus
from harmony.types.validator import Delegation, Undelegation
from tests.unit.chain.staking.test_election import addr, key, make_wrapper, new_state, operators

PARAMS = replace(LOCALNET, min_self_delegation=1)

_delegation = st.tuples(
    st.integers(0, 10**24),  # amount
    st.integers(0, 10**20),  # pending reward
    st.lists(st.tuples(st.integers(0, 10**22), st.integers(0, 9)), max_size=2),  # undelegations
)
_validator = st.tuples(
    st.integers(1, 10**24),  # self stake
    st.integers(0, 100),  # commission, percent
    st.integers(1, 3),  # keys
    st.lists(_delegation, max_size=3),
)
_op = st.one_of(
    st.tuples(st.just("reward"), st.integers(0, 1), st.integers(0, 2**12 - 1), st.integers(0, 10**21)),
    st.tuples(st.just("slash"), st.integers(0, 3), st.integers(0, 2), st.integers(0, 9)),
    st.tuples(st.just("sign"), st.integers(0, 1), st.integers(0, 2**12 - 1), st.just(0)),
    st.tuples(st.just("elect"), st.just(0), st.just(0), st.just(0)),
    st.tuples(
        st.just("aggregate"), st.integers(0, 2**12 - 1), st.integers(0, 2**12 - 1), st.integers(0, 10**20)
    ),
)


def _record(offender: bytes, reporter: bytes, epoch: int) -> Record:
    sig = b"\x11" * 96
    votes = ConflictingVotes(Vote((key(1),), b"\x01" * 32, sig), Vote((key(1),), b"\x02" * 32, sig))
    return Record(Evidence(Moment(epoch, 0, 1, 0), votes, offender), reporter)


@settings(max_examples=60, deadline=None)
@given(st.lists(_validator, min_size=1, max_size=4), st.lists(_op, max_size=10))
def test_supply_changes_only_by_rewards_and_burns(
    validators: list[tuple[int, int, int, list[tuple[int, int, list[tuple[int, int]]]]]],
    ops: list[tuple[str, int, int, int]],
) -> None:
    wrappers = []
    accounts: set[bytes] = {addr(200 + i) for i in range(3)}
    next_key = 2
    for v, (self_stake, percent, n_keys, delegations) in enumerate(validators):
        address = addr(1 + v)
        keys = [key(next_key + k) for k in range(n_keys)]
        next_key += n_keys
        base = make_wrapper(address, keys, self_stake, rate=Dec.with_precision(percent, 2), min_self=1)
        extra = tuple(
            Delegation(addr(100 + 10 * v + j), amount, reward, tuple(Undelegation(a, e) for a, e in undels))
            for j, (amount, reward, undels) in enumerate(delegations)
        )
        wrappers.append(replace(base, delegations=(*base.delegations, *extra)))
        accounts.add(address)
        accounts.update(d.delegator_address for d in extra)
    state = new_state(*wrappers)
    for i, account in enumerate(sorted(accounts)):
        state.set_balance(account, 10**18 * (i + 1))

    epoch = 1
    shard_state: ShardState = elect(state, PARAMS, epoch, operators())
    supply = counted_supply(state, accounts).total
    minted = burned = 0
    for kind, a, b, c in ops:
        if kind == "reward":
            committee = shard_state.shards[a]
            signers = [i for i in range(len(committee.slots)) if b >> i & 1]
            payout = distribute_block_reward(state, committee, signers, c, PARAMS.harmony_vote_share)
            assert payout.paid + payout.unpaid == c and payout.paid >= 0
            minted += payout.paid
            event("reward paid" if payout.paid else "reward not paid")
        elif kind == "slash":
            offender = addr(1 + a % len(validators))
            wrapper = get_validator_wrapper(state, offender)
            assert wrapper is not None
            if wrapper.validator.status == EposStatus.BANNED:
                continue
            result = apply_slash(state, _record(offender, addr(200 + b), c))
            assert result.total_slashed == result.reporter_reward + result.burned
            assert 0 <= result.reporter_reward <= result.total_slashed
            burned += result.burned
            event("slash burned" if result.burned else "slash burned nothing")
        elif kind == "aggregate":
            blocks = [
                (committee, [i for i in range(len(committee.slots)) if mask >> i & 1])
                for committee, mask in zip(shard_state.shards, (a, b), strict=True)
            ]
            payout = distribute_aggregated_rewards(state, blocks, c, PARAMS.harmony_vote_share)
            assert payout.paid + payout.unpaid == c * len(blocks)
            minted += payout.paid
        elif kind == "sign":
            committee = shard_state.shards[a]
            signers = [i for i in range(len(committee.slots)) if b >> i & 1]
            record_signing(state, committee, signers)
        else:
            snapshot = counters_snapshot(state, [addr(1 + v) for v in range(len(validators))])
            compute_and_mutate_status(state, snapshot, PARAMS.signing_threshold)
            epoch += 1
            shard_state = elect(state, PARAMS, epoch, operators())
        assert counted_supply(state, accounts).total == supply + minted - burned
