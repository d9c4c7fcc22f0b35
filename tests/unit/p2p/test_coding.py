"""RaptorQ symbols, their Merkle commitment and bounded decoding (harmony.p2p.coding, harmony.p2p.merkle)."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harmony.crypto import bls
from harmony.encoding import rlp
from harmony.p2p import merkle
from harmony.p2p.coding import (
    GOOD_SYMBOL_SIZE,
    MAX_BATCH_BYTES,
    MAX_SYMBOL_COUNT,
    MIN_SYMBOL_SIZE,
    TARGET_SOURCE_SYMBOLS,
    EncodedBlock,
    Reject,
    SignedCommitment,
    Symbol,
    SymbolBatch,
    SymbolCommitment,
    SymbolDecoder,
    SymbolRejected,
    check_commitment,
    check_symbol,
    choose_symbol_size,
    decode_batch,
    encode_block,
    share,
    symbol_count,
)
from harmony.p2p.sync_protocol import MAX_BLOCK_BYTES
from tests.unit.p2p.coded_helpers import LEADER_KEY, block_bytes, sign_commitment


def _encode(size: int, overhead: int = 30, members: int = 4, seed: int = 0) -> tuple[bytes, EncodedBlock]:
    data = block_bytes(size, seed)
    return data, encode_block(
        data, shard_id=1, block_number=7, view_id=3, members=members, overhead_percent=overhead
    )


# -- Merkle tree ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13, 17, 64, 100])
def test_every_proof_verifies_and_nothing_else_does(count: int) -> None:
    leaves = [merkle.leaf_hash(i, bytes([i % 256]) * 10) for i in range(count)]
    root, proofs = merkle.root_and_proofs(leaves)
    for i, proof in enumerate(proofs):
        assert len(proof) == merkle.proof_length(i, count)
        assert merkle.verify_proof(root, i, count, leaves[i], proof)
        assert not merkle.verify_proof(root, i, count + 1, leaves[i], proof) or count == 1
        other = (i + 1) % count
        if other != i:
            assert not merkle.verify_proof(root, other, count, leaves[i], proof)
            assert not merkle.verify_proof(root, i, count, leaves[other], proof)
        if proof:
            assert not merkle.verify_proof(root, i, count, leaves[i], proof[:-1])
            assert not merkle.verify_proof(root, i, count, leaves[i], (*proof, proof[0]))
            assert not merkle.verify_proof(root, i, count, leaves[i], (proof[0][:31], *proof[1:]))
    assert not merkle.verify_proof(root, count, count, leaves[0], proofs[0])
    assert not merkle.verify_proof(root, -1, count, leaves[0], proofs[0])


def test_leaf_binds_its_index() -> None:
    assert merkle.leaf_hash(0, b"x") != merkle.leaf_hash(1, b"x")
    with pytest.raises(ValueError):
        merkle.root_and_proofs([])


# -- encoding and decoding -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 1023, 1024, 4_000, 100_001, 600_000, 2 * 1024 * 1024])
def test_round_trip_from_any_k_plus_two_symbols(size: int) -> None:
    data, encoded = _encode(size, overhead=30)
    c = encoded.commitment
    assert c.source_symbols == -(-size // c.symbol_size)
    assert c.symbol_count == symbol_count(c.source_symbols, 30, 4)
    symbols = list(encoded.symbols)
    for s in symbols:
        check_symbol(c, s)
    random.Random(size).shuffle(symbols)
    decoder = SymbolDecoder(c)
    result = None
    used = 0
    for s in symbols:
        used += 1
        result = decoder.add(s.index, s.data)
        if result is not None:
            break
    assert result == data
    assert used <= min(c.source_symbols + 2, c.symbol_count) + 2
    # Once decoded, more symbols change nothing.
    assert decoder.add(symbols[-1].index, symbols[-1].data) == data


def test_a_third_lost_still_decodes_at_sixty_percent_overhead() -> None:
    data, encoded = _encode(300_000, overhead=60, seed=5)
    rng = random.Random(11)
    count = encoded.commitment.symbol_count
    for trial in range(5):
        # Any third of the symbols lost (chosen at random), the rest in any order.
        kept = rng.sample(encoded.symbols, count - count // 3)
        decoder = SymbolDecoder(encoded.commitment)
        results = [decoder.add(s.index, s.data) for s in kept]
        assert data in results, f"trial {trial}: {len(kept)} of {encoded.commitment.symbol_count} kept"


def test_symbol_size_choice() -> None:
    assert choose_symbol_size(1) == MIN_SYMBOL_SIZE
    assert choose_symbol_size(MAX_BLOCK_BYTES) % 8 == 0
    assert MAX_BLOCK_BYTES // choose_symbol_size(MAX_BLOCK_BYTES) == TARGET_SOURCE_SYMBOLS
    # a smaller block: symbols of about GOOD_SYMBOL_SIZE, not 32 small ones whose proofs weigh
    assert choose_symbol_size(45_000, 4) == GOOD_SYMBOL_SIZE
    # and enough of them that the repair symbols already give each member one (no symbol added for that)
    for length in (45_000, 70_000, 100_000):
        for members in (4, 8, 16, 32):
            size = choose_symbol_size(length, members, 30)
            k = -(-length // size)
            assert symbol_count(k, 30, members) == k + -(-k * 30 // 100), (length, members)
            assert size >= MIN_SYMBOL_SIZE and size % 8 == 0
    assert symbol_count(10, 30, 16) == 16  # every member gets a share
    assert symbol_count(100, 30, 4) == 130
    assert list(share(1, 3, 10)) == [1, 4, 7]


def test_encode_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError):
        encode_block(b"", shard_id=0, block_number=0, view_id=0, members=1, overhead_percent=0)
    with pytest.raises(ValueError):
        encode_block(
            bytes(MAX_BLOCK_BYTES + 1), shard_id=0, block_number=0, view_id=0, members=1, overhead_percent=0
        )
    with pytest.raises(ValueError):
        encode_block(b"x", shard_id=0, block_number=0, view_id=0, members=1, overhead_percent=301)


# -- the commitment ------------------------------------------------------------------------------------


def test_signed_commitment_round_trip_and_signature() -> None:
    _, encoded = _encode(10_000)
    signed = sign_commitment(encoded.commitment)
    again = SignedCommitment.decode(signed.encode())
    assert again == signed
    assert bls.verify(
        LEADER_KEY.public_key, again.commitment.signing_payload(), bls.Signature.from_bytes(again.signature)
    )
    other = replace(encoded.commitment, view_id=4)
    assert other.signing_payload() != encoded.commitment.signing_payload()


@pytest.mark.parametrize(
    "change",
    [
        {"block_length": 0},
        {"block_length": MAX_BLOCK_BYTES + 1},
        {"symbol_size": MIN_SYMBOL_SIZE - 8},
        {"symbol_size": 1001},
        {"symbol_count": 1},
        {"symbol_count": MAX_SYMBOL_COUNT + 1},
        {"block_length": MAX_BLOCK_BYTES, "symbol_size": 65528, "symbol_count": 1000},
    ],
)
def test_commitment_bounds(change: dict[str, Any]) -> None:
    _, encoded = _encode(10_000)
    check_commitment(encoded.commitment)
    with pytest.raises(SymbolRejected) as info:
        check_commitment(replace(encoded.commitment, **change))
    assert info.value.reject is Reject.BAD_COMMITMENT
    with pytest.raises(SymbolRejected):
        SymbolDecoder(replace(encoded.commitment, **change))


# -- checking symbols ----------------------------------------------------------------------------------


def test_each_bad_symbol_has_its_reason() -> None:
    _, encoded = _encode(20_000, members=4)
    _, foreign = _encode(20_000, members=4, seed=9)
    c = encoded.commitment
    good = encoded.symbols[5]
    cases = [
        (replace(good, block_hash=bytes(32)), Reject.FOREIGN),
        (foreign.symbols[5], Reject.FOREIGN),
        (replace(good, block_length=good.block_length + 1), Reject.WRONG_LENGTH),
        (replace(good, symbol_size=good.symbol_size + 8), Reject.WRONG_SIZE),
        (replace(good, data=good.data[:-1]), Reject.WRONG_SIZE),
        (replace(good, index=c.symbol_count), Reject.WRONG_INDEX),
        (replace(good, index=6), Reject.FORGED),
        (replace(good, data=bytes(len(good.data))), Reject.FORGED),
        (replace(good, proof=good.proof[:-1]), Reject.FORGED),
        (replace(good, proof=(bytes(32), *good.proof[1:])), Reject.FORGED),
    ]
    for symbol, reason in cases:
        with pytest.raises(SymbolRejected) as info:
            check_symbol(c, symbol)
        assert info.value.reject is reason, (symbol.index, reason)
    # The sender's share restricts the index too.
    check_symbol(c, good, share(1, 4, c.symbol_count))
    with pytest.raises(SymbolRejected) as info:
        check_symbol(c, good, share(0, 4, c.symbol_count))
    assert info.value.reject is Reject.WRONG_INDEX
    assert Reject.FORGED.weight > Reject.DUPLICATE.weight > Reject.LATE.weight == 0


def test_batch_round_trip_and_size_bound() -> None:
    _, encoded = _encode(20_000)
    batch = SymbolBatch(sign_commitment(encoded.commitment), encoded.symbols[:3])
    assert decode_batch(batch.encode()) == batch
    with pytest.raises(SymbolRejected) as info:
        decode_batch(bytes(MAX_BATCH_BYTES + 1))
    assert info.value.reject is Reject.MALFORMED


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_garbage_batches_are_refused_with_a_typed_reason(data: bytes) -> None:
    try:
        decode_batch(data)
    except SymbolRejected as exc:
        assert exc.reject is Reject.MALFORMED


_, _ENCODED = _encode(6_000, members=2)
_BATCH = SymbolBatch(sign_commitment(_ENCODED.commitment), _ENCODED.symbols[:2]).encode()


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(_BATCH) - 1), st.integers(1, 255))
def test_a_flipped_byte_never_passes_as_a_good_symbol(position: int, flip: int) -> None:
    mutated = bytearray(_BATCH)
    mutated[position] ^= flip
    try:
        batch = decode_batch(bytes(mutated))
    except SymbolRejected as exc:
        assert exc.reject is Reject.MALFORMED
        return
    passed = []
    for symbol in batch.symbols:
        try:
            check_symbol(_ENCODED.commitment, symbol)
        except SymbolRejected:
            continue
        passed.append(symbol)
    # Whatever passes the checks is a symbol the leader committed to, byte for byte.
    assert all(s in _ENCODED.symbols for s in passed)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 20_000), st.integers(0, 2**32 - 1))
def test_decoder_fed_committed_garbage_never_returns_a_wrong_block(length: int, seed: int) -> None:
    # A Byzantine leader commits (correctly, Merkle-wise) to random symbols: the decoder must either not
    # decode or say the result does not hash to the commitment; never hand out bytes.
    size = choose_symbol_size(length)
    k = -(-length // size)
    n = k + 3
    rng = random.Random(seed)
    bodies = [rng.randbytes(size) for _ in range(n)]
    root, proofs = merkle.root_and_proofs([merkle.leaf_hash(i, b) for i, b in enumerate(bodies)])
    commitment = SymbolCommitment(1, 2, 3, bytes(32), length, size, n, root)
    decoder = SymbolDecoder(commitment)
    try:
        for i, body in enumerate(bodies):
            check_symbol(commitment, Symbol(bytes(32), length, size, i, body, proofs[i]))
            assert decoder.add(i, body) is None
    except SymbolRejected as exc:
        assert exc.reject is Reject.DECODE_MISMATCH


def test_decoder_refuses_unchecked_symbols() -> None:
    _, encoded = _encode(5_000)
    decoder = SymbolDecoder(encoded.commitment)
    with pytest.raises(ValueError):
        decoder.add(0, b"short")
    with pytest.raises(ValueError):
        decoder.add(encoded.commitment.symbol_count, encoded.symbols[0].data)


def test_symbol_schema_bounds_proofs_and_data() -> None:
    _, encoded = _encode(5_000)
    s = encoded.symbols[0]
    too_long = rlp.encode([*s.to_rlp()[:5], [bytes(32)] * 21])
    with pytest.raises(Exception, match="proof"):
        Symbol.decode(too_long)
