"""Cross-shard receipts, their Merkle proof, and the structural checks of a proof (reference §6.4).

Formats from Harmony's ``core/types/cx_receipt.go``:

* ``CXReceipt``: ``[tx_hash, from, to, shard_id, to_shard_id, amount]``; Go's ``To`` is a ``*Address``
  without ``rlp:"nil"``, so a missing recipient is the empty string, which we read back as ``None``;
* ``CXMerkleProof``: ``[block_num, block_hash, shard_id, cx_receipt_hash, [shard_id...], [hash...]]``;
* ``CXReceiptsProof``: ``[[receipt...], merkle_proof, header, commit_sig, commit_bitmap]`` with the
  source header in its tagged form.

The source header's ``outgoing_receipt_hash`` (Go ``CXReceipts.ComputeMerkleRoot``) is Keccak-256 of the
concatenation, over destination shards in ascending order that have receipts, of
``uint32_be(shard) ‖ derive_sha(receipts to that shard)``, or the empty trie root when there are none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from harmony.crypto.keccak import keccak256
from harmony.encoding.schema import (
    ADDRESS,
    BIG_INT,
    HASH32,
    UINT32,
    Binary,
    ListOf,
    Nested,
    Optional,
    Sedes,
    Serializable,
)
from harmony.encoding.trie import EMPTY_TRIE_ROOT, derive_sha
from harmony.errors import HarmonyError
from harmony.types.header import COMMIT_SIGNATURE_SIZE, MAX_BITMAP_SIZE, MAX_HEADER_SIZE, Header

MAX_RECEIPTS_PER_PROOF = 1 << 16
"""Decode bound on receipts in one proof (a 2 MiB block holds far fewer)."""

MAX_PROOF_SHARDS = 1 << 10
"""Decode bound on destination shards listed in one Merkle proof."""

MAX_PROOF_SIZE = MAX_HEADER_SIZE
"""Decode bound on one encoded proof: the gossip cap (§8.3)."""


class InvalidCXProof(HarmonyError):
    """A cross-shard receipts proof fails a structural check; ``check`` names which (§6.4)."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check


@dataclass(frozen=True, slots=True)
class CXReceipt(Serializable):
    """A cross-shard transfer leaving its source shard (§6.4)."""

    tx_hash: bytes
    """Hash of the transaction on the source shard."""
    from_: bytes
    """Sender (20 bytes)."""
    to: bytes | None
    """Recipient (20 bytes); ``None`` never occurs for a transfer but is representable, as in Go."""
    shard_id: int
    """Source shard."""
    to_shard_id: int
    """Destination shard."""
    amount: int
    """Value in atto."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("tx_hash", HASH32),
        ("from_", ADDRESS),
        ("to", Optional(ADDRESS)),
        ("shard_id", UINT32),
        ("to_shard_id", UINT32),
        ("amount", BIG_INT),
    )


@dataclass(frozen=True, slots=True)
class CXMerkleProof(Serializable):
    """What a destination shard needs to tie receipts to a source header's outgoing root (§6.4)."""

    block_num: int
    """Number of the source block."""
    block_hash: bytes
    """Hash of the source block."""
    shard_id: int
    """Source shard."""
    cx_receipt_hash: bytes
    """The source header's outgoing receipts root."""
    shard_ids: tuple[int, ...]
    """Destination shards with receipts in that block, ascending."""
    cx_shard_hashes: tuple[bytes, ...]
    """``derive_sha`` of each destination's receipts, in the order of ``shard_ids``."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("block_num", BIG_INT),
        ("block_hash", HASH32),
        ("shard_id", UINT32),
        ("cx_receipt_hash", HASH32),
        ("shard_ids", ListOf(UINT32, MAX_PROOF_SHARDS)),
        ("cx_shard_hashes", ListOf(HASH32, MAX_PROOF_SHARDS)),
    )


@dataclass(frozen=True, slots=True)
class CXReceiptsProof(Serializable):
    """Receipts for one destination shard from one source block, with proof and the block's header."""

    receipts: tuple[CXReceipt, ...]
    merkle_proof: CXMerkleProof
    header: Header
    """The source block's header (tagged v3)."""
    commit_sig: bytes
    """Aggregate commit signature of the source block (checked against the source committee later)."""
    commit_bitmap: bytes
    """Signers of ``commit_sig``."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("receipts", ListOf(Nested(CXReceipt), MAX_RECEIPTS_PER_PROOF)),
        ("merkle_proof", Nested(CXMerkleProof)),
        ("header", Nested(Header)),
        ("commit_sig", Binary(0, COMMIT_SIGNATURE_SIZE)),
        ("commit_bitmap", Binary(0, MAX_BITMAP_SIZE)),
    )
    max_encoded_size: ClassVar[int] = MAX_PROOF_SIZE


def receipts_to_shard(receipts: Iterable[CXReceipt], to_shard_id: int) -> tuple[CXReceipt, ...]:
    """The receipts bound for ``to_shard_id``, in their original order (Go ``GetToShardReceipts``)."""
    return tuple(r for r in receipts if r.to_shard_id == to_shard_id)


def cx_receipts_root(receipts: Sequence[CXReceipt]) -> bytes:
    """``derive_sha`` over receipts' encodings: one destination shard's entry in the outgoing root."""
    return derive_sha([r.encode() for r in receipts])


def group_by_destination(receipts: Iterable[CXReceipt]) -> dict[int, tuple[CXReceipt, ...]]:
    """Receipts grouped by destination shard, shards ascending, order kept within each shard."""
    groups: dict[int, list[CXReceipt]] = {}
    for receipt in receipts:
        groups.setdefault(receipt.to_shard_id, []).append(receipt)
    return {shard: tuple(groups[shard]) for shard in sorted(groups)}


def root_from_shard_hashes(shard_ids: Sequence[int], shard_hashes: Sequence[bytes]) -> bytes:
    """Keccak-256 of ``uint32_be(shard) ‖ hash`` over the pairs, or the empty trie root if none (§6.4)."""
    if len(shard_ids) != len(shard_hashes):
        raise ValueError("shard ids and shard hashes differ in length")
    if not shard_ids:
        return EMPTY_TRIE_ROOT
    return keccak256(b"".join(s.to_bytes(4, "big") + h for s, h in zip(shard_ids, shard_hashes, strict=True)))


def outgoing_receipts_root(receipts: Iterable[CXReceipt]) -> bytes:
    """A header's OutgoingReceiptHash from the block's outgoing receipts (§6.4, Go ``ComputeMerkleRoot``).

    Receipts are grouped by destination shard (ascending; order kept within a shard); each shard with
    receipts contributes ``uint32_be(shard) ‖ derive_sha(its receipts)``; the root is Keccak-256 of the
    concatenation, or the empty trie root when there are no receipts.
    """
    groups = group_by_destination(receipts)
    return root_from_shard_hashes(list(groups), [cx_receipts_root(g) for g in groups.values()])


def build_merkle_proof(header: Header, outgoing_receipts: Iterable[CXReceipt]) -> CXMerkleProof:
    """The Merkle proof for a source block from all its outgoing receipts (Go ``CXMerkleProof``)."""
    groups = group_by_destination(outgoing_receipts)
    return CXMerkleProof(
        block_num=header.number,
        block_hash=header.hash(),
        shard_id=header.shard_id,
        cx_receipt_hash=header.outgoing_receipt_hash,
        shard_ids=tuple(groups),
        cx_shard_hashes=tuple(cx_receipts_root(g) for g in groups.values()),
    )


def build_receipts_proof(
    header: Header,
    outgoing_receipts: Sequence[CXReceipt],
    to_shard_id: int,
    commit_sig: bytes,
    commit_bitmap: bytes,
) -> CXReceiptsProof:
    """The proof sent to ``to_shard_id`` after the source block committed (§6.4 "after commit")."""
    return CXReceiptsProof(
        receipts=receipts_to_shard(outgoing_receipts, to_shard_id),
        merkle_proof=build_merkle_proof(header, outgoing_receipts),
        header=header,
        commit_sig=commit_sig,
        commit_bitmap=commit_bitmap,
    )


def check_proof_structure(proof: CXReceiptsProof, my_shard: int) -> None:
    """Every check of a received proof except the commit signature (§6.4, Go ``ValidateCXReceiptsProof``).

    Raises :class:`InvalidCXProof` whose ``check`` is, in order:

    * ``empty``: the proof carries no receipts;
    * ``destination``: a receipt does not target ``my_shard``;
    * ``proof_shape``: shard ids and hashes differ in length, or shard ids are not strictly ascending;
    * ``no_shard_entry``: the proof has no entry for ``my_shard``;
    * ``receipts_root``: ``derive_sha(receipts)`` differs from that entry;
    * ``outgoing_root``: the root recomputed from (shard ids, hashes) differs from ``cx_receipt_hash``;
    * ``block_hash``: the header's hash differs from the proof's ``block_hash``;
    * ``header_outgoing_root``: the header's ``outgoing_receipt_hash`` differs from ``cx_receipt_hash``;
    * ``header_fields``: the proof's block number or source shard differs from the header's.

    The aggregate signature over the header (``commit_sig``/``commit_bitmap`` against the source shard's
    committee) and double spending are checked by the chain layer.
    """
    mp = proof.merkle_proof
    if not proof.receipts:
        raise InvalidCXProof("empty", "the proof carries no receipts")
    for i, receipt in enumerate(proof.receipts):
        if receipt.to_shard_id != my_shard:
            raise InvalidCXProof(
                "destination", f"receipt {i} targets shard {receipt.to_shard_id}, not shard {my_shard}"
            )
    if len(mp.shard_ids) != len(mp.cx_shard_hashes):
        raise InvalidCXProof("proof_shape", "shard ids and shard hashes differ in length")
    if any(a >= b for a, b in zip(mp.shard_ids, mp.shard_ids[1:], strict=False)):
        raise InvalidCXProof("proof_shape", "shard ids are not strictly ascending")
    if my_shard not in mp.shard_ids:
        raise InvalidCXProof("no_shard_entry", f"the proof has no entry for shard {my_shard}")
    entry = mp.cx_shard_hashes[mp.shard_ids.index(my_shard)]
    if cx_receipts_root(proof.receipts) != entry:
        raise InvalidCXProof("receipts_root", "the receipts' root differs from the proof's entry")
    if root_from_shard_hashes(mp.shard_ids, mp.cx_shard_hashes) != mp.cx_receipt_hash:
        raise InvalidCXProof("outgoing_root", "the root of the shard hashes differs from cx_receipt_hash")
    if proof.header.hash() != mp.block_hash:
        raise InvalidCXProof("block_hash", "the header's hash differs from the proof's block hash")
    if proof.header.outgoing_receipt_hash != mp.cx_receipt_hash:
        raise InvalidCXProof("header_outgoing_root", "the header's outgoing receipts root differs")
    if proof.header.number != mp.block_num or proof.header.shard_id != mp.shard_id:
        raise InvalidCXProof("header_fields", "the proof's block number or shard differs from the header's")


def check_no_duplicate_proofs(proofs: Sequence[CXReceiptsProof]) -> None:
    """A block may carry at most one proof per source block (Go ``checkDuplicateCXReceipts``)."""
    seen: set[bytes] = set()
    for proof in proofs:
        block_hash = proof.merkle_proof.block_hash
        if block_hash in seen:
            raise InvalidCXProof("duplicate", f"two proofs for source block {block_hash.hex()}")
        seen.add(block_hash)


def incoming_receipts_root(proofs: Sequence[CXReceiptsProof]) -> bytes:
    """A header's IncomingReceiptHash: ``derive_sha`` over the proofs' encodings (§6.4)."""
    return derive_sha([p.encode() for p in proofs])


__all__ = [
    "CXMerkleProof",
    "CXReceipt",
    "CXReceiptsProof",
    "InvalidCXProof",
    "build_merkle_proof",
    "build_receipts_proof",
    "check_no_duplicate_proofs",
    "check_proof_structure",
    "cx_receipts_root",
    "group_by_destination",
    "incoming_receipts_root",
    "outgoing_receipts_root",
    "receipts_to_shard",
    "root_from_shard_hashes",
]
