"""The state transition: transaction rules, fast path, cross-shard, gas, receipts, build_block."""

from __future__ import annotations

import importlib
import random
from dataclasses import replace
from typing import Any

import pytest

from harmony.chain import transition
from harmony.chain.errors import (
    GasLimitExceeded,
    InsufficientFunds,
    InvalidBlock,
    NonceTooHigh,
    NonceTooLow,
    WrongShard,
)
from harmony.chain.genesis import genesis_block
from harmony.chain.params import ONE, FeePolicy, FeeRecipient, NetworkParams
from harmony.chain.proposal import HeaderFields, child_header
from harmony.chain.staking.errors import StakingError
from harmony.chain.staking.records import get_validator_wrapper
from harmony.chain.staking.undelegation import Payout
from harmony.chain.state_api import BlockEnv, ExecutionResult, Message, WorldState
from harmony.chain.transactions import InvalidSignature, UnsupportedTransaction
from harmony.chain.transition import (
    Economy,
    InvalidBlockStakingTransaction,
    InvalidBlockTransaction,
    TransitionContext,
    apply_block,
    apply_staking_transaction,
    apply_transaction,
    finalize_block,
    operator_seats,
    replay_block,
)
from harmony.chain.validation import validate_body, validate_header, validate_result
from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import N, PrivateKey
from harmony.encoding import rlp
from harmony.errors import InvalidTransaction
from harmony.state.statedb import StateDB
from harmony.types import cx
from harmony.types.block import Block, make_block
from harmony.types.crosslink import CrossLink, decode_crosslinks
from harmony.types.eth_transaction import EthTransaction
from harmony.types.header import Header
from harmony.types.shard_state import ShardState
from harmony.types.staking import CollectRewards, Delegate, StakeMsg, StakingTransaction, Undelegate
from harmony.types.transaction import Transaction
from harmony.types.tx_common import IntrinsicGasTooLow, InvalidChainId
from tests.unit.chain.staking.test_transactions import create_msg
from tests.unit.chain.support import (
    BALANCE,
    COINBASE,
    GENESIS,
    KEYS,
    PARAMS,
    PRICE,
    build,
    fresh_state,
    load_evm,
    no_evm,
    transfer,
    with_gas_limit,
)

EVM = load_evm()
needs_evm = pytest.mark.skipif(EVM is None, reason="harmony.state.evm is not built yet")
A, B, C = (k.address for k in KEYS[:3])
STRANGER = b"\x77" * 20


def executor(
    state: WorldState, msg: Message, env: BlockEnv, /, *, fee_recipient: bytes | None
) -> ExecutionResult:
    """The real EVM (adapts its StateDB-typed signature)."""
    assert EVM is not None
    result: ExecutionResult = EVM(state, msg, env, fee_recipient=fee_recipient)
    return result


def ctx_for(genesis: Header, params: NetworkParams = PARAMS, coinbase: bytes = COINBASE) -> TransitionContext:
    header = Header(number=1, time=genesis.time + 2, gas_limit=params.gas_limit(0), shard_id=genesis.shard_id)
    return TransitionContext.for_header(params, header.replace(coinbase=coinbase))


# -- plain transfers ------------------------------------------------------------------------------------


def test_plain_transfer_moves_value_and_burns_fee() -> None:
    state, genesis = fresh_state()
    before_a, before_b = state.get_balance(A), state.get_balance(B)
    outcome = apply_transaction(state, transfer(KEYS[0], 0, B, 5 * ONE), ctx_for(genesis.header), no_evm)
    assert outcome.receipt.status == 1
    assert outcome.receipt.cumulative_gas_used == outcome.gas_used == 21_000
    assert outcome.receipt.logs == ()
    assert outcome.sender == A
    assert state.get_nonce(A) == 1
    assert state.get_balance(A) == before_a - 5 * ONE - 21_000 * PRICE
    assert state.get_balance(B) == before_b + 5 * ONE
    assert not state.account_exists(COINBASE)  # burned


def test_fee_to_coinbase_policy() -> None:
    params = replace(PARAMS, fee_policy=FeePolicy(FeeRecipient.COINBASE))
    state, genesis = fresh_state()
    apply_transaction(state, transfer(KEYS[0], 0, B, 1), ctx_for(genesis.header, params), no_evm)
    assert state.get_balance(COINBASE) == 21_000 * PRICE


def test_zero_value_transfer_creates_no_account() -> None:
    state, genesis = fresh_state()
    apply_transaction(state, transfer(KEYS[0], 0, STRANGER, 0), ctx_for(genesis.header), no_evm)
    assert not state.account_exists(STRANGER)


def test_eth_signed_transaction_accepted() -> None:
    state, genesis = fresh_state()
    tx = transfer(KEYS[0], 0, B, 1, chain_id=PARAMS.eth_chain_id(0))
    assert apply_transaction(state, tx, ctx_for(genesis.header), no_evm).sender == A


def test_ethereum_format_transaction_runs_on_its_shard() -> None:
    state, genesis = fresh_state()
    eth = EthTransaction(0, PRICE, 21_000, B, 9).sign(KEYS[0], PARAMS.eth_chain_id(0))
    outcome = apply_transaction(state, eth, ctx_for(genesis.header), no_evm)
    assert outcome.sender == A and state.get_balance(B) > 0
    other = EthTransaction(1, PRICE, 21_000, B, 9).sign(KEYS[0], PARAMS.eth_chain_id(1))
    with pytest.raises(WrongShard):
        apply_transaction(state, other, ctx_for(genesis.header), no_evm)
    with pytest.raises(InvalidChainId):
        apply_transaction(
            state, EthTransaction(1, PRICE, 21_000, B, 9).sign(KEYS[0], None), ctx_for(genesis.header), no_evm
        )


# -- typed rejections ---------------------------------------------------------------------------------


def _high_s(tx: Transaction) -> Transaction:
    """The same signature with s mirrored to the upper half (and the recovery id flipped)."""
    flipped = tx.v + 1 if (tx.v - 35) % 2 == 0 else tx.v - 1
    return replace(tx, s=N - tx.s, v=flipped)


REJECTIONS: list[tuple[str, Any, type[Exception]]] = [
    ("nonce too low", lambda: transfer(KEYS[1], 0, B, 1), NonceTooLow),
    ("nonce too high", lambda: transfer(KEYS[0], 5, B, 1), NonceTooHigh),
    ("no funds", lambda: transfer(KEYS[0], 0, B, 10**30), InsufficientFunds),
    ("stranger has nothing", lambda: transfer(_stranger_key(), 0, B, 0), InsufficientFunds),
    ("intrinsic gas", lambda: transfer(KEYS[0], 0, B, 1, gas=20_999), IntrinsicGasTooLow),
    ("data gas", lambda: transfer(KEYS[0], 0, B, 1, gas=21_000, data=b"\x01"), IntrinsicGasTooLow),
    ("block gas", lambda: transfer(KEYS[0], 0, B, 1, gas=PARAMS.gas_limit(0) + 1), GasLimitExceeded),
    ("chain id", lambda: transfer(KEYS[0], 0, B, 1, chain_id=99), InvalidChainId),
    ("mainnet chain id", lambda: transfer(KEYS[0], 0, B, 1, chain_id=1), InvalidChainId),
    ("other shard", lambda: transfer(KEYS[0], 0, B, 1, shard=1), WrongShard),
    ("eth id of shard 1", lambda: transfer(KEYS[0], 0, B, 1, chain_id=PARAMS.eth_chain_id(1)), WrongShard),
    ("no such shard", lambda: transfer(KEYS[0], 0, B, 1, to_shard=9), WrongShard),
    (
        "cross-shard create",
        lambda: transfer(KEYS[0], 0, None, 1, to_shard=1, gas=60_000),
        UnsupportedTransaction,
    ),
    (
        "cross-shard data",
        lambda: transfer(KEYS[0], 0, B, 1, to_shard=1, data=b"x", gas=30_000),
        UnsupportedTransaction,
    ),
    (
        "eth cross-shard",
        lambda: transfer(KEYS[0], 0, B, 1, to_shard=1, chain_id=PARAMS.eth_chain_id(0)),
        UnsupportedTransaction,
    ),
    ("high s", lambda: _high_s(transfer(KEYS[0], 0, B, 1)), InvalidSignature),
    ("zero r", lambda: replace(transfer(KEYS[0], 0, B, 1), r=0), InvalidSignature),
    ("bad v", lambda: replace(transfer(KEYS[0], 0, B, 1), v=30), InvalidChainId),
]


def _stranger_key() -> PrivateKey:
    return PrivateKey(keccak256(b"stranger"))


@pytest.mark.parametrize(("name", "make", "error"), REJECTIONS, ids=[r[0] for r in REJECTIONS])
def test_invalid_transaction_rejected_with_type_and_no_change(name: str, make: Any, error: type) -> None:
    state, genesis = fresh_state()
    ctx = ctx_for(genesis.header)
    apply_transaction(state, transfer(KEYS[1], 0, C, 1), ctx, no_evm)  # KEYS[1] now has nonce 1
    root = state.state_root()
    with pytest.raises(error) as info:
        apply_transaction(state, make(), ctx, no_evm)
    assert str(info.value)  # a clear reason
    assert state.state_root() == root


def test_invalid_transaction_makes_block_invalid() -> None:
    state, genesis = fresh_state()
    txs = (transfer(KEYS[0], 0, B, 1), transfer(KEYS[0], 0, B, 1))
    block = make_block(Header(number=1, gas_limit=PARAMS.gas_limit(0), time=2000), transactions=txs)
    with pytest.raises(InvalidBlockTransaction) as info:
        apply_block(state, block, ctx_for(genesis.header), no_evm)
    assert info.value.check == "transaction"
    assert info.value.index == 1
    assert isinstance(info.value.reason, NonceTooLow)
    assert "transaction 1" in str(info.value)


def test_block_gas_limit_enforced() -> None:
    params = with_gas_limit(PARAMS, 50_000)
    state, genesis = fresh_state()
    txs = tuple(transfer(KEYS[i], 0, C, 1) for i in range(3))
    block = make_block(Header(number=1, gas_limit=50_000, time=2000), transactions=txs)
    with pytest.raises(InvalidBlockTransaction) as info:
        apply_block(state, block, ctx_for(genesis.header, params), no_evm)
    assert info.value.index == 2 and isinstance(info.value.reason, GasLimitExceeded)


def _stx(key: PrivateKey, nonce: int, msg: StakeMsg, gas: int = 100_000) -> StakingTransaction:
    return StakingTransaction(msg, nonce, PRICE, gas).sign(key, PARAMS.chain_id)


def _create(key_index: int = 0, bls_index: int = 0) -> StakingTransaction:
    msg = create_msg(KEYS[key_index].address, (bls_index,))
    return _stx(KEYS[key_index], 0, msg, gas=6_000_000)


def test_beacon_block_applies_staking_transactions_after_plain_ones() -> None:
    state, genesis = fresh_state()
    create = _create()
    delegate = _stx(KEYS[1], 1, Delegate(B, A, 500 * ONE))
    undelegate = _stx(KEYS[1], 2, Undelegate(B, A, 100 * ONE))
    plain = transfer(KEYS[1], 0, C, 5)
    built = build(
        state,
        genesis.header,
        [plain],
        timestamp=1002,
        staking=[create, delegate, undelegate, _stx(KEYS[2], 0, CollectRewards(C))],
    )
    assert [type(e) for _, e in built.skipped_staking] == [StakingError]
    assert built.skipped_staking[0][1].reason == "no_rewards"  # type: ignore[attr-defined]
    block = built.block
    assert block.transactions == (plain,) and block.staking_transactions == (create, delegate, undelegate)
    gases = [21_000, create.intrinsic_gas(), delegate.intrinsic_gas(), undelegate.intrinsic_gas()]
    assert create.intrinsic_gas() > 5_300_000
    receipts = built.result.receipts
    assert [r.status for r in receipts] == [1, 1, 1, 1] and all(not r.logs for r in receipts)
    assert [r.cumulative_gas_used for r in receipts] == [sum(gases[: i + 1]) for i in range(4)]
    assert block.header.gas_used == sum(gases)
    assert state.get_nonce(A) == 1 and state.get_nonce(B) == 3
    assert state.get_balance(A) == BALANCE - 20_000 * ONE - gases[1] * PRICE  # fee burned
    assert state.get_balance(B) == BALANCE - 5 - 500 * ONE - (21_000 + gases[2] + gases[3]) * PRICE
    w = get_validator_wrapper(state, A)
    assert w is not None and w.total_delegation == 20_400 * ONE
    assert w.delegations[1].undelegations[0].amount == 100 * ONE

    # a validator replays it from genesis; the header's transactions root covers the staking ones
    replay, _ = fresh_state()
    result = replay_block(replay, Block.decode(block.encode()), genesis.header, PARAMS, no_evm)
    assert result.state_root == block.header.root
    assert len(result.outcomes) == 4 and result.outcomes[1].sender == A


def test_staking_fee_follows_fee_policy() -> None:
    state, genesis = fresh_state()
    params = replace(PARAMS, fee_policy=FeePolicy(FeeRecipient.COINBASE))
    stx = _stx(KEYS[1], 0, Delegate(B, A, 500 * ONE))
    apply_staking_transaction(state, _create(), ctx_for(genesis.header, params))
    outcome = apply_staking_transaction(state, stx, ctx_for(genesis.header, params))
    assert state.get_balance(COINBASE) == (_create().intrinsic_gas() + outcome.gas_used) * PRICE


def test_staking_transactions_refused_outside_beacon() -> None:
    state, genesis = fresh_state(1)
    stx = _create()
    with pytest.raises(WrongShard):
        apply_staking_transaction(state, stx, ctx_for(genesis.header))
    block = Block(Header(number=1, shard_id=1), staking_transactions=(stx,))
    with pytest.raises(InvalidBlock) as info:
        apply_block(state, block, ctx_for(genesis.header), no_evm)
    assert info.value.check == "staking_shard"
    built = build(state, genesis.header, [], timestamp=1002, staking=[stx])
    assert not built.block.staking_transactions and isinstance(built.skipped_staking[0][1], WrongShard)


def _bad_signer() -> StakingTransaction:
    return _stx(KEYS[1], 0, Delegate(A, A, 500 * ONE))  # B signs for A's delegation


@pytest.mark.parametrize(
    ("name", "make", "error"),
    [
        ("nonce_low", lambda: _stx(KEYS[1], 0, Delegate(B, A, 500 * ONE)), NonceTooLow),
        ("nonce_high", lambda: _stx(KEYS[0], 5, Delegate(A, A, 500 * ONE)), NonceTooHigh),
        ("intrinsic", lambda: _stx(KEYS[0], 1, Delegate(A, A, 500 * ONE), gas=21_000), IntrinsicGasTooLow),
        ("block_gas", lambda: _stx(KEYS[0], 1, Delegate(A, A, 500 * ONE), gas=10**9), GasLimitExceeded),
        ("signer", _bad_signer, InvalidTransaction),
        (
            "chain_id",
            lambda: StakingTransaction(CollectRewards(A), 1, PRICE, 50_000).sign(KEYS[0], 1),
            InvalidChainId,
        ),
        (
            "funds_for_gas",
            lambda: StakingTransaction(Delegate(A, A, 500 * ONE), 1, 10**20, 10**6).sign(
                KEYS[0], PARAMS.chain_id
            ),
            InsufficientFunds,
        ),
        ("rule", lambda: _stx(KEYS[0], 1, Delegate(A, A, 99 * ONE)), StakingError),
        ("balance", lambda: _stx(KEYS[0], 1, Delegate(A, A, BALANCE)), StakingError),
    ],
)
def test_invalid_staking_transaction_changes_nothing(name: str, make: Any, error: type) -> None:
    state, genesis = fresh_state()
    ctx = ctx_for(genesis.header)
    apply_staking_transaction(state, _create(), ctx)
    apply_staking_transaction(state, _stx(KEYS[1], 0, Delegate(B, A, 500 * ONE)), ctx)
    root = state.state_root()
    with pytest.raises(error):
        apply_staking_transaction(state, make(), ctx, block_gas_used=0)
    assert state.state_root() == root


def test_invalid_staking_transaction_makes_block_invalid() -> None:
    store: dict[bytes, bytes] = {}
    state = StateDB(store)
    genesis = genesis_block(GENESIS, 0, state)
    store.update(state.commit()[1])
    nodes = dict(store)
    state = StateDB(store, genesis.header.root)
    good = build(
        StateDB(store, genesis.header.root), genesis.header, [], timestamp=1002, staking=[_create()]
    ).block
    bad_stx = _stx(KEYS[1], 0, Delegate(B, A, 99 * ONE))
    bad = make_block(good.header, staking_transactions=(*good.staking_transactions, bad_stx))
    with pytest.raises(InvalidBlockStakingTransaction) as info:
        replay_block(state, bad, genesis.header, PARAMS, no_evm)
    assert info.value.check == "staking_transaction" and info.value.index == 1
    assert isinstance(info.value.reason, StakingError) and info.value.reason.reason == "delegation_too_small"
    assert store == nodes  # nothing reached the database


def test_end_of_epoch_hook_pays_undelegations_on_beacon_last_block() -> None:
    state, genesis = fresh_state()
    ctx = ctx_for(genesis.header)
    apply_staking_transaction(state, _create(), ctx)
    apply_staking_transaction(state, _stx(KEYS[1], 0, Delegate(B, A, 500 * ONE)), ctx)
    apply_staking_transaction(state, _stx(KEYS[1], 1, Undelegate(B, A, 200 * ONE)), ctx)  # epoch 0
    before = state.get_balance(B)

    def head(number: int, shard: int = 0) -> Header:
        return Header(
            number=number, epoch=PARAMS.epoch_of(number), shard_id=shard, gas_limit=PARAMS.gas_limit(0)
        )

    def at(number: int, shard: int = 0) -> TransitionContext:
        return TransitionContext.for_header(PARAMS, head(number, shard))

    last_of_6 = PARAMS.epoch_last_block(6)
    last_of_7 = PARAMS.epoch_last_block(7)
    assert finalize_block(state, at(last_of_7 - 1), head(last_of_7 - 1)).epoch_end is None  # not the last
    assert finalize_block(state, at(last_of_7, 1), head(last_of_7, 1)).epoch_end is None  # not the beacon
    end6 = finalize_block(state, at(last_of_6), head(last_of_6)).epoch_end
    assert end6 is not None and end6.payouts == () and state.get_balance(B) == before
    result = apply_block(state, Block(Header(number=last_of_7, epoch=7)), at(last_of_7), no_evm)
    assert result.epoch_end is not None and result.epoch_end.payouts == (Payout(A, B, 200 * ONE),)
    assert state.get_balance(B) == before + 200 * ONE


# -- cross-shard ---------------------------------------------------------------------------------------


def test_cross_shard_debits_and_emits_receipt() -> None:
    state, genesis = fresh_state()
    before = state.get_balance(A)
    tx = transfer(KEYS[0], 0, STRANGER, 3 * ONE, to_shard=1)
    outcome = apply_transaction(state, tx, ctx_for(genesis.header), no_evm)
    assert outcome.receipt.status == 1 and outcome.gas_used == 21_000
    assert state.get_balance(A) == before - 3 * ONE - 21_000 * PRICE
    assert state.get_nonce(A) == 1
    assert not state.account_exists(STRANGER)
    assert outcome.cx_receipt == cx.CXReceipt(tx.hash(), A, STRANGER, 0, 1, 3 * ONE)


# -- build_block and the whole transition ----------------------------------------------------------


def test_build_block_skips_invalid_and_validates() -> None:
    state, genesis = fresh_state()
    candidates = [
        transfer(KEYS[0], 0, B, 1),
        transfer(KEYS[0], 0, B, 1),  # duplicate nonce: skipped
        transfer(KEYS[1], 0, STRANGER, 2 * ONE, to_shard=1),
        transfer(KEYS[2], 0, C, 10**30),  # no funds: skipped
        transfer(KEYS[0], 1, C, 7),
    ]
    built = build(state, genesis.header, candidates, timestamp=1002)
    assert [type(e) for _, e in built.skipped] == [NonceTooLow, InsufficientFunds]
    block = built.block
    assert len(block.transactions) == 3
    assert block.header.gas_used == 63_000 == built.result.gas_used
    assert [r.cumulative_gas_used for r in built.result.receipts] == [21_000, 42_000, 63_000]
    assert block.header.outgoing_receipt_hash == cx.outgoing_receipts_root(built.result.outgoing_cx_receipts)
    validate_header(block.header, genesis.header, PARAMS, now=1002)
    validate_body(block, PARAMS)
    r = built.result
    validate_result(block.header, r.receipts, r.gas_used, r.state_root, r.outgoing_cx_receipts)

    # a validator replays it on its own state from genesis
    replay, _ = fresh_state()
    result = replay_block(replay, Block.decode(block.encode()), genesis.header, PARAMS, no_evm)
    assert result.state_root == block.header.root


def test_state_transition_rejects_wrong_root() -> None:
    state, genesis = fresh_state()
    built = build(state, genesis.header, [transfer(KEYS[0], 0, B, 1)], timestamp=1002)
    bad = built.block.with_header(built.block.header.replace(root=b"\x01" * 32))
    with pytest.raises(InvalidBlock) as info:
        replay_block(fresh_state()[0], bad, genesis.header, PARAMS, no_evm)
    assert info.value.check == "state_root"


def test_build_block_needs_shard_state_at_beacon_epoch_end() -> None:
    state, genesis = fresh_state()
    parent = genesis.header.replace(number=PARAMS.epoch_last_block(0) - 1, shard_state=b"")
    with pytest.raises(ValueError, match="shard state"):
        build(state, parent, [], timestamp=5000)


def test_build_block_elects_the_next_shard_state_with_operator_seats() -> None:
    state, genesis = fresh_state()
    parent = genesis.header.replace(number=PARAMS.epoch_last_block(0) - 1, shard_state=b"")
    operators = operator_seats(GENESIS.shard_state())
    explicit = ShardState(1, ())  # ignored: the chain elects
    built = build(state, parent, [], timestamp=5000, economy=Economy(operators), shard_state=explicit)
    assert built.block.header.get_shard_state() == ShardState(1, GENESIS.shard_state().shards)
    assert built.result.epoch_end is not None and built.result.epoch_end.elected == ()


def test_other_shard_takes_the_shard_state_as_given() -> None:
    state, genesis = fresh_state(1)
    given = ShardState(1, GENESIS.shard_state().shards)
    operators = operator_seats(GENESIS.shard_state())
    built = build(state, genesis.header, [], timestamp=1002, economy=Economy(operators), shard_state=given)
    assert built.block.header.get_shard_state() == given and built.result.epoch_end is None


def test_child_header_carries_last_commit_crosslinks_and_slashes() -> None:
    _, genesis = fresh_state()
    link_b = CrossLink(b"\x02" * 32, 9, 0, b"\x00" * 96, b"", 1, 0)
    link_a = CrossLink(b"\x01" * 32, 8, 0, b"\x00" * 96, b"", 1, 0)
    header = child_header(
        PARAMS,
        genesis.header,
        HeaderFields(
            coinbase=COINBASE,
            timestamp=1002,
            last_commit=(b"\x05" * 96, b"\x0f"),
            crosslinks=[link_b, link_a],
        ),
    )
    assert header.last_commit_signature == b"\x05" * 96 and header.last_commit_bitmap == b"\x0f"
    assert decode_crosslinks(header.cross_links) == (link_a, link_b)  # beacon-header order
    assert header.slashes == b""
    plain = child_header(PARAMS, genesis.header, HeaderFields(coinbase=COINBASE, timestamp=1002))
    assert plain.cross_links == b"" and plain.last_commit_bitmap == b""


def test_block_without_committees_pays_no_rewards() -> None:
    state, genesis = fresh_state()
    built = build(state, genesis.header, [], timestamp=1002)
    assert built.result.rewards == () and built.result.minted == 0 and built.result.incoming_credited == 0


def test_chain_of_blocks() -> None:
    state, genesis = fresh_state()
    parent = genesis.header
    nonce = 0
    for n in range(1, 5):
        txs = [transfer(KEYS[0], nonce + i, B, n) for i in range(3)]
        nonce += 3
        built = build(state, parent, txs, timestamp=parent.time + 2)
        assert not built.skipped
        validate_header(built.block.header, parent, PARAMS)
        parent = built.block.header
    assert parent.number == 4 and state.get_nonce(A) == 12


# -- with the EVM ---------------------------------------------------------------------------------------


def _deploy_code(runtime: bytes) -> bytes:
    """Init code returning ``runtime`` (at most 32 bytes): PUSHn R, MSTORE at 0, RETURN its last n bytes."""
    n = len(runtime)
    return bytes([0x5F + n]) + runtime + bytes([0x60, 0, 0x52, 0x60, n, 0x60, 32 - n, 0xF3])


def _contract_address(sender: bytes, nonce: int) -> bytes:
    """keccak(rlp([sender, nonce]))[12:] (YP §7)."""
    return keccak256(rlp.encode([sender, rlp.encode_uint(nonce)]))[12:]


REVERT = bytes.fromhex("60006000fd")  # PUSH1 0 PUSH1 0 REVERT
LOOP = bytes.fromhex("5b600056")  # JUMPDEST PUSH1 0 JUMP
LOG_AA = bytes.fromhex("60aa60005260206000a000")  # MSTORE 0xaa; LOG0(0, 32); STOP


@needs_evm
def test_contracts_through_executor_status_gas_logs() -> None:
    params = replace(PARAMS, fee_policy=FeePolicy(FeeRecipient.COINBASE))
    state, genesis = fresh_state()
    txs = [
        transfer(KEYS[0], i, None, 0, gas=200_000, data=_deploy_code(code))
        for i, code in enumerate([REVERT, LOOP, LOG_AA])
    ]
    reverter, looper, logger = (_contract_address(A, i) for i in range(3))
    txs += [
        transfer(KEYS[1], 0, reverter, 5, gas=50_000),
        transfer(KEYS[1], 1, looper, 0, gas=50_000),
        transfer(KEYS[1], 2, logger, 0, gas=50_000),
    ]
    before = state.get_balance(B)
    built = build(state, genesis.header, txs, timestamp=1002, params=params, executor=executor)
    assert not built.skipped
    outcomes = built.result.outcomes
    assert [o.receipt.status for o in outcomes] == [1, 1, 1, 0, 0, 1]
    assert outcomes[0].contract_address == reverter
    assert state.get_code(logger) == LOG_AA
    assert outcomes[4].gas_used == 50_000  # out of gas consumes everything
    assert outcomes[3].error and outcomes[4].error
    spent = sum(o.gas_used for o in outcomes[3:])
    assert state.get_balance(B) == before - spent * PRICE  # the reverted value came back
    assert state.get_balance(COINBASE) == built.result.gas_used * PRICE
    log_receipt = outcomes[5].receipt
    assert len(log_receipt.logs) == 1 and log_receipt.logs[0].address == logger
    assert log_receipt.logs[0].data == (0xAA).to_bytes(32, "big")
    assert built.block.header.bloom == log_receipt.bloom != bytes(256)
    replay, _ = fresh_state()
    assert (
        replay_block(replay, built.block, genesis.header, params, executor).state_root
        == built.block.header.root
    )


def _random_transfers(seed: int) -> list[Transaction]:
    rng = random.Random(seed)
    nonces = [0] * len(KEYS)
    targets = [k.address for k in KEYS] + [bytes([rng.randrange(256)]) * 20 for _ in range(4)] + [COINBASE]
    txs = []
    for _ in range(40):
        i = rng.randrange(len(KEYS))
        value = rng.choice([0, 1, rng.randrange(10**18), rng.randrange(10**21)])
        price = rng.choice([0, 1, PRICE])
        gas = rng.choice([21_000, 21_000, 30_000])
        txs.append(transfer(KEYS[i], nonces[i], rng.choice(targets), value, gas=gas, price=price))
        nonces[i] += 1
    return txs


@needs_evm
@pytest.mark.parametrize("policy", [FeePolicy(), FeePolicy(FeeRecipient.COINBASE)], ids=["burn", "coinbase"])
@pytest.mark.parametrize("seed", range(4))
def test_fast_path_equals_evm_path(seed: int, policy: FeePolicy, monkeypatch: pytest.MonkeyPatch) -> None:
    params = replace(PARAMS, fee_policy=policy)
    txs = _random_transfers(seed)
    fast_state, genesis = fresh_state()
    fast = build(fast_state, genesis.header, txs, timestamp=1002, params=params)

    # force every transfer through the EVM interpreter: no fast path in the chain nor in the bridge
    evm_module = importlib.import_module("harmony.state.evm")
    monkeypatch.setattr(transition.transfers, "is_plain_transfer", lambda state, tx: False)
    if hasattr(evm_module, "_is_plain_transfer"):
        monkeypatch.setattr(evm_module, "_is_plain_transfer", lambda state, to: False)
    slow_state, _ = fresh_state()
    slow = build(slow_state, genesis.header, txs, timestamp=1002, params=params, executor=executor)
    assert [(t.hash(), type(e)) for t, e in fast.skipped] == [(t.hash(), type(e)) for t, e in slow.skipped]
    assert fast.result.receipts == slow.result.receipts
    assert fast.result.state_root == slow.result.state_root
    assert fast.block.hash() == slow.block.hash()
