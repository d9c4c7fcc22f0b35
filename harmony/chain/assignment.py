"""Seat assignment: which shard each elected seat sits in for an epoch (design §5, §7; reference §3.5).

The election (``harmony.chain.staking.election``) picks the winning seats; this module puts them in shards.
Three rules, each a pure function of its inputs, with the election's pluggable signature
``assign(epoch, operator_slots, winners, shard_count) -> ShardState`` available through a factory:

* Harmony's rule (reference §3.5), ``shard = int(BLS key) mod shards``, is the election's
  :func:`harmony.chain.staking.election.key_mod_assign`, kept for comparison: a validator chooses its keys,
  so it can grind keys until they all land in one shard.
* :func:`random_assigner`: seats that persist from the previous epoch keep their shard; new seats fill the
  vacancies in an order drawn from the epoch randomness. Cheap (nobody moves), but an adversary that keeps
  its seats in one shard and leaves and rejoins everywhere else (the join-leave attack) piles up there.
* :func:`cuckoo_assign`: the Cuckoo rule, our variant below. This is the network's rule (design §5).

**Our Cuckoo variant** (after Awerbuch and Scheideler's Cuckoo rule, adapted to fixed-size committees).
Let ``n`` be the number of winners and ``S`` the shards; shard ``s`` gets ``t_s = n // S`` external seats,
plus one for the first ``n mod S`` shards (:func:`balanced_sizes`). Then, with every random choice drawn
from the epoch seed (:class:`SeedDraws`):

1. *Stay*: a winner that held an external seat in shard ``s`` last epoch (same BLS key) stays in ``s``. If
   ``s`` has more stayers than ``t_s``, the excess, chosen at random, is displaced.
2. *Move*: from every shard, ``⌊move_fraction · stayers⌋`` stayers, chosen at random, are displaced.
3. *Join and cuckoo*: the new seats, in a random order, each go to a shard chosen uniformly at random (not
   where the vacancies are), and each join evicts ("cuckoos") ``evictions_per_join`` seats of that shard,
   chosen at random among its current members, more if needed to keep the shard within ``t_s``; the evicted
   seats are displaced.
4. *Fill*: the displaced seats fill the remaining vacancies in a uniformly random order.

Why it bounds concentration: an adversary can only change where its seats are by leaving and joining
again, and a joining seat can neither choose its shard (step 3 is uniform and the seed is unknown when the
election closes, see :mod:`harmony.chain.randomness`) nor follow the vacancies its own departures created
(the naive rule's weakness). Each of its joins into a shard flushes ``evictions_per_join`` random members of
that shard, its own in proportion, into a random refill drawn from the whole network; so the more it
churns to reach a shard, the faster that shard is re-mixed. Step 2 keeps every shard mixing by at least
``move_fraction`` per epoch even when nobody churns. The simulator (``harmony sim resharding``) measures it.

Cost bound: in an epoch, the stayers that change shard number at most ``Σ ⌊move_fraction · stayers_s⌋ +
max(evictions_per_join, 1) · (new seats) +`` the overflow of step 1 (a join into a full shard evicts one
seat even when ``evictions_per_join`` is 0: no shard exceeds ``t_s`` after steps 1 and 2, so a join needs
at most one more); with an unchanged set of winners, at most ``⌊move_fraction · t_s⌋`` seats leave each
shard.

Operator (Harmony-operated) slots come first in each committee, in the order given; the external seats of
a committee follow in the order of ``winners`` (the auction order). Everything is integer arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Protocol, TypeVar

from harmony.crypto.keccak import keccak256
from harmony.encoding.fixed import Dec
from harmony.errors import HarmonyError
from harmony.types.shard_state import Committee, ShardState, Slot

K = TypeVar("K", bound=Hashable)

CUCKOO_MOVE_FRACTION: dict[str, Dec] = {
    "localnet": Dec.from_str("0.25"),
    "localnet32": Dec.from_str("0.25"),
    "mainnet": Dec.from_str("0.125"),
}
"""Default share of each shard's staying seats moved every epoch, by preset name (not in ``params``)."""
DEFAULT_MOVE_FRACTION = Dec.from_str("0.125")
"""Move fraction for a preset not in :data:`CUCKOO_MOVE_FRACTION`."""
CUCKOO_EVICTIONS_PER_JOIN = 4
"""Seats a joining seat evicts from the shard it joins (the Cuckoo rule's ``k``)."""

_DRAW_DOMAIN = b"harmony-assignment-v1"
_DRAW_BITS = 256


Assigner = Callable[[int, Sequence[Sequence[Slot]], Sequence[Slot], int], ShardState]
"""The election's pluggable assignment step: ``(epoch, operator_slots, winners, shard_count) -> state``."""


class AssignmentError(HarmonyError):
    """Seats cannot be assigned; ``reason`` says why (duplicate key, bad shard count, bad fraction)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"assignment: {reason}: {message}")
        self.reason = reason


class Draws(Protocol):
    """A source of uniform integers; the rules take every random choice from one."""

    def below(self, n: int) -> int:
        """A uniform integer in ``[0, n)``; ``n`` ≥ 1."""
        ...


class SeedDraws:
    """The deterministic PRNG of the assignment rules: block ``i`` is ``keccak256(domain ‖ seed ‖ epoch ‖
    i)`` read as a 256-bit big-endian integer; :meth:`below` rejects values at or above the largest
    multiple of ``n`` below 2^256 and takes the remainder, so there is no modulo bias."""

    __slots__ = ("_counter", "_prefix")

    def __init__(self, seed: bytes, epoch: int = 0) -> None:
        if epoch < 0:
            raise AssignmentError("epoch", f"epoch {epoch} is negative")
        self._prefix = _DRAW_DOMAIN + len(seed).to_bytes(2, "big") + bytes(seed) + epoch.to_bytes(8, "big")
        self._counter = 0

    def _next(self) -> int:
        block = keccak256(self._prefix + self._counter.to_bytes(8, "big"))
        self._counter += 1
        return int.from_bytes(block, "big")

    def below(self, n: int) -> int:
        """A uniform integer in ``[0, n)`` by rejection sampling."""
        if n < 1:
            raise AssignmentError("draw", f"cannot draw below {n}")
        limit = ((1 << _DRAW_BITS) // n) * n
        while True:
            value = self._next()
            if value < limit:
                return value % n


def shuffle(items: list[K], draws: Draws) -> None:
    """Fisher-Yates shuffle of ``items`` in place, each swap drawn from ``draws``."""
    for i in range(len(items) - 1, 0, -1):
        j = draws.below(i + 1)
        items[i], items[j] = items[j], items[i]


def _take_random(members: list[K], draws: Draws) -> K:
    """Remove and return a uniformly chosen member (swap with the last, then pop)."""
    index = draws.below(len(members))
    chosen = members[index]
    members[index] = members[-1]
    members.pop()
    return chosen


def balanced_sizes(seats: int, shard_count: int) -> list[int]:
    """External seats per shard: ``seats // S`` each, one more for the first ``seats mod S`` shards."""
    base, extra = divmod(seats, shard_count)
    return [base + (1 if s < extra else 0) for s in range(shard_count)]


def _check_inputs(winners: Sequence[K], shard_count: int) -> None:
    if shard_count < 1:
        raise AssignmentError("shard_count", f"need at least one shard, got {shard_count}")
    if len(set(winners)) != len(winners):
        raise AssignmentError("duplicate_key", "a key is elected twice")


def _stayers(
    previous: Mapping[K, int], winners: Sequence[K], shard_count: int
) -> tuple[list[list[K]], list[K]]:
    """Split winners into those keeping last epoch's shard (per shard, in winners order) and new ones."""
    members: list[list[K]] = [[] for _ in range(shard_count)]
    new: list[K] = []
    for key in winners:
        shard = previous.get(key)
        if shard is not None and 0 <= shard < shard_count:
            members[shard].append(key)
        else:
            new.append(key)
    return members, new


def _fill(members: list[list[K]], sizes: list[int], displaced: list[K], draws: Draws) -> None:
    """Put the displaced seats into the vacancies, in a uniformly random order."""
    spots = [s for s, size in enumerate(sizes) for _ in range(size - len(members[s]))]
    shuffle(spots, draws)
    for key, shard in zip(displaced, spots, strict=True):
        members[shard].append(key)


def random_place(
    previous: Mapping[K, int], winners: Sequence[K], shard_count: int, draws: Draws
) -> dict[K, int]:
    """The shard of every winner under the naive random rule (module docstring): stayers keep their shard
    (overflow displaced at random), new seats fill the vacancies in a random order."""
    _check_inputs(winners, shard_count)
    sizes = balanced_sizes(len(winners), shard_count)
    members, new = _stayers(previous, winners, shard_count)
    displaced: list[K] = []
    for s in range(shard_count):
        while len(members[s]) > sizes[s]:
            displaced.append(_take_random(members[s], draws))
    shuffle(new, draws)
    _fill(members, sizes, displaced + new, draws)
    return {key: s for s in range(shard_count) for key in members[s]}


def cuckoo_place(
    previous: Mapping[K, int],
    winners: Sequence[K],
    shard_count: int,
    *,
    move_fraction: Dec,
    draws: Draws,
    evictions_per_join: int = CUCKOO_EVICTIONS_PER_JOIN,
) -> dict[K, int]:
    """The shard of every winner under our Cuckoo rule (module docstring, steps 1-4)."""
    _check_inputs(winners, shard_count)
    if move_fraction.is_negative() or (Dec.one() - move_fraction).is_negative():
        raise AssignmentError("move_fraction", f"must be in [0, 1], got {move_fraction}")
    if evictions_per_join < 0:
        raise AssignmentError("evictions_per_join", f"must not be negative, got {evictions_per_join}")
    sizes = balanced_sizes(len(winners), shard_count)
    members, new = _stayers(previous, winners, shard_count)
    displaced: list[K] = []
    for s in range(shard_count):  # 1. stay, overflow displaced
        while len(members[s]) > sizes[s]:
            displaced.append(_take_random(members[s], draws))
    for s in range(shard_count):  # 2. move a bounded fraction
        for _ in range(move_fraction.mul_int(len(members[s])).truncate_int()):
            displaced.append(_take_random(members[s], draws))
    open_shards = [s for s in range(shard_count) if sizes[s] > 0]
    shuffle(new, draws)
    for key in new:  # 3. join a uniform shard and cuckoo some of its members
        shard = open_shards[draws.below(len(open_shards))]
        here = members[shard]
        evict = min(len(here), max(evictions_per_join, len(here) + 1 - sizes[shard]))
        for _ in range(evict):
            displaced.append(_take_random(here, draws))
        here.append(key)
    _fill(members, sizes, displaced, draws)  # 4. refill at random
    return {key: s for s in range(shard_count) for key in members[s]}


def previous_shards(previous: ShardState | None) -> dict[bytes, int]:
    """BLS key → shard of every external (staked) seat of ``previous``; operator seats are not included."""
    if previous is None:
        return {}
    return {
        slot.bls_public_key: committee.shard_id
        for committee in previous.shards
        for slot in committee.slots
        if slot.effective_stake is not None
    }


def _build_state(
    epoch: int,
    operator_slots: Sequence[Sequence[Slot]],
    winners: Sequence[Slot],
    shard_count: int,
    shard_of: Mapping[bytes, int],
) -> ShardState:
    """Committees with the operator slots first, then each shard's winners in ``winners`` order."""
    if operator_slots and len(operator_slots) != shard_count:
        raise AssignmentError(
            "operator_slots", f"{len(operator_slots)} operator lists for {shard_count} shards"
        )
    seats: list[list[Slot]] = [list(operator_slots[s]) if operator_slots else [] for s in range(shard_count)]
    for slot in winners:
        seats[shard_of[slot.bls_public_key]].append(slot)
    return ShardState(epoch, tuple(Committee(s, tuple(seats[s])) for s in range(shard_count)))


def _winner_keys(winners: Sequence[Slot]) -> list[bytes]:
    keys = [slot.bls_public_key for slot in winners]
    if len(set(keys)) != len(keys):
        raise AssignmentError("duplicate_key", "a BLS key is elected twice")
    return keys


def random_assigner(seed: bytes, previous: ShardState | None) -> Assigner:
    """The naive random rule (module docstring) in the election's ``assign(epoch, operator_slots, winners,
    shard_count)`` form: stayers keep their shard; each new seat goes to a vacancy drawn from ``seed``
    (:class:`SeedDraws`)."""

    def assign(
        epoch: int, operator_slots: Sequence[Sequence[Slot]], winners: Sequence[Slot], shard_count: int
    ) -> ShardState:
        keys = _winner_keys(winners)
        shard_of = random_place(previous_shards(previous), keys, shard_count, SeedDraws(seed, epoch))
        return _build_state(epoch, operator_slots, winners, shard_count, shard_of)

    return assign


def cuckoo_assign(  # noqa: PLR0917 (the election's argument order)
    epoch: int,
    seed: bytes,
    previous: ShardState | None,
    operator_slots: Sequence[Sequence[Slot]],
    winners: Sequence[Slot],
    shard_count: int,
    move_fraction: Dec,
    *,
    evictions_per_join: int = CUCKOO_EVICTIONS_PER_JOIN,
) -> ShardState:
    """The network's assignment (design §5, §7): our Cuckoo rule (module docstring) drawn from ``seed``.

    A winner is the same seat as last epoch when its BLS key held an external seat in ``previous``.
    """
    keys = _winner_keys(winners)
    shard_of = cuckoo_place(
        previous_shards(previous),
        keys,
        shard_count,
        move_fraction=move_fraction,
        draws=SeedDraws(seed, epoch),
        evictions_per_join=evictions_per_join,
    )
    return _build_state(epoch, operator_slots, winners, shard_count, shard_of)


def cuckoo_assigner(seed: bytes, previous: ShardState | None, move_fraction: Dec) -> Assigner:
    """:func:`cuckoo_assign` with ``seed``, ``previous`` and ``move_fraction`` bound, in the election's
    pluggable ``assign(epoch, operator_slots, winners, shard_count)`` form."""

    def assign(
        epoch: int, operator_slots: Sequence[Sequence[Slot]], winners: Sequence[Slot], shard_count: int
    ) -> ShardState:
        return cuckoo_assign(epoch, seed, previous, operator_slots, winners, shard_count, move_fraction)

    return assign


def move_fraction_for(preset: str) -> Dec:
    """The Cuckoo move fraction of a preset (:data:`CUCKOO_MOVE_FRACTION`, else the default)."""
    return CUCKOO_MOVE_FRACTION.get(preset, DEFAULT_MOVE_FRACTION)


__all__ = [
    "CUCKOO_EVICTIONS_PER_JOIN",
    "CUCKOO_MOVE_FRACTION",
    "Assigner",
    "AssignmentError",
    "Draws",
    "SeedDraws",
    "balanced_sizes",
    "cuckoo_assign",
    "cuckoo_assigner",
    "cuckoo_place",
    "move_fraction_for",
    "previous_shards",
    "random_assigner",
    "random_place",
    "shuffle",
]
