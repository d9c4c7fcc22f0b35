"""Blocks: tagged layout, body roots, round trips, size bound, hostile input."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding import rlp
from harmony.encoding.trie import EMPTY_TRIE_ROOT, derive_sha
from harmony.errors import HarmonyError, RLPError
from harmony.types.block import (
    MAX_BLOCK_SIZE,
    Block,
    InvalidBlockBody,
    block_incoming_receipts_root,
    block_transactions_root,
    check_body_roots,
    encode_body,
    frame_block,
    make_block,
    transactions_root,
)
from harmony.types.cx import CXReceipt, CXReceiptsProof, build_receipts_proof, outgoing_receipts_root
from harmony.types.header import Header
from harmony.types.receipt import EMPTY_BLOOM, Log, Receipt, logs_bloom, receipts_root
from harmony.types.staking import CollectRewards, Delegate, StakingTransaction
from harmony.types.transaction import Transaction

KEY = PrivateKey(b"\x01" * 32)
CHAIN_ID = 2


def decoded(data: bytes) -> Any:
    """The decoded RLP item, typed loosely for indexing in tests."""
    return rlp.decode(data)


def tx(nonce: int, to_shard: int = 0) -> Transaction:
    return Transaction(nonce, 10**9, 21000, 0, to_shard, b"\x22" * 20, 5 * 10**18).sign(KEY, CHAIN_ID)


def stx(nonce: int) -> StakingTransaction:
    msg = Delegate(KEY.address, b"\x33" * 20, 100 * 10**18) if nonce % 2 else CollectRewards(KEY.address)
    return StakingTransaction(msg, nonce, 10**9, 30000).sign(KEY, CHAIN_ID)


def incoming_proof() -> tuple[CXReceiptsProof, ...]:
    out = [CXReceipt(b"\x44" * 32, b"\x01" * 20, b"\x02" * 20, 1, 0, 7)]
    source = Header(number=3, shard_id=1, outgoing_receipt_hash=outgoing_receipts_root(out))
    return (build_receipts_proof(source, out, 0, b"\x5a" * 96, b"\x01"),)


def sample_block() -> Block:
    txs = [tx(0), tx(1, to_shard=1)]
    stxs = [stx(2), stx(3)]
    receipts = [
        Receipt.make(
            success=True,
            cumulative_gas_used=21000 * (i + 1),
            logs=[Log(b"\x09" * 20, (), b"")] if i == 1 else [],
        )
        for i in range(4)
    ]
    outgoing = [CXReceipt(txs[1].hash(), KEY.address, b"\x22" * 20, 0, 1, 5 * 10**18)]
    return make_block(
        Header(number=12, epoch=1, view_id=12, time=1_700_000_024, gas_limit=80_000_000),
        transactions=txs,
        staking_transactions=stxs,
        receipts=receipts,
        outgoing_receipts=outgoing,
        incoming_receipts=incoming_proof(),
    )


def test_layout_is_tagged_v2_with_tagged_v3_header() -> None:
    """``core/types/block.go``: a v3 header's block is ``extblockV2`` under tag "v2"."""
    block = sample_block()
    item = decoded(block.encode())
    assert isinstance(item, list)
    assert item[:2] == [b"HmnyTgd", b"v2"]
    header, txs, stxs, uncles, proofs = item[2]
    assert header[:2] == [b"HmnyTgd", b"v3"]
    assert txs == [t.to_rlp() for t in block.transactions]
    assert stxs == [rlp.decode(s.encode()) for s in block.staking_transactions]
    assert uncles == []
    assert proofs == [rlp.decode(p.encode()) for p in block.incoming_receipts]


def test_round_trip_and_hash() -> None:
    block = sample_block()
    decoded = Block.decode(block.encode())
    assert decoded == block
    assert decoded.hash() == block.header.hash()
    assert (block.number, block.shard_id, block.epoch) == (12, 0, 1)
    assert block.incoming_cx_receipts() == block.incoming_receipts[0].receipts
    empty = Block(Header())
    assert Block.decode(empty.encode()) == empty


def test_make_block_fills_header_roots() -> None:
    block = sample_block()
    h = block.header
    encoded = [t.encode() for t in block.transactions] + [s.encode() for s in block.staking_transactions]
    assert h.tx_hash == derive_sha(encoded)  # one index space: plain then staking
    assert h.tx_hash != derive_sha([t.encode() for t in block.transactions])
    assert (
        h.tx_hash
        == block_transactions_root(block)
        == transactions_root(block.transactions, block.staking_transactions)
    )
    assert (
        h.incoming_receipt_hash
        == block_incoming_receipts_root(block)
        == derive_sha([p.encode() for p in block.incoming_receipts])
    )
    assert h.bloom == logs_bloom([Log(b"\x09" * 20, (), b"")])
    assert h.outgoing_receipt_hash != EMPTY_TRIE_ROOT
    assert h.receipt_hash != EMPTY_TRIE_ROOT
    check_body_roots(block)
    bare = make_block(Header())
    assert bare.header.tx_hash == bare.header.receipt_hash == EMPTY_TRIE_ROOT
    assert bare.header.outgoing_receipt_hash == bare.header.incoming_receipt_hash == EMPTY_TRIE_ROOT
    assert bare.header.bloom == EMPTY_BLOOM
    assert receipts_root([]) == EMPTY_TRIE_ROOT
    with pytest.raises(ValueError):
        make_block(
            Header(), transactions=[tx(0)], receipts=[Receipt.make(success=True, cumulative_gas_used=1)] * 2
        )


def test_check_body_roots_names_the_root() -> None:
    block = sample_block()
    with pytest.raises(InvalidBlockBody) as info:
        check_body_roots(
            Block(
                block.header, block.transactions[:1], block.staking_transactions, (), block.incoming_receipts
            )
        )
    assert info.value.check == "tx_hash"
    with pytest.raises(InvalidBlockBody) as info:
        check_body_roots(Block(block.header, block.transactions, block.staking_transactions, (), ()))
    assert info.value.check == "incoming_receipt_hash"
    swapped = Block(
        block.header, block.transactions, block.staking_transactions[::-1], (), block.incoming_receipts
    )
    with pytest.raises(InvalidBlockBody):
        check_body_roots(swapped)


def _inner() -> list[Any]:
    return list(decoded(sample_block().encode())[2])


def test_rejects_other_tags_and_untagged() -> None:
    inner = _inner()
    with pytest.raises(RLPError, match="untagged"):
        Block.decode(rlp.encode(inner))
    for tag in (b"v1", b"v3"):
        with pytest.raises(RLPError, match="unsupported"):
            Block.decode(rlp.encode([b"HmnyTgd", tag, inner]))


def test_rejects_bad_body() -> None:
    inner = _inner()
    cases = [
        inner[:4],  # v1 block layout has four fields
        [*inner, []],
        [inner[0][2], *inner[1:]],  # untagged header
        [inner[0], [b"\x01"], *inner[2:]],  # transaction not a list
        [inner[0], inner[1], [[b"\x09", *inner[2][0][1:]]], *inner[3:]],  # unknown directive
        [*inner[:3], [inner[0]] * 3, inner[4]],  # three uncles
        [*inner[:4], [[b""]]],  # malformed proof
    ]
    for body in cases:
        with pytest.raises(RLPError):
            Block.decode(rlp.encode([b"HmnyTgd", b"v2", body]))


def test_rejects_truncated_extended_oversized() -> None:
    data = sample_block().encode()
    for cut in range(0, len(data), 151):
        with pytest.raises(RLPError):
            Block.decode(data[:cut])
    with pytest.raises(RLPError):
        Block.decode(data + b"\xc0")
    with pytest.raises(RLPError, match="exceeds"):
        Block.decode(b"\xc0" * (MAX_BLOCK_SIZE + 1))


def test_encode_frames_the_parts_own_encodings() -> None:
    """:meth:`Block.encode` joins the header's, the transactions', the uncles' and the proofs' own
    encodings: the same bytes as encoding the whole item, and :func:`frame_block` over the header and
    :func:`encode_body` gives them again (what the chain database serves from its stored parts)."""
    for block in (
        sample_block(),
        Block(Header()),
        Block(Header(number=5), uncles=(Header(number=4), Header(number=3))),
    ):
        whole = rlp.encode(block.to_rlp())
        assert block.encode() == whole
        body = encode_body(
            block, [t.encode() for t in block.transactions], [s.encode() for s in block.staking_transactions]
        )
        assert frame_block(block.header.encode(), body) == whole
    with pytest.raises(RLPError):
        frame_block(Header().encode(), b"\x80")  # a body must be one RLP list


def test_uncles_are_decoded() -> None:
    block = Block(Header(number=5), uncles=(Header(number=4),))
    assert Block.decode(block.encode()).uncles == (Header(number=4),)


@settings(max_examples=300)
@given(st.binary(max_size=800))
def test_random_bytes_raise_only_our_errors(data: bytes) -> None:
    with contextlib.suppress(HarmonyError):
        Block.decode(data)


@settings(max_examples=200)
@given(st.data())
def test_mutated_block_raises_only_our_errors(data: st.DataObject) -> None:
    encoded = bytearray(sample_block().encode())
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(encoded) - 1))
        encoded[i] = data.draw(st.integers(0, 255))
    with contextlib.suppress(HarmonyError):
        decoded = Block.decode(bytes(encoded))
        check_body_roots(decoded)


@settings(max_examples=30)
@given(st.lists(st.integers(0, 2**64 - 1), max_size=4), st.lists(st.integers(0, 2**64 - 1), max_size=3))
def test_random_bodies_round_trip(nonces: list[int], staking_nonces: list[int]) -> None:
    block = make_block(
        Header(number=1),
        transactions=[Transaction(n, 1, 21000, 0, 0, None, 0) for n in nonces],
        staking_transactions=[
            StakingTransaction(CollectRewards(b"\x01" * 20), n, 1, 1) for n in staking_nonces
        ],
    )
    assert block.encode() == rlp.encode(block.to_rlp())  # framed from the parts: the same bytes
    decoded = Block.decode(block.encode())
    assert decoded == block
    check_body_roots(decoded)
