"""Attestations: which validators an attestor vouches for inside a country fence (issue 21).

The design and threat model are ``docs/design/fenced-shards.md``; the messages are
:class:`~harmony.types.staking.Attest` (directive 5) and :class:`~harmony.types.staking.Revoke` (directive 6),
checked and applied on the beacon chain like the other staking messages (the caller has checked the
envelope's signature, nonce and gas; the envelope's signer is the validator for Attest, the attestor for
Revoke).

Rules, each refusal a :class:`~harmony.chain.staking.errors.StakingError` with the state unchanged:

* **Attest**: the network fences some shard (``unfenced``); the jurisdiction is one of the genesis's
  (``unknown_jurisdiction``; every declared jurisdiction fences a shard, so an attestation always concerns
  a fenced shard); the attestor's signature over :func:`~harmony.types.staking.attestation_digest` for this
  network's chain ID recovers (``attestor_signature_invalid``) to an attestor of that jurisdiction
  (``not_attestor``: a forged or altered attestation lands here); the validator is registered
  (``not_a_validator``); ``epoch < expiryEpoch ≤ epoch + max_attestation_epochs`` (``attestation_expired``,
  ``expiry_too_far``); the digest was never applied before (``attestation_replayed``: not even after a
  revocation). It then replaces the validator's attestation for the jurisdiction and marks the digest used.
* **Revoke**: ``unfenced`` and ``unknown_jurisdiction`` as above; the sender is an attestor of the
  jurisdiction (``not_attestor``); the validator holds a live attestation there (``not_attested``). It
  then deletes that attestation (its digest stays used).

An attestation is **live in epoch e** when ``e < expiryEpoch`` (:func:`is_attested`).

State, in the storage of :data:`~harmony.chain.staking.records.REGISTRY_ADDRESS` (so it is under the state
root like every staking record): at slot ``keccak("attest" ‖ validator ‖ jurisdiction)`` the value
``attestor << 64 | expiryEpoch`` (0: none); at slot ``keccak("attest-used" ‖ digest)`` the value 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from harmony.chain.fences import Fences
from harmony.chain.staking.errors import StakingError
from harmony.chain.staking.records import REGISTRY_ADDRESS, is_registered_validator, validator_addresses
from harmony.chain.state_api import WorldState
from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import Signature, recover_address
from harmony.errors import SignatureError
from harmony.types.staking import Attest, Revoke

_EXPIRY_BITS = 64


@dataclass(frozen=True, slots=True)
class Attestation:
    """A validator's attestation for a jurisdiction as the state holds it."""

    validator: bytes
    """The attested validator's address."""
    jurisdiction: str
    """The fence's jurisdiction."""
    attestor: bytes
    """The attestor's address."""
    expiry_epoch: int
    """Live in epochs below this one."""

    def live_at(self, epoch: int) -> bool:
        """Whether the attestation is live in ``epoch`` (``epoch < expiry_epoch``)."""
        return epoch < self.expiry_epoch


def _record_slot(validator: bytes, jurisdiction: str) -> int:
    return int.from_bytes(keccak256(b"attest" + validator + jurisdiction.encode()), "big")


def _used_slot(digest: bytes) -> int:
    return int.from_bytes(keccak256(b"attest-used" + digest), "big")


def read_attestation(state: WorldState, validator: bytes, jurisdiction: str) -> Attestation | None:
    """The attestation ``state`` holds for ``validator`` in ``jurisdiction`` (live or expired) or ``None``."""
    value = state.get_storage(REGISTRY_ADDRESS, _record_slot(validator, jurisdiction))
    if value == 0:
        return None
    attestor = (value >> _EXPIRY_BITS).to_bytes(20, "big")
    return Attestation(validator, jurisdiction, attestor, value & ((1 << _EXPIRY_BITS) - 1))


def is_attested(state: WorldState, validator: bytes, jurisdiction: str, epoch: int) -> bool:
    """Whether ``validator`` holds a live attestation for ``jurisdiction`` in ``epoch`` (module docstring)."""
    attestation = read_attestation(state, validator, jurisdiction)
    return attestation is not None and attestation.live_at(epoch)


def attestations_of(state: WorldState, validator: bytes, fences: Fences) -> tuple[Attestation, ...]:
    """Every attestation ``state`` holds for ``validator``, live or expired, in the genesis's order of the
    jurisdictions."""
    found = (read_attestation(state, validator, fence.jurisdiction) for fence in fences.fences)
    return tuple(a for a in found if a is not None)


def live_attested(state: WorldState, fences: Fences, epoch: int) -> dict[str, frozenset[bytes]]:
    """Jurisdiction -> the registered validators live-attested for it in ``epoch``: what the fenced
    election (:func:`harmony.chain.fenced_assignment.fenced_assign`) seats on its shards."""
    validators = validator_addresses(state)
    return {
        fence.jurisdiction: frozenset(
            v for v in validators if is_attested(state, v, fence.jurisdiction, epoch)
        )
        for fence in fences.fences
    }


def _check_jurisdiction(fences: Fences, jurisdiction: str) -> None:
    if not fences.any:
        raise StakingError("unfenced", "this network fences no shard: there is nothing to attest for")
    if fences.fence(jurisdiction) is None:
        declared = ", ".join(f.jurisdiction for f in fences.fences)
        raise StakingError(
            "unknown_jurisdiction", f"{jurisdiction[:16]!r} is not a jurisdiction of the genesis ({declared})"
        )


def apply_attest(state: WorldState, msg: Attest, *, fences: Fences, epoch: int, chain_id: int) -> None:
    """Check an Attest in ``epoch`` against ``fences`` and the state, then record it (module docstring)."""
    _check_jurisdiction(fences, msg.jurisdiction)
    fence = fences.fence(msg.jurisdiction)
    assert fence is not None  # checked above
    digest = msg.digest(chain_id)
    try:
        attestor = recover_address(digest, Signature.from_bytes(msg.attestor_signature))
    except SignatureError as exc:
        raise StakingError("attestor_signature_invalid", f"the attestor's signature: {exc}") from exc
    if attestor not in fence.attestors:
        raise StakingError(
            "not_attestor",
            f"the attestation is signed by 0x{attestor.hex()}, not an attestor of {msg.jurisdiction}",
        )
    if not is_registered_validator(state, msg.validator_address):
        raise StakingError("not_a_validator", f"0x{msg.validator_address.hex()} is not a validator")
    if msg.expiry_epoch <= epoch:
        raise StakingError(
            "attestation_expired", f"it expired at epoch {msg.expiry_epoch}; this is epoch {epoch}"
        )
    if msg.expiry_epoch > epoch + fence.max_attestation_epochs:
        raise StakingError(
            "expiry_too_far",
            f"expiry epoch {msg.expiry_epoch} is more than {fence.max_attestation_epochs} epochs "
            f"after epoch {epoch}",
        )
    used = _used_slot(digest)
    if state.get_storage(REGISTRY_ADDRESS, used):
        raise StakingError("attestation_replayed", "this signed attestation was applied before")
    state.set_storage(REGISTRY_ADDRESS, used, 1)
    record = int.from_bytes(attestor, "big") << _EXPIRY_BITS | msg.expiry_epoch
    state.set_storage(REGISTRY_ADDRESS, _record_slot(msg.validator_address, msg.jurisdiction), record)


def apply_revoke(state: WorldState, msg: Revoke, *, fences: Fences, epoch: int) -> None:
    """Check a Revoke in ``epoch`` against ``fences`` and the state, then delete the attestation."""
    _check_jurisdiction(fences, msg.jurisdiction)
    if not fences.is_attestor(msg.jurisdiction, msg.attestor_address):
        raise StakingError(
            "not_attestor", f"0x{msg.attestor_address.hex()} is not an attestor of {msg.jurisdiction}"
        )
    if not is_attested(state, msg.validator_address, msg.jurisdiction, epoch):
        raise StakingError(
            "not_attested", f"0x{msg.validator_address.hex()} has no live attestation for {msg.jurisdiction}"
        )
    state.set_storage(REGISTRY_ADDRESS, _record_slot(msg.validator_address, msg.jurisdiction), 0)


__all__ = [
    "Attestation",
    "apply_attest",
    "apply_revoke",
    "attestations_of",
    "is_attested",
    "live_attested",
    "read_attestation",
]
