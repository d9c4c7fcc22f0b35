"""Attestations of the country fences: Attest and Revoke on the beacon chain (issue 21)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harmony.chain.fences import Fence, Fences
from harmony.chain.params import LOCALNET, ONE
from harmony.chain.staking.attestations import (
    Attestation,
    attestations_of,
    is_attested,
    read_attestation,
)
from harmony.chain.staking.transactions import StakingContext, apply_staking_message
from harmony.chain.transition import TransitionContext, apply_staking_transaction
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding import rlp
from harmony.errors import InvalidTransaction, RLPError
from harmony.state.statedb import StateDB
from harmony.types.header import Header
from harmony.types.staking import (
    ATTESTOR_SIGNATURE_LENGTH,
    Attest,
    Directive,
    Revoke,
    StakingTransaction,
    acting_account,
    attestation_digest,
    check_signer,
)
from tests.unit.chain.staking.test_transactions import V1, V2, assert_refused, with_validators
from tests.unit.chain.support import KEYS, PRICE

ATTESTOR = PrivateKey(b"\x21" * 32)
SECOND = PrivateKey(b"\x22" * 32)
OUTSIDER = PrivateKey(b"\x23" * 32)
FENCES = Fences(
    (
        Fence("EU", (ATTESTOR.address, SECOND.address), max_attestation_epochs=10),
        Fence("CH", (SECOND.address,)),
    ),
    (None, "EU", "CH"),
)
PARAMS = replace(LOCALNET, shard_count=3)
CHAIN_ID = PARAMS.chain_id
CTX = StakingContext(PARAMS, epoch=3, block_number=100, fences=FENCES)


def attest(
    key: PrivateKey = ATTESTOR,
    validator: bytes = V1,
    jurisdiction: str = "EU",
    expiry: int = 8,
    serial: int = 1,
) -> Attest:
    return Attest.signed(
        key,
        CHAIN_ID,
        validator_address=validator,
        jurisdiction=jurisdiction,
        expiry_epoch=expiry,
        serial=serial,
    )


def attested() -> StateDB:
    """Validators V1 and V2; V1 attested for EU until epoch 8 by :data:`ATTESTOR`."""
    state = with_validators()
    assert apply_staking_message(state, attest(), CTX) == 0
    return state


def test_an_attestation_is_recorded_live_until_its_expiry() -> None:
    state = attested()
    assert read_attestation(state, V1, "EU") == Attestation(V1, "EU", ATTESTOR.address, 8)
    assert is_attested(state, V1, "EU", 3) and is_attested(state, V1, "EU", 7)
    assert not is_attested(state, V1, "EU", 8)
    assert not is_attested(state, V1, "CH", 3) and not is_attested(state, V2, "EU", 3)
    assert attestations_of(state, V1, FENCES) == (Attestation(V1, "EU", ATTESTOR.address, 8),)
    assert attestations_of(state, V2, FENCES) == ()


def test_renewal_replaces_and_another_jurisdiction_adds() -> None:
    state = attested()
    apply_staking_message(state, attest(SECOND, expiry=13, serial=2), CTX)
    apply_staking_message(state, attest(SECOND, jurisdiction="CH", expiry=20), CTX)
    assert attestations_of(state, V1, FENCES) == (
        Attestation(V1, "EU", SECOND.address, 13),
        Attestation(V1, "CH", SECOND.address, 20),
    )


def test_revoke_by_any_attestor_of_the_jurisdiction_ends_it() -> None:
    state = attested()
    assert apply_staking_message(state, Revoke(SECOND.address, V1, "EU"), CTX) == 0
    assert read_attestation(state, V1, "EU") is None and not is_attested(state, V1, "EU", 3)


@pytest.mark.parametrize(
    ("reason", "msg"),
    [
        ("not_attestor", attest(OUTSIDER)),  # a key the genesis does not list: a forgery
        ("not_attestor", replace(attest(), expiry_epoch=9)),  # altered after signing
        ("not_attestor", replace(attest(), validator_address=V2)),  # moved to another validator
        ("not_attestor", attest(ATTESTOR, jurisdiction="CH")),  # an attestor of EU only
        (
            "not_attestor",
            Attest.signed(
                ATTESTOR, CHAIN_ID + 1, validator_address=V1, jurisdiction="EU", expiry_epoch=8, serial=1
            ),
        ),  # another network's
        (
            "attestor_signature_invalid",
            replace(attest(), attestor_signature=b"\x00" * ATTESTOR_SIGNATURE_LENGTH),
        ),
        (
            "attestor_signature_invalid",
            replace(attest(), attestor_signature=b"\xff" * ATTESTOR_SIGNATURE_LENGTH),
        ),
        ("unknown_jurisdiction", attest(jurisdiction="US")),
        ("unknown_jurisdiction", attest(jurisdiction="eu")),
        ("not_a_validator", attest(validator=KEYS[5].address)),
        ("attestation_expired", attest(expiry=3)),
        ("attestation_expired", attest(expiry=0)),
        ("expiry_too_far", attest(expiry=14)),
        ("expiry_too_far", attest(expiry=2**64 - 1)),
        ("not_attestor", Revoke(OUTSIDER.address, V1, "EU")),
        ("not_attestor", Revoke(ATTESTOR.address, V1, "CH")),
        ("unknown_jurisdiction", Revoke(ATTESTOR.address, V1, "XX")),
        ("not_attested", Revoke(ATTESTOR.address, V2, "EU")),
    ],
)
def test_bad_attestations_are_refused_and_change_nothing(reason: str, msg: Attest | Revoke) -> None:
    assert_refused(attested(), msg, reason, CTX)


def test_a_replayed_attestation_is_refused_even_after_revocation() -> None:
    state = attested()
    assert_refused(state, attest(), "attestation_replayed", CTX)
    apply_staking_message(state, Revoke(ATTESTOR.address, V1, "EU"), CTX)
    assert_refused(state, attest(), "attestation_replayed", CTX)
    apply_staking_message(state, attest(serial=2), CTX)  # the attestor signs anew
    assert is_attested(state, V1, "EU", 3)


def test_an_expired_attestation_cannot_be_revoked_or_used() -> None:
    state = attested()
    later = replace(CTX, epoch=8)
    assert_refused(state, Revoke(ATTESTOR.address, V1, "EU"), "not_attested", later)
    assert_refused(state, attest(expiry=8, serial=5), "attestation_expired", later)


def test_a_network_without_fences_refuses_every_attestation() -> None:
    state = attested()
    unfenced = replace(CTX, fences=Fences())
    assert_refused(state, attest(serial=9), "unfenced", unfenced)
    assert_refused(state, Revoke(ATTESTOR.address, V1, "EU"), "unfenced", unfenced)


# -- the signed envelope --------------------------------------------------------------------------------


def _stx(key: PrivateKey, nonce: int, msg: Attest | Revoke) -> StakingTransaction:
    return StakingTransaction(msg, nonce, PRICE, 100_000).sign(key, CHAIN_ID)


def test_encoding_round_trips_and_names_the_signer() -> None:
    for msg in (attest(), Revoke(ATTESTOR.address, V1, "EU")):
        stx = _stx(KEYS[0], 0, msg)
        again = StakingTransaction.decode(stx.encode())
        assert again == stx and again.msg == msg
        assert again.directive is (Directive.ATTEST if isinstance(msg, Attest) else Directive.REVOKE)
    assert acting_account(attest()) == V1
    assert acting_account(Revoke(ATTESTOR.address, V1, "EU")) == ATTESTOR.address
    assert attest().digest(CHAIN_ID) == attestation_digest(CHAIN_ID, V1, "EU", 8, 1)
    assert attestation_digest(CHAIN_ID, V1, "EU", 8, 1) != attestation_digest(CHAIN_ID, V1, "EU", 8, 2)


def test_the_validator_sends_its_attestation_and_the_attestor_its_revocation() -> None:
    validator = KEYS[0]
    assert check_signer(_stx(validator, 0, attest()), CHAIN_ID) == V1
    with pytest.raises(InvalidTransaction, match="not the transaction's signer"):
        check_signer(_stx(ATTESTOR, 0, attest()), CHAIN_ID)  # the attestor cannot attest without consent
    assert check_signer(_stx(ATTESTOR, 0, Revoke(ATTESTOR.address, V1, "EU")), CHAIN_ID) == ATTESTOR.address
    with pytest.raises(InvalidTransaction, match="not the transaction's signer"):
        check_signer(_stx(validator, 0, Revoke(ATTESTOR.address, V1, "EU")), CHAIN_ID)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.replace(b"EU", b"EUROPEANUNIONXXXX"),  # a jurisdiction beyond 16 bytes
        lambda b: b[:-3],  # truncated
        lambda b: b + b"\x00",  # trailing byte
    ],
)
def test_malformed_attestations_do_not_decode(mutate: object) -> None:
    encoded = _stx(KEYS[0], 0, attest()).encode()
    assert callable(mutate)
    with pytest.raises(RLPError):
        StakingTransaction.decode(mutate(encoded))


def test_a_short_attestor_signature_does_not_decode() -> None:
    item = _stx(KEYS[0], 0, attest()).to_rlp()
    assert isinstance(item, list) and isinstance(item[1], list)
    item[1][4] = b"\x01" * 64
    with pytest.raises(RLPError, match="attestor_signature"):
        StakingTransaction.decode(rlp.encode(item))


def test_applied_through_the_beacon_chain_transition() -> None:
    """The whole staking path: signature, nonce and fee, then the attestation; a refusal charges nothing."""
    state = with_validators()
    header = Header(number=1, time=1_002, gas_limit=PARAMS.gas_limit(0), shard_id=0, epoch=3)
    ctx = replace(TransitionContext.for_header(PARAMS, header), fences=FENCES)
    before = state.state_root()
    with pytest.raises(InvalidTransaction) as info:
        apply_staking_transaction(state, _stx(KEYS[0], state.get_nonce(V1), attest(OUTSIDER)), ctx)
    assert getattr(info.value, "reason", None) == "not_attestor"
    assert state.state_root() == before
    outcome = apply_staking_transaction(state, _stx(KEYS[0], state.get_nonce(V1), attest()), ctx)
    assert outcome.sender == V1 and is_attested(state, V1, "EU", 3)
    balance = state.get_balance(ATTESTOR.address)
    state.set_balance(ATTESTOR.address, balance + ONE)  # the attestor pays its revocation's fee
    apply_staking_transaction(state, _stx(ATTESTOR, 0, Revoke(ATTESTOR.address, V1, "EU")), ctx)
    assert not is_attested(state, V1, "EU", 3)
