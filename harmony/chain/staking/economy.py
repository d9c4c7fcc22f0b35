"""The beacon chain's per-block economy: block rewards from commit bitmaps, crosslinks, slash records
(reference §4.1–§4.2, §5.3, §6.3; design §6 "rewards paid on the beacon chain through crosslinks").

:func:`harmony.chain.transition.finalize_block` calls these on every beacon block, after the transactions
and the incoming receipts, in this order: :func:`apply_slashes`, :func:`pay_parent_commit`,
:func:`pay_crosslinks`; the end-of-epoch steps (:mod:`~harmony.chain.staking.epoch`) follow.

Rules:

* **Who is paid for what.** A beacon block pays the block reward ``params.block_reward(epoch)`` (the epoch
  of the paying beacon block, as Go's ``AccumulateRewardsAndCountSigs``) once for its **parent**, to the
  signers its ``last_commit_bitmap`` names in the parent epoch's beacon committee, and once for each
  **crosslink** it carries, to the signers of the crosslink's bitmap in the committee of the crosslink's
  shard and epoch. The split is :func:`~harmony.chain.staking.rewards.distribute_block_reward` (staked
  signers by voting power; Harmony-operated seats earn nothing and their share is never minted), and the
  same committee and signers bump the availability counters
  (:func:`~harmony.chain.staking.availability.record_signing`). Other shards pay nothing in their own
  blocks: their blocks are paid when their crosslinks reach the beacon chain.
* **Per block, not aggregated.** We pay at every beacon block instead of Harmony's 64-block aggregation
  (§4.2, ``RewardFrequency``): the sums differ only by rounding (each payout rounds commission and
  delegator shares once), and paying at once keeps each block's effect on the state local to that block,
  so a block can be checked without reading the 63 before it.
* **Committees are injected.** ``committee_for(shard, epoch)`` gives the committee of a shard in an epoch
  (the node reads the shard states the beacon chain recorded); ``None`` for an unknown committee skips that
  item (no reward, no counters), so a node without a committee source pays nothing, deterministically. The
  genesis block was never signed: block 1 pays nothing for it. The signatures behind the bitmaps are the
  consensus layer's to check (``harmony.chain.commit_proof``); here a bitmap must only decode against
  its committee (check ``last_commit_bitmap``, ``cross_links``).
* **Each crosslink pays once.** Crosslinks are only for other shards (not the beacon), and per shard their
  block numbers must exceed the last one recorded in the state (registry slot ``keccak("crosslink" ‖
  uint32(shard))`` holds ``number + 1``), so no shard block is paid twice (Go's proposer drops crosslinks at
  or below the last one; check ``cross_links``).
* **Slashes** are allowed on the beacon chain only and need the injected ``verify_votes`` (the BLS check
  of both votes); each record is verified against the evidence epoch's committee when known and applied by
  :func:`~harmony.chain.staking.slashing.apply_slash_records` (check ``slashes``).

Every failure raises :class:`~harmony.chain.errors.InvalidBlock`; the state is then part-applied and the
caller drops it, as for any invalid block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from harmony.chain.errors import InvalidBlock
from harmony.chain.params import NetworkParams
from harmony.chain.staking.availability import record_signing
from harmony.chain.staking.records import REGISTRY_ADDRESS
from harmony.chain.staking.rewards import RewardPayout, distribute_block_reward
from harmony.chain.staking.slashing import SlashResult, apply_slash_records
from harmony.chain.state_api import WorldState
from harmony.crypto.bitmap import decode_bitmap
from harmony.crypto.keccak import keccak256
from harmony.errors import HarmonyError
from harmony.types.crosslink import CrossLink
from harmony.types.shard_state import Committee
from harmony.types.slash import Record

CommitteeFor = Callable[[int, int], Committee | None]
"""``committee_for(shard, epoch)``: the committee of ``shard`` in ``epoch``, or ``None`` when unknown."""

VerifyVotes = Callable[[Record], bool]
"""``verify_votes(record)``: whether both votes of a slash record verify over their commit payloads."""

__all__ = [
    "CommitteeFor",
    "VerifyVotes",
    "apply_slashes",
    "last_crosslink",
    "pay_crosslinks",
    "pay_parent_commit",
    "pay_signed_block",
]


def pay_signed_block(
    state: WorldState,
    committee: Committee,
    bitmap: bytes,
    reward: int,
    params: NetworkParams,
    *,
    epoch: int,
    check: str,
) -> RewardPayout:
    """Pay ``reward`` for one block signed by ``bitmap`` over ``committee`` in a beacon block of ``epoch``,
    recording each key's earning, and bump the signing counters (reference §4.2, Go
    ``processOneCrossLink``). A bitmap that does not fit the committee, or a committee the rules cannot
    pay, raises :class:`InvalidBlock` ``check``."""
    try:
        signers = decode_bitmap(bitmap, len(committee.slots))
        payout = distribute_block_reward(
            state, committee, signers, reward, params.harmony_vote_share, epoch=epoch
        )
        record_signing(state, committee, signers)
    except HarmonyError as exc:
        raise InvalidBlock(check, f"shard {committee.shard_id}: {exc}") from exc
    return payout


def pay_parent_commit(
    state: WorldState,
    params: NetworkParams,
    number: int,
    epoch: int,
    *,
    last_commit_bitmap: bytes,
    committee_for: CommitteeFor,
) -> RewardPayout | None:
    """Pay for the parent of beacon block ``number`` (epoch ``epoch``) from its ``last_commit_bitmap``
    over the parent epoch's beacon committee (module docstring). ``None`` when nothing is paid: block 1
    (the genesis was not signed) or an unknown committee."""
    if number < 2:
        return None
    committee = committee_for(params.beacon_shard_id, params.epoch_of(number - 1))
    if committee is None:
        return None
    return pay_signed_block(
        state,
        committee,
        last_commit_bitmap,
        params.block_reward(epoch),
        params,
        epoch=epoch,
        check="last_commit_bitmap",
    )


def _crosslink_slot(shard_id: int) -> int:
    return int.from_bytes(keccak256(b"crosslink" + shard_id.to_bytes(4, "big")), "big")


def last_crosslink(state: WorldState, shard_id: int) -> int | None:
    """The block number of the last crosslink of ``shard_id`` the beacon chain processed, or ``None``."""
    value = state.get_storage(REGISTRY_ADDRESS, _crosslink_slot(shard_id))
    return value - 1 if value else None


def pay_crosslinks(
    state: WorldState,
    params: NetworkParams,
    epoch: int,
    links: Sequence[CrossLink],
    committee_for: CommitteeFor | None,
) -> tuple[RewardPayout, ...]:
    """Record and pay the crosslinks of a beacon block of ``epoch`` in header order (module docstring).

    Each must be for an existing non-beacon shard and above the last crosslink recorded for its shard
    (:class:`InvalidBlock` ``cross_links``); it becomes the last one. It is paid
    ``params.block_reward(epoch)`` over ``committee_for(link.shard_id, link.epoch)`` when that is known.
    """
    payouts: list[RewardPayout] = []
    for index, link in enumerate(links):
        shard = link.shard_id
        if params.is_beacon(shard) or shard >= params.shard_count:
            raise InvalidBlock("cross_links", f"crosslink {index} is for shard {shard}")
        last = last_crosslink(state, shard)
        if last is not None and link.block_number <= last:
            raise InvalidBlock(
                "cross_links",
                f"crosslink {index} for shard {shard} block {link.block_number} is not above the last {last}",
            )
        state.set_storage(REGISTRY_ADDRESS, _crosslink_slot(shard), link.block_number + 1)
        committee = committee_for(shard, link.epoch) if committee_for is not None else None
        if committee is None:
            continue
        if committee.shard_id != shard:
            raise InvalidBlock("cross_links", f"committee of shard {committee.shard_id} for shard {shard}")
        payouts.append(
            pay_signed_block(
                state,
                committee,
                link.bitmap,
                params.block_reward(epoch),
                params,
                epoch=epoch,
                check="cross_links",
            )
        )
    return tuple(payouts)


def apply_slashes(
    state: WorldState,
    records: Sequence[Record],
    epoch: int,
    verify_votes: VerifyVotes | None,
    committee_for: CommitteeFor | None,
) -> tuple[SlashResult, ...]:
    """Verify and apply a beacon block's slash records (reference §5.3): refused without ``verify_votes``
    or when a record fails verification (:class:`InvalidBlock` ``slashes``)."""
    if not records:
        return ()
    if verify_votes is None:
        raise InvalidBlock("slashes", "this node cannot verify slash records")

    def committee_of(evidence_epoch: int, shard_id: int) -> Committee | None:
        return committee_for(shard_id, evidence_epoch) if committee_for is not None else None

    try:
        return apply_slash_records(state, records, epoch, verify_votes, committee_of=committee_of)
    except HarmonyError as exc:
        raise InvalidBlock("slashes", str(exc)) from exc
