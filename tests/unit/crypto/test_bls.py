"""BLS keys and signatures (harmony.crypto.bls): round trips, aggregation, proofs of possession, bad input."""

from __future__ import annotations

import contextlib
import pickle

import pytest
from blspy import G1Element, G2Element
from hypothesis import given, settings
from hypothesis import strategies as st

from harmony.crypto import bls
from harmony.crypto.bls import (
    CURVE_ORDER,
    POP_MESSAGE,
    PublicKey,
    SecretKey,
    Signature,
    aggregate_public_keys,
    aggregate_signatures,
    aggregate_verify,
    bls_key_address,
    fast_aggregate_verify,
    sign_pop,
    verify,
    verify_pop,
)
from harmony.crypto.keccak import keccak256, sha256
from harmony.errors import CryptoError, HarmonyError

KEYS = [SecretKey.key_gen(bytes([i]) * 32) for i in range(1, 9)]
MSG = keccak256(b"block hash")

P = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB


def _g1_point_off_subgroup() -> bytes:
    """A compressed point on y^2 = x^3 + 4 over Fp that is not in the prime-order subgroup."""
    x = 1
    while True:
        rhs = (pow(x, 3, P) + 4) % P
        y = pow(rhs, (P + 1) // 4, P)
        if y * y % P == rhs:
            flags = 0x80 | (0x20 if y > (P - 1) // 2 else 0)
            data = bytearray(x.to_bytes(48, "big"))
            data[0] |= flags
            return bytes(data)
        x += 1


def _g1_x_off_curve() -> bytes:
    x = 1
    while True:
        rhs = (pow(x, 3, P) + 4) % P
        if pow(rhs, (P - 1) // 2, P) != 1 and rhs:
            data = bytearray(x.to_bytes(48, "big"))
            data[0] |= 0x80
            return bytes(data)
        x += 1


def test_sign_and_verify() -> None:
    sk = KEYS[0]
    sig = sk.sign(MSG)
    assert len(sig.to_bytes()) == 96 and len(sk.public_key.to_bytes()) == 48
    assert verify(sk.public_key, MSG, sig)
    assert not verify(sk.public_key, MSG + b"x", sig)
    assert not verify(KEYS[1].public_key, MSG, sig)
    assert sk.sign(MSG) == sig  # BLS signatures are deterministic


def test_round_trips_and_value_semantics() -> None:
    sk = KEYS[2]
    pk = sk.public_key
    sig = sk.sign(b"")
    assert PublicKey.from_bytes(pk.to_bytes()) == pk
    assert hash(PublicKey.from_bytes(pk.to_bytes())) == hash(pk)
    assert PublicKey.from_hex("0x" + pk.hex()) == pk
    assert Signature.from_bytes(sig.to_bytes()) == sig
    assert Signature.from_hex(sig.hex()) == sig
    assert SecretKey.from_bytes(sk.to_bytes()) == sk
    assert SecretKey.from_hex(sk.to_bytes().hex()).public_key == pk
    for value in (sk, pk, sig):
        assert pickle.loads(pickle.dumps(value)) == value
    assert verify(pickle.loads(pickle.dumps(pk)), b"", pickle.loads(pickle.dumps(sig)))
    assert sk.to_bytes().hex() not in repr(sk)
    assert len({pk, PublicKey(pk.to_bytes())}) == 1


def test_generate_and_key_gen() -> None:
    a, b = SecretKey.generate(), SecretKey.generate()
    assert a != b
    assert SecretKey.key_gen(b"\x01" * 32) == SecretKey.from_seed(b"\x01" * 32)
    with pytest.raises(CryptoError):
        SecretKey.key_gen(b"short")


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00" * 31, b"\x00" * 33, b"\x00" * 32, CURVE_ORDER.to_bytes(32, "big"), b"\xff" * 32],
    ids=["empty", "short", "long", "zero", "order", "max"],
)
def test_bad_secret_keys(data: bytes) -> None:
    with pytest.raises(CryptoError):
        SecretKey.from_bytes(data)


def test_secret_key_edges() -> None:
    assert SecretKey.from_bytes((1).to_bytes(32, "big")).public_key.to_bytes() == bytes(G1Element.generator())
    SecretKey.from_bytes((CURVE_ORDER - 1).to_bytes(32, "big"))
    with pytest.raises(CryptoError):
        SecretKey.from_hex("zz")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 47,
        b"\x00" * 49,
        bytes([0xC0]) + b"\x00" * 47,  # the identity point: refused as a public key
        bytes([0xC0]) + b"\x00" * 46 + b"\x01",  # non-canonical infinity
        bytes([0xE0]) + b"\x00" * 47,  # infinity with the sign bit
        b"\x00" * 48,  # compression bit missing
        b"\xff" * 48,
        bytes([0x9A]) + b"\xff" * 47,  # x >= p
    ],
    ids=[
        "empty",
        "short",
        "long",
        "identity",
        "bad-infinity",
        "signed-infinity",
        "uncompressed",
        "all-ones",
        "x-too-big",
    ],
)
def test_bad_public_keys(data: bytes) -> None:
    with pytest.raises(CryptoError):
        PublicKey.from_bytes(data)


def test_public_key_not_on_curve_or_off_subgroup() -> None:
    with pytest.raises(CryptoError):
        PublicKey.from_bytes(_g1_x_off_curve())
    with pytest.raises(CryptoError):
        PublicKey.from_bytes(_g1_point_off_subgroup())
    with pytest.raises(CryptoError):
        PublicKey.from_hex("0xnothex")


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00" * 95, b"\x00" * 97, b"\x00" * 96, b"\xff" * 96, bytes([0xC0]) + b"\x00" * 94 + b"\x01"],
    ids=["empty", "short", "long", "uncompressed", "all-ones", "bad-infinity"],
)
def test_bad_signatures(data: bytes) -> None:
    with pytest.raises(CryptoError):
        Signature.from_bytes(data)


def test_identity_signature_parses_but_never_verifies() -> None:
    identity = Signature.from_bytes(bytes(G2Element()))
    assert not verify(KEYS[0].public_key, MSG, identity)
    assert not fast_aggregate_verify([KEYS[0].public_key], MSG, identity)


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=48, max_size=48))
def test_random_public_key_bytes_raise_only_crypto_error(data: bytes) -> None:
    try:
        pk = PublicKey.from_bytes(data)
    except CryptoError:
        return
    assert pk.to_bytes() == data


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=96, max_size=96), st.sampled_from([0x80, 0xA0, 0xC0, 0xE0, 0x00]))
def test_random_signature_bytes_raise_only_crypto_error(data: bytes, flags: int) -> None:
    data = bytes([flags | (data[0] & 0x1F)]) + data[1:]
    try:
        sig = Signature.from_bytes(data)
    except CryptoError:
        return
    assert not verify(KEYS[0].public_key, MSG, sig)


@settings(max_examples=20, deadline=None)
@given(st.binary(max_size=64))
def test_any_length_bytes_raise_harmony_errors(data: bytes) -> None:
    for parse in (PublicKey.from_bytes, Signature.from_bytes, SecretKey.from_bytes):
        with contextlib.suppress(HarmonyError):
            parse(data)


def test_aggregation() -> None:
    pks = [k.public_key for k in KEYS]
    sigs = [k.sign(MSG) for k in KEYS]
    agg = aggregate_signatures(sigs)
    assert fast_aggregate_verify(pks, MSG, agg)
    assert verify(aggregate_public_keys(pks), MSG, agg)
    assert not fast_aggregate_verify(pks[:-1], MSG, agg)
    assert not fast_aggregate_verify(pks, MSG + b"!", agg)
    assert not fast_aggregate_verify([], MSG, agg)
    assert aggregate_signatures(sigs[:1]) == sigs[0]
    assert aggregate_public_keys(pks[:1]) == pks[0]


def test_aggregate_verify_distinct_messages() -> None:
    msgs = [bytes([i]) * 32 for i in range(len(KEYS))]
    pks = [k.public_key for k in KEYS]
    agg = aggregate_signatures([k.sign(m) for k, m in zip(KEYS, msgs, strict=True)])
    assert aggregate_verify(pks, msgs, agg)
    assert not aggregate_verify(pks, list(reversed(msgs)), agg)
    assert not aggregate_verify(pks, msgs[:-1], agg)
    assert not aggregate_verify([], [], Signature.from_bytes(bytes(G2Element())))


def test_empty_aggregates_are_refused() -> None:
    with pytest.raises(CryptoError):
        aggregate_signatures([])
    with pytest.raises(CryptoError):
        aggregate_public_keys([])


def test_keys_summing_to_identity_are_refused() -> None:
    pk = KEYS[0].public_key
    negated = PublicKey.from_bytes(bytes(G1Element.from_bytes(pk.to_bytes()).negate()))
    with pytest.raises(CryptoError):
        aggregate_public_keys([pk, negated])


def test_proof_of_possession() -> None:
    sk = KEYS[3]
    proof = sign_pop(sk)
    assert verify_pop(sk.public_key, proof)
    assert not verify_pop(KEYS[4].public_key, proof)
    # A proof is not a signature over the key or over Harmony's fixed message, and vice versa.
    assert not verify(sk.public_key, sk.public_key.to_bytes(), proof)
    assert not verify_pop(sk.public_key, sk.sign(sk.public_key.to_bytes()))
    assert not verify_pop(sk.public_key, sk.sign(POP_MESSAGE))


def test_rogue_key_cannot_forge_a_proof() -> None:
    """A fixed-message proof (Harmony's keccak256("harmony-one")) is forgeable by a rogue key; ours is not."""
    victim = KEYS[5]
    victim_fixed_proof = victim.sign(POP_MESSAGE)  # public once the victim registers
    attacker = KEYS[6]
    rogue_point = (
        G1Element.from_bytes(attacker.public_key.to_bytes())
        + G1Element.from_bytes(victim.public_key.to_bytes()).negate()
    )
    rogue = PublicKey.from_bytes(bytes(rogue_point))
    forged_point = (
        G2Element.from_bytes(attacker.sign(POP_MESSAGE).to_bytes())
        + G2Element.from_bytes(victim_fixed_proof.to_bytes()).negate()
    )
    forged = Signature.from_bytes(bytes(forged_point))
    assert verify(rogue, POP_MESSAGE, forged)  # the fixed-message scheme accepts the rogue key
    assert not verify_pop(rogue, forged)
    forged_pop_point = (
        G2Element.from_bytes(sign_pop(attacker).to_bytes())
        + G2Element.from_bytes(sign_pop(victim).to_bytes()).negate()
    )
    assert not verify_pop(rogue, Signature.from_bytes(bytes(forged_pop_point)))


def test_bls_key_address() -> None:
    pk = KEYS[7].public_key
    assert bls_key_address(pk) == sha256(pk.to_bytes())[:20]
    assert len(bls_key_address(pk)) == 20


def test_module_exports_sizes() -> None:
    assert (bls.SECRET_KEY_SIZE, bls.PUBLIC_KEY_SIZE, bls.SIGNATURE_SIZE) == (32, 48, 96)
    assert keccak256(b"harmony-one") == POP_MESSAGE
