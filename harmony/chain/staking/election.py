"""The EPoS election: who sits in next epoch's committees, with what effective stake (reference §3).

Read top to bottom:

1. :func:`candidates` (§3.1): the validators that may bid: Active, not below the signing threshold if they
   sat in the ending epoch's committee, self-delegation at least the larger of their declared minimum and
   the network's, total delegation within their declared maximum, no BLS key shared with a Harmony-operated
   seat or with an earlier candidate (validators are read in address order; a later validator holding an
   already seen key is dropped whole).
2. :func:`slot_bids` (§3.1 HIP-16, §3.2): each candidate's stake (the sum of all its delegations) is split
   equally over its keys, at most ``params.slots_limit_per_shard`` keys per shard (shard = key mod shard
   count) counting; one bid per key.
3. :func:`run_auction` (§3.3, §3.4): bids sorted by raw stake descending, ties by validator address then
   key (ascending, bytes); the first ``params.external_seats`` win. ``median`` is the median raw stake of
   the winners (even count: the mean of the two middle values, in :class:`Dec`), and each winner's
   effective stake is its raw stake clamped to ``[(1 − c)·median, (1 + c)·median]``.
4. :func:`key_mod_assign` / :func:`build_shard_state` (§3.5): Harmony-operated seats first in every shard,
   then each winner in shard ``int(key, big-endian) mod shard_count``, in auction order. The network will
   assign by the epoch randomness instead (design §5, §7); :func:`elect` takes the assignment as a
   parameter with the same signature.
5. :func:`elect`: the whole election at the beacon's last block of an epoch; also sets
   ``last_epoch_in_committee`` of every elected validator to the new epoch.

Stakes are :class:`Dec` values of atto amounts (``Dec.from_int(atto)``), as Harmony's
``NewDecFromBigInt``. If nobody wins, the external part of every committee is empty: the reference then
reuses the previous epoch's shard state (§3.5), a decision left to the caller, which holds that state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from harmony.chain.params import NetworkParams
from harmony.chain.staking.availability import is_eligible_for_auction
from harmony.chain.staking.records import get_validator_wrapper, set_validator_wrapper, validator_addresses
from harmony.chain.state_api import WorldState
from harmony.encoding.fixed import Dec, dec_max, dec_min
from harmony.errors import HarmonyError
from harmony.types.shard_state import Committee, ShardState, Slot
from harmony.types.validator import Counters, ValidatorWrapper

__all__ = [
    "AssignFn",
    "AuctionResult",
    "ElectionError",
    "SlotBid",
    "auction",
    "build_shard_state",
    "candidates",
    "effective_stake",
    "elect",
    "key_mod_assign",
    "median_stake",
    "run_auction",
    "slot_bids",
]


class ElectionError(HarmonyError):
    """The election was given inconsistent inputs; :attr:`reason` names the check."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SlotBid:
    """One key's bid in the auction (Go ``SlotPurchase``)."""

    address: bytes
    """The bidding validator."""
    bls_public_key: bytes
    """The key that would take the seat."""
    raw_stake: Dec
    """The validator's total delegation divided by its counted keys (atto as a Dec)."""


@dataclass(frozen=True, slots=True)
class AuctionResult:
    """The outcome of one auction (§3.3–§3.4)."""

    winners: tuple[Slot, ...]
    """Winning seats in auction order, with their effective stake."""
    median: Dec
    """Median raw stake of the winners (0 when nobody wins)."""
    winning_bids: tuple[SlotBid, ...]
    """The winners' bids (raw stakes), aligned with :attr:`winners`."""
    bids: tuple[SlotBid, ...]
    """Every bid in auction order, losers included (for RPC's median-stake snapshot)."""

    @property
    def elected_addresses(self) -> tuple[bytes, ...]:
        """The validators holding at least one winning seat, in address order."""
        return tuple(sorted({slot.ecdsa_address for slot in self.winners}))


AssignFn = Callable[[int, Sequence[Sequence[Slot]], Sequence[Slot], int], ShardState]
"""``assign(epoch, operator_slots, winners, shard_count) -> ShardState``: places the winners in shards."""


def _key_shard(bls_public_key: bytes, shard_count: int) -> int:
    return int.from_bytes(bls_public_key, "big") % shard_count


def candidates(
    state: WorldState,
    params: NetworkParams,
    current_epoch: int,
    reserved_keys: frozenset[bytes] = frozenset(),
    snapshot_counters: Mapping[bytes, Counters] | None = None,
) -> tuple[ValidatorWrapper, ...]:
    """The validators that may bid (reference §3.1, Go ``prepareOrders``), in address order.

    A validator is a candidate if :func:`~harmony.chain.staking.availability.is_eligible_for_auction`
    (Active; not below ``params.signing_threshold`` over ``current_epoch`` when it sat in that epoch's
    committee and ``snapshot_counters`` has its epoch-start counters), its self-delegation (delegation 0)
    is at least ``max(min_self_delegation, params.min_self_delegation)``, its total delegation is at most
    its ``max_total_delegation``, it has at least one key, and none of its keys is in ``reserved_keys``
    (Harmony-operated keys) or held by a candidate before it.
    """
    seen_keys: set[bytes] = set(reserved_keys)
    found: list[ValidatorWrapper] = []
    for address in sorted(validator_addresses(state)):
        wrapper = get_validator_wrapper(state, address)
        if wrapper is None:
            continue
        snapshot = snapshot_counters.get(address) if snapshot_counters is not None else None
        if not is_eligible_for_auction(wrapper, snapshot, current_epoch, params.signing_threshold):
            continue
        validator = wrapper.validator
        minimum = max(validator.min_self_delegation, params.min_self_delegation)
        if not wrapper.delegations or wrapper.delegations[0].amount < minimum:
            continue
        if wrapper.total_delegation > validator.max_total_delegation:
            continue
        keys = validator.slot_pub_keys
        if not keys or any(key in seen_keys for key in keys) or len(set(keys)) != len(keys):
            seen_keys.update(keys)
            continue
        seen_keys.update(keys)
        found.append(wrapper)
    return tuple(found)


def slot_bids(
    wrappers: Sequence[ValidatorWrapper], shard_count: int, slots_limit: int
) -> tuple[SlotBid, ...]:
    """One bid per counted key (reference §3.1 HIP-16, §3.2): stake split equally over the keys.

    With ``slots_limit > 0`` only the first ``slots_limit`` keys of a validator falling in each shard
    (key mod ``shard_count``) count. The stake is the sum of all delegations, as a :class:`Dec`, divided by
    the number of counted keys (truncated in the 18th decimal, Go ``QuoInt64``).
    """
    bids: list[SlotBid] = []
    for wrapper in wrappers:
        keys = wrapper.validator.slot_pub_keys
        if slots_limit > 0:
            per_shard = [0] * shard_count
            limited: list[bytes] = []
            for key in keys:
                shard = _key_shard(key, shard_count)
                per_shard[shard] += 1
                if per_shard[shard] <= slots_limit:
                    limited.append(key)
            keys = tuple(limited)
        if not keys:
            continue
        spread = Dec.from_int(wrapper.total_delegation).quo_int(len(keys))
        bids.extend(SlotBid(wrapper.validator.address, key, spread) for key in keys)
    return tuple(bids)


def median_stake(stakes: Sequence[Dec]) -> Dec:
    """The median of raw stakes (reference §3.4, Go ``Median``): the middle value, or for an even count the
    two middle values' sum divided by two (rounded half to even at 18 decimals); 0 for no stakes."""
    if not stakes:
        return Dec.zero()
    ordered = sorted(stakes)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]).quo(Dec.from_int(2))


def effective_stake(raw: Dec, median: Dec, band: Dec) -> Dec:
    """``clamp(raw, (1 − c)·median, (1 + c)·median)`` with ``c = band`` (reference §3.4)."""
    low = (Dec.one() - band).mul(median)
    high = (Dec.one() + band).mul(median)
    return dec_max(low, dec_min(high, raw))


def run_auction(bids: Sequence[SlotBid], seats: int, band: Dec) -> AuctionResult:
    """The auction (reference §3.3–§3.4, Go ``effective.Apply``).

    Bids sort by raw stake descending, then validator address, then key (ascending); the first ``seats``
    win; each winner's effective stake is its raw stake clamped around the winners' median.
    """
    ordered = tuple(sorted(bids, key=lambda b: (-b.raw_stake.raw, b.address, b.bls_public_key)))
    picks = ordered[: max(seats, 0)]
    median = median_stake([bid.raw_stake for bid in picks])
    winners = tuple(
        Slot(bid.address, bid.bls_public_key, effective_stake(bid.raw_stake, median, band)) for bid in picks
    )
    return AuctionResult(winners=winners, median=median, winning_bids=picks, bids=ordered)


def key_mod_assign(
    epoch: int, operator_slots: Sequence[Sequence[Slot]], winners: Sequence[Slot], shard_count: int
) -> ShardState:
    """Harmony's deterministic assignment (reference §3.5): shard ``int(key, big-endian) mod shard_count``.

    This is :func:`build_shard_state`; it is the default ``assign`` of :func:`elect`.
    """
    return build_shard_state(epoch, operator_slots, winners, shard_count)


def build_shard_state(
    epoch: int, operator_slots: Sequence[Sequence[Slot]], winners: Sequence[Slot], shard_count: int
) -> ShardState:
    """The shard state of ``epoch`` (reference §3.5): in each shard the Harmony-operated seats
    ``operator_slots[shard]`` first, then the winners whose key mod ``shard_count`` is that shard, in the
    order given.

    Raises :class:`ElectionError` when ``operator_slots`` does not have one entry per shard
    (``operator_shards``) or an operator seat carries an effective stake (``operator_stake``).
    """
    if shard_count < 1 or len(operator_slots) != shard_count:
        raise ElectionError(
            "operator_shards", f"{len(operator_slots)} operator seat lists for {shard_count} shards"
        )
    shards: list[list[Slot]] = []
    for seats in operator_slots:
        if any(seat.effective_stake is not None for seat in seats):
            raise ElectionError("operator_stake", "a Harmony-operated seat has no effective stake")
        shards.append(list(seats))
    for slot in winners:
        shards[_key_shard(slot.bls_public_key, shard_count)].append(slot)
    return ShardState(epoch, tuple(Committee(i, tuple(seats)) for i, seats in enumerate(shards)))


def elect(
    state: WorldState,
    params: NetworkParams,
    epoch: int,
    operator_slots: Sequence[Sequence[Slot]],
    *,
    assign: AssignFn = key_mod_assign,
    snapshot_counters: Mapping[bytes, Counters] | None = None,
) -> ShardState:
    """Elect the committees of ``epoch`` (reference §3.1–§3.6): the beacon's last block of ``epoch − 1``.

    Candidates (:func:`candidates`, measured over ``epoch − 1`` against ``snapshot_counters``) bid
    (:func:`slot_bids`), the auction fills ``params.external_seats`` (:func:`run_auction`) and ``assign``
    places the winners after ``operator_slots`` (one seat list per shard). Every elected validator's
    ``last_epoch_in_committee`` becomes ``epoch``. With no winner the committees hold only the operator
    seats (the caller may reuse the previous shard state instead, §3.5).
    """
    result = auction(state, params, epoch, operator_slots, snapshot_counters=snapshot_counters)
    shard_state = assign(epoch, operator_slots, result.winners, params.shard_count)
    for address in result.elected_addresses:
        wrapper = get_validator_wrapper(state, address)
        if wrapper is None:  # pragma: no cover - candidates come from the state
            continue
        validator = replace(wrapper.validator, last_epoch_in_committee=epoch)
        set_validator_wrapper(state, address, replace(wrapper, validator=validator))
    return shard_state


def auction(
    state: WorldState,
    params: NetworkParams,
    epoch: int,
    operator_slots: Sequence[Sequence[Slot]],
    *,
    snapshot_counters: Mapping[bytes, Counters] | None = None,
) -> AuctionResult:
    """The auction for ``epoch`` over the state, without changing it (reference §3.1–§3.4); what
    :func:`elect` runs, and what RPC's median-stake snapshot shows."""
    reserved = frozenset(seat.bls_public_key for seats in operator_slots for seat in seats)
    wrappers = candidates(state, params, epoch - 1, reserved, snapshot_counters)
    bids = slot_bids(wrappers, params.shard_count, params.slots_limit_per_shard)
    return run_auction(bids, params.external_seats, params.effective_stake_band)
