"""The epoch chain as a light client follows it: each epoch's last beacon header, proved final by the
committee the previous one elected (issue 18 item 2; reference §1.3–§1.5, §3.6, §6.2).

The beacon chain's last block of epoch ``e`` carries the shard state of epoch ``e + 1``: every shard's
committee. A node that knows the committees of epoch ``e`` (genesis knows epoch 0's) accepts that header
when a quorum of the beacon committee of ``e`` signed it (:func:`harmony.chain.commit_proof.
verify_commit_signature`, the one commit check of the chain), and so learns epoch ``e + 1``'s committees
without executing a block. Step by step from genesis this gives every epoch's committees, and the last
block of an epoch on any shard is then final when its shard's committee of that epoch signed it
(:func:`verify_epoch_block`): the root of a state that can be downloaded and trusted.

Checks, in order, each an :class:`InvalidEpochHeader` whose ``check`` names it: ``decode`` (the header does
not decode), ``shard``, ``epoch`` (not the header asked for), ``last`` (no next shard state, or one for
another epoch, or (beacon) not the epoch's last number), ``committee`` (the known shard state has no committee
for that shard), ``commit`` (the aggregate does not prove it final: :class:`InvalidCommitProof` is its cause).
"""

from __future__ import annotations

from dataclasses import dataclass

from harmony.chain.commit_proof import InvalidCommitProof, verify_header_commit
from harmony.chain.params import NetworkParams
from harmony.errors import HarmonyError
from harmony.types.header import Header
from harmony.types.shard_state import ShardState, ShardStateError

__all__ = ["EpochBlock", "InvalidEpochHeader", "verify_epoch_block", "verify_epoch_header"]


class InvalidEpochHeader(HarmonyError):
    """An epoch-ending header that a light client must not accept; ``check`` names the failed rule."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check


@dataclass(frozen=True, slots=True)
class EpochBlock:
    """An epoch's last header proved final, with its commit aggregate and the next epoch's shard state."""

    header: Header
    signature: bytes
    bitmap: bytes
    next_state: ShardState


def verify_epoch_block(
    params: NetworkParams,
    shard_state: ShardState,
    *,
    shard_id: int,
    epoch: int,
    header_rlp: bytes,
    signature: bytes,
    bitmap: bytes,
) -> EpochBlock:
    """Accept the last header of ``epoch`` on ``shard_id`` when the committee of that shard in
    ``shard_state`` (the committees of ``epoch``) finalized it (module docstring; raises
    :class:`InvalidEpochHeader`)."""
    try:
        header = Header.decode(header_rlp)
    except HarmonyError as exc:
        raise InvalidEpochHeader("decode", f"the header of epoch {epoch}: {exc}") from exc
    if header.shard_id != shard_id:
        raise InvalidEpochHeader(
            "shard", f"asked for shard {shard_id}, got a header of shard {header.shard_id}"
        )
    if header.epoch != epoch:
        raise InvalidEpochHeader("epoch", f"asked for epoch {epoch}, got a header of epoch {header.epoch}")
    if params.is_beacon(shard_id) and header.number != params.epoch_last_block(epoch):
        raise InvalidEpochHeader(
            "last", f"block {header.number} is not the last beacon block of epoch {epoch}"
        )
    try:
        next_state = header.get_shard_state()
    except HarmonyError as exc:
        raise InvalidEpochHeader(
            "last", f"block {header.number}: its shard state does not decode: {exc}"
        ) from exc
    if next_state is None:
        raise InvalidEpochHeader("last", f"block {header.number} carries no shard state: not an epoch's last")
    if next_state.epoch is not None and next_state.epoch != epoch + 1:
        raise InvalidEpochHeader(
            "last",
            f"block {header.number} carries the shard state of epoch {next_state.epoch}, not {epoch + 1}",
        )
    try:
        committee = shard_state.committee(shard_id)
    except ShardStateError as exc:
        raise InvalidEpochHeader("committee", f"epoch {epoch} has no committee for shard {shard_id}") from exc
    try:
        verify_header_commit(committee, params.harmony_vote_share, header, signature, bitmap)
    except InvalidCommitProof as exc:
        raise InvalidEpochHeader("commit", f"block {header.number} of epoch {epoch}: {exc}") from exc
    return EpochBlock(header, signature, bitmap, next_state)


def verify_epoch_header(
    params: NetworkParams,
    shard_state: ShardState,
    *,
    epoch: int,
    header_rlp: bytes,
    signature: bytes,
    bitmap: bytes,
) -> EpochBlock:
    """One step of the beacon's epoch chain: the last beacon header of ``epoch``, checked against the beacon
    committee of ``shard_state`` (epoch ``epoch``'s, elected by the step before); its ``next_state`` is the
    next step's (:func:`verify_epoch_block` on the beacon shard)."""
    return verify_epoch_block(
        params,
        shard_state,
        shard_id=params.beacon_shard_id,
        epoch=epoch,
        header_rlp=header_rlp,
        signature=signature,
        bitmap=bitmap,
    )
