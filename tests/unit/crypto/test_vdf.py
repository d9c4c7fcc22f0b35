"""The epoch VDF (harmony.crypto.vdf, design §7): prove, verify, serialization, bounds, garbage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto.vdf import (
    FORM_SIZE,
    GENERATOR,
    MAX_ITERATIONS,
    PROOF_SIZE,
    VDFProof,
    iterations_for,
    vdf_prove,
    vdf_verify,
)
from harmony.errors import CryptoError

SEED = b"\x5e" * 32
ITERATIONS = 2000
PROOF = vdf_prove(SEED, ITERATIONS)


def test_prove_and_verify() -> None:
    assert len(PROOF.output) == len(PROOF.proof) == FORM_SIZE
    assert vdf_verify(SEED, ITERATIONS, PROOF)
    assert vdf_verify(SEED, ITERATIONS, PROOF.to_bytes())
    assert vdf_prove(SEED, ITERATIONS) == PROOF  # the output is a function of seed and difficulty
    assert GENERATOR == b"\x08" + b"\x00" * 99


def test_verify_rejects_wrong_inputs() -> None:
    assert not vdf_verify(b"\x5f" * 32, ITERATIONS, PROOF)
    assert not vdf_verify(SEED, ITERATIONS + 1, PROOF)
    assert not vdf_verify(SEED, ITERATIONS - 1, PROOF)
    assert not vdf_verify(SEED, 0, PROOF)
    assert not vdf_verify(SEED, -5, PROOF)
    assert not vdf_verify(SEED, MAX_ITERATIONS + 1, PROOF)
    assert not vdf_verify(b"", ITERATIONS, PROOF)
    assert not vdf_verify(SEED, ITERATIONS, PROOF.to_bytes()[:-1])
    assert not vdf_verify(SEED, ITERATIONS, VDFProof(PROOF.proof, PROOF.output))
    assert not vdf_verify(SEED, ITERATIONS, VDFProof(bytes(FORM_SIZE), bytes(FORM_SIZE)))
    assert not vdf_verify(SEED, ITERATIONS, VDFProof(b"\xff" * FORM_SIZE, b"\xff" * FORM_SIZE))


def test_single_byte_changes_are_rejected() -> None:
    raw = bytearray(PROOF.to_bytes())
    for index in range(0, PROOF_SIZE, 7):
        changed = bytearray(raw)
        changed[index] ^= 0x01
        assert not vdf_verify(SEED, ITERATIONS, bytes(changed))


def test_serialization() -> None:
    assert VDFProof.from_bytes(PROOF.to_bytes()) == PROOF
    assert len(PROOF.to_bytes()) == PROOF_SIZE == 200
    for size in (0, 199, 201):
        with pytest.raises(CryptoError):
            VDFProof.from_bytes(b"\x00" * size)
    with pytest.raises(CryptoError):
        VDFProof(b"\x00" * 99, b"\x00" * 100)


def test_prove_bounds() -> None:
    with pytest.raises(CryptoError):
        vdf_prove(SEED, 0)
    with pytest.raises(CryptoError):
        vdf_prove(b"", 10)
    with pytest.raises(CryptoError):
        vdf_prove(b"\x00" * 1025, 10)
    with pytest.raises(CryptoError):
        vdf_prove(SEED, True)


def test_iterations_for() -> None:
    assert iterations_for(10, 100_000) == 1_000_000
    assert iterations_for(0.000001, 10) == 1
    assert iterations_for(1e30, 10**9) == MAX_ITERATIONS
    for seconds, rate in ((0, 10), (-1, 10), (float("nan"), 10), (float("inf"), 10), (1, 0)):
        with pytest.raises(CryptoError):
            iterations_for(seconds, rate)


@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=PROOF_SIZE, max_size=PROOF_SIZE))
def test_random_proofs_never_verify_or_raise(data: bytes) -> None:
    assert not vdf_verify(SEED, ITERATIONS, data)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=300))
def test_from_bytes_raises_only_crypto_error(data: bytes) -> None:
    try:
        proof = VDFProof.from_bytes(data)
    except CryptoError:
        return
    assert proof.to_bytes() == data
