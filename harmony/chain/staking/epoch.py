"""What the beacon chain does at the last block of an epoch (reference §2.5, §3.6, §5.1; Go ``Finalize`` at
the committee-selection block), and the election that block carries.

Two halves, both deterministic over the state so the proposer and every validator agree:

* :func:`next_shard_state` (reference §3.1–§3.6) runs **before** the block's transactions, read-only over
  the parent's state: the auction (:func:`harmony.chain.staking.election.auction`, with every validator's
  epoch-start counters from :func:`read_counters_snapshot`) and the injected seat assignment give the next
  epoch's :class:`ShardState`. The proposer puts it in the header; every validator recomputes it and
  refuses a block whose header differs (check ``shard_state`` in :mod:`harmony.chain.transition`). Nobody
  elected: the committees hold only the operator seats (the genesis committees), so a network without
  external validators keeps its committees from epoch to epoch. (Harmony reuses the previous shard state
  then, §3.5; we do not, so a validator that left is never carried over.)
* :func:`end_of_epoch` runs **after** the block's transactions and rewards, in this order:

  1. *availability* (§5.1): every validator elected for the ending epoch (``last_epoch_in_committee ==
     epoch``) whose ``signed / to_sign`` since its epoch-start snapshot is ``≤`` the signing threshold
     becomes Inactive (:func:`~harmony.chain.staking.availability.compute_and_mutate_status`);
  2. *undelegation payout* (§2.5, :mod:`~harmony.chain.staking.undelegation`);
  3. *election side effects* (§3.6): each validator holding an external seat of the next shard state gets
     ``last_epoch_in_committee = epoch + 1``;
  4. *counter snapshot*: every validator's signing counters are written to the registry account's storage
     (:func:`write_counters_snapshot`), so the next epoch's differences are computable from the state
     alone, without keeping old states.

The snapshot is taken after this block's rewards, so the signatures of this (last) block, paid in the next
block, count in the next epoch's window, as crosslinks of an old epoch do (Harmony measures the same way).
The election reads the parent's counters while availability reads this block's: a validator right at the
threshold can be elected and made Inactive by the same block, as in Harmony, where the committee is also
chosen before ``Finalize`` runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from harmony.chain.assignment import DEFAULT_MOVE_FRACTION
from harmony.chain.fenced_assignment import (
    FencedAssignFn,
    FenceShortfall,
    cuckoo_group_assigner,
    fenced_assign,
)
from harmony.chain.fences import Fences
from harmony.chain.params import NetworkParams
from harmony.chain.staking.attestations import live_attested
from harmony.chain.staking.availability import compute_and_mutate_status
from harmony.chain.staking.election import AssignFn, ElectionError, auction, key_mod_assign
from harmony.chain.staking.records import (
    REGISTRY_ADDRESS,
    get_validator_wrapper,
    set_validator_wrapper,
    validator_addresses,
)
from harmony.chain.staking.undelegation import Payout, payout_undelegations
from harmony.chain.state_api import WorldState
from harmony.crypto.keccak import keccak256
from harmony.errors import DecodeError
from harmony.types.shard_state import ShardState, Slot
from harmony.types.validator import Counters, ValidatorWrapper

_HALF = 1 << 128


@dataclass(frozen=True, slots=True)
class EpochEnd:
    """What the end-of-epoch processing did."""

    epoch: int
    payouts: tuple[Payout, ...] = ()
    """Undelegations paid out (§2.5)."""
    deactivated: tuple[bytes, ...] = ()
    """Validators made Inactive for signing too little in the ending epoch (§5.1), in address order."""
    elected: tuple[bytes, ...] = ()
    """Validators holding an external seat of the next epoch (§3.6), in address order."""


def _counters_slot(address: bytes) -> int:
    return int.from_bytes(keccak256(b"counters" + address), "big")


def read_counters_snapshot(state: WorldState, address: bytes) -> Counters:
    """The validator's signing counters as of the last epoch end (module docstring, step 4).

    Stored in the registry account at slot ``keccak("counters" ‖ address)`` as ``to_sign · 2¹²⁸ + signed``;
    a validator never snapshotted reads ``(0, 0)``, which is also what its counters were then (they only
    grow once it is elected, and every election block writes a snapshot).
    """
    value = state.get_storage(REGISTRY_ADDRESS, _counters_slot(address))
    return Counters(value // _HALF, value % _HALF)


def write_counters_snapshot(state: WorldState) -> None:
    """Store every registered validator's current counters as its epoch-start snapshot (step 4);
    unchanged snapshots are not rewritten."""
    for address in validator_addresses(state):
        wrapper = _wrapper(state, address)
        if wrapper is None:
            continue
        counters = wrapper.counters
        if counters.num_blocks_to_sign >= _HALF or counters.num_blocks_signed >= _HALF:
            raise ValueError(f"signing counters of 0x{address.hex()} exceed 128 bits")  # pragma: no cover
        value = counters.num_blocks_to_sign * _HALF + counters.num_blocks_signed
        slot = _counters_slot(address)
        if state.get_storage(REGISTRY_ADDRESS, slot) != value:
            state.set_storage(REGISTRY_ADDRESS, slot, value)


def counters_snapshots(state: WorldState) -> dict[bytes, Counters]:
    """Every registered validator's epoch-start snapshot (:func:`read_counters_snapshot`)."""
    return {address: read_counters_snapshot(state, address) for address in validator_addresses(state)}


def _wrapper(state: WorldState, address: bytes) -> ValidatorWrapper | None:
    try:
        return get_validator_wrapper(state, address)
    except DecodeError:
        return None


def next_shard_state(
    parent_state: WorldState,
    params: NetworkParams,
    epoch: int,
    operator_slots: Sequence[Sequence[Slot]],
    *,
    assign: AssignFn = key_mod_assign,
    fences: Fences | None = None,
    fenced_assign: FencedAssignFn | None = None,
) -> ShardState:
    """The committees of epoch ``epoch + 1``, elected at the beacon's last block of ``epoch`` (reference
    §3.1–§3.6): read-only over ``parent_state`` (the state before that block's transactions).

    Candidates are measured over ``epoch`` against their stored snapshots; the auction fills
    ``params.external_seats``; ``assign(epoch + 1, operator_slots, winners, shard_count)`` places them after
    the operator seats (one seat list per shard, the genesis committees). In a fenced network
    (``fences`` fence a shard) ``fenced_assign`` places them instead, given the validators live-attested
    for each jurisdiction in epoch ``epoch + 1`` (:mod:`harmony.chain.fenced_assignment`); a fenced network
    without it cannot elect (``ElectionError`` ``fences``). Raises
    :class:`~harmony.chain.staking.election.ElectionError` for operator seats that do not fit the network.
    """
    result = auction(
        parent_state, params, epoch + 1, operator_slots, snapshot_counters=counters_snapshots(parent_state)
    )
    if fences is None or not fences.any:
        return assign(epoch + 1, operator_slots, result.winners, params.shard_count)
    if fenced_assign is None:
        raise ElectionError("fences", "the network fences shards but the election has no fenced assignment")
    attested = live_attested(parent_state, fences, epoch + 1)
    return fenced_assign(epoch + 1, operator_slots, result.winners, params.shard_count, attested).shard_state


def fence_shortfalls(  # noqa: PLR0917 (next_shard_state's inputs)
    parent_state: WorldState,
    params: NetworkParams,
    epoch: int,
    operator_slots: Sequence[Sequence[Slot]],
    fences: Fences,
    previous: ShardState | None,
) -> tuple[FenceShortfall, ...]:
    """Why fences were short in the election of epoch ``epoch + 1`` over ``parent_state`` (the state before
    the beacon's last block of ``epoch``), with ``previous`` the committees of ``epoch``: what the RPC shows.
    The same auction and :func:`~harmony.chain.fenced_assignment.fenced_assign` as :func:`next_shard_state`;
    whether a fence is short does not depend on the randomness, so none is needed here."""
    if not fences.any:
        return ()
    result = auction(
        parent_state, params, epoch + 1, operator_slots, snapshot_counters=counters_snapshots(parent_state)
    )
    attested = live_attested(parent_state, fences, epoch + 1)
    any_rule = cuckoo_group_assigner(bytes(32), DEFAULT_MOVE_FRACTION)
    placed = fenced_assign(
        epoch + 1, operator_slots, result.winners, params.shard_count, fences, attested, previous, any_rule
    )
    return placed.shortfalls


def elected_addresses(shard_state: ShardState) -> tuple[bytes, ...]:
    """The validators holding an external seat (one with an effective stake) of ``shard_state``."""
    return tuple(
        sorted(
            {
                slot.ecdsa_address
                for committee in shard_state.shards
                for slot in committee.slots
                if slot.effective_stake is not None
            }
        )
    )


def _availability(state: WorldState, epoch: int, params: NetworkParams) -> tuple[bytes, ...]:
    """Step 1: deactivate the validators elected for ``epoch`` that signed too little (§5.1)."""
    snapshots: Mapping[bytes, Counters] = {
        address: read_counters_snapshot(state, address)
        for address in validator_addresses(state)
        if (wrapper := _wrapper(state, address)) is not None
        and wrapper.validator.last_epoch_in_committee == epoch
    }
    return compute_and_mutate_status(state, snapshots, params.signing_threshold)


def _mark_elected(state: WorldState, next_state: ShardState) -> tuple[bytes, ...]:
    """Step 3: ``last_epoch_in_committee`` of every validator seated in ``next_state`` (§3.6)."""
    marked: list[bytes] = []
    epoch = next_state.epoch
    if epoch is None:  # a legacy (pre-staking) shard state names no epoch
        return ()
    for address in elected_addresses(next_state):
        wrapper = _wrapper(state, address)
        if wrapper is None:
            continue
        if wrapper.validator.last_epoch_in_committee != epoch:
            validator = replace(wrapper.validator, last_epoch_in_committee=epoch)
            set_validator_wrapper(state, address, replace(wrapper, validator=validator))
        marked.append(address)
    return tuple(marked)


def end_of_epoch(
    state: WorldState, epoch: int, params: NetworkParams, *, next_state: ShardState | None = None
) -> EpochEnd:
    """Run the end-of-``epoch`` steps on the beacon state, in the module docstring's order: availability,
    undelegation payout, the election's side effects for ``next_state`` (the shard state the block
    carries; none: no side effects), the counter snapshot."""
    deactivated = _availability(state, epoch, params)
    payouts = payout_undelegations(state, epoch, params)
    elected = _mark_elected(state, next_state) if next_state is not None else ()
    write_counters_snapshot(state)
    return EpochEnd(epoch, payouts, deactivated, elected)


__all__ = [
    "EpochEnd",
    "counters_snapshots",
    "elected_addresses",
    "end_of_epoch",
    "fence_shortfalls",
    "next_shard_state",
    "read_counters_snapshot",
    "write_counters_snapshot",
]
