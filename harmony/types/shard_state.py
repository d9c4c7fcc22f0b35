"""Shard state: the committee of every shard for one epoch (reference §3.6, §1.3).

Format from Harmony's ``shard/shard_state.go``, untagged RLP in two versions:

* staking (``State``): ``[epoch, [committee, ...]]`` with committee ``[shard_id, [slot, ...]]`` and slot
  ``[ecdsa_address, bls_public_key, effective_stake]``; ``effective_stake`` is a ``numeric.Dec`` pointer with
  ``rlp:"nil"``: ``[]`` (the empty list) for a Harmony-operated slot, else ``[scaled integer]``;
* legacy, before staking (``StateLegacy``): ``[committee, ...]`` with slot ``[ecdsa_address, bls_public_key]``
  and no epoch.

Go's ``DecodeWrapper`` tries the staking form and falls back to the legacy one; the two never overlap (a
staking state's first entry is the epoch, a byte string; a legacy state's entries are all lists), so
:meth:`ShardState.decode` picks the form by that shape. A legacy state decodes with ``epoch = None``.

The order of a committee's slots is the bitmap order of its aggregate signatures (§1.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

from harmony.encoding import rlp
from harmony.encoding.fixed import OPTIONAL_DEC, Dec
from harmony.encoding.rlp import DecodedItem, Item
from harmony.encoding.schema import (
    ADDRESS,
    BIG_INT,
    UINT32,
    ListOf,
    Nested,
    Sedes,
    Serializable,
    as_list,
    fixed,
)
from harmony.errors import DecodeError

BLS_PUBLIC_KEY_SIZE = 48
"""A serialized BLS public key (a G1 point, Harmony ``bls.SerializedPublicKey``)."""

BLS_PUBLIC_KEY = fixed(BLS_PUBLIC_KEY_SIZE)

MAX_SLOTS_PER_COMMITTEE = 1 << 14
"""Decode bound on one committee (mainnet has at most a few hundred slots per shard)."""

MAX_SHARDS = 1 << 10
"""Decode bound on committees in one shard state."""

MAX_SHARD_STATE_SIZE = 4 * 1024 * 1024
"""Decode bound on an encoded shard state."""


class ShardStateError(DecodeError):
    """A shard state is malformed, or a committee or member looked up in it does not exist."""


@dataclass(frozen=True, slots=True)
class Slot(Serializable):
    """One seat of a committee (Go ``shard.Slot``): ``[ecdsa_address, bls_public_key, effective_stake]``."""

    ecdsa_address: bytes
    """The validator's account (20 bytes)."""
    bls_public_key: bytes
    """The seat's BLS key (48 bytes)."""
    effective_stake: Dec | None = None
    """Effective stake (EPoS, §3.4); ``None`` for a Harmony-operated node."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("ecdsa_address", ADDRESS),
        ("bls_public_key", BLS_PUBLIC_KEY),
        ("effective_stake", OPTIONAL_DEC),
    )

    @property
    def is_harmony_node(self) -> bool:
        """Whether the seat is Harmony-operated (no effective stake, §1.4)."""
        return self.effective_stake is None


@dataclass(frozen=True, slots=True)
class _LegacySlot(Serializable):
    """Pre-staking slot (Go ``shard.SlotLegacy``): ``[ecdsa_address, bls_public_key]``."""

    ecdsa_address: bytes
    bls_public_key: bytes

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("ecdsa_address", ADDRESS),
        ("bls_public_key", BLS_PUBLIC_KEY),
    )


@dataclass(frozen=True, slots=True)
class Committee(Serializable):
    """The committee of one shard (Go ``shard.Committee``): ``[shard_id, [slot, ...]]``."""

    shard_id: int
    slots: tuple[Slot, ...]
    """Seats in bitmap order (§1.3)."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("shard_id", UINT32),
        ("slots", ListOf(Nested(Slot), MAX_SLOTS_PER_COMMITTEE)),
    )

    def bls_public_keys(self) -> tuple[bytes, ...]:
        """The members' BLS keys in slot order: member ``i`` of a commit bitmap is ``keys[i]`` (§1.3)."""
        return tuple(slot.bls_public_key for slot in self.slots)

    def member_index(self, bls_public_key: bytes) -> int:
        """The slot index of a BLS key; :class:`ShardStateError` if it is not a member."""
        for index, slot in enumerate(self.slots):
            if slot.bls_public_key == bls_public_key:
                return index
        raise ShardStateError(
            f"BLS key {bls_public_key.hex()} is not in the committee of shard {self.shard_id}"
        )

    def address_for_bls_key(self, bls_public_key: bytes) -> bytes:
        """The account owning a member's key (Go ``AddressForBLSKey``)."""
        return self.slots[self.member_index(bls_public_key)].ecdsa_address

    def total_effective_stake(self) -> Dec:
        """Sum of the external (staked) slots' effective stake (Go ``StakedValidators``)."""
        total = Dec.zero()
        for slot in self.slots:
            if slot.effective_stake is not None:
                total = total + slot.effective_stake
        return total


@dataclass(frozen=True, slots=True)
class _LegacyCommittee(Serializable):
    shard_id: int
    slots: tuple[_LegacySlot, ...]

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("shard_id", UINT32),
        ("slots", ListOf(Nested(_LegacySlot), MAX_SLOTS_PER_COMMITTEE)),
    )


_COMMITTEES = ListOf(Nested(Committee), MAX_SHARDS)
_LEGACY_COMMITTEES = ListOf(Nested(_LegacyCommittee), MAX_SHARDS)


@dataclass(frozen=True, slots=True)
class ShardState(Serializable):
    """All committees for one epoch (Go ``shard.State``), as stored in a last-of-epoch header (§3.6).

    ``epoch`` is ``None`` only for a pre-staking (legacy) state; such a state encodes in the legacy form,
    dropping effective stakes, as Go's ``EncodeWrapper(state, isStaking=false)`` does.
    """

    epoch: int | None
    shards: tuple[Committee, ...]

    max_encoded_size: ClassVar[int] = MAX_SHARD_STATE_SIZE

    def to_rlp(self) -> Item:
        """The staking form ``[epoch, committees]``, or the legacy list of committees if ``epoch`` is None."""
        if self.epoch is None:
            return _LEGACY_COMMITTEES.serialize(
                [
                    _LegacyCommittee(
                        c.shard_id, tuple(_LegacySlot(s.ecdsa_address, s.bls_public_key) for s in c.slots)
                    )
                    for c in self.shards
                ]
            )
        return [BIG_INT.serialize(self.epoch), _COMMITTEES.serialize(self.shards)]

    @classmethod
    def from_rlp(cls, item: DecodedItem, field: str | None = None) -> Self:
        """Decode either form (Go ``DecodeWrapper``), choosing by shape."""
        where = field or cls.__name__
        entries = as_list(item, where)
        if len(entries) == 2 and isinstance(entries[0], bytes):
            epoch = BIG_INT.deserialize(entries[0], f"{where}.epoch")
            return cls(epoch, _COMMITTEES.deserialize(entries[1], f"{where}.shards"))
        legacy = _LEGACY_COMMITTEES.deserialize(entries, f"{where}.shards")
        return cls(
            None,
            tuple(
                Committee(c.shard_id, tuple(Slot(s.ecdsa_address, s.bls_public_key) for s in c.slots))
                for c in legacy
            ),
        )

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode a shard state from a header's ShardState bytes; malformed input raises a DecodeError."""
        return cls.from_rlp(rlp.decode(data, max_size=cls.max_encoded_size))

    def committee(self, shard_id: int) -> Committee:
        """The committee of ``shard_id`` (Go ``FindCommitteeByID``); :class:`ShardStateError` if absent."""
        for committee in self.shards:
            if committee.shard_id == shard_id:
                return committee
        raise ShardStateError(f"shard {shard_id} is not in the shard state of epoch {self.epoch}")

    def find_bls_key(self, bls_public_key: bytes) -> tuple[int, int]:
        """(shard_id, slot index) of a BLS key anywhere in the state; :class:`ShardStateError` if absent."""
        for committee in self.shards:
            for index, slot in enumerate(committee.slots):
                if slot.bls_public_key == bls_public_key:
                    return committee.shard_id, index
        raise ShardStateError(f"BLS key {bls_public_key.hex()} is in no committee")

    def shard_ids(self) -> tuple[int, ...]:
        """The shard ids present, in stored order."""
        return tuple(c.shard_id for c in self.shards)


__all__ = [
    "BLS_PUBLIC_KEY_SIZE",
    "Committee",
    "ShardState",
    "ShardStateError",
    "Slot",
]
