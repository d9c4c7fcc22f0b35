"""Vote collection for the leader: aggregate first, hunt for bad signatures only when that fails.

A vote is ``(indices, signature)``: committee members (one node may vote with several keys, reference §1.3)
and their aggregate signature over the phase payload. Votes wait unverified until the verified ones plus the
waiting ones could reach quorum; then the waiting ones are aggregated and checked with one
fast-aggregate-verify. If that fails, the batch is split in halves recursively (bisection), so ``b`` bad
votes among ``n`` cost about ``2·b·log2(n)`` checks instead of ``n``. Bad votes are dropped and counted.

Anyone can send a PREPARE/COMMIT naming any key (they carry no envelope signature), so a forged vote must
not block the real one: several candidates per member may wait; a batch takes at most one per member.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from harmony.chain.quorum import Roster
from harmony.crypto.bitmap import encode_bitmap
from harmony.crypto.bls import PublicKey, Signature, aggregate_signatures, fast_aggregate_verify


@dataclass(frozen=True, slots=True)
class PendingVote:
    """An unverified vote."""

    indices: tuple[int, ...]
    signature: Signature


@dataclass(slots=True)
class VoteCollector:
    """The votes of one phase at one (height, view) over one ``payload``."""

    roster: Roster
    payload: bytes
    drops: Counter[str]
    verified: dict[tuple[int, ...], Signature] = field(default_factory=dict)
    members: set[int] = field(default_factory=set)
    pending: list[PendingVote] = field(default_factory=list)
    checks: int = 0
    """How many BLS verifications this collector ran (for the benchmark and tests)."""

    def add_trusted(self, indices: tuple[int, ...], signature: Signature) -> None:
        """Count a vote made by this node itself (not verified again)."""
        self.verified[indices] = signature
        self.members.update(indices)

    def add(self, indices: tuple[int, ...], signature: Signature) -> bool:
        """Queue a peer's vote; False (counted ``duplicate_vote``) if it adds nothing."""
        if set(indices) <= self.members or any(
            p.indices == indices and p.signature == signature for p in self.pending
        ):
            self.drops["duplicate_vote"] += 1
            return False
        self.pending.append(PendingVote(indices, signature))
        return True

    def has_quorum(self) -> bool:
        """Whether the verified votes reach quorum."""
        return self.roster.is_quorum(self.members)

    def settle(self) -> bool:
        """Verify waiting votes if they could complete a quorum; True once the verified ones reach it."""
        while not self.has_quorum() and self.pending:
            if not self.roster.is_quorum(self.waiting_members()):
                return False
            self._verify_batch()
        return self.has_quorum()

    def settle_all(self) -> None:
        """Verify every waiting vote (the leader's commit window, after the quorum)."""
        while self.pending:
            self._verify_batch()

    def _verify_batch(self) -> None:
        """Check one batch of waiting votes, at most one per member, with one aggregate check (bisected
        only when a bad vote hides in it); the rest wait for the next batch."""
        batch, rest, taken = [], [], set(self.members)
        for vote in self.pending:
            if set(vote.indices) <= self.members:
                self.drops["duplicate_vote"] += 1
            elif taken.isdisjoint(vote.indices):
                batch.append(vote)
                taken.update(vote.indices)
            else:
                rest.append(vote)
        self.pending = rest
        for vote in self._good(batch):
            self.verified[vote.indices] = vote.signature
            self.members.update(vote.indices)

    def waiting_members(self) -> set[int]:
        """Members with a verified or a waiting vote."""
        found = set(self.members)
        for vote in self.pending:
            found.update(vote.indices)
        return found

    def _good(self, batch: list[PendingVote]) -> list[PendingVote]:
        if not batch:
            return []
        keys: list[PublicKey] = [self.roster.keys[i] for v in batch for i in v.indices]
        aggregate = (
            batch[0].signature if len(batch) == 1 else aggregate_signatures([v.signature for v in batch])
        )
        self.checks += 1
        if fast_aggregate_verify(keys, self.payload, aggregate):
            return batch
        if len(batch) == 1:
            self.drops["bad_signature"] += 1
            return []
        half = len(batch) // 2
        return self._good(batch[:half]) + self._good(batch[half:])

    def aggregate(self) -> tuple[Signature, bytes]:
        """The aggregate signature and bitmap of the verified votes (reference §1.3)."""
        signature = aggregate_signatures(list(self.verified.values()))
        return signature, encode_bitmap(sorted(self.members), self.roster.size)
