"""Bulletproofs range proofs (harmony.crypto.zk.range_proof): completeness, soundness against tampering,
strict decoding of hostile proofs."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto.zk import range_proof
from harmony.crypto.zk.errors import ZkDecodeError, ZkError
from harmony.crypto.zk.generators import hash_to_point
from harmony.crypto.zk.group import BASE, N, encode_point, multi_scalar
from harmony.crypto.zk.pedersen import commit
from harmony.crypto.zk.range_proof import (
    RangeProof,
    proof_size,
    prove_at_least,
    prove_range,
    verify_at_least,
    verify_range,
)

_rng = random.Random(22)


def _blinding() -> int:
    return _rng.randrange(1, N)


VALUE, BLINDING = 1_234_567, _blinding()
PROOF, COMMITMENTS = prove_range([VALUE], [BLINDING], rng=_blinding)
PROOF_BYTES = PROOF.to_bytes()


def test_single_value_proof_verifies_and_is_688_bytes() -> None:
    assert len(PROOF_BYTES) == proof_size(1) == 688
    assert verify_range(COMMITMENTS, RangeProof.from_bytes(PROOF_BYTES))
    assert RangeProof.from_bytes(PROOF_BYTES).to_bytes() == PROOF_BYTES


@pytest.mark.parametrize("values", [[0, 2**64 - 1], [1, 2, 3, 4], list(range(8))])
def test_aggregated_proofs_verify(values: list[int]) -> None:
    blindings = [_blinding() for _ in values]
    proof, commitments = prove_range(values, blindings, rng=_blinding)
    assert len(proof.to_bytes()) == proof_size(len(values))
    assert verify_range(commitments, RangeProof.from_bytes(proof.to_bytes()))
    assert not verify_range(commitments[::-1], proof)  # order is part of the statement
    assert not verify_range(commitments[:1], proof)


def test_every_single_byte_change_fails() -> None:
    for pos in range(len(PROOF_BYTES)):
        tampered = bytearray(PROOF_BYTES)
        tampered[pos] ^= 1 << (pos % 8)
        try:
            proof = RangeProof.from_bytes(bytes(tampered))
        except ZkDecodeError:
            continue
        assert not verify_range(COMMITMENTS, proof), f"byte {pos} changed and the proof still verified"


def test_wrong_commitment_fails() -> None:
    for other in (commit(VALUE + 1, BLINDING), commit(VALUE, BLINDING + 1), commit(VALUE + 2**64, BLINDING)):
        assert not verify_range([other], PROOF)


def test_out_of_range_value_has_no_proof() -> None:
    for bad in (-1, 2**64, N - 1):
        with pytest.raises(ZkError, match="outside"):
            prove_range([bad], [BLINDING])
    # a commitment to v + 2^64 shares v's bits: the proof for v's bits must not pass for it
    low = commit(3, BLINDING)
    high_proof, _ = prove_range([3], [BLINDING], rng=_blinding)
    assert verify_range([low], high_proof)
    assert not verify_range([commit(3 + 2**64, BLINDING)], high_proof)
    with pytest.raises(ZkError, match="1, 2, 4, 8 or 16"):
        prove_range([1, 2, 3], [1, 2, 3])


def test_wrong_generators_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proof over other vector bases (here G and H swapped) does not verify over the documented ones."""
    real = range_proof.vector_bases
    monkeypatch.setattr(range_proof, "vector_bases", lambda size: real(size)[::-1])
    proof, commitments = prove_range([VALUE], [BLINDING], rng=_blinding)
    assert verify_range(commitments, proof)  # consistent with itself
    monkeypatch.setattr(range_proof, "vector_bases", real)
    assert not verify_range(commitments, proof)
    # and a commitment over another blinding base
    other = multi_scalar([(VALUE, BASE), (BLINDING, hash_to_point(b"not the blinding base"))])
    assert other is not None and not verify_range([other], PROOF)


def test_lower_bound() -> None:
    v, g = 1_500_000, _blinding()
    proof = prove_at_least(v, g, 1_000_000, rng=_blinding)
    v_commit = commit(v, g)
    assert verify_at_least(v_commit, 1_000_000, proof)
    assert verify_at_least(v_commit, 1_000_000, RangeProof.from_bytes(proof.to_bytes()))
    assert not verify_at_least(v_commit, 1_000_001, proof)
    assert not verify_at_least(commit(999_999, g), 1_000_000, proof)
    with pytest.raises(ZkError, match="below the lower bound"):
        prove_at_least(999_999, g, 1_000_000)
    exact = prove_at_least(v, g, v, rng=_blinding)
    assert verify_at_least(v_commit, v, exact)
    with pytest.raises(ZkError, match="lower bound"):
        verify_at_least(v_commit, 2**128, proof)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([proof_size(1), proof_size(2)]).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
def test_random_proofs_are_refused(data: bytes) -> None:
    try:
        proof = RangeProof.from_bytes(data)
    except ZkDecodeError:
        return
    assert not verify_range(COMMITMENTS * proof.values, proof)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=1100).filter(lambda d: len(d) not in {proof_size(1 << e) for e in range(5)}))
def test_wrong_lengths_refused_before_decoding(data: bytes) -> None:
    with pytest.raises(ZkDecodeError, match="proof: length"):
        RangeProof.from_bytes(data)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(PROOF_BYTES) // 32 - 1), st.integers(N, 2**256 - 1))
def test_non_canonical_scalars_refused(index: int, big: int) -> None:
    """Overwrite the scalars τx, μ, t̂, a, b with values ≥ n: decoding refuses, never reduces."""
    offsets = [132, 164, 196, len(PROOF_BYTES) - 64, len(PROOF_BYTES) - 32]
    at = offsets[index % len(offsets)]
    data = PROOF_BYTES[:at] + big.to_bytes(32, "big") + PROOF_BYTES[at + 32 :]
    with pytest.raises(ZkDecodeError, match="non-canonical"):
        RangeProof.from_bytes(data)


def test_commitment_encoding_round_trip() -> None:
    assert len(encode_point(COMMITMENTS[0])) == 33
