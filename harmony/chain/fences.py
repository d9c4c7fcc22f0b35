"""Country fences: which shards keep their data inside a jurisdiction, and who may attest for it (issue 21).

The design, its threat model and the formats are in ``docs/design/fenced-shards.md``. A genesis may fence a
shard to a jurisdiction (``"fence": "EU"``) and declare, per jurisdiction, the attestor addresses allowed to
attest validators for it and the minimum the fenced election needs (``"fences"``, parsed by
:func:`harmony.chain.genesis.parse_genesis`). This module holds the frozen result that
:attr:`harmony.chain.rules.ChainRules.fences` carries, and the rules that read it:

* a jurisdiction is 2 to 16 characters ``[A-Z][A-Z0-9-]*`` (:func:`check_jurisdiction`);
* the beacon chain (shard 0) is never fenced; every declared jurisdiction fences at least one shard;
* an address attests for a jurisdiction only if the genesis lists it there (:meth:`Fences.is_attestor`).

Consensus: the fences are fixed by the genesis every node shares, and nothing on chain changes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harmony.encoding.fixed import Dec
from harmony.errors import HarmonyError

BEACON_SHARD = 0
"""The beacon chain, which every node follows and which is never fenced."""
MAX_JURISDICTION_LENGTH = 16
"""Longest jurisdiction name, in characters (ASCII)."""
MAX_ATTESTORS = 32
"""Most attestor addresses per jurisdiction."""
MAX_FENCES = 64
"""Most jurisdictions one genesis may declare."""
DEFAULT_MIN_SEATS = 1
"""Default fewest external seats per fenced shard the election must fill with attested validators."""
DEFAULT_MAX_ATTESTATION_EPOCHS = 365
"""Default farthest expiry of an attestation, in epochs after the current one."""
MAX_ATTESTATION_EPOCHS_LIMIT = 2**32
"""Largest ``max_attestation_epochs`` a genesis may set."""

_JURISDICTION = re.compile(r"[A-Z][A-Z0-9-]{1,15}")


class FenceError(HarmonyError):
    """Fences do not fit the rules above; ``reason`` names which (``jurisdiction``, ``beacon_fenced``…)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"fence {reason}: {message}")
        self.reason = reason


def check_jurisdiction(name: object) -> str:
    """``name`` if it is a jurisdiction's spelling (module docstring), else :class:`FenceError`."""
    if not isinstance(name, str) or not _JURISDICTION.fullmatch(name):
        shown = repr(name)[:40] if isinstance(name, str) else type(name).__name__
        raise FenceError(
            "jurisdiction",
            f"{shown} is not a jurisdiction: 2 to {MAX_JURISDICTION_LENGTH} characters, an upper-case "
            "letter then upper-case letters, digits or '-' (for example EU, CH, US-CA)",
        )
    return name


@dataclass(frozen=True, slots=True)
class Fence:
    """One jurisdiction's fence as the genesis declares it (``docs/design/fenced-shards.md``, Formats)."""

    jurisdiction: str
    """Its name, e.g. ``EU`` (:func:`check_jurisdiction`)."""
    attestors: tuple[bytes, ...]
    """The 20-byte account addresses allowed to attest and revoke for it; 1 to :data:`MAX_ATTESTORS`,
    distinct."""
    min_seats: int = DEFAULT_MIN_SEATS
    """Fewest external seats per fenced shard the election must be able to fill with attested validators;
    below it the shard keeps its previous committee."""
    min_stake_share: Dec = field(default_factory=Dec.zero)
    """Least share, in [0, 1], of the average elected effective stake per shard that a fenced shard's
    elected seats must hold."""
    max_attestation_epochs: int = DEFAULT_MAX_ATTESTATION_EPOCHS
    """Farthest expiry an attestation may carry, in epochs after the current one (1 .. 2^32)."""

    def __post_init__(self) -> None:
        check_jurisdiction(self.jurisdiction)
        if not 1 <= len(self.attestors) <= MAX_ATTESTORS:
            raise FenceError("attestors", f"{self.jurisdiction} needs 1 to {MAX_ATTESTORS} attestors")
        if any(len(a) != 20 for a in self.attestors):
            raise FenceError("attestors", f"{self.jurisdiction}: an attestor is a 20-byte address")
        if len(set(self.attestors)) != len(self.attestors):
            raise FenceError("attestors", f"{self.jurisdiction} lists an attestor twice")
        if self.min_seats < 0:
            raise FenceError("min_seats", f"{self.jurisdiction}: must not be negative")
        if self.min_stake_share.is_negative() or (Dec.one() - self.min_stake_share).is_negative():
            raise FenceError("min_stake_share", f"{self.jurisdiction}: must be in [0, 1]")
        if not 1 <= self.max_attestation_epochs <= MAX_ATTESTATION_EPOCHS_LIMIT:
            raise FenceError(
                "max_attestation_epochs",
                f"{self.jurisdiction}: must be in 1 .. {MAX_ATTESTATION_EPOCHS_LIMIT}",
            )


@dataclass(frozen=True, slots=True)
class Fences:
    """The fences of one network: each jurisdiction's :class:`Fence`, and each shard's jurisdiction.

    The default is a network without fences. Built by :meth:`harmony.chain.rules.ChainRules.of` from the
    genesis; the invariants of the module docstring hold for every instance.
    """

    fences: tuple[Fence, ...] = ()
    """Every declared jurisdiction, in the genesis file's order."""
    shard_fences: tuple[str | None, ...] = ()
    """Per shard, in shard order, its jurisdiction or ``None`` (unfenced); empty: no shard is fenced."""

    def __post_init__(self) -> None:
        names = [f.jurisdiction for f in self.fences]
        if len(self.fences) > MAX_FENCES:
            raise FenceError("fences", f"at most {MAX_FENCES} jurisdictions")
        if len(set(names)) != len(names):
            raise FenceError("fences", "a jurisdiction is declared twice")
        if self.shard_fences and self.shard_fences[BEACON_SHARD] is not None:
            raise FenceError(
                "beacon_fenced", "the beacon chain (shard 0) cannot be fenced: every node needs it"
            )
        for shard_id, name in enumerate(self.shard_fences):
            if name is not None and name not in names:
                raise FenceError("unknown_jurisdiction", f"shard {shard_id} is fenced to undeclared {name}")
        for name in names:
            if name not in self.shard_fences:
                raise FenceError("unused", f"{name} fences no shard")

    def fence(self, jurisdiction: str) -> Fence | None:
        """The fence of ``jurisdiction``, or ``None`` when the genesis declares no such jurisdiction."""
        for fence in self.fences:
            if fence.jurisdiction == jurisdiction:
                return fence
        return None

    def jurisdiction_of(self, shard_id: int) -> str | None:
        """The jurisdiction ``shard_id`` is fenced to, or ``None`` when it is unfenced (or out of range)."""
        if 0 <= shard_id < len(self.shard_fences):
            return self.shard_fences[shard_id]
        return None

    def fenced_shards(self, jurisdiction: str) -> tuple[int, ...]:
        """The shards fenced to ``jurisdiction``, in shard order (empty if it fences none)."""
        return tuple(s for s, name in enumerate(self.shard_fences) if name == jurisdiction)

    def is_attestor(self, jurisdiction: str, address: bytes) -> bool:
        """Whether ``address`` may attest and revoke for ``jurisdiction`` (the genesis lists it there)."""
        fence = self.fence(jurisdiction)
        return fence is not None and address in fence.attestors

    @property
    def any(self) -> bool:
        """Whether any shard is fenced."""
        return any(name is not None for name in self.shard_fences)


__all__ = [
    "BEACON_SHARD",
    "DEFAULT_MAX_ATTESTATION_EPOCHS",
    "DEFAULT_MIN_SEATS",
    "MAX_ATTESTATION_EPOCHS_LIMIT",
    "MAX_ATTESTORS",
    "MAX_FENCES",
    "MAX_JURISDICTION_LENGTH",
    "Fence",
    "FenceError",
    "Fences",
    "check_jurisdiction",
]
