"""secp256k1 account keys (harmony.crypto.secp256k1): signing, recovery, EIP-2 bounds, hostile signatures."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc.secp256k1 import secp256k1 as reference

from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import (
    HALF_N,
    N,
    PrivateKey,
    Signature,
    public_key_to_address,
    recover_address,
    recover_public_key,
    validate_signature,
)
from harmony.errors import CryptoError, SignatureError

KEY = PrivateKey(keccak256(b"cow"))
HASH = keccak256(b"message")


def test_sign_and_recover() -> None:
    sig = KEY.sign_hash(HASH)
    assert sig.s <= HALF_N and sig.recid in (0, 1)
    assert recover_address(HASH, sig) == KEY.address
    assert recover_public_key(HASH, sig) == KEY.public_key
    assert KEY.sign_hash(HASH) == sig  # RFC 6979: deterministic
    assert Signature.from_bytes(sig.to_bytes()) == sig
    assert recover_address(keccak256(b"other"), sig) != KEY.address


@pytest.mark.parametrize("seed", [b"cow", b"horse", b"harmony"])
def test_matches_independent_implementation(seed: bytes) -> None:
    """py_ecc (pure Python) gives the same public key and the same RFC 6979 signature, up to low s."""
    secret = keccak256(seed)
    key = PrivateKey(secret)
    x, y = reference.privtopub(secret)
    assert key.public_key == x.to_bytes(32, "big") + y.to_bytes(32, "big")
    v, r, s = reference.ecdsa_raw_sign(HASH, secret)
    ours = key.sign_hash(HASH)
    assert ours.r == r
    assert ours.s == min(s, N - s)
    assert ours.recid == (v - 27 if s <= HALF_N else 1 - (v - 27))


def test_high_s_is_rejected_unless_allowed() -> None:
    sig = KEY.sign_hash(HASH)
    high = Signature(1 - sig.recid, sig.r, N - sig.s)
    with pytest.raises(SignatureError, match="upper half"):
        validate_signature(high)
    with pytest.raises(SignatureError):
        recover_address(HASH, high)
    with pytest.raises(SignatureError):
        Signature.from_bytes(high.to_bytes())
    assert recover_address(HASH, high, allow_high_s=True) == KEY.address


def test_v_27_28_accepted() -> None:
    sig = KEY.sign_hash(HASH)
    raw = sig.to_bytes()
    assert Signature.from_bytes(raw[:64] + bytes([27 + sig.recid])) == sig


@pytest.mark.parametrize(
    "sig",
    [
        Signature(0, 0, 1),
        Signature(0, 1, 0),
        Signature(0, N, 1),
        Signature(0, 1, N),
        Signature(2, 1, 1),
        Signature(-1, 1, 1),
        Signature(0, 1, HALF_N + 1),
    ],
    ids=["r=0", "s=0", "r=n", "s=n", "recid=2", "recid=-1", "high-s"],
)
def test_out_of_range_signatures(sig: Signature) -> None:
    with pytest.raises(SignatureError):
        validate_signature(sig)
    with pytest.raises(SignatureError):
        recover_address(HASH, sig)


@pytest.mark.parametrize("size", [0, 64, 66])
def test_signature_wrong_length(size: int) -> None:
    with pytest.raises(SignatureError):
        Signature.from_bytes(b"\x01" * size)


def test_bad_hash_length() -> None:
    with pytest.raises(CryptoError):
        KEY.sign_hash(b"\x00" * 31)
    with pytest.raises(SignatureError):
        recover_address(b"\x00" * 33, KEY.sign_hash(HASH))


@pytest.mark.parametrize(
    "secret", [b"", b"\x00" * 32, N.to_bytes(32, "big"), b"\xff" * 32, b"\x01" * 33], ids=str
)
def test_bad_private_keys(secret: bytes) -> None:
    with pytest.raises(CryptoError):
        PrivateKey(secret)


def test_private_key_helpers() -> None:
    assert PrivateKey.from_hex("0x" + KEY.secret.hex()).address == KEY.address
    with pytest.raises(CryptoError):
        PrivateKey.from_hex("0xzz")
    assert PrivateKey.generate().address != KEY.address
    assert KEY.secret.hex() not in repr(KEY)
    with pytest.raises(CryptoError):
        public_key_to_address(b"\x00" * 65)


def test_x_not_on_curve_cannot_recover() -> None:
    # r = 5: x = 5 has no point on y^2 = x^3 + 7, so nothing recovers.
    with pytest.raises(SignatureError):
        recover_address(HASH, Signature(0, 5, 1))


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=65, max_size=65), st.binary(min_size=32, max_size=32))
def test_random_signatures_raise_only_signature_error(raw: bytes, msg_hash: bytes) -> None:
    try:
        sig = Signature.from_bytes(raw)
        address = recover_address(msg_hash, sig)
    except SignatureError:
        return
    assert len(address) == 20


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=32, max_size=32).filter(lambda b: 0 < int.from_bytes(b, "big") < N), st.binary())
def test_sign_recover_round_trip(secret: bytes, message: bytes) -> None:
    key = PrivateKey(secret)
    digest = keccak256(message)
    assert recover_address(digest, key.sign_hash(digest)) == key.address
