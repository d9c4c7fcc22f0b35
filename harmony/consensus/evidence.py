"""Double-sign detection (reference §5.3): two commit votes from one key at one (height, view) for
different blocks become :class:`harmony.types.slash.Evidence` for the beacon chain.

The view of a commit vote is the block header's view (its commit payload, reference §1.3). Both votes are
verified individually before evidence is made, so an aggregate that only verifies as a whole can never
frame an honest key.
"""

from __future__ import annotations

from dataclasses import dataclass

from harmony.chain.evidence import record_votes_valid
from harmony.chain.payloads import commit_payload
from harmony.crypto.bls import PublicKey, Signature, fast_aggregate_verify
from harmony.errors import HarmonyError
from harmony.types.shard_state import Committee
from harmony.types.slash import ConflictingVotes, Evidence, Moment, Vote


@dataclass(frozen=True, slots=True)
class SeenVote:
    """A commit vote: the keys (committee indices) that made ``signature`` over block ``block_hash``."""

    indices: tuple[int, ...]
    block_hash: bytes
    header_view: int
    signature: bytes


def vote_is_valid(keys: tuple[PublicKey, ...], height: int, vote: SeenVote) -> bool:
    """Whether the vote's signature verifies over its commit payload."""
    try:
        sig = Signature(vote.signature)
    except HarmonyError:
        return False
    payload = commit_payload(height, vote.block_hash, vote.header_view)
    return fast_aggregate_verify([keys[i] for i in vote.indices], payload, sig)


class VoteBook:
    """Verified commit votes of one height, by member; reports conflicts once per offending key."""

    def __init__(self, committee: Committee, epoch: int, height: int) -> None:
        self.committee = committee
        self.epoch = epoch
        self.height = height
        self._votes: dict[tuple[int, int], list[SeenVote]] = {}
        self._reported: set[tuple[int, int]] = set()

    def add(self, vote: SeenVote) -> list[Evidence]:
        """Record a verified vote; evidence for each member that signed a different block at that view."""
        found: list[Evidence] = []
        for index in vote.indices:
            slot = (index, vote.header_view)
            seen = self._votes.setdefault(slot, [])
            for other in seen:
                if other.block_hash != vote.block_hash and slot not in self._reported:
                    self._reported.add(slot)
                    found.append(self._evidence(index, other, vote))
            if all(o.block_hash != vote.block_hash for o in seen):
                seen.append(vote)
        return found

    def could_conflict(self, vote: SeenVote) -> bool:
        """Whether ``vote`` (not yet verified) names a member with a recorded vote for another block at its
        view that was not reported yet: only then is it worth a signature check."""
        for index in vote.indices:
            slot = (index, vote.header_view)
            seen = self._votes.get(slot, ())
            if slot not in self._reported and any(o.block_hash != vote.block_hash for o in seen):
                return True
        return False

    def _evidence(self, index: int, first: SeenVote, second: SeenVote) -> Evidence:
        keys = self.committee.bls_public_keys()
        return Evidence(
            moment=Moment(self.epoch, self.committee.shard_id, self.height, first.header_view),
            conflicting_votes=ConflictingVotes(
                Vote(tuple(keys[i] for i in first.indices), first.block_hash, first.signature),
                Vote(tuple(keys[i] for i in second.indices), second.block_hash, second.signature),
            ),
            offender=self.committee.slots[index].ecdsa_address,
        )


__all__ = ["SeenVote", "VoteBook", "record_votes_valid", "vote_is_valid"]
