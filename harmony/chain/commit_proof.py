"""A block's commit proof checked from outside consensus: quorum aggregate over the commit payload.

Rule (reference §1.3, §1.4, §1.5): a block is final when an aggregate BLS signature over its commit payload
``number u64 LE ‖ block hash ‖ view u64 LE`` (:func:`harmony.chain.payloads.commit_payload`) verifies
under the sum of the keys a committee bitmap enables, and those members hold strictly more than 2/3 of the
committee's voting power. The same proof stands behind a synced block (``ConsensusCore.on_sync_block``), a
child header's ``last_commit_*`` fields, a crosslink (§6.3) and a cross-shard receipts proof (§6.4); this
module is the one check the latter two use, over a committee looked up by (shard, epoch).

Checks, in order, each a :class:`InvalidCommitProof` whose ``check`` names it:

* ``committee``: the committee is empty or holds a key that is not a valid BLS public key;
* ``bitmap``: the bitmap is not ``ceil(n/8)`` bytes or sets bits beyond the committee (§1.3);
* ``quorum``: the signers' voting power is not strictly above 2/3 (§1.4);
* ``payload``: the block number or view does not fit the 64-bit fields of the payload;
* ``signature``: the signature is not a valid G2 point, or the aggregate does not verify.
"""

from __future__ import annotations

from functools import lru_cache

from harmony.chain import payloads
from harmony.chain.quorum import Roster
from harmony.crypto.bitmap import decode_bitmap, verify_aggregate
from harmony.crypto.bls import Signature
from harmony.encoding.fixed import Dec
from harmony.errors import CryptoError, HarmonyError
from harmony.types.header import Header
from harmony.types.shard_state import Committee

_ROSTER_CACHE = 64
"""Rosters kept parsed (a committee's keys are parsed once per (committee, share), not once per proof)."""


class InvalidCommitProof(CryptoError):
    """A commit signature and bitmap do not prove a block final; ``check`` names the failed rule."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check


@lru_cache(maxsize=_ROSTER_CACHE)
def _cached_roster(committee: Committee, harmony_vote_share: Dec) -> Roster:
    return Roster(committee, harmony_vote_share)


def roster_for(committee: Committee, harmony_vote_share: Dec) -> Roster:
    """The committee's keys (parsed) and voting power (§1.4), cached; ``committee`` check if unusable."""
    if not committee.slots:
        raise InvalidCommitProof("committee", f"the committee of shard {committee.shard_id} is empty")
    try:
        return _cached_roster(committee, harmony_vote_share)
    except HarmonyError as exc:
        raise InvalidCommitProof(
            "committee", f"the committee of shard {committee.shard_id} holds an invalid key: {exc}"
        ) from exc


def commit_terms(
    roster: Roster, *, number: int, block_hash: bytes, view_id: int, signature: bytes, bitmap: bytes
) -> tuple[bytes, Signature]:
    """Every check of the rule but the pairing (bitmap, quorum, payload, signature encoding, in the
    module's order): the payload the bitmap's members signed and the parsed signature, for a caller that
    checks many pairings at once; :class:`InvalidCommitProof` for the first check that fails."""
    try:
        members = decode_bitmap(bitmap, roster.size)
    except CryptoError as exc:
        raise InvalidCommitProof("bitmap", str(exc)) from exc
    if not roster.is_quorum(members):
        raise InvalidCommitProof(
            "quorum", f"{len(members)} of {roster.size} members do not hold more than 2/3 of the voting power"
        )
    try:
        message = payloads.commit_payload(number, block_hash, view_id)
    except ValueError as exc:
        raise InvalidCommitProof("payload", str(exc)) from exc
    try:
        return message, Signature(signature)
    except CryptoError as exc:
        raise InvalidCommitProof("signature", str(exc)) from exc


def verify_commit_with_roster(
    roster: Roster, *, number: int, block_hash: bytes, view_id: int, signature: bytes, bitmap: bytes
) -> None:
    """Check a commit proof (module rule) against an already built roster; :class:`InvalidCommitProof`."""
    message, sig = commit_terms(
        roster, number=number, block_hash=block_hash, view_id=view_id, signature=signature, bitmap=bitmap
    )
    if not verify_aggregate(roster.keys, bitmap, message, sig):
        raise InvalidCommitProof(
            "signature", f"the aggregate does not verify for block {number} under the bitmap's keys"
        )


def verify_commit_signature(
    committee: Committee,
    harmony_vote_share: Dec,
    *,
    number: int,
    block_hash: bytes,
    view_id: int,
    signature: bytes,
    bitmap: bytes,
) -> None:
    """Check that ``committee`` finalized block (``number``, ``block_hash``, ``view_id``) (§1.3–§1.5).

    ``signature``/``bitmap`` are the aggregate commit signature and its signers in slot order;
    ``harmony_vote_share`` is the network's share of Harmony-operated slots in the staked voting power.
    Returns nothing on success; raises :class:`InvalidCommitProof` naming the first failed check (module
    docstring). A block hash that is not 32 bytes fails ``payload``.
    """
    if len(block_hash) != payloads.HASH_SIZE:
        raise InvalidCommitProof("payload", f"a block hash is 32 bytes, got {len(block_hash)}")
    roster = roster_for(committee, harmony_vote_share)
    verify_commit_with_roster(
        roster, number=number, block_hash=block_hash, view_id=view_id, signature=signature, bitmap=bitmap
    )


def verify_header_commit(
    committee: Committee, harmony_vote_share: Dec, header: Header, signature: bytes, bitmap: bytes
) -> None:
    """:func:`verify_commit_signature` for the block ``header`` heads (its number, hash and view)."""
    verify_commit_signature(
        committee,
        harmony_vote_share,
        number=header.number,
        block_hash=header.hash(),
        view_id=header.view_id,
        signature=signature,
        bitmap=bitmap,
    )


__all__ = [
    "InvalidCommitProof",
    "commit_terms",
    "roster_for",
    "verify_commit_signature",
    "verify_commit_with_roster",
    "verify_header_commit",
]
