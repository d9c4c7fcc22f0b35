"""Block validation: each check named by the InvalidBlock it raises."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from harmony.chain.errors import InvalidBlock
from harmony.chain.validation import expected_epoch, validate_body, validate_header, validate_result
from harmony.types.block import Block, make_block
from harmony.types.cx import CXReceipt
from harmony.types.header import Header
from harmony.types.receipt import Receipt
from harmony.types.shard_state import ShardState
from harmony.types.staking import CollectRewards, StakingTransaction
from tests.unit.chain.support import (
    COINBASE,
    GENESIS,
    KEYS,
    PARAMS,
    PRICE,
    build,
    fresh_state,
    transfer,
)

STATE, GENESIS_BLOCK = fresh_state()
PARENT = GENESIS_BLOCK.header
TXS = [transfer(KEYS[0], 0, KEYS[1].address, 1), transfer(KEYS[1], 0, KEYS[2].address, 2, to_shard=1)]
BUILT = build(STATE, PARENT, TXS, timestamp=PARENT.time + 2)
BLOCK = BUILT.block
HEADER = BLOCK.header
RESULT = BUILT.result


def test_valid_block_passes() -> None:
    validate_header(HEADER, PARENT, PARAMS, now=HEADER.time)
    validate_body(BLOCK, PARAMS)
    validate_result(HEADER, RESULT.receipts, RESULT.gas_used, RESULT.state_root, RESULT.outgoing_cx_receipts)


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        ({"shard_id": 1}, "shard_id"),
        ({"parent_hash": b"\x01" * 32}, "parent_hash"),
        ({"number": 2}, "number"),
        ({"time": PARENT.time}, "timestamp"),
        ({"time": PARENT.time - 1}, "timestamp"),
        ({"epoch": 1}, "epoch"),
        ({"gas_limit": PARAMS.gas_limit(0) - 1}, "gas_limit"),
        ({"gas_used": PARAMS.gas_limit(0) + 1}, "gas_used"),
        ({"extra": b"x" * 33}, "extra"),
        ({"shard_state": b"\xc0"}, "shard_state"),
    ],
)
def test_bad_header(changes: dict[str, Any], check: str) -> None:
    with pytest.raises(InvalidBlock) as info:
        validate_header(HEADER.replace(**changes), PARENT, PARAMS)
    assert info.value.check == check


def test_future_timestamp() -> None:
    with pytest.raises(InvalidBlock) as info:
        validate_header(HEADER, PARENT, PARAMS, now=HEADER.time - 16)
    assert info.value.check == "future_timestamp"
    validate_header(HEADER, PARENT, PARAMS, now=HEADER.time - 15)


def test_beacon_epoch_end_and_shard_state() -> None:
    last = PARAMS.epoch_last_block(0)
    parent = PARENT.replace(number=last - 1, shard_state=b"")
    child = HEADER.replace(parent_hash=parent.hash(), number=last)
    with pytest.raises(InvalidBlock) as info:
        validate_header(child, parent, PARAMS)
    assert info.value.check == "shard_state"
    next_state = replace(GENESIS.shard_state(), epoch=1)
    ending = child.replace(shard_state=next_state.encode())
    validate_header(ending, parent, PARAMS)
    wrong_epoch = child.replace(shard_state=ShardState(5, next_state.shards).encode())
    with pytest.raises(InvalidBlock, match="epoch 5"):
        validate_header(wrong_epoch, parent, PARAMS)
    # the next block is in epoch 1
    first = HEADER.replace(parent_hash=ending.hash(), number=last + 1, epoch=1, time=HEADER.time + 2)
    assert expected_epoch(PARAMS, ending) == 1
    validate_header(first, ending, PARAMS)
    with pytest.raises(InvalidBlock) as info:
        validate_header(first.replace(epoch=0), ending, PARAMS)
    assert info.value.check == "epoch"


def test_other_shard_changes_epoch_after_a_shard_state() -> None:
    _, genesis1 = fresh_state(1)
    parent = genesis1.header.replace(number=7, epoch=3, shard_state=ShardState(4, ()).encode())
    assert expected_epoch(PARAMS, parent) == 4
    assert expected_epoch(PARAMS, parent.replace(shard_state=b"")) == 3
    assert expected_epoch(PARAMS, genesis1.header) == 0  # genesis carries the epoch-0 committee


def _body(**changes: Any) -> Block:
    return replace(BLOCK, **changes)


STX = StakingTransaction(CollectRewards(KEYS[0].address), 0, PRICE, 30_000)


@pytest.mark.parametrize(
    ("block", "check"),
    [
        (_body(transactions=tuple(reversed(BLOCK.transactions))), "transactions_root"),
        (_body(transactions=BLOCK.transactions[:1]), "transactions_root"),
        (_body(uncles=(PARENT,)), "uncles"),
        (make_block(HEADER, transactions=[TXS[0], TXS[0]]), "duplicate_tx"),
        (make_block(HEADER, transactions=[transfer(KEYS[0], 0, KEYS[1].address, 1, shard=1)]), "tx_shard"),
        (make_block(HEADER.replace(shard_id=1), staking_transactions=[STX]), "staking_shard"),
        (make_block(HEADER, staking_transactions=[STX, STX]), "duplicate_tx"),
        (
            Block(HEADER.replace(incoming_receipt_hash=b"\x02" * 32), BLOCK.transactions),
            "incoming_receipts_root",
        ),
    ],
)
def test_bad_body(block: Block, check: str) -> None:
    with pytest.raises(InvalidBlock) as info:
        validate_body(block, PARAMS)
    assert info.value.check == check


@pytest.mark.parametrize(
    ("field", "value", "check"),
    [
        ("gas_used", RESULT.gas_used + 1, "gas_used"),
        ("receipts", RESULT.receipts[:1], "receipts_root"),
        ("receipts", (RESULT.receipts[0], replace(RESULT.receipts[1], status=0)), "receipts_root"),
        ("state_root", b"\x03" * 32, "state_root"),
        ("outgoing_cx", (), "outgoing_receipts_root"),
        ("outgoing_cx", (CXReceipt(b"\x00" * 32, COINBASE, COINBASE, 0, 1, 1),), "outgoing_receipts_root"),
    ],
)
def test_bad_result(field: str, value: Any, check: str) -> None:
    args: dict[str, Any] = {
        "receipts": RESULT.receipts,
        "gas_used": RESULT.gas_used,
        "state_root": RESULT.state_root,
        "outgoing_cx": RESULT.outgoing_cx_receipts,
    }
    args[field] = value
    with pytest.raises(InvalidBlock) as info:
        validate_result(HEADER, **args)
    assert info.value.check == check


def test_bad_bloom() -> None:
    header = HEADER.replace(bloom=b"\x01" * 256)
    with pytest.raises(InvalidBlock) as info:
        validate_result(
            header, RESULT.receipts, RESULT.gas_used, RESULT.state_root, RESULT.outgoing_cx_receipts
        )
    assert info.value.check == "bloom"


def test_receipt_shape() -> None:
    assert all(isinstance(r, Receipt) for r in RESULT.receipts)
    assert isinstance(HEADER, Header) and HEADER.gas_used == 42_000
