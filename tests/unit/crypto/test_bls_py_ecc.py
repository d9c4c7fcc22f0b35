"""Cross-check of blspy (behind harmony.crypto.bls) against py_ecc's independent IETF POP implementation.

py_ecc is pure Python and takes about a second per pairing, so this runs a handful of vectors only.
"""

from __future__ import annotations

from typing import Any

import pytest
from py_ecc.bls.ciphersuites import G2ProofOfPossession

from harmony.crypto.bls import (
    CURVE_ORDER,
    PublicKey,
    SecretKey,
    Signature,
    aggregate_signatures,
    aggregate_verify,
    fast_aggregate_verify,
    sign_pop,
    verify,
    verify_pop,
)
from harmony.crypto.keccak import keccak256
from harmony.errors import CryptoError

SECRETS = [
    (1).to_bytes(32, "big"),
    (int.from_bytes(keccak256(b"harmony validator"), "big") % CURVE_ORDER).to_bytes(32, "big"),
    bytes.fromhex("263dbd792f5b1be47ed85f8938c0f29586af0d3ac7b977f21c278fe1462040e3"),
]
Reference: Any = G2ProofOfPossession  # py_ecc types its bytes as NewTypes
MESSAGES = [b"", keccak256(b"block"), b"commit payload" * 3]


@pytest.mark.parametrize("index", range(3), ids=["one", "keccak", "eip2333"])
def test_keys_signatures_and_proofs_are_byte_identical(index: int) -> None:
    secret = SECRETS[index]
    sk = SecretKey.from_bytes(secret)
    scalar = int.from_bytes(secret, "big")
    assert Reference.SkToPk(scalar) == sk.public_key.to_bytes()
    assert Reference.Sign(scalar, MESSAGES[index]) == sk.sign(MESSAGES[index]).to_bytes()
    assert Reference.PopProve(scalar) == sign_pop(sk).to_bytes()
    assert Reference.KeyValidate(sk.public_key.to_bytes())


def test_each_verifies_the_others_signature() -> None:
    sk = SecretKey.from_bytes(SECRETS[1])
    scalar = int.from_bytes(SECRETS[1], "big")
    ours = sk.sign(MESSAGES[1])
    theirs = Signature.from_bytes(Reference.Sign(scalar, MESSAGES[1]))
    assert verify(sk.public_key, MESSAGES[1], theirs)
    assert Reference.Verify(sk.public_key.to_bytes(), MESSAGES[1], ours.to_bytes())
    assert Reference.PopVerify(sk.public_key.to_bytes(), sign_pop(sk).to_bytes())
    assert verify_pop(sk.public_key, Signature.from_bytes(Reference.PopProve(scalar)))


def test_aggregates_agree() -> None:
    sks = [SecretKey.from_bytes(s) for s in SECRETS]
    scalars = [int.from_bytes(s, "big") for s in SECRETS]
    pks = [sk.public_key for sk in sks]
    message = MESSAGES[1]
    ours = aggregate_signatures([sk.sign(message) for sk in sks])
    theirs = Reference.Aggregate([Reference.Sign(x, message) for x in scalars])
    assert ours.to_bytes() == theirs
    assert fast_aggregate_verify(pks, message, ours)
    assert Reference.FastAggregateVerify([pk.to_bytes() for pk in pks], message, theirs)

    distinct = aggregate_signatures([sk.sign(m) for sk, m in zip(sks, MESSAGES, strict=True)])
    assert aggregate_verify(pks, MESSAGES, distinct)
    assert Reference.AggregateVerify([pk.to_bytes() for pk in pks], MESSAGES, distinct.to_bytes())


def test_both_refuse_the_identity_public_key() -> None:
    identity = bytes([0xC0]) + bytes(47)
    assert not Reference.KeyValidate(identity)
    with pytest.raises(CryptoError, match="identity"):
        PublicKey.from_bytes(identity)
