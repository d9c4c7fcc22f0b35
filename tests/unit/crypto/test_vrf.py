"""The BLS-based VRF (harmony.crypto.vrf, design §7, reference §2.1): prove, verify, header layout."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto.bls import SecretKey, verify
from harmony.crypto.keccak import keccak256, sha256
from harmony.crypto.vrf import VRF_SIZE, decode_vrf, encode_vrf, vrf_prove, vrf_verify
from harmony.errors import CryptoError

LEADER = SecretKey.key_gen(b"\x11" * 32)
OTHER = SecretKey.key_gen(b"\x22" * 32)
PARENT = keccak256(b"parent block")


def test_prove_and_verify() -> None:
    beta, pi = vrf_prove(LEADER, PARENT)
    assert len(beta) == 32 and len(pi) == 96
    assert beta == sha256(pi)
    assert vrf_verify(LEADER.public_key, PARENT, beta, pi)
    assert vrf_prove(LEADER, PARENT) == (beta, pi)  # unique: the leader cannot choose
    assert verify(LEADER.public_key, PARENT, LEADER.sign(PARENT))
    assert pi == LEADER.sign(PARENT).to_bytes()


def test_verify_rejects_wrong_inputs() -> None:
    beta, pi = vrf_prove(LEADER, PARENT)
    other_beta, other_pi = vrf_prove(OTHER, PARENT)
    assert not vrf_verify(OTHER.public_key, PARENT, beta, pi)
    assert not vrf_verify(LEADER.public_key, keccak256(b"other"), beta, pi)
    assert not vrf_verify(LEADER.public_key, PARENT, other_beta, pi)
    assert not vrf_verify(LEADER.public_key, PARENT, beta, other_pi)
    assert not vrf_verify(LEADER.public_key, PARENT, bytes(32), pi)
    assert not vrf_verify(LEADER.public_key, PARENT[:31], beta, pi)
    assert not vrf_verify(LEADER.public_key, PARENT, beta, pi[:95])
    assert not vrf_verify(LEADER.public_key, PARENT, beta + b"\x00", pi)
    garbage = b"\xff" * 96
    assert not vrf_verify(LEADER.public_key, PARENT, sha256(garbage), garbage)


def test_prove_needs_a_32_byte_hash() -> None:
    with pytest.raises(CryptoError):
        vrf_prove(LEADER, b"\x00" * 31)


def test_header_field_layout() -> None:
    beta, pi = vrf_prove(LEADER, PARENT)
    field = encode_vrf(beta, pi)
    assert len(field) == VRF_SIZE == 128
    assert field[:32] == beta and field[32:] == pi
    assert decode_vrf(field) == (beta, pi)
    with pytest.raises(CryptoError):
        encode_vrf(beta[:31], pi)
    with pytest.raises(CryptoError):
        encode_vrf(beta, pi + b"\x00")


@pytest.mark.parametrize("size", [0, 32, 127, 129, 256])
def test_decode_wrong_length(size: int) -> None:
    with pytest.raises(CryptoError):
        decode_vrf(b"\x00" * size)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=96, max_size=96))
def test_random_proofs_never_verify_or_raise(pi: bytes) -> None:
    assert not vrf_verify(LEADER.public_key, PARENT, sha256(pi), pi)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_decode_random_bytes(data: bytes) -> None:
    try:
        beta, pi = decode_vrf(data)
    except CryptoError:
        return
    assert encode_vrf(beta, pi) == data
