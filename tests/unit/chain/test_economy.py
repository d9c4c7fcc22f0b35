"""The staking economy wired into the state transition (reference §3.6, §4.2, §5.1, §5.3, §6.3, §6.4).

One beacon run of 97 blocks over a real StateDB, every block built by the proposer (:func:`build_block`)
and replayed by a validator (:func:`replay_block`) to the same state root:

* block 1 creates a validator ``V`` with two keys (one per shard), block 2 delegates to it; block 5 credits
  incoming cross-shard receipts;
* block 31 (end of epoch 0) elects ``V`` for epoch 1 with its effective stake;
* epoch 1: every seat signs; each block pays the parent's reward to ``V`` and its delegator; block 40
  carries a crosslink of a shard-1 block, paid over shard 1's committee; block 63 re-elects ``V``;
* epoch 2: ``V`` stops signing; block 95 makes it Inactive and leaves it out of epoch 3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from harmony.chain.errors import InvalidBlock
from harmony.chain.genesis import genesis_block
from harmony.chain.params import ONE
from harmony.chain.proposal import HeaderFields, build_block
from harmony.chain.staking.economy import last_crosslink
from harmony.chain.staking.epoch import next_shard_state, read_counters_snapshot
from harmony.chain.staking.records import get_validator_wrapper
from harmony.chain.staking.supply import counted_supply, total_supply
from harmony.chain.transition import (
    BlockBody,
    BlockResult,
    BuiltBlock,
    Economy,
    TransitionContext,
    apply_block,
    operator_seats,
    replay_block,
)
from harmony.crypto.bitmap import encode_bitmap
from harmony.encoding.fixed import Dec
from harmony.state.statedb import StateDB
from harmony.types.block import Block, make_block
from harmony.types.crosslink import CrossLink, encode_crosslinks
from harmony.types.cx import CXReceiptsProof
from harmony.types.header import Header
from harmony.types.shard_state import Committee, ShardState
from harmony.types.slash import ConflictingVotes, Evidence, Moment, Record, Vote, encode_records
from harmony.types.staking import Delegate, EposStatus, StakingTransaction
from harmony.types.validator import ValidatorWrapper
from tests.unit.chain.staking.test_transactions import create_msg, pub
from tests.unit.chain.support import GENESIS, KEYS, PARAMS, PRICE, no_evm, transfer
from tests.unit.chain.test_cx_credit import proof, receipt

V, D, C = (k.address for k in KEYS[:3])
STRANGER = b"\x77" * 20
COINBASE = b"\xcc" * 20
OPERATORS = operator_seats(GENESIS.shard_state())
REWARD = PARAMS.block_reward(0)
STAKE = 20_500 * ONE
"""V's self-delegation (20,000) and D's delegation (500): split over its two keys."""
CROSSLINK_BLOCK = 40
INCOMING_BLOCK = 5
INCOMING = (proof(7, [receipt(1, STRANGER, 3 * ONE), receipt(2, C, 5)]),)
SIG = b"\x00" * 96

Signers = Callable[[Committee, Header], Iterable[int]]


def everyone(committee: Committee, parent: Header) -> Iterable[int]:
    return range(len(committee.slots))


def v_stops_in_epoch_2(committee: Committee, parent: Header) -> Iterable[int]:
    """Every seat signs, except V's from epoch 2 on."""
    return [i for i, slot in enumerate(committee.slots) if parent.epoch < 2 or slot.ecdsa_address != V]


def _stx(key_index: int, nonce: int, msg: object, gas: int = 100_000) -> StakingTransaction:
    return StakingTransaction(msg, nonce, PRICE, gas).sign(KEYS[key_index], PARAMS.chain_id)  # type: ignore[arg-type]


@dataclass
class Run:
    """A beacon chain driven block by block: the proposer builds, a validator replays."""

    store: dict[bytes, bytes] = field(default_factory=dict)
    headers: list[Header] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    results: list[BlockResult | None] = field(default_factory=list)
    states: dict[int, ShardState] = field(default_factory=dict)

    def __post_init__(self) -> None:
        state = StateDB(self.store)
        genesis = genesis_block(GENESIS, 0, state)
        self.store.update(state.commit()[1])
        self.headers.append(genesis.header)
        self.blocks.append(genesis)
        self.results.append(None)
        self.states[0] = GENESIS.shard_state()

    def committee_for(self, shard: int, epoch: int) -> Committee | None:
        state = self.states.get(epoch)
        return state.committee(shard) if state is not None else None

    def economy(self, **changes: Any) -> Economy:
        return Economy(OPERATORS, self.committee_for, **changes)

    def state(self, number: int | None = None) -> StateDB:
        header = self.headers[-1 if number is None else number]
        return StateDB(self.store, header.root)

    def last_commit(self, parent: Header, signers: Signers) -> tuple[bytes, bytes]:
        committee = self.committee_for(0, parent.epoch)
        assert committee is not None
        return SIG, encode_bitmap(list(signers(committee, parent)), len(committee.slots))

    def build(self, parent: Header, signers: Signers = everyone, **kwargs: object) -> BuiltBlock:
        built = build_block(
            StateDB(self.store, parent.root),
            parent,
            HeaderFields(
                coinbase=COINBASE,
                timestamp=parent.time + 2,
                last_commit=self.last_commit(parent, signers),
                crosslinks=kwargs.pop("crosslinks", ()),  # type: ignore[arg-type]
                slash_records=kwargs.pop("slash_records", ()),  # type: ignore[arg-type]
            ),
            BlockBody(
                kwargs.pop("txs", ()),  # type: ignore[arg-type]
                kwargs.pop("staking_candidates", ()),  # type: ignore[arg-type]
                kwargs.pop("incoming_proofs", ()),  # type: ignore[arg-type]
            ),
            PARAMS,
            executor=no_evm,
            economy=self.economy(verify_votes=kwargs.pop("verify_votes", None)),
        )
        assert not kwargs, f"unknown arguments {sorted(kwargs)}"
        return built

    def step(self, signers: Signers = everyone, **kwargs: object) -> BlockResult:
        parent = self.headers[-1]
        built = self.build(parent, signers, **kwargs)
        block = Block.decode(built.block.encode())
        replay = StateDB(self.store, parent.root)
        result = replay_block(replay, block, parent, PARAMS, no_evm, economy=self.economy())
        assert result.state_root == block.header.root == built.result.state_root
        assert result.rewards == built.result.rewards
        self.store.update(replay.commit()[1])
        self.headers.append(block.header)
        self.blocks.append(block)
        self.results.append(result)
        shard_state = block.header.get_shard_state()
        if shard_state is not None and shard_state.epoch is not None:
            self.states[shard_state.epoch] = shard_state
        return result


def _shard1_crosslink(run: Run) -> CrossLink:
    committee = run.committee_for(1, 1)
    assert committee is not None
    bitmap = encode_bitmap(range(len(committee.slots)), len(committee.slots))
    return CrossLink(b"\x51" * 32, 10, 0, SIG, bitmap, 1, 1)


@pytest.fixture(scope="module")
def run() -> Run:
    r = Run()
    r.step(staking_candidates=[_stx(0, 0, create_msg(V, (1, 0)), gas=6_000_000)])
    r.step(staking_candidates=[_stx(1, 0, Delegate(D, V, 500 * ONE))], txs=[transfer(KEYS[2], 0, D, 1)])
    while len(r.headers) <= PARAMS.epoch_last_block(2):
        number = len(r.headers)
        extra: dict[str, object] = {}
        if number == INCOMING_BLOCK:
            extra["incoming_proofs"] = INCOMING
        if number == CROSSLINK_BLOCK:
            extra["crosslinks"] = [_shard1_crosslink(r)]
        r.step(v_stops_in_epoch_2, **extra)
    return r


def _wrapper(state: StateDB, address: bytes = V) -> ValidatorWrapper:
    wrapper = get_validator_wrapper(state, address)
    assert wrapper is not None
    return wrapper


def test_validator_elected_with_its_effective_stake(run: Run) -> None:
    end0 = PARAMS.epoch_last_block(0)
    elected = run.headers[end0].get_shard_state()
    assert elected is not None and elected.epoch == 1
    stake = Dec.from_int(STAKE).quo_int(2)
    for shard, key in ((0, pub(1)), (1, pub(0))):
        committee = elected.committee(shard)
        assert committee.slots[: len(OPERATORS[shard])] == OPERATORS[shard]
        assert committee.slots[-1].ecdsa_address == V and committee.slots[-1].bls_public_key == key
        assert committee.slots[-1].effective_stake == stake
    result = run.results[end0]
    assert result is not None and result.epoch_end is not None and result.epoch_end.elected == (V,)
    assert _wrapper(run.state(end0)).validator.last_epoch_in_committee == 1


def test_parent_commit_pays_validator_and_delegator(run: Run) -> None:
    first = PARAMS.epoch_first_block(1)
    paid_for_epoch_0 = run.results[first]  # pays for the last block of epoch 0: operator seats only
    assert paid_for_epoch_0 is not None and paid_for_epoch_0.minted == 0
    before = _wrapper(run.state(first))
    result = run.results[first + 1]
    assert result is not None and len(result.rewards) == 1
    assert result.rewards[0].paid == REWARD and result.rewards[0].credited == ((V, REWARD),)
    after = _wrapper(run.state(first + 1))
    gained = [a.reward - b.reward for a, b in zip(after.delegations, before.delegations, strict=True)]
    assert sum(gained) == REWARD and all(g > 0 for g in gained)
    commission = REWARD // 10
    share = Dec.from_int(500 * ONE).quo(Dec.from_int(STAKE))
    assert gained[1] == share.mul_int(REWARD - commission).round_int()
    assert after.block_reward == before.block_reward + REWARD
    assert after.counters.num_blocks_signed == before.counters.num_blocks_signed + 1


def test_crosslink_pays_a_shard_1_block(run: Run) -> None:
    result = run.results[CROSSLINK_BLOCK]
    assert result is not None and [p.paid for p in result.rewards] == [REWARD, REWARD]
    assert result.rewards[1].credited == ((V, REWARD),)
    assert last_crosslink(run.state(CROSSLINK_BLOCK), 1) == 10
    assert last_crosslink(run.state(CROSSLINK_BLOCK - 1), 1) is None


def test_crosslink_cannot_be_paid_twice(run: Run) -> None:
    parent = run.headers[CROSSLINK_BLOCK + 2]
    with pytest.raises(InvalidBlock) as info:
        run.build(parent, crosslinks=[_shard1_crosslink(run)])
    assert info.value.check == "cross_links"
    beacon_link = replace(_shard1_crosslink(run), shard_id=0, block_number=99)
    with pytest.raises(InvalidBlock) as info:
        run.build(parent, crosslinks=[beacon_link])
    assert info.value.check == "cross_links"


def test_re_elected_after_a_good_epoch(run: Run) -> None:
    end1 = PARAMS.epoch_last_block(1)
    elected = run.headers[end1].get_shard_state()
    assert elected is not None and elected.epoch == 2
    assert any(slot.ecdsa_address == V for slot in elected.committee(0).slots)
    result = run.results[end1]
    assert result is not None and result.epoch_end is not None and result.epoch_end.deactivated == ()
    snapshot = read_counters_snapshot(run.state(end1), V)
    assert snapshot == _wrapper(run.state(end1)).counters
    assert snapshot.num_blocks_signed == snapshot.num_blocks_to_sign > 0


def test_availability_failure_deactivates_and_leaves_the_election(run: Run) -> None:
    end2 = PARAMS.epoch_last_block(2)
    result = run.results[end2]
    assert result is not None and result.epoch_end is not None
    assert result.epoch_end.deactivated == (V,) and result.epoch_end.elected == ()
    assert _wrapper(run.state(end2)).validator.status == EposStatus.INACTIVE
    assert _wrapper(run.state(end2 - 1)).validator.status == EposStatus.ACTIVE
    elected = run.headers[end2].get_shard_state()
    assert elected == ShardState(3, tuple(Committee(i, seats) for i, seats in enumerate(OPERATORS)))
    # epoch 2 paid nothing for the beacon blocks V did not sign
    epoch2 = run.results[PARAMS.epoch_first_block(2) + 1 : end2 + 1]
    assert all(r is not None and r.minted == 0 for r in epoch2)


def test_incoming_receipts_credited(run: Run) -> None:
    result = run.results[INCOMING_BLOCK]
    assert result is not None and result.incoming_credited == 3 * ONE + 5
    assert run.state(INCOMING_BLOCK).get_balance(STRANGER) == 3 * ONE
    assert run.state(INCOMING_BLOCK - 1).get_balance(STRANGER) == 0
    assert run.blocks[INCOMING_BLOCK].incoming_receipts == INCOMING


def test_supply_grows_by_exactly_the_rewards(run: Run) -> None:
    accounts = [
        *(k.address for k in KEYS),
        STRANGER,
        COINBASE,
        *(a.address for shard in GENESIS.shards for a in shard.alloc),
    ]
    start = counted_supply(run.state(0), accounts).total
    end = counted_supply(run.state(), accounts).total
    results = [r for r in run.results if r is not None]
    minted = sum(r.minted for r in results)
    fees = sum(r.gas_used for r in results) * PRICE  # burned on localnet
    incoming = sum(r.incoming_credited for r in results)
    assert minted == REWARD * (PARAMS.epoch_last_block(1) - PARAMS.epoch_first_block(1) + 2)  # + crosslink
    assert end == start + minted + incoming - fees
    assert total_supply(run.state(), start) == start + minted  # the accumulator: fees are not subtracted


def test_shard_state_differing_from_the_election_is_invalid(run: Run) -> None:
    end0 = PARAMS.epoch_last_block(0)
    parent, block = run.headers[end0 - 1], run.blocks[end0]
    carried = ShardState(1, GENESIS.shard_state().shards)  # the operator committees, V left out
    bad = block.with_header(block.header.replace(shard_state=carried.encode()))
    with pytest.raises(InvalidBlock) as info:
        replay_block(run.state(end0 - 1), bad, parent, PARAMS, no_evm, economy=run.economy())
    assert info.value.check == "shard_state"
    # without the operator seats the chain cannot elect: the carried state passes this check
    with pytest.raises(InvalidBlock) as info:
        replay_block(
            run.state(end0 - 1), bad, parent, PARAMS, no_evm, economy=Economy(committee_for=run.committee_for)
        )
    assert info.value.check == "state_root"


def test_bad_last_commit_bitmap_is_invalid(run: Run) -> None:
    parent = run.headers[50]
    built = run.build(parent)
    bad = built.block.with_header(built.block.header.with_last_commit(SIG, b"\xff\xff"))
    with pytest.raises(InvalidBlock) as info:
        replay_block(run.state(50), bad, parent, PARAMS, no_evm, economy=run.economy())
    assert info.value.check == "last_commit_bitmap"


def _slash_record() -> Record:
    votes = ConflictingVotes(Vote((pub(1),), b"\x01" * 32, SIG), Vote((pub(1),), b"\x02" * 32, SIG))
    return Record(Evidence(Moment(1, 0, 40, 0), votes, V), C)


def test_slash_record_applied_with_the_injected_check(run: Run) -> None:
    parent = run.headers[50]
    before = _wrapper(run.state(50))
    built = run.build(parent, slash_records=[_slash_record()], verify_votes=lambda _: True)
    assert built.block.header.slashes == encode_records([_slash_record()])
    (result,) = built.result.slashes
    assert result.offender == V and result.validator_slashed == before.delegations[0].amount // 2
    with pytest.raises(InvalidBlock) as info:  # a validator without the vote check refuses it
        replay_block(run.state(50), built.block, parent, PARAMS, no_evm, economy=run.economy())
    assert info.value.check == "slashes"
    with pytest.raises(InvalidBlock) as info:  # a failing vote check
        replay_block(
            run.state(50),
            built.block,
            parent,
            PARAMS,
            no_evm,
            economy=run.economy(verify_votes=lambda _: False),
        )
    assert info.value.check == "slashes"
    replay = replay_block(
        run.state(50),
        built.block,
        parent,
        PARAMS,
        no_evm,
        economy=run.economy(verify_votes=lambda _: True),
    )
    assert replay.state_root == built.block.header.root


def test_without_external_validators_the_committees_carry_over() -> None:
    r = Run()
    end0 = PARAMS.epoch_last_block(0)
    assert next_shard_state(r.state(0), PARAMS, 0, OPERATORS) == ShardState(1, GENESIS.shard_state().shards)
    while len(r.headers) <= end0:
        r.step()
    assert r.headers[end0].get_shard_state() == ShardState(1, GENESIS.shard_state().shards)
    assert all(res is None or res.minted == 0 for res in r.results)


def test_operator_keys_are_reserved() -> None:
    ctx = TransitionContext.for_header(PARAMS, Header(number=1), economy=Economy(OPERATORS))
    assert {s.bls_public_key for seats in OPERATORS for s in seats} <= ctx.reserved_bls_keys
    assert TransitionContext.for_header(PARAMS, Header(number=1)).reserved_bls_keys == frozenset()


def test_incoming_limits_and_root() -> None:
    r = Run()
    duplicate: Sequence[CXReceiptsProof] = (INCOMING[0], proof(7, [receipt(3, C, 1)]))
    with pytest.raises(InvalidBlock) as info:
        r.build(r.headers[0], incoming_proofs=duplicate)
    assert info.value.check == "incoming_duplicate"
    built = r.build(r.headers[0], incoming_proofs=INCOMING)
    stripped = make_block(built.block.header)  # the header still commits to the proofs
    with pytest.raises(InvalidBlock) as info:
        replay_block(r.state(0), stripped.with_header(built.block.header), r.headers[0], PARAMS, no_evm)
    assert info.value.check == "incoming_receipts_root"


def test_other_shards_carry_no_crosslinks_or_slashes() -> None:
    header = Header(number=3, shard_id=1, gas_limit=PARAMS.gas_limit(0))
    state = StateDB({})
    for changes, check in (
        ({"cross_links": encode_crosslinks([CrossLink(b"\x01" * 32, 1, 0, SIG, b"", 1, 0)])}, "cross_links"),
        ({"slashes": encode_records([_slash_record()])}, "slashes"),
    ):
        bad = header.replace(**changes)
        with pytest.raises(InvalidBlock) as info:
            apply_block(state, Block(bad), TransitionContext.for_header(PARAMS, bad), no_evm)
        assert info.value.check == check
