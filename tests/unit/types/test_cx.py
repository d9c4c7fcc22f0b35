"""Cross-shard receipts and proofs: encodings, the outgoing root, structural checks, tampering."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto.keccak import keccak256
from harmony.encoding import rlp
from harmony.encoding.trie import EMPTY_TRIE_ROOT, derive_sha
from harmony.errors import HarmonyError, RLPError
from harmony.types.cx import (
    CXMerkleProof,
    CXReceipt,
    CXReceiptsProof,
    InvalidCXProof,
    build_merkle_proof,
    build_receipts_proof,
    check_no_duplicate_proofs,
    check_proof_structure,
    cx_receipts_root,
    incoming_receipts_root,
    outgoing_receipts_root,
    receipts_to_shard,
)
from harmony.types.header import Header

SIG, BITMAP = b"\x5a" * 96, b"\x0f"


def decoded(data: bytes) -> Any:
    """The decoded RLP item, typed loosely for indexing in tests."""
    return rlp.decode(data)


def receipt(i: int, to_shard: int, amount: int = 10**18) -> CXReceipt:
    return CXReceipt(keccak256(bytes([i])), bytes([i]) * 20, bytes([i + 100]) * 20, 0, to_shard, amount)


OUTGOING = [receipt(1, 1), receipt(2, 3), receipt(3, 1, 5), receipt(4, 2)]


def source_header(outgoing: list[CXReceipt] = OUTGOING) -> Header:
    return Header(
        number=77, epoch=3, view_id=80, shard_id=0, outgoing_receipt_hash=outgoing_receipts_root(outgoing)
    )


def proof_for(shard: int) -> CXReceiptsProof:
    return build_receipts_proof(source_header(), OUTGOING, shard, SIG, BITMAP)


def check_fails(proof: CXReceiptsProof, my_shard: int, check: str) -> None:
    with pytest.raises(InvalidCXProof) as info:
        check_proof_structure(proof, my_shard)
    assert info.value.check == check


# --- encodings ---------------------------------------------------------------------------------------


def test_receipt_field_order() -> None:
    """``core/types/cx_receipt.go``: TxHash, From, To, ShardID, ToShardID, Amount."""
    r = receipt(1, 3, 256)
    assert rlp.decode(r.encode()) == [
        keccak256(b"\x01"),
        b"\x01" * 20,
        b"\x65" * 20,
        b"",
        b"\x03",
        b"\x01\x00",
    ]
    no_to = dataclasses.replace(r, to=None)
    assert decoded(no_to.encode())[2] == b""
    assert CXReceipt.decode(no_to.encode()) == no_to


def test_proof_layout_and_round_trip() -> None:
    proof = proof_for(1)
    item = decoded(proof.encode())
    assert isinstance(item, list) and len(item) == 5
    assert item[1] == [
        b"\x4d",
        source_header().hash(),
        b"",
        source_header().outgoing_receipt_hash,
        [b"\x01", b"\x02", b"\x03"],
        list(proof.merkle_proof.cx_shard_hashes),
    ]
    assert item[2][:2] == [b"HmnyTgd", b"v3"]
    assert item[3:] == [SIG, BITMAP]
    assert CXReceiptsProof.decode(proof.encode()) == proof


# --- outgoing root -----------------------------------------------------------------------------------


def test_outgoing_root_definition() -> None:
    """keccak(uint32_be(s) ‖ derive_sha(receipts to s)) over ascending destination shards (§6.4)."""
    by_shard = {1: [OUTGOING[0], OUTGOING[2]], 2: [OUTGOING[3]], 3: [OUTGOING[1]]}
    expected = keccak256(
        b"".join(
            s.to_bytes(4, "big") + derive_sha([r.encode() for r in rs]) for s, rs in sorted(by_shard.items())
        )
    )
    assert outgoing_receipts_root(OUTGOING) == expected
    assert outgoing_receipts_root([]) == EMPTY_TRIE_ROOT
    assert receipts_to_shard(OUTGOING, 1) == (OUTGOING[0], OUTGOING[2])
    # order within a shard matters, order across shards does not
    assert outgoing_receipts_root([OUTGOING[1], OUTGOING[0], OUTGOING[3], OUTGOING[2]]) == expected
    assert outgoing_receipts_root([OUTGOING[2], OUTGOING[0], OUTGOING[1], OUTGOING[3]]) != expected


def test_merkle_proof_contents() -> None:
    mp = build_merkle_proof(source_header(), OUTGOING)
    assert mp.block_num == 77 and mp.shard_id == 0
    assert mp.block_hash == source_header().hash()
    assert mp.shard_ids == (1, 2, 3)
    assert mp.cx_shard_hashes[0] == cx_receipts_root([OUTGOING[0], OUTGOING[2]])


# --- structural checks -------------------------------------------------------------------------------


def test_honest_proofs_pass() -> None:
    for shard in (1, 2, 3):
        check_proof_structure(proof_for(shard), shard)


def test_wrong_destination() -> None:
    check_fails(proof_for(1), 2, "destination")


def test_tampered_amount() -> None:
    proof = proof_for(1)
    forged = dataclasses.replace(proof.receipts[0], amount=proof.receipts[0].amount * 1000)
    check_fails(dataclasses.replace(proof, receipts=(forged, *proof.receipts[1:])), 1, "receipts_root")


def test_dropped_receipt() -> None:
    proof = proof_for(1)
    check_fails(dataclasses.replace(proof, receipts=proof.receipts[:1]), 1, "receipts_root")


def test_forged_shard_entry_breaks_outgoing_root() -> None:
    """Replacing this shard's entry with the root of forged receipts no longer hashes to cx_receipt_hash."""
    proof = proof_for(1)
    forged = (receipt(9, 1, 10**30),)
    mp = proof.merkle_proof
    hashes = (cx_receipts_root(forged), *mp.cx_shard_hashes[1:])
    tampered = dataclasses.replace(
        proof, receipts=forged, merkle_proof=dataclasses.replace(mp, cx_shard_hashes=hashes)
    )
    check_fails(tampered, 1, "outgoing_root")


def test_wrong_root_in_proof() -> None:
    proof = proof_for(1)
    mp = dataclasses.replace(proof.merkle_proof, cx_receipt_hash=b"\x00" * 32)
    check_fails(dataclasses.replace(proof, merkle_proof=mp), 1, "outgoing_root")


def test_forged_outgoing_root_and_header() -> None:
    """A consistent proof over forged receipts fails on the block hash, then on the header's root."""
    forged_out = [receipt(9, 1, 10**30)]
    forged = build_receipts_proof(source_header(forged_out), forged_out, 1, SIG, BITMAP)
    check_proof_structure(forged, 1)  # self-consistent: only the signature check can reject it
    with_real_header = dataclasses.replace(forged, header=source_header())
    check_fails(with_real_header, 1, "block_hash")
    mp = dataclasses.replace(forged.merkle_proof, block_hash=source_header().hash())
    check_fails(dataclasses.replace(with_real_header, merkle_proof=mp), 1, "header_outgoing_root")


def test_shape_and_missing_entry() -> None:
    proof = proof_for(1)
    mp = proof.merkle_proof
    check_fails(
        dataclasses.replace(
            proof, merkle_proof=dataclasses.replace(mp, cx_shard_hashes=mp.cx_shard_hashes[:2])
        ),
        1,
        "proof_shape",
    )
    check_fails(
        dataclasses.replace(proof, merkle_proof=dataclasses.replace(mp, shard_ids=(1, 1, 3))),
        1,
        "proof_shape",
    )
    dropped = dataclasses.replace(mp, shard_ids=mp.shard_ids[1:], cx_shard_hashes=mp.cx_shard_hashes[1:])
    check_fails(dataclasses.replace(proof, merkle_proof=dropped), 1, "no_shard_entry")
    check_fails(dataclasses.replace(proof, receipts=()), 1, "empty")


def test_header_fields() -> None:
    proof = proof_for(1)
    mp = dataclasses.replace(proof.merkle_proof, block_num=78)
    check_fails(dataclasses.replace(proof, merkle_proof=mp), 1, "header_fields")


def test_duplicates_and_incoming_root() -> None:
    p1, p2 = proof_for(1), build_receipts_proof(source_header().replace(number=78), OUTGOING, 1, SIG, BITMAP)
    check_no_duplicate_proofs([p1, p2])
    with pytest.raises(InvalidCXProof, match="duplicate"):
        check_no_duplicate_proofs([p1, p2, p1])
    assert incoming_receipts_root([]) == EMPTY_TRIE_ROOT
    assert incoming_receipts_root([p1, p2]) == derive_sha([p1.encode(), p2.encode()])


# --- hostile input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "value"),
    [(0, b"\x01" * 31), (1, b"\x01" * 19), (2, b"\x01" * 21), (3, b"\x01" * 5), (4, b"\x00\x01"), (5, [])],
)
def test_receipt_rejects_bad_fields(index: int, value: rlp.Item) -> None:
    item: list[Any] = list(decoded(receipt(1, 1).encode()))
    item[index] = value
    with pytest.raises(RLPError):
        CXReceipt.decode(rlp.encode(item))


def test_proof_rejects_bad_shapes() -> None:
    item: list[Any] = list(decoded(proof_for(1).encode()))
    untagged_header = item[2][2]
    for bad in (
        item[:-1],
        [*item, b""],
        [item[0], item[1], untagged_header, item[3], item[4]],  # header without its v3 tag
        [item[0], item[1], item[2], b"\x01" * 97, item[4]],  # oversized commit signature
        [item[0], [*item[1][:4], [b"\x01" * 5], []], item[2], item[3], item[4]],
    ):
        with pytest.raises(RLPError):
            CXReceiptsProof.decode(rlp.encode(bad))
    data = proof_for(1).encode()
    for cut in range(0, len(data), 97):
        with pytest.raises(RLPError):
            CXReceiptsProof.decode(data[:cut])


cx_receipts = st.builds(
    CXReceipt,
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=20, max_size=20),
    st.one_of(st.none(), st.binary(min_size=20, max_size=20)),
    st.integers(0, 3),
    st.integers(0, 3),
    st.integers(0, 2**256 - 1),
)


@settings(max_examples=50)
@given(st.lists(cx_receipts, max_size=6))
def test_honest_proofs_always_pass(outgoing: list[CXReceipt]) -> None:
    header = source_header(outgoing)
    for shard in {r.to_shard_id for r in outgoing}:
        proof = build_receipts_proof(header, outgoing, shard, SIG, BITMAP)
        assert CXReceiptsProof.decode(proof.encode()) == proof
        check_proof_structure(proof, shard)


@given(cx_receipts)
def test_receipt_round_trip(r: CXReceipt) -> None:
    assert CXReceipt.decode(r.encode()) == r


@settings(max_examples=300)
@given(st.binary(max_size=600))
@pytest.mark.parametrize("cls", [CXReceipt, CXMerkleProof, CXReceiptsProof])
def test_random_bytes_raise_only_our_errors(cls: type[CXReceipt], data: bytes) -> None:
    with contextlib.suppress(HarmonyError):
        cls.decode(data)


@settings(max_examples=200)
@given(st.data())
def test_mutated_proof_raises_only_our_errors(data: st.DataObject) -> None:
    encoded = bytearray(proof_for(1).encode())
    i = data.draw(st.integers(0, len(encoded) - 1))
    encoded[i] = data.draw(st.integers(0, 255))
    with contextlib.suppress(HarmonyError):
        decoded = CXReceiptsProof.decode(bytes(encoded))
        check_proof_structure(decoded, 1)
