"""The randomized batch check of BLS signatures (harmony.crypto.bls.batch_verify, design §5): its scalar
multiplications against secret-key arithmetic, every good batch passing, every wrong term failing it,
including two terms wrong by amounts that cancel in a plain sum."""

from __future__ import annotations

import pytest
from blspy import G2Element, PopSchemeMPL

from harmony.crypto import bls
from harmony.crypto.bls import (
    BATCH_SCALAR_BITS,
    CURVE_ORDER,
    SecretKey,
    Signature,
    aggregate_signatures,
    aggregate_verify,
    batch_scalars,
    batch_verify,
)
from harmony.crypto.keccak import keccak256

KEYS = [SecretKey.key_gen(bytes([i]) * 32) for i in range(1, 4)]
SHAPES = [(12, 3), (40, 2)]
"""(messages, keys) of a batch: one AggregateVerify of random multiples of the keys, and (few keys for
many messages) a pairing per key over the sums of the messages' hashes."""


def _times(key: SecretKey, scalar: int) -> SecretKey:
    """The secret key ``scalar·key``: its public key is ``scalar·pk`` and its signatures ``scalar·σ``."""
    return SecretKey((int.from_bytes(key.data, "big") * scalar % CURVE_ORDER).to_bytes(32, "big"))


def _batch(count: int = 12, keys: int = 3) -> tuple[list[bls.PublicKey], list[bytes], list[Signature]]:
    signers = [KEYS[i % keys] for i in range(count)]
    messages = [keccak256(b"parent %d" % i) for i in range(count)]
    return (
        [k.public_key for k in signers],
        messages,
        [k.sign(m) for k, m in zip(signers, messages, strict=True)],
    )


def test_the_shapes_take_both_paths() -> None:
    assert [bls._grouping_pays(keys, count) for count, keys in SHAPES] == [False, True]


@pytest.mark.parametrize("scalar", [1, 2, 15, 16, 17, 255, 2**32 + 5, 2**BATCH_SCALAR_BITS - 1])
def test_a_key_times_a_scalar_is_the_key_of_the_secret_times_it(scalar: int) -> None:
    key = KEYS[0]
    assert bytes(bls._mul_key(key.public_key, scalar)) == _times(key, scalar).public_key.to_bytes()


@pytest.mark.parametrize("count", [1, 2, 7, 40])
def test_a_sum_of_multiples_of_signatures_is_the_signature_of_the_summed_secrets(count: int) -> None:
    scalars = batch_scalars(count, seed=b"multi-mul %d" % count)
    signers = [KEYS[i % len(KEYS)] for i in range(count)]
    messages = [keccak256(b"m%d" % i) for i in range(count)]
    got = bls._multi_mul([k.sign(m)._point for k, m in zip(signers, messages, strict=True)], scalars)
    want = aggregate_signatures(
        [_times(k, r).sign(m) for k, m, r in zip(signers, messages, scalars, strict=True)]
    )
    assert bytes(got) == want.to_bytes()


@pytest.mark.parametrize("shape", SHAPES)
def test_a_batch_of_good_signatures_passes_with_repeated_keys_and_messages(shape: tuple[int, int]) -> None:
    keys, messages, signatures = _batch(*shape)
    assert batch_verify(keys, messages, signatures)
    assert batch_verify(keys + keys[:2], messages + messages[:2], signatures + signatures[:2])
    assert batch_verify(keys[:1], messages[:1], signatures[:1])


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("position", [0, 5, 11])
@pytest.mark.parametrize("fault", ["other key", "other message", "another signature"])
def test_one_wrong_term_anywhere_fails_the_batch(shape: tuple[int, int], position: int, fault: str) -> None:
    keys, messages, signatures = _batch(*shape)
    if fault == "other key":
        keys[position] = SecretKey.key_gen(b"\x77" * 32).public_key
    elif fault == "other message":
        messages[position] = keccak256(b"not what was signed")
    else:
        signatures[position] = signatures[(position + 1) % len(signatures)]
    assert not batch_verify(keys, messages, signatures)
    assert [i for i in range(len(keys)) if not bls.verify(keys[i], messages[i], signatures[i])] == [position]


@pytest.mark.parametrize("shape", SHAPES)
def test_two_terms_wrong_by_opposite_amounts_pass_a_plain_sum_but_not_the_batch(
    shape: tuple[int, int],
) -> None:
    keys, messages, signatures = _batch(*shape)
    delta = KEYS[0].sign(b"delta")._point
    signatures[2] = Signature.from_bytes(bytes(signatures[2]._point + delta))
    signatures[9] = Signature.from_bytes(bytes(signatures[9]._point + delta.negate()))
    assert aggregate_verify(keys, messages, aggregate_signatures(signatures))  # the sum hides them
    assert not batch_verify(keys, messages, signatures)


@pytest.mark.parametrize("shape", SHAPES)
def test_the_identity_signature_does_not_pass(shape: tuple[int, int]) -> None:
    keys, messages, signatures = _batch(*shape)
    signatures[4] = Signature.from_bytes(bytes(G2Element()))
    assert not batch_verify(keys, messages, signatures)


@pytest.mark.parametrize("shape", SHAPES)
def test_an_empty_or_mismatched_batch_is_false(shape: tuple[int, int]) -> None:
    keys, messages, signatures = _batch(*shape)
    assert not batch_verify([], [], [])
    assert not batch_verify(keys, messages[:-1], signatures)
    assert not batch_verify(keys, messages, signatures[:-1])


def test_the_coefficients_are_non_zero_64_bit_and_secret_by_default() -> None:
    scalars = batch_scalars(50, seed=b"seed")
    assert scalars == batch_scalars(50, seed=b"seed")
    assert all(0 < r < 2**BATCH_SCALAR_BITS for r in scalars) and len(set(scalars)) == 50
    assert batch_scalars(50, seed=b"seed 2") != scalars
    assert batch_scalars(50) != batch_scalars(50)


# --- AggregateVerify with a pairing per key (the sync's commits: the same signers block after block) -----


@pytest.mark.parametrize("shape", SHAPES)
def test_aggregate_verify_by_key_gives_blspy_s_verdicts(shape: tuple[int, int]) -> None:
    keys, messages, signatures = _batch(*shape)

    def both(k: list[bls.PublicKey], m: list[bytes], s: Signature) -> bool:
        ours = aggregate_verify(k, m, s)
        theirs = bool(
            PopSchemeMPL.aggregate_verify([x._point for x in k], m, s._point)  # blspy's own, term by term
        )
        assert ours == theirs
        return ours

    total = aggregate_signatures(signatures)
    assert both(keys, messages, total)
    assert not both(keys, [*messages[:-1], b"other"], total)
    assert not both(keys[1:] + keys[:1], messages, total)
    assert not both(keys, messages, aggregate_signatures(signatures[:-1]))
    assert not both(keys, messages, Signature.from_bytes(bytes(G2Element())))
    assert not aggregate_verify(keys, messages[:-1], total) and not aggregate_verify([], [], total)
