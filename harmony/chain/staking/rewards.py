"""Block rewards: who earns what for a signed block (reference §4.2), supply bookkeeping and APR (§4.3).

Read top to bottom:

1. :func:`voting_power` (§1.4): each seat's share of the committee's vote, the same formula as the quorum
   rule (:mod:`harmony.chain.quorum`): Harmony-operated seats share ``H`` equally, staked seats share
   ``1 − H`` by effective stake, rounding dust to the last staked seat.
2. :func:`distribute_block_reward` (§4.2, Go ``processOneCrossLink``): each **staked** signer earns
   ``reward × (its power / power of all staked signers)``, truncated to an atto integer; Harmony-operated
   seats earn nothing (:func:`seat_dues`, :func:`block_dues`). A validator's seats are summed, then
   :func:`add_reward` credits the validator once, and each credited seat's due is added to its BLS key's
   earning of the epoch (:func:`record_key_earning`, served as ``earned-reward``);
   :func:`distribute_aggregated_rewards` does the same over many blocks (the
   beacon's 64-block payout).
3. :func:`add_reward` (§4.2, Go ``AddReward``): the lifetime ``block_reward`` grows by the amount; the
   commission ``round(rate × amount)`` goes to delegation 0 (the self-delegation); the rest is split pro
   rata to each delegation's share of the total delegation, each share rounded half to even, never paying
   out more than what is left; whatever is left goes to delegation 0. Banned validators get nothing.

Rewards are credited to :attr:`Delegation.reward` (collected later by CollectRewards). What is not credited
(the Harmony-operated share, truncation, banned validators) is returned as
:attr:`RewardPayout.unpaid`, so the caller mints exactly :attr:`RewardPayout.paid` and supply accounting
stays exact. When to pay (every block, or every ``params.reward_frequency`` beacon blocks through
:func:`distribute_aggregated_rewards`) is the caller's choice; HIP-30's recovery-address split is not used
on our networks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from harmony.chain.params import NetworkParams
from harmony.chain.staking.records import (
    REGISTRY_ADDRESS,
    get_validator_wrapper,
    set_validator_wrapper,
)
from harmony.chain.state_api import WorldState
from harmony.crypto.keccak import keccak256
from harmony.encoding.fixed import Dec
from harmony.errors import HarmonyError
from harmony.types.shard_state import Committee
from harmony.types.staking import EposStatus
from harmony.types.validator import ValidatorWrapper

__all__ = [
    "SECONDS_PER_YEAR",
    "RewardError",
    "RewardPayout",
    "add_reward",
    "apr_since_snapshot",
    "block_dues",
    "distribute_aggregated_rewards",
    "distribute_block_reward",
    "epoch_snapshot_number",
    "key_earning",
    "record_key_earning",
    "seat_dues",
    "validator_apr",
    "voting_power",
]

SECONDS_PER_YEAR = 31_557_600
"""A Julian year, 365.25 days (Go ``oneYear`` in ``staking/apr``)."""


class RewardError(HarmonyError):
    """A reward rule was given inconsistent inputs; :attr:`reason` names the check."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RewardPayout:
    """What one block's reward did: ``paid + unpaid == reward``."""

    reward: int
    """The block reward offered, atto."""
    paid: int
    """Atto credited to delegations (the amount the caller adds to the supply)."""
    unpaid: int
    """Atto not credited: Harmony-operated seats, truncation, banned validators."""
    credited: tuple[tuple[bytes, int], ...]
    """``(validator address, atto credited)`` per validator paid, in address order."""


class _LastPower:
    """The last committee's voting power, by the committee's identity: a committee is a frozen value, so
    the same object has the same power (every block of an epoch, and every run of the economics
    simulation's step, pays one committee again)."""

    entry: tuple[Committee, Dec, tuple[Dec, ...]] | None = None


def voting_power(committee: Committee, harmony_vote_share: Dec) -> tuple[Dec, ...]:
    """Each seat's voting power, summing to exactly 1 (reference §1.4, Go ``votepower.Compute``).

    Harmony-operated seats (no effective stake) share ``harmony_vote_share`` equally (all of 1 if there is
    no staked seat); staked seats share the rest (all of 1 if there is no Harmony seat) by
    ``effective stake / total effective stake``; the rounding dust goes to the last staked seat (the last
    Harmony seat if none is staked). Empty committees have no power.
    """
    last = _LastPower.entry
    if last is not None and last[0] is committee and last[1] == harmony_vote_share:
        return last[2]
    power = _voting_power(committee, harmony_vote_share)
    _LastPower.entry = (committee, harmony_vote_share, power)
    return power


def _voting_power(committee: Committee, harmony_vote_share: Dec) -> tuple[Dec, ...]:
    slots = committee.slots
    if not slots:
        return ()
    harmony = [i for i, s in enumerate(slots) if s.effective_stake is None]
    staked = [i for i, s in enumerate(slots) if s.effective_stake is not None]
    total_stake = committee.total_effective_stake()
    h_share = harmony_vote_share if staked else Dec.one()
    e_share = Dec.one() - h_share if harmony else Dec.one()
    power = [Dec.zero()] * len(slots)
    if harmony:
        each = h_share.quo_int(len(harmony))
        for i in harmony:
            power[i] = each
    for i in staked:
        stake = slots[i].effective_stake
        if stake is not None and not total_stake.is_zero():
            power[i] = e_share.mul(stake.quo(total_stake))
    dust = Dec.one() - sum(power, Dec.zero())
    last = staked[-1] if staked else harmony[-1]
    power[last] = power[last] + dust
    return tuple(power)


def _check_signers(committee: Committee, signer_indices: Iterable[int]) -> list[int]:
    signers = sorted(set(signer_indices))
    for index in signers:
        if not 0 <= index < len(committee.slots):
            raise RewardError(
                "signer_index",
                f"signer index {index} outside the {len(committee.slots)} seats"
                f" of shard {committee.shard_id}",
            )
    return signers


def seat_dues(
    committee: Committee, signer_indices: Iterable[int], reward: int, harmony_vote_share: Dec
) -> dict[int, int]:
    """What each seat earns for one signed block (reference §4.2, Go ``processOneCrossLink``), by seat index.

    ``signer_indices`` are the committee seats that signed (bitmap order). Each staked signing seat with
    voting power is due ``truncate(reward × power / staked signers' power)``. Raises :class:`RewardError`
    for a negative reward (``negative_reward``) or a signer index outside the committee (``signer_index``).
    """
    if reward < 0:
        raise RewardError("negative_reward", f"block reward {reward} is negative")
    signers = _check_signers(committee, signer_indices)
    power = voting_power(committee, harmony_vote_share)
    staked = [i for i in signers if committee.slots[i].effective_stake is not None]
    all_share = sum((power[i] for i in staked), Dec.zero())
    if all_share.is_zero():
        return {}
    offered = Dec.from_int(reward)
    return {i: offered.mul(power[i].quo(all_share)).truncate_int() for i in staked if not power[i].is_zero()}


def _by_validator(committee: Committee, seats: dict[int, int]) -> dict[bytes, int]:
    dues: dict[bytes, int] = {}
    for i, due in seats.items():
        address = committee.slots[i].ecdsa_address
        dues[address] = dues.get(address, 0) + due
    return dues


def block_dues(
    committee: Committee, signer_indices: Iterable[int], reward: int, harmony_vote_share: Dec
) -> dict[bytes, int]:
    """What each validator is due for one signed block: its seats' :func:`seat_dues` summed (reference
    §4.2)."""
    return _by_validator(committee, seat_dues(committee, signer_indices, reward, harmony_vote_share))


def _credit(state: WorldState, reward: int, dues: dict[bytes, int]) -> RewardPayout:
    credited: list[tuple[bytes, int]] = []
    paid = 0
    for address in sorted(dues):
        amount = add_reward(state, address, dues[address])
        if amount:
            credited.append((address, amount))
            paid += amount
    return RewardPayout(reward=reward, paid=paid, unpaid=reward - paid, credited=tuple(credited))


def distribute_block_reward(
    state: WorldState,
    committee: Committee,
    signer_indices: Iterable[int],
    reward: int,
    harmony_vote_share: Dec,
    *,
    epoch: int | None = None,
) -> RewardPayout:
    """Pay one signed block's ``reward`` to its staked signers (reference §4.2, Go ``processOneCrossLink``).

    The dues of :func:`block_dues` are credited by :func:`add_reward`, one validator at a time in address
    order. With ``epoch`` (the paying block's), each credited seat's due is also added to its BLS key's
    earning in that epoch (:func:`record_key_earning`), so a validator's keys sum to what it was credited.
    The signing counters are a separate step (:func:`harmony.chain.staking.availability.record_signing`).
    """
    seats = seat_dues(committee, signer_indices, reward, harmony_vote_share)
    payout = _credit(state, reward, _by_validator(committee, seats))
    if epoch is not None:
        credited = {address for address, _ in payout.credited}
        for i, due in seats.items():
            slot = committee.slots[i]
            if due and slot.ecdsa_address in credited:
                record_key_earning(state, slot.bls_public_key, epoch, due)
    return payout


_EARNING_EPOCH_SHIFT = 192
"""A key's earning slot holds ``epoch << 192 | atto`` (the supply is far below 2^192 atto)."""


def _key_earning_slot(bls_public_key: bytes) -> int:
    return int.from_bytes(keccak256(b"key-earned" + bls_public_key), "big")


def record_key_earning(state: WorldState, bls_public_key: bytes, epoch: int, amount: int) -> None:
    """Add ``amount`` atto to what ``bls_public_key`` earned in ``epoch`` (Go ``VoteWithCurrentEpochEarning``
    ``Earned``, reference §4.2; Harmony keeps it off-chain, we keep one registry slot per key in the state,
    written in the paying block): a new epoch starts the key's earning from zero."""
    slot = _key_earning_slot(bls_public_key)
    stored = state.get_storage(REGISTRY_ADDRESS, slot)
    earned = stored & ((1 << _EARNING_EPOCH_SHIFT) - 1) if stored >> _EARNING_EPOCH_SHIFT == epoch else 0
    state.set_storage(REGISTRY_ADDRESS, slot, epoch << _EARNING_EPOCH_SHIFT | (earned + amount))


def key_earning(state: WorldState, bls_public_key: bytes, epoch: int) -> int:
    """What ``bls_public_key`` earned in ``epoch`` as of ``state`` (0 when nothing was paid to it then)."""
    stored = state.get_storage(REGISTRY_ADDRESS, _key_earning_slot(bls_public_key))
    return stored & ((1 << _EARNING_EPOCH_SHIFT) - 1) if stored >> _EARNING_EPOCH_SHIFT == epoch else 0


def distribute_aggregated_rewards(
    state: WorldState,
    signed_blocks: Sequence[tuple[Committee, Iterable[int]]],
    reward_per_block: int,
    harmony_vote_share: Dec,
) -> RewardPayout:
    """Pay several signed blocks at once (reference §4.2 aggregation, Go
    ``distributeRewardAfterAggregateEpoch``): the beacon's 64-block payout.

    ``signed_blocks`` holds each block's (or crosslink's) committee and signer indices. Every block's dues
    (:func:`block_dues`, ``reward_per_block`` each) are summed per validator, then each validator is
    credited once, so commission and delegator shares are rounded once per payout. The offered reward is
    ``reward_per_block × len(signed_blocks)``.
    """
    dues: dict[bytes, int] = {}
    for committee, signers in signed_blocks:
        for address, due in block_dues(committee, signers, reward_per_block, harmony_vote_share).items():
            dues[address] = dues.get(address, 0) + due
    return _credit(state, reward_per_block * len(signed_blocks), dues)


def add_reward(state: WorldState, address: bytes, amount: int) -> int:
    """Credit ``amount`` atto earned by the validator at ``address`` (reference §4.2, Go ``AddReward``).

    ``block_reward`` grows by ``amount``; delegation 0 gets the commission ``round(rate × amount)`` (capped
    at ``amount``); each delegation gets ``round(amount_left × its amount / total delegation)``, capped at
    what is still left; the remainder goes to delegation 0. Returns the atto credited: ``amount``, or 0 for
    a banned validator, a missing record or one without delegations.
    """
    if amount < 0:
        raise RewardError("negative_reward", f"reward {amount} is negative")
    wrapper = get_validator_wrapper(state, address)
    if amount == 0 or wrapper is None or not wrapper.delegations:
        return 0
    if wrapper.validator.status == EposStatus.BANNED:
        return 0
    credit = [0] * len(wrapper.delegations)
    rate = wrapper.validator.commission.commission_rates.rate
    commission = min(max(rate.mul_int(amount).round_int(), 0), amount)
    credit[0] += commission
    pool = amount - commission
    left = pool
    total = wrapper.total_delegation
    if total > 0:
        total_dec = Dec.from_int(total)
        for i, delegation in enumerate(wrapper.delegations):
            share = Dec.from_int(delegation.amount).quo(total_dec)
            part = min(share.mul_int(pool).round_int(), left)
            credit[i] += part
            left -= part
    credit[0] += left
    delegations = tuple(
        replace(d, reward=d.reward + c) if c else d for d, c in zip(wrapper.delegations, credit, strict=True)
    )
    set_validator_wrapper(
        state,
        address,
        replace(wrapper, delegations=delegations, block_reward=wrapper.block_reward + amount),
    )
    return amount


def validator_apr(
    block_reward_now: int, block_reward_before: int, seconds_elapsed: int, total_delegation: int
) -> Dec:
    """A validator's annual percentage rate (reference §4.3, Go ``staking/apr``).

    ``(block_reward_now − block_reward_before) / seconds_elapsed × 31,557,600 / total_delegation``, where
    ``before`` is the validator snapshot's lifetime reward and ``seconds_elapsed`` the time between the two
    headers. Computed in one exact quotient (Go first truncates the reward per second to an integer). Zero
    when there is no delegation or no time elapsed; a negative difference raises :class:`RewardError`.
    """
    earned = block_reward_now - block_reward_before
    if earned < 0 or seconds_elapsed < 0 or total_delegation < 0:
        raise RewardError("negative_apr_input", "reward difference, time and delegation are non-negative")
    if seconds_elapsed == 0 or total_delegation == 0:
        return Dec.zero()
    return Dec.from_int(earned * SECONDS_PER_YEAR).quo(Dec.from_int(seconds_elapsed * total_delegation))


def epoch_snapshot_number(params: NetworkParams, epoch: int, head_number: int) -> int:
    """The block whose validator records the per-epoch figures (signing this epoch, APR) compare against
    (reference §4.3, §5.1): the previous epoch's last block, genesis in epoch 0, never above the head."""
    number = params.epoch_first_block(epoch) - 1 if epoch > 0 else 0
    return max(0, min(number, head_number))


def apr_since_snapshot(
    now: ValidatorWrapper, now_time: int, snapshot: ValidatorWrapper | None, snapshot_time: int
) -> Dec:
    """A validator's APR between its epoch snapshot (:func:`epoch_snapshot_number`) and now: the rule of
    :func:`validator_apr` over the snapshot's total delegation (reference §4.3, Go ``ComputeForValidator``).
    Zero without a snapshot, or when the clock or the lifetime reward went backwards."""
    seconds = now_time - snapshot_time
    if snapshot is None or seconds < 0 or now.block_reward < snapshot.block_reward:
        return Dec.zero()
    return validator_apr(now.block_reward, snapshot.block_reward, seconds, snapshot.total_delegation)
