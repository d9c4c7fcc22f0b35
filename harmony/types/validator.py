"""Validators and delegations as kept in the state (reference §3; Go ``staking/types/validator.go``,
``delegation.go``, ``commission.go``).

The whole record of a validator is one :class:`ValidatorWrapper`, RLP-encoded with Go's field order
(embedded structs are nested lists):

* ``ValidatorWrapper``: ``[validator, [delegation…], counters, blockReward]``;
* ``Validator``: ``[address, [slotPubKey (48 B)…], lastEpochInCommittee, minSelfDelegation,
  maxTotalDelegation, status, commission, description, creationHeight]``;
* ``Commission``: ``[[rate, maxRate, maxChangeRate], updateHeight]``;
* ``Delegation``: ``[delegatorAddress, amount, reward, [undelegation…]]``;
* ``Undelegation``: ``[amount, epoch]``;
* ``Counters``: ``[numBlocksToSign, numBlocksSigned]``.

The rules that change these records (creation, edits, delegation, rewards, slashing) belong to
``harmony.chain``; this module only defines and checks their shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from harmony.encoding.schema import ADDRESS, BIG_INT, ListOf, Nested, Sedes, Serializable
from harmony.types.staking import (
    BLS_PUBLIC_KEY,
    EPOS_STATUS,
    MAX_SLOT_KEYS_DECODED,
    CommissionRates,
    Description,
    EposStatus,
)

MAX_DELEGATIONS_DECODED = 1 << 20
"""Decode bound on the delegations of one validator."""
MAX_UNDELEGATIONS_DECODED = 1 << 10
"""Decode bound on the pending undelegations of one delegation (one per epoch at most)."""


@dataclass(frozen=True, slots=True)
class Commission(Serializable):
    """Commission rates and the block height they last changed at (Go ``Commission``)."""

    commission_rates: CommissionRates
    """Rate, maximum rate and maximum change per epoch."""
    update_height: int
    """Block number of the last rate change."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("commission_rates", Nested(CommissionRates)),
        ("update_height", BIG_INT),
    )


@dataclass(frozen=True, slots=True)
class Validator(Serializable):
    """A validator's own fields (Go ``Validator``)."""

    address: bytes
    """The validator's ECDSA address (20 bytes)."""
    slot_pub_keys: tuple[bytes, ...]
    """BLS public keys it signs with (48 bytes each)."""
    last_epoch_in_committee: int
    """Last epoch it was elected in (0: never)."""
    min_self_delegation: int
    """Declared minimum self-delegation, atto."""
    max_total_delegation: int
    """Declared maximum total delegation, atto."""
    status: EposStatus
    """Eligibility: active, inactive or banned."""
    commission: Commission
    """Commission parameters."""
    description: Description
    """Public description."""
    creation_height: int
    """Block number of its creation."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("address", ADDRESS),
        ("slot_pub_keys", ListOf(BLS_PUBLIC_KEY, MAX_SLOT_KEYS_DECODED)),
        ("last_epoch_in_committee", BIG_INT),
        ("min_self_delegation", BIG_INT),
        ("max_total_delegation", BIG_INT),
        ("status", EPOS_STATUS),
        ("commission", Nested(Commission)),
        ("description", Nested(Description)),
        ("creation_height", BIG_INT),
    )


@dataclass(frozen=True, slots=True)
class Undelegation(Serializable):
    """An amount leaving a delegation, locked from ``epoch`` on (Go ``Undelegation``)."""

    amount: int
    """Atto being undelegated."""
    epoch: int
    """Epoch of the undelegation."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (("amount", BIG_INT), ("epoch", BIG_INT))


@dataclass(frozen=True, slots=True)
class Delegation(Serializable):
    """One delegator's stake with a validator (Go ``Delegation``)."""

    delegator_address: bytes
    """The delegator (20 bytes); the first delegation is the validator's self-delegation."""
    amount: int
    """Atto delegated."""
    reward: int
    """Rewards accrued and not yet collected, atto."""
    undelegations: tuple[Undelegation, ...] = ()
    """Pending undelegations, by increasing epoch."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("delegator_address", ADDRESS),
        ("amount", BIG_INT),
        ("reward", BIG_INT),
        ("undelegations", ListOf(Nested(Undelegation), MAX_UNDELEGATIONS_DECODED)),
    )


@dataclass(frozen=True, slots=True)
class Counters(Serializable):
    """Blocks the validator should have signed and did sign (Go ``counters``)."""

    num_blocks_to_sign: int = 0
    """Blocks it should have signed while elected."""
    num_blocks_signed: int = 0
    """Blocks it signed."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("num_blocks_to_sign", BIG_INT),
        ("num_blocks_signed", BIG_INT),
    )


@dataclass(frozen=True, slots=True)
class ValidatorWrapper(Serializable):
    """A validator with its delegations, signing counters and lifetime reward (Go ``ValidatorWrapper``)."""

    validator: Validator
    """The validator's own fields."""
    delegations: tuple[Delegation, ...]
    """Its delegations; index 0 is the self-delegation."""
    counters: Counters
    """Signing counters."""
    block_reward: int
    """All block rewards accumulated so far, atto."""

    max_encoded_size: ClassVar[int] = 64 * 1024 * 1024
    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("validator", Nested(Validator)),
        ("delegations", ListOf(Nested(Delegation), MAX_DELEGATIONS_DECODED)),
        ("counters", Nested(Counters)),
        ("block_reward", BIG_INT),
    )

    @property
    def total_delegation(self) -> int:
        """Sum of all delegated amounts (Go ``TotalDelegation``)."""
        return sum(d.amount for d in self.delegations)
