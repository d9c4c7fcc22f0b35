"""Crediting incoming cross-shard receipts and the block rules on incoming proofs (reference §6.4)."""

from __future__ import annotations

import dataclasses

import pytest

from harmony.chain.cx_credit import (
    INCOMING_RECEIPTS_LIMIT,
    InvalidIncomingReceipts,
    check_incoming_limits,
    credit_incoming_receipts,
)
from harmony.chain.errors import InvalidBlock
from harmony.state.statedb import StateDB
from harmony.types.cx import CXReceipt, CXReceiptsProof, build_receipts_proof, outgoing_receipts_root
from harmony.types.header import Header

ALICE, BOB, CAROL, DAVE = b"\xa1" * 20, b"\xb0" * 20, b"\xc0" * 20, b"\xd0" * 20
SIG = b"\x00" * 96


def proof(number: int, receipts: list[CXReceipt], *, source: int = 1, view: int = 0) -> CXReceiptsProof:
    header = Header(
        number=number, shard_id=source, view_id=view, outgoing_receipt_hash=outgoing_receipts_root(receipts)
    )
    return build_receipts_proof(header, receipts, 0, SIG, b"\x07")


def receipt(n: int, to: bytes | None, amount: int, source: int = 1) -> CXReceipt:
    return CXReceipt(bytes([n]) * 32, CAROL, to, source, 0, amount)


def test_credit_is_exact_and_creates_missing_accounts() -> None:
    state = StateDB({})
    state.set_balance(ALICE, 10)
    state.set_nonce(ALICE, 4)
    proofs = [
        proof(5, [receipt(1, ALICE, 3 * 10**18), receipt(2, BOB, 1)]),
        proof(6, [receipt(3, ALICE, 2)]),
        proof(9, [receipt(4, DAVE, 10**27)], source=2),
    ]
    assert credit_incoming_receipts(state, proofs) == 3 * 10**18 + 1 + 2 + 10**27
    assert state.get_balance(ALICE) == 10 + 3 * 10**18 + 2
    assert state.get_nonce(ALICE) == 4
    assert state.get_balance(BOB) == 1
    assert state.account_exists(BOB)
    assert state.get_balance(DAVE) == 10**27
    assert state.get_balance(CAROL) == 0  # the sender was debited on its own shard


def test_same_root_as_setting_the_balances() -> None:
    credited = StateDB({})
    credit_incoming_receipts(
        credited, [proof(5, [receipt(1, ALICE, 7), receipt(2, BOB, 8), receipt(3, ALICE, 9)])]
    )
    direct = StateDB({})
    direct.set_balance(ALICE, 16)
    direct.set_balance(BOB, 8)
    assert credited.state_root() == direct.state_root()


def test_zero_amount_leaves_no_empty_account() -> None:
    state = StateDB({})
    empty_root = state.state_root()
    assert credit_incoming_receipts(state, [proof(5, [receipt(1, ALICE, 0)])]) == 0
    assert not state.account_exists(ALICE)
    assert state.state_root() == empty_root
    state.set_balance(BOB, 5)
    credit_incoming_receipts(state, [proof(6, [receipt(2, BOB, 0)])])
    assert state.get_balance(BOB) == 5


def test_no_proofs_credit_nothing() -> None:
    state = StateDB({})
    root = state.state_root()
    assert credit_incoming_receipts(state, []) == 0
    assert state.state_root() == root
    check_incoming_limits([])


def test_receipt_without_recipient_invalidates_the_block() -> None:
    with pytest.raises(InvalidIncomingReceipts) as info:
        credit_incoming_receipts(StateDB({}), [proof(5, [receipt(1, ALICE, 1), receipt(2, None, 1)])])
    assert info.value.check == "incoming_recipient"
    assert isinstance(info.value, InvalidBlock)


def test_replay_within_a_block_is_rejected() -> None:
    p = proof(5, [receipt(1, ALICE, 1)])
    with pytest.raises(InvalidIncomingReceipts) as info:
        check_incoming_limits([p, proof(6, [receipt(2, ALICE, 1)]), p])
    assert info.value.check == "incoming_duplicate"
    # one height of one shard twice, even under different block hashes (another view, other receipts)
    twin = proof(5, [receipt(3, BOB, 1)], view=1)
    assert twin.merkle_proof.block_hash != p.merkle_proof.block_hash
    with pytest.raises(InvalidIncomingReceipts) as info:
        check_incoming_limits([p, twin])
    assert info.value.check == "incoming_duplicate"
    # the same height from two different shards is fine
    check_incoming_limits([p, proof(5, [receipt(4, BOB, 1, source=2)], source=2)])


def test_at_most_6000_proofs() -> None:
    assert INCOMING_RECEIPTS_LIMIT == 6000
    p = proof(5, [receipt(1, ALICE, 1)])
    many = [
        dataclasses.replace(
            p, merkle_proof=dataclasses.replace(p.merkle_proof, block_num=n, block_hash=n.to_bytes(32, "big"))
        )
        for n in range(INCOMING_RECEIPTS_LIMIT + 1)
    ]
    check_incoming_limits(many[:INCOMING_RECEIPTS_LIMIT])
    with pytest.raises(InvalidIncomingReceipts) as info:
        check_incoming_limits(many)
    assert info.value.check == "incoming_limit"
