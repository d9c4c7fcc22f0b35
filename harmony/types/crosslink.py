"""Crosslinks: a shard block's hash and commit signature, recorded in the beacon chain (reference §6.3).

Format from Harmony's ``core/types/crosslink.go``: the RLP list
``[hash, block_number, view_id, signature(96), bitmap, shard_id, epoch]``. A crosslink describes the
*parent* of the shard header it was taken from: the child header holds the parent's hash and aggregate
commit signature (``parent_hash``, ``last_commit_signature``, ``last_commit_bitmap``), but the parent's
number, view and epoch must come from the parent itself, so :meth:`CrossLink.from_headers` takes both
headers and :meth:`CrossLink.from_child` the parent's three numbers.

A beacon header's ``cross_links`` field is the RLP list of crosslinks (Go ``types.CrossLinks``), sorted by
(shard id, block number, view id).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, ClassVar

from harmony.encoding import rlp
from harmony.encoding.schema import (
    BIG_INT,
    HASH32,
    UINT32,
    Binary,
    ListOf,
    Nested,
    Sedes,
    Serializable,
    fixed,
)
from harmony.types.header import COMMIT_SIGNATURE_SIZE, MAX_BITMAP_SIZE, MAX_HEADER_SIZE, Header

MAX_CROSSLINKS = 1 << 14
"""Decode bound on crosslinks in one beacon header."""


@dataclass(frozen=True, slots=True)
class CrossLink(Serializable):
    """A shard block committed by its committee, as the beacon chain records it (§6.3)."""

    hash: bytes
    """Hash of the shard block (32 bytes)."""
    block_number: int
    view_id: int
    signature: bytes
    """Aggregate commit signature over the block (96 bytes)."""
    bitmap: bytes
    """Signers of ``signature`` in committee order (§1.3)."""
    shard_id: int
    epoch: int

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("hash", HASH32),
        ("block_number", BIG_INT),
        ("view_id", BIG_INT),
        ("signature", fixed(COMMIT_SIGNATURE_SIZE)),
        ("bitmap", Binary(0, MAX_BITMAP_SIZE)),
        ("shard_id", UINT32),
        ("epoch", BIG_INT),
    )

    @classmethod
    def from_child(
        cls, child: Header, *, parent_number: int, parent_view_id: int, parent_epoch: int
    ) -> CrossLink:
        """The crosslink of ``child``'s parent from the child's LastCommit fields (Go ``NewCrossLink``)."""
        return cls(
            hash=child.parent_hash,
            block_number=parent_number,
            view_id=parent_view_id,
            signature=child.last_commit_signature,
            bitmap=child.last_commit_bitmap,
            shard_id=child.shard_id,
            epoch=parent_epoch,
        )

    @classmethod
    def from_headers(cls, child: Header, parent: Header) -> CrossLink:
        """The crosslink of ``parent``, signed by the commit signature ``child`` carries (§6.3).

        ``ValueError`` if ``child`` is not ``parent``'s child on the same shard.
        """
        if child.parent_hash != parent.hash() or child.shard_id != parent.shard_id:
            raise ValueError("child header does not extend the parent header")
        return cls.from_child(
            child, parent_number=parent.number, parent_view_id=parent.view_id, parent_epoch=parent.epoch
        )

    def sort_key(self) -> tuple[int, int, int]:
        """Order within a beacon header: shard id, then block number, then view id (Go ``Sort``)."""
        return (self.shard_id, self.block_number, self.view_id)


_CROSSLINKS = ListOf(Nested(CrossLink), MAX_CROSSLINKS)


def encode_crosslinks(links: Sequence[CrossLink]) -> bytes:
    """The bytes of a beacon header's ``cross_links`` field: the RLP list, or empty bytes when there are none.

    (The Go proposer sets the field only when it has crosslinks to propose.)
    """
    if not links:
        return b""
    return rlp.encode(_CROSSLINKS.serialize(links))


def decode_crosslinks(data: bytes) -> tuple[CrossLink, ...]:
    """The crosslinks in a header's ``cross_links`` field (empty bytes: none); malformed input: RLPError."""
    if not data:
        return ()
    return _CROSSLINKS.deserialize(rlp.decode(data, max_size=MAX_HEADER_SIZE), "cross_links")


def sort_crosslinks(links: Iterable[CrossLink]) -> tuple[CrossLink, ...]:
    """Crosslinks in beacon-header order (:meth:`CrossLink.sort_key`)."""
    return tuple(sorted(links, key=CrossLink.sort_key))


def crosslinks_sorted(links: Sequence[CrossLink]) -> bool:
    """Whether crosslinks are in beacon-header order (Go ``CrossLinks.IsSorted``)."""
    return all(a.sort_key() <= b.sort_key() for a, b in pairwise(links))


__all__ = [
    "CrossLink",
    "crosslinks_sorted",
    "decode_crosslinks",
    "encode_crosslinks",
    "sort_crosslinks",
]
