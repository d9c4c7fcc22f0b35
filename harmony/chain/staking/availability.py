"""Availability: signing counters and the 2/3 signing threshold (reference §5.1, §4.2).

Every validator record carries two counters (:class:`~harmony.types.validator.Counters`): the blocks its
elected keys should have signed and the blocks they did sign. They only grow. Each signed block (a beacon
block's parent signature or a crosslink) bumps them once **per committee seat** (a validator with three
keys in a committee counts three), as Harmony's ``bumpCount`` does; Harmony-operated seats (no effective
stake) are not counted.

Per epoch, a validator's signing rate is the counter difference since the epoch-start snapshot:
``signed / to_sign``. It is **below threshold** when that rate is ``≤`` the threshold (2/3 as
``NewDec(2).Quo(NewDec(3))`` = 0.666666666666666667, so exactly two blocks of three is below); under HIP-32
a validator with nothing to sign (``to_sign == 0``) is **not** below threshold. At the beacon's election block
every elected validator below threshold becomes Inactive (:func:`compute_and_mutate_status`) and is left out
of the next auction (:func:`is_eligible_for_auction`, used by :mod:`harmony.chain.staking.election`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from harmony.chain.staking.records import get_validator_wrapper, set_validator_wrapper
from harmony.chain.state_api import WorldState
from harmony.encoding.fixed import Dec
from harmony.errors import HarmonyError
from harmony.types.shard_state import Committee
from harmony.types.staking import EposStatus
from harmony.types.validator import Counters, ValidatorWrapper

__all__ = [
    "AvailabilityError",
    "SigningComputed",
    "compute_and_mutate_status",
    "compute_signing",
    "counters_snapshot",
    "is_eligible_for_auction",
    "record_signing",
    "signing_percentage",
]


class AvailabilityError(HarmonyError):
    """An availability rule was given inconsistent inputs; :attr:`reason` names the check."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SigningComputed:
    """A validator's signing over the current epoch (Go ``Computed``)."""

    signed: int
    """Blocks signed since the epoch snapshot."""
    to_sign: int
    """Blocks to sign since the epoch snapshot."""
    percentage: Dec
    """``signed / to_sign`` (0 when there was nothing to sign)."""
    is_below_threshold: bool
    """Whether the validator is to be made inactive (§5.1)."""


def _signer_set(committee: Committee, signer_indices: Iterable[int]) -> frozenset[int]:
    signers = frozenset(signer_indices)
    for index in signers:
        if not 0 <= index < len(committee.slots):
            raise AvailabilityError(
                "signer_index",
                f"signer index {index} outside the {len(committee.slots)} seats"
                f" of shard {committee.shard_id}",
            )
    return signers


def record_signing(state: WorldState, committee: Committee, signer_indices: Iterable[int]) -> None:
    """Bump the signing counters for one signed block of ``committee`` (reference §4.2, Go ``bumpCount``).

    Every external seat (effective stake set) adds one block to sign to its validator, and one block signed
    if its index is in ``signer_indices`` (bitmap order). Harmony-operated seats are skipped. Raises
    :class:`AvailabilityError` for a signer index outside the committee (``signer_index``) or an external
    seat whose address holds no validator record (``not_a_validator``).
    """
    signers = _signer_set(committee, signer_indices)
    bumps: dict[bytes, list[int]] = {}
    for index, slot in enumerate(committee.slots):
        if slot.effective_stake is None:
            continue
        counts = bumps.setdefault(slot.ecdsa_address, [0, 0])
        counts[0] += 1
        if index in signers:
            counts[1] += 1
    for address in sorted(bumps):
        wrapper = get_validator_wrapper(state, address)
        if wrapper is None:
            raise AvailabilityError(
                "not_a_validator", f"committee seat 0x{address.hex()} holds no validator record"
            )
        to_sign, signed = bumps[address]
        counters = Counters(
            wrapper.counters.num_blocks_to_sign + to_sign, wrapper.counters.num_blocks_signed + signed
        )
        set_validator_wrapper(state, address, replace(wrapper, counters=counters))


def signing_percentage(current: Counters, snapshot: Counters) -> Dec:
    """The epoch's signing rate ``Δsigned / Δto_sign`` (reference §5.1), 0 when nothing was to sign.

    Used by the RPC (``current-epoch-signing-percent``) and by :func:`compute_signing`.
    """
    return compute_signing(current, snapshot, Dec.zero()).percentage


def compute_signing(current: Counters, snapshot: Counters, threshold: Dec) -> SigningComputed:
    """A validator's signing since the epoch snapshot (reference §5.1, Go ``ComputeCurrentSigning``).

    Below threshold when ``signed / to_sign ≤ threshold`` (18-decimal quotient, rounded half to even); never
    below when ``to_sign == 0`` (HIP-32). Counters that went backwards raise :class:`AvailabilityError`
    (``counters_decreased``).
    """
    signed = current.num_blocks_signed - snapshot.num_blocks_signed
    to_sign = current.num_blocks_to_sign - snapshot.num_blocks_to_sign
    if signed < 0 or to_sign < 0 or signed > to_sign:
        raise AvailabilityError(
            "counters_decreased",
            f"epoch counters inconsistent: signed {signed} of {to_sign} since the snapshot",
        )
    if to_sign == 0:
        return SigningComputed(signed, to_sign, Dec.zero(), False)
    percentage = Dec.from_int(signed).quo(Dec.from_int(to_sign))
    return SigningComputed(signed, to_sign, percentage, percentage <= threshold)


def counters_snapshot(state: WorldState, addresses: Iterable[bytes]) -> dict[bytes, Counters]:
    """The counters of each validator in ``addresses`` now: the epoch-start snapshot the rules compare with.

    Addresses without a validator record are left out.
    """
    snapshot: dict[bytes, Counters] = {}
    for address in addresses:
        wrapper = get_validator_wrapper(state, address)
        if wrapper is not None:
            snapshot[address] = wrapper.counters
    return snapshot


def is_eligible_for_auction(
    wrapper: ValidatorWrapper, snapshot: Counters | None, current_epoch: int, threshold: Dec
) -> bool:
    """Whether a validator may bid in the next auction (reference §3.1, Go ``IsEligibleForEPoSAuction``).

    A validator elected for ``current_epoch`` (``last_epoch_in_committee == current_epoch``) whose signing
    since ``snapshot`` is below threshold is not eligible; otherwise eligibility is being Active. Without a
    snapshot only the status counts.
    """
    if (
        snapshot is not None
        and wrapper.validator.last_epoch_in_committee == current_epoch
        and compute_signing(wrapper.counters, snapshot, threshold).is_below_threshold
    ):
        return False
    return wrapper.validator.status == EposStatus.ACTIVE


def compute_and_mutate_status(
    state: WorldState, snapshot_counters_by_address: Mapping[bytes, Counters], threshold: Dec
) -> tuple[bytes, ...]:
    """Deactivate the validators that signed too little this epoch (reference §5.1,
    Go ``ComputeAndMutateEPOSStatus``), at the beacon's election block.

    ``snapshot_counters_by_address`` holds the epoch-start counters of the validators elected for the
    ending epoch (the caller's choice of whom to measure). Each one below ``threshold`` becomes Inactive,
    unless Banned (which stays). Returns the addresses made inactive, in address order; addresses without a
    validator record are skipped.
    """
    deactivated: list[bytes] = []
    for address in sorted(snapshot_counters_by_address):
        wrapper = get_validator_wrapper(state, address)
        if wrapper is None:
            continue
        computed = compute_signing(wrapper.counters, snapshot_counters_by_address[address], threshold)
        if not computed.is_below_threshold or wrapper.validator.status == EposStatus.BANNED:
            continue
        if wrapper.validator.status != EposStatus.INACTIVE:
            validator = replace(wrapper.validator, status=EposStatus.INACTIVE)
            set_validator_wrapper(state, address, replace(wrapper, validator=validator))
            deactivated.append(address)
    return tuple(deactivated)
