"""Where staking data lives in the world state (reference §3), so the state root covers all of it.

* A validator's whole :class:`~harmony.types.validator.ValidatorWrapper` is the RLP *code* of the validator's
  account, as Harmony stores it (Go ``UpdateValidatorWrapper``); it reverts with the journal like any other
  change.
* The Go node keeps the list of validators and the taken BLS keys in its chain database, outside the state
  root. We keep them in the storage of one reserved account, :data:`REGISTRY_ADDRESS`, so every node's state
  root commits to them and a block that changes them is checked like any other:

  - slot ``0``: the number of validators ``n``; slots ``1 … n``: their addresses in creation order;
  - slot ``keccak("validator" ‖ address)``: the validator's 1-based position in that list;
  - slot ``keccak("blskey" ‖ key)``: the address (as an integer) of the validator holding the BLS key;
  - slot ``keccak("identity" ‖ identity)``: the address of the validator holding that identity;
  - slot ``keccak("key-earned" ‖ key)``: what the BLS key earned in the current epoch
    (:func:`harmony.chain.staking.rewards.record_key_earning`).

The registry account has no key: nobody can sign for :data:`REGISTRY_ADDRESS` (it is a hash image).
"""

from __future__ import annotations

from collections import OrderedDict

from harmony.chain.state_api import WorldState
from harmony.crypto.keccak import keccak256
from harmony.errors import DecodeError
from harmony.types.validator import ValidatorWrapper

__all__ = [
    "REGISTRY_ADDRESS",
    "bls_key_owner",
    "claim_bls_key",
    "claim_identity",
    "get_validator_wrapper",
    "identity_owner",
    "is_registered_validator",
    "is_validator",
    "register_validator",
    "release_bls_key",
    "release_identity",
    "set_validator_wrapper",
    "validator_addresses",
]

REGISTRY_ADDRESS = keccak256(b"harmony.staking.registry")[12:]
"""The reserved account whose storage holds the validator list and the key and identity registries."""


def _slot(tag: bytes, value: bytes) -> int:
    return int.from_bytes(keccak256(tag + value), "big")


class _DecodedRecords:
    """The last decoded validator records by their encoding, within :data:`CACHE_BYTES` of encodings. A
    record is a frozen value and decoding is a function of the bytes, so the cache changes no result: it
    only skips decoding a record read moments ago (block rewards, availability and the election read the
    same records many times per block). A record stored is kept under its own encoding: encoding is
    one-to-one on records (``decode(encode(w)) == w``, tested), so reading it back needs no decoding."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self.records: OrderedDict[bytes, ValidatorWrapper] = OrderedDict()

    def get(self, code: bytes) -> ValidatorWrapper:
        """The record ``code`` encodes (decoded once while cached); raises ``RLPError`` as ``decode``."""
        wrapper = self.records.get(code)
        if wrapper is not None:
            self.records.move_to_end(code)
            return wrapper
        wrapper = ValidatorWrapper.decode(code)
        self.keep(code, wrapper)
        return wrapper

    def keep(self, code: bytes, wrapper: ValidatorWrapper) -> None:
        """Remember that ``code`` decodes to ``wrapper`` (its encoding: a record just stored is read back
        within the same block, and by the economics simulation every step, without decoding it)."""
        if len(code) > self.budget // 8 or code in self.records:
            return
        self.records[code] = wrapper
        self.size += len(code)
        while self.size > self.budget:
            old, _ = self.records.popitem(last=False)
            self.size -= len(old)


CACHE_BYTES = 16 * 1024 * 1024
"""Bytes of encodings :class:`_DecodedRecords` keeps (a record above an eighth of it is never kept)."""
_decoded = _DecodedRecords(CACHE_BYTES)


def get_validator_wrapper(state: WorldState, address: bytes) -> ValidatorWrapper | None:
    """The validator record at ``address``, or ``None`` if the account has no code.

    Raises :class:`~harmony.errors.RLPError` if the account's code is not a validator record.
    """
    code = state.get_code(address)
    if not code:
        return None
    return _decoded.get(bytes(code))


def set_validator_wrapper(state: WorldState, address: bytes, wrapper: ValidatorWrapper) -> None:
    """Store ``wrapper`` as the code of ``address`` (Go ``UpdateValidatorWrapper``).

    Raises ``ValueError`` if the record is for another address.
    """
    if wrapper.validator.address != address:
        raise ValueError(
            f"validator record for 0x{wrapper.validator.address.hex()} stored at 0x{address.hex()}"
        )
    code = wrapper.encode()
    state.set_code(address, code)
    _decoded.keep(code, wrapper)


def is_validator(state: WorldState, address: bytes) -> bool:
    """Whether the account holds a validator record (Go ``IsValidator``)."""
    try:
        return get_validator_wrapper(state, address) is not None
    except DecodeError:
        return False


def is_registered_validator(state: WorldState, address: bytes) -> bool:
    """Whether ``address`` is in the validator list (one storage read; no decoding).

    A validator's record is its account's code, but it is data, not a program: calls and transfers to a
    validator execute no code (:mod:`harmony.chain.transfers`, ``harmony.state.evm``)."""
    return state.get_storage(REGISTRY_ADDRESS, _slot(b"validator", address)) != 0


def validator_addresses(state: WorldState) -> tuple[bytes, ...]:
    """Every registered validator's address, in creation order (Go ``ReadValidatorList``)."""
    count = state.get_storage(REGISTRY_ADDRESS, 0)
    return tuple(state.get_storage(REGISTRY_ADDRESS, 1 + i).to_bytes(20, "big") for i in range(count))


def register_validator(state: WorldState, address: bytes) -> bool:
    """Append ``address`` to the validator list; ``False`` (and no change) if it is already there."""
    position_slot = _slot(b"validator", address)
    if state.get_storage(REGISTRY_ADDRESS, position_slot):
        return False
    count = state.get_storage(REGISTRY_ADDRESS, 0)
    state.set_storage(REGISTRY_ADDRESS, 1 + count, int.from_bytes(address, "big"))
    state.set_storage(REGISTRY_ADDRESS, 0, count + 1)
    state.set_storage(REGISTRY_ADDRESS, position_slot, count + 1)
    return True


def bls_key_owner(state: WorldState, bls_public_key: bytes) -> bytes | None:
    """The address of the validator holding ``bls_public_key``, or ``None`` if no one does."""
    value = state.get_storage(REGISTRY_ADDRESS, _slot(b"blskey", bls_public_key))
    return value.to_bytes(20, "big") if value else None


def claim_bls_key(state: WorldState, bls_public_key: bytes, address: bytes) -> None:
    """Record that ``address`` holds ``bls_public_key`` (the caller checked it was free)."""
    state.set_storage(REGISTRY_ADDRESS, _slot(b"blskey", bls_public_key), int.from_bytes(address, "big"))


def release_bls_key(state: WorldState, bls_public_key: bytes) -> None:
    """Free ``bls_public_key`` (a validator removed it)."""
    state.set_storage(REGISTRY_ADDRESS, _slot(b"blskey", bls_public_key), 0)


def identity_owner(state: WorldState, identity: str) -> bytes | None:
    """The address of the validator with this identity, or ``None``; the empty identity is never owned."""
    if not identity:
        return None
    value = state.get_storage(REGISTRY_ADDRESS, _slot(b"identity", identity.encode()))
    return value.to_bytes(20, "big") if value else None


def claim_identity(state: WorldState, identity: str, address: bytes) -> None:
    """Record that ``address`` holds ``identity`` (no-op for the empty identity)."""
    if identity:
        state.set_storage(
            REGISTRY_ADDRESS, _slot(b"identity", identity.encode()), int.from_bytes(address, "big")
        )


def release_identity(state: WorldState, identity: str) -> None:
    """Free ``identity`` (a validator changed it)."""
    if identity:
        state.set_storage(REGISTRY_ADDRESS, _slot(b"identity", identity.encode()), 0)
