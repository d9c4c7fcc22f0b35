"""Crosslinks and cross-shard receipt proofs checked against the source shard's committee (§6.3, §6.4).

Both carry a shard block's aggregate commit signature; both are accepted only when that signature proves
the block final under the committee of the block's shard for the block's epoch
(:mod:`harmony.chain.commit_proof`). The committee comes from an injected lookup
``committee_for(shard, epoch)`` (the node reads the shard state of that epoch, as the beacon chain recorded
it, from its chain database), and the spent markers of cross-shard receipts from ``is_spent(shard, number)``,
so these rules never touch storage themselves.

Destination-side checks of a :class:`CXReceiptsProof` (§6.4, Go ``ValidateCXReceiptsProof`` and
``VerifyIncomingReceipts``), each a :class:`harmony.types.cx.InvalidCXProof` whose ``check`` is:

* ``empty``: the proof carries no receipts;
* ``wrong_destination``: a receipt targets another shard than ours;
* ``proof_shape``: the (shard ids, hashes) lists differ in length or the ids are not strictly ascending;
* ``no_shard_entry``: the Merkle proof has no entry for our shard;
* ``receipts_root``: ``derive_sha(receipts)`` differs from our shard's entry (a tampered amount ends here);
* ``merkle_root``: the root recomputed from the (shard id, hash) pairs differs from ``cx_receipt_hash``;
* ``header``: the source header's hash, outgoing receipts root, number or shard differs from the proof's;
* ``source_shard``: the source is our own shard (a same-shard transfer never makes a receipt);
* ``replayed``: receipts of that source block were already credited here;
* ``committee``: no committee is known for the source shard at the header's epoch;
* ``bitmap``, ``quorum``, ``payload``, ``signature``: the commit proof fails (:mod:`.commit_proof`).

Crosslink checks (§6.3, Go ``VerifyCrossLink``), each an :class:`InvalidCrossLink`: ``beacon_shard`` (a
crosslink of the beacon chain itself), ``exists`` (already recorded by the beacon chain, when the caller
says how to tell), ``committee``, then the commit proof's checks; for the crosslinks of one beacon header
also ``unsorted`` and ``duplicate``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from harmony.chain.commit_proof import InvalidCommitProof, verify_commit_signature
from harmony.chain.cx_credit import INCOMING_RECEIPTS_LIMIT, check_incoming_limits
from harmony.encoding.fixed import Dec
from harmony.errors import HarmonyError
from harmony.types.crosslink import CrossLink, crosslinks_sorted
from harmony.types.cx import CXReceiptsProof, InvalidCXProof, check_proof_structure
from harmony.types.shard_state import Committee

BEACON_SHARD_ID = 0
"""The beacon chain's shard (reference §6.2)."""

CommitteeFor = Callable[[int, int], Committee | None]
"""``committee_for(shard, epoch)``: the committee of ``shard`` in ``epoch``, or ``None`` when unknown."""

IsSpent = Callable[[int, int], bool]
"""``is_spent(source_shard, source_block_number)``: whether those receipts were already credited here."""

IsStored = Callable[[int, int], bool]
"""``is_stored(shard, block_number)``: whether the beacon chain already recorded that block's crosslink."""

_STRUCTURE_CHECKS = {
    "destination": "wrong_destination",
    "outgoing_root": "merkle_root",
    "block_hash": "header",
    "header_outgoing_root": "header",
    "header_fields": "header",
}
"""Names of :func:`check_proof_structure`'s checks in this module's vocabulary (module docstring)."""


class InvalidCrossLink(HarmonyError):
    """A crosslink is refused; ``check`` names the failed rule (module docstring)."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check


def _committee(committee_for: CommitteeFor, shard: int, epoch: int) -> Committee | None:
    """The looked-up committee, or ``None`` when unknown or not the committee of ``shard``."""
    committee = committee_for(shard, epoch)
    if committee is None or committee.shard_id != shard:
        return None
    return committee


def verify_crosslink(
    link: CrossLink,
    committee_for: CommitteeFor,
    harmony_vote_share: Dec,
    *,
    beacon_shard_id: int = BEACON_SHARD_ID,
    is_stored: IsStored | None = None,
) -> None:
    """Accept a crosslink for the beacon chain (§6.3): a shard block finalized by its committee.

    The link's (signature, bitmap) must be a quorum commit aggregate over
    ``commit_payload(block_number, hash, view_id)`` under ``committee_for(shard_id, epoch)``. With
    ``is_stored(shard, number)`` (the chain database's crosslink table) a link already recorded is refused.
    Raises :class:`InvalidCrossLink` naming the failed check.
    """
    if link.shard_id == beacon_shard_id:
        raise InvalidCrossLink("beacon_shard", f"shard {link.shard_id} is the beacon chain itself")
    if is_stored is not None and is_stored(link.shard_id, link.block_number):
        raise InvalidCrossLink(
            "exists", f"the crosslink of shard {link.shard_id} block {link.block_number} is already recorded"
        )
    committee = _committee(committee_for, link.shard_id, link.epoch)
    if committee is None:
        raise InvalidCrossLink(
            "committee", f"no committee known for shard {link.shard_id} in epoch {link.epoch}"
        )
    try:
        verify_commit_signature(
            committee,
            harmony_vote_share,
            number=link.block_number,
            block_hash=link.hash,
            view_id=link.view_id,
            signature=link.signature,
            bitmap=link.bitmap,
        )
    except InvalidCommitProof as exc:
        raise InvalidCrossLink(
            exc.check, f"crosslink of shard {link.shard_id} block {link.block_number}: {exc}"
        ) from exc


def verify_block_crosslinks(
    links: Sequence[CrossLink],
    committee_for: CommitteeFor,
    harmony_vote_share: Dec,
    *,
    beacon_shard_id: int = BEACON_SHARD_ID,
    is_stored: IsStored | None = None,
) -> None:
    """Accept the crosslinks of one beacon header (§6.3): sorted by (shard, number, view), at most one per
    (shard, number), each accepted by :func:`verify_crosslink`. Raises :class:`InvalidCrossLink`.
    """
    if not crosslinks_sorted(links):
        raise InvalidCrossLink("unsorted", "crosslinks are not sorted by (shard, block number, view)")
    seen: set[tuple[int, int]] = set()
    for link in links:
        key = (link.shard_id, link.block_number)
        if key in seen:
            raise InvalidCrossLink("duplicate", f"two crosslinks of shard {key[0]} block {key[1]}")
        seen.add(key)
    for link in links:
        verify_crosslink(
            link, committee_for, harmony_vote_share, beacon_shard_id=beacon_shard_id, is_stored=is_stored
        )


def verify_cx_proof(
    proof: CXReceiptsProof,
    my_shard: int,
    committee_for: CommitteeFor,
    harmony_vote_share: Dec,
    is_spent: IsSpent,
) -> None:
    """Accept incoming cross-shard receipts (§6.4 destination checks, every one; module docstring).

    The cheap checks (structure, replay) run before the BLS verification of the source block's commit
    signature against the source shard's committee for the source header's epoch. Raises
    :class:`InvalidCXProof` naming the failed check. Duplicates *within* one block are the block rule
    :func:`harmony.chain.cx_credit.check_incoming_limits`.
    """
    try:
        check_proof_structure(proof, my_shard)
    except InvalidCXProof as exc:
        check = _STRUCTURE_CHECKS.get(exc.check, exc.check)
        raise InvalidCXProof(check, str(exc).removeprefix(f"{exc.check}: ")) from exc
    header = proof.header
    source = header.shard_id
    if source == my_shard:
        raise InvalidCXProof("source_shard", f"the proof comes from our own shard {my_shard}")
    if is_spent(source, header.number):
        raise InvalidCXProof(
            "replayed", f"receipts of shard {source} block {header.number} were already credited"
        )
    committee = _committee(committee_for, source, header.epoch)
    if committee is None:
        raise InvalidCXProof("committee", f"no committee known for shard {source} in epoch {header.epoch}")
    try:
        verify_commit_signature(
            committee,
            harmony_vote_share,
            number=header.number,
            block_hash=proof.merkle_proof.block_hash,
            view_id=header.view_id,
            signature=proof.commit_sig,
            bitmap=proof.commit_bitmap,
        )
    except InvalidCommitProof as exc:
        raise InvalidCXProof(exc.check, f"shard {source} block {header.number}: {exc}") from exc


def verify_incoming_proofs(
    proofs: Sequence[CXReceiptsProof],
    my_shard: int,
    committee_for: CommitteeFor,
    harmony_vote_share: Dec,
    is_spent: IsSpent,
) -> None:
    """Accept a block's incoming proofs (§6.4): the block rules of
    :func:`harmony.chain.cx_credit.check_incoming_limits` (``InvalidIncomingReceipts``), then every proof
    through :func:`verify_cx_proof` (:class:`InvalidCXProof`). What a node runs before crediting them.
    """
    check_incoming_limits(proofs)
    for proof in proofs:
        verify_cx_proof(proof, my_shard, committee_for, harmony_vote_share, is_spent)


def select_incoming_proofs(
    candidates: Iterable[CXReceiptsProof],
    my_shard: int,
    committee_for: CommitteeFor,
    harmony_vote_share: Dec,
    is_spent: IsSpent,
    *,
    limit: int = INCOMING_RECEIPTS_LIMIT,
) -> tuple[CXReceiptsProof, ...]:
    """The proposer's pick (§6.4): candidates in order that pass :func:`verify_cx_proof`, at most one per
    source block (shard, number), at most ``limit`` (never above 6000); invalid or spent ones are skipped.
    The result always passes :func:`verify_incoming_proofs`.
    """
    limit = min(limit, INCOMING_RECEIPTS_LIMIT)
    chosen: list[CXReceiptsProof] = []
    seen: set[tuple[int, int]] = set()
    hashes: set[bytes] = set()
    for proof in candidates:
        if len(chosen) >= limit:
            break
        source = (proof.merkle_proof.shard_id, proof.merkle_proof.block_num)
        if source in seen or proof.merkle_proof.block_hash in hashes:
            continue
        try:
            verify_cx_proof(proof, my_shard, committee_for, harmony_vote_share, is_spent)
        except InvalidCXProof:
            continue
        seen.add(source)
        hashes.add(proof.merkle_proof.block_hash)
        chosen.append(proof)
    return tuple(chosen)


__all__ = [
    "BEACON_SHARD_ID",
    "CommitteeFor",
    "InvalidCrossLink",
    "IsSpent",
    "IsStored",
    "select_incoming_proofs",
    "verify_block_crosslinks",
    "verify_crosslink",
    "verify_cx_proof",
    "verify_incoming_proofs",
]
