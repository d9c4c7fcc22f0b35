"""Seat assignment with country fences: a fenced shard's seats go only to validators attested for its
jurisdiction (issue 21, ``docs/design/fenced-shards.md``, Rules).

:func:`fenced_assign` runs after the auction, in place of the plain assignment, when the network fences a
shard. The winners keep their auction order; ``attested[J]`` is the set of validator addresses live-attested
for jurisdiction ``J`` in the epoch being elected (:func:`harmony.chain.staking.attestations.is_attested`).

1. *Fair share*: shard ``s`` is due ``t_s`` external seats, :func:`~harmony.chain.assignment.balanced_sizes`
   of the winners over all shards, as without fences.
2. *Each jurisdiction* ``J`` in the genesis's order, over its shards ``G``: its candidates are the winners
   attested for ``J`` not yet seated. If there are fewer than ``min_seats · |G|`` of them, or their effective
   stake is below ``min_stake_share`` of the average stake per shard times ``|G|``, the fence is **short**:
   each of its shards keeps those of its previous external members that are candidates (still elected and
   still attested), where they sat, and nobody else; the :class:`FenceShortfall` says why. Otherwise it takes
   ``Σ t_s`` of them over ``G`` (last epoch's members of ``G`` first, then in auction order) and places them
   among ``G`` by the group's rule (the Cuckoo rule in the chain), as if ``G`` were a network of its own.
3. *Everyone else* (the winners not seated in step 2, attested or not) is placed among the unfenced shards by
   the group's rule. The beacon chain is never fenced, so that group is never empty.

Invariant (tested with hypothesis): no external seat of a shard fenced to ``J`` belongs to a validator
outside ``attested[J]``; every winner sits at most once; operator seats stay first where they were.

The group's rule is injected as a :data:`GroupAssigner`: given the group's label (the jurisdiction, ``None``
for the unfenced shards) and the previous committees of the group's shards renumbered ``0 .. |G| - 1``, an
assignment over that small network. The chain's is the Cuckoo rule over the epoch randomness hashed with the
label, so the groups draw independently (:func:`cuckoo_group_assigner`).

Limit: when a fence is short, the unfenced shards take the winners it did not seat, so their committees can
grow above their fair share (no winner is dropped).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from harmony.chain.assignment import Assigner, balanced_sizes, cuckoo_assigner
from harmony.chain.fences import Fence, Fences
from harmony.crypto.keccak import keccak256
from harmony.encoding.fixed import Dec
from harmony.types.shard_state import Committee, ShardState, Slot

GroupAssigner = Callable[[str | None, ShardState | None], Assigner]
"""``(label, previous of the group renumbered) -> assign``: the placement rule of one group of shards."""
FencedAssignFn = Callable[
    [int, Sequence[Sequence[Slot]], Sequence[Slot], int, Mapping[str, frozenset[bytes]]], "FencedAssignment"
]
"""``(epoch, operator_slots, winners, shard_count, attested) -> FencedAssignment``: :func:`fenced_assign`
with the network's fences, the previous committees and the group rule bound (the chain's election hook)."""

SHORT_SEATS = "min_seats"
"""A fence is short of attested winners."""
SHORT_STAKE = "min_stake_share"
"""A fence's attested winners hold too little stake."""


@dataclass(frozen=True, slots=True)
class FenceShortfall:
    """Why a jurisdiction's shards kept their previous committees in an election."""

    jurisdiction: str
    shards: tuple[int, ...]
    """The shards it fences."""
    reason: str
    """:data:`SHORT_SEATS` or :data:`SHORT_STAKE`."""
    message: str
    """The numbers, for the RPC and the logs."""


@dataclass(frozen=True, slots=True)
class FencedAssignment:
    """The committees an election gives, and the fences that were short."""

    shard_state: ShardState
    shortfalls: tuple[FenceShortfall, ...] = ()


def _stake(slots: Sequence[Slot]) -> Dec:
    total = Dec.zero()
    for slot in slots:
        total = total + (slot.effective_stake or Dec.zero())
    return total


def _previous_members(previous: ShardState | None, shards: Sequence[int]) -> dict[bytes, int]:
    """BLS key -> shard of the external members ``previous`` had on ``shards``."""
    if previous is None:
        return {}
    found: dict[bytes, int] = {}
    for committee in previous.shards:
        if committee.shard_id in shards:
            for slot in committee.slots:
                if slot.effective_stake is not None:
                    found[slot.bls_public_key] = committee.shard_id
    return found


def _shortfall(
    fence: Fence, shards: tuple[int, ...], chosen: Sequence[Slot], total: Dec, count: int
) -> str | None:
    """The reason ``chosen`` cannot fill ``fence``'s ``shards`` (module docstring, step 2), or ``None``."""
    if len(chosen) < fence.min_seats * len(shards):
        return SHORT_SEATS
    # stake(chosen) / |G|  >=  share · total / S   <=>   stake(chosen) · S  >=  share · total · |G|
    if _stake(chosen).mul_int(count) < fence.min_stake_share.mul(total).mul_int(len(shards)):
        return SHORT_STAKE
    return None


def _operators(operator_slots: Sequence[Sequence[Slot]], shard: int) -> Sequence[Slot]:
    return operator_slots[shard] if operator_slots else ()


def _renumbered(previous: ShardState | None, shards: Sequence[int]) -> ShardState | None:
    if previous is None:
        return None
    by_id = {c.shard_id: c for c in previous.shards}
    return ShardState(
        previous.epoch,
        tuple(Committee(i, by_id[s].slots if s in by_id else ()) for i, s in enumerate(shards)),
    )


def _place_group(  # noqa: PLR0917 (one group's whole context)
    label: str | None,
    shards: tuple[int, ...],
    members: Sequence[Slot],
    epoch: int,
    operator_slots: Sequence[Sequence[Slot]],
    previous: ShardState | None,
    group_assign: GroupAssigner,
) -> dict[int, tuple[Slot, ...]]:
    """Real shard -> its committee, ``members`` placed among ``shards`` by the group's rule."""
    assign = group_assign(label, _renumbered(previous, shards))
    local = assign(epoch, [_operators(operator_slots, s) for s in shards], members, len(shards))
    return {shards[c.shard_id]: c.slots for c in local.shards}


def fenced_assign(  # noqa: PLR0917 (the election's argument order, then the fence's inputs)
    epoch: int,
    operator_slots: Sequence[Sequence[Slot]],
    winners: Sequence[Slot],
    shard_count: int,
    fences: Fences,
    attested: Mapping[str, frozenset[bytes]],
    previous: ShardState | None,
    group_assign: GroupAssigner,
) -> FencedAssignment:
    """The committees of ``epoch`` with the fences respected (module docstring, steps 1-3)."""
    sizes = balanced_sizes(len(winners), shard_count)
    total = _stake(winners)
    seated: set[bytes] = set()
    committees: dict[int, tuple[Slot, ...]] = {}
    shortfalls: list[FenceShortfall] = []
    for fence in fences.fences:
        shards = fences.fenced_shards(fence.jurisdiction)
        allowed = attested.get(fence.jurisdiction, frozenset())
        candidates = [w for w in winners if w.ecdsa_address in allowed and w.bls_public_key not in seated]
        before = _previous_members(previous, shards)
        ordered = [w for w in candidates if w.bls_public_key in before]
        ordered += [w for w in candidates if w.bls_public_key not in before]
        chosen = ordered[: sum(sizes[s] for s in shards)]
        reason = _shortfall(fence, shards, chosen, total, shard_count)
        if reason is None:
            committees.update(
                _place_group(
                    fence.jurisdiction, shards, chosen, epoch, operator_slots, previous, group_assign
                )
            )
            seated.update(w.bls_public_key for w in chosen)
            continue
        kept = [w for w in candidates if w.bls_public_key in before]
        for shard in shards:
            here = tuple(w for w in kept if before[w.bls_public_key] == shard)
            committees[shard] = (*_operators(operator_slots, shard), *here)
        seated.update(w.bls_public_key for w in kept)
        shortfalls.append(
            FenceShortfall(
                fence.jurisdiction,
                shards,
                reason,
                f"{len(candidates)} attested validators elected for {fence.jurisdiction} "
                f"(at least {fence.min_seats} per shard on {len(shards)} shards, and {fence.min_stake_share} "
                f"of the average stake per shard, needed): its shards keep {len(kept)} previous members",
            )
        )
    unfenced = tuple(s for s in range(shard_count) if fences.jurisdiction_of(s) is None)
    rest = [w for w in winners if w.bls_public_key not in seated]
    committees.update(_place_group(None, unfenced, rest, epoch, operator_slots, previous, group_assign))
    state = ShardState(epoch, tuple(Committee(s, committees[s]) for s in range(shard_count)))
    return FencedAssignment(state, tuple(shortfalls))


def cuckoo_group_assigner(seed: bytes, move_fraction: Dec) -> GroupAssigner:
    """The chain's group rule: :func:`~harmony.chain.assignment.cuckoo_assigner` over ``seed`` for the
    unfenced shards, over ``keccak(seed ‖ jurisdiction)`` for a fence's shards."""

    def for_group(label: str | None, previous: ShardState | None) -> Assigner:
        group_seed = seed if label is None else keccak256(seed + b"fence:" + label.encode())
        return cuckoo_assigner(group_seed, previous, move_fraction)

    return for_group


def fenced_cuckoo_assigner(
    election: Callable[[], tuple[bytes, ShardState | None]], move_fraction: Dec, fences: Fences
) -> FencedAssignFn:
    """:func:`fenced_assign` with :func:`cuckoo_group_assigner` and ``fences`` bound: the beacon chain's
    election in a fenced network. ``election()`` gives the seed and the previous committees, read only when
    the election runs."""

    def assign(
        epoch: int,
        operator_slots: Sequence[Sequence[Slot]],
        winners: Sequence[Slot],
        shard_count: int,
        attested: Mapping[str, frozenset[bytes]],
    ) -> FencedAssignment:
        seed, previous = election()
        group_assign = cuckoo_group_assigner(seed, move_fraction)
        return fenced_assign(
            epoch, operator_slots, winners, shard_count, fences, attested, previous, group_assign
        )

    return assign


__all__ = [
    "SHORT_SEATS",
    "SHORT_STAKE",
    "FenceShortfall",
    "FencedAssignFn",
    "FencedAssignment",
    "GroupAssigner",
    "cuckoo_group_assigner",
    "fenced_assign",
    "fenced_cuckoo_assigner",
]
