"""The v3 block header (reference §2.1; Harmony ``block/v3/header.go``, ``block/header.go``).

RLP: the 24 fields below in order, wrapped in the tagged envelope ``["HmnyTgd", "v3", [fields...]]``
(Harmony's ``HeaderRegistry``); the header hash is Keccak-256 of that encoding. Only v3 exists on our
network: untagged (v0) and v1/v2 headers are refused.

Field encodings (Go types in brackets): hashes [common.Hash] 32 bytes, coinbase [common.Address] 20, bloom
[Bloom] 256, number/time/view_id/epoch [*big.Int] canonical integers, gas limit/used [uint64], shard id
[uint32], last commit signature [[96]byte] 96 bytes, and byte strings [[]byte] for the bitmap, VRF, VDF and
the three RLP blobs (shard state, crosslinks, slashes): those blobs are RLP byte strings whose content is
itself RLP, decoded by :mod:`harmony.types.shard_state`, :mod:`harmony.types.crosslink` and
:mod:`harmony.types.slash`. v3 has no ShardStateHash (v2 has one between the bitmap and the VRF).

Decode bounds beyond Go's: ``extra`` at most 32 bytes (Ethereum's and Harmony's ``MaximumExtraDataSize``),
``vrf`` empty or exactly 128 bytes (β ‖ π, §2.1), bitmap and VDF length caps, and the whole header at most
:data:`MAX_HEADER_SIZE`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from harmony.crypto.keccak import keccak256
from harmony.encoding import rlp, tagged
from harmony.encoding.rlp import DecodedItem, Item
from harmony.encoding.schema import (
    ADDRESS,
    BIG_INT,
    HASH32,
    UINT32,
    UINT64,
    Binary,
    Sedes,
    Serializable,
    as_bytes,
    as_list,
    fixed,
)
from harmony.encoding.trie import EMPTY_TRIE_ROOT
from harmony.errors import RLPError
from harmony.types.receipt import BLOOM, EMPTY_BLOOM
from harmony.types.shard_state import ShardState

HEADER_TAG = "v3"
"""Tag of the tagged-RLP envelope of a v3 header."""

ZERO_HASH = bytes(32)
ZERO_ADDRESS = bytes(20)

COMMIT_SIGNATURE_SIZE = 96
"""An aggregate BLS signature (G2 point)."""

EMPTY_COMMIT_SIGNATURE = bytes(COMMIT_SIGNATURE_SIZE)

MAX_EXTRA_SIZE = 32
"""Longest ``extra`` accepted (Ethereum's ``MaximumExtraDataSize``)."""

VRF_SIZE = 128
"""A block VRF: 32-byte output β followed by the 96-byte proof π (§2.1)."""

MAX_BITMAP_SIZE = (1 << 20) // 8
"""Longest commit bitmap accepted: a committee of 2^20 members, as :mod:`harmony.crypto.bitmap` allows."""

MAX_VDF_SIZE = 4096
"""Longest VDF output-and-proof accepted."""

MAX_HEADER_SIZE = 2 * 1024 * 1024
"""Bound on an encoded header: the gossip message cap (§8.3); a header with a shard state is ~100 KB."""

GENESIS_GAS_LIMIT = 4_712_388
"""Harmony's genesis gas limit (``params.GenesisGasLimit``, §2.1)."""


@dataclass(frozen=True, slots=True)
class _EmptyOr:
    """A byte string that is empty or exactly ``length`` bytes long."""

    length: int

    def serialize(self, value: bytes) -> Item:
        """Encode after checking the length."""
        if len(value) not in (0, self.length):
            raise ValueError(f"expected 0 or {self.length} bytes, got {len(value)}")
        return bytes(value)

    def deserialize(self, item: DecodedItem, field: str) -> bytes:
        """Decode and check the length."""
        data = as_bytes(item, field)
        if len(data) not in (0, self.length):
            raise RLPError(f"{field}: expected 0 or {self.length} bytes, got {len(data)}")
        return data


BLOB = Binary(0, MAX_HEADER_SIZE)


@dataclass(frozen=True, slots=True)
class Header(Serializable):
    """A v3 block header (§2.1). Every field has a default, so tests and genesis name only what they need.

    Build variants with :meth:`replace` (``dataclasses.replace``); the value is immutable.
    """

    parent_hash: bytes = ZERO_HASH
    """Hash of the parent header; zero for genesis."""
    coinbase: bytes = ZERO_ADDRESS
    """The leader's address (first 20 bytes of SHA-256 of its BLS key in Harmony)."""
    root: bytes = EMPTY_TRIE_ROOT
    """State trie root after the block."""
    tx_hash: bytes = EMPTY_TRIE_ROOT
    """``derive_sha`` over the plain then the staking transactions (see :mod:`harmony.types.block`)."""
    receipt_hash: bytes = EMPTY_TRIE_ROOT
    """``derive_sha`` over the receipts."""
    outgoing_receipt_hash: bytes = EMPTY_TRIE_ROOT
    """Root of the outgoing cross-shard receipts (§6.4, :func:`harmony.types.cx.outgoing_receipts_root`)."""
    incoming_receipt_hash: bytes = EMPTY_TRIE_ROOT
    """``derive_sha`` over the incoming cross-shard receipt proofs (§6.4)."""
    bloom: bytes = EMPTY_BLOOM
    """Logs bloom of the block (256 bytes)."""
    number: int = 0
    gas_limit: int = 0
    gas_used: int = 0
    time: int = 0
    """Unix time in seconds."""
    extra: bytes = b""
    """Free data, at most 32 bytes."""
    mix_digest: bytes = ZERO_HASH
    """Unused by Harmony; always zero."""
    view_id: int = 0
    """FBFT view in which the block was proposed."""
    epoch: int = 0
    shard_id: int = 0
    last_commit_signature: bytes = EMPTY_COMMIT_SIGNATURE
    """Aggregate commit signature of the parent block (96 bytes, §1.5)."""
    last_commit_bitmap: bytes = b""
    """Signers of ``last_commit_signature`` in the parent epoch's committee order (§1.3)."""
    vrf: bytes = b""
    """Empty, or β (32) ‖ π (96)."""
    vdf: bytes = b""
    """VDF output and proof of the epoch, if this block carries one."""
    shard_state: bytes = b""
    """RLP of the next epoch's :class:`ShardState`; non-empty only in an epoch's last block."""
    cross_links: bytes = b""
    """RLP of the crosslinks a beacon block includes (:mod:`harmony.types.crosslink`)."""
    slashes: bytes = b""
    """RLP of the slash records a beacon block includes (:mod:`harmony.types.slash`)."""
    _hash: bytes | None = dataclasses.field(default=None, init=False, repr=False, compare=False)
    """The hash once computed (not a header field: never encoded, compared, or copied by :meth:`replace`)."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("parent_hash", HASH32),
        ("coinbase", ADDRESS),
        ("root", HASH32),
        ("tx_hash", HASH32),
        ("receipt_hash", HASH32),
        ("outgoing_receipt_hash", HASH32),
        ("incoming_receipt_hash", HASH32),
        ("bloom", BLOOM),
        ("number", BIG_INT),
        ("gas_limit", UINT64),
        ("gas_used", UINT64),
        ("time", BIG_INT),
        ("extra", Binary(0, MAX_EXTRA_SIZE)),
        ("mix_digest", HASH32),
        ("view_id", BIG_INT),
        ("epoch", BIG_INT),
        ("shard_id", UINT32),
        ("last_commit_signature", fixed(COMMIT_SIGNATURE_SIZE)),
        ("last_commit_bitmap", Binary(0, MAX_BITMAP_SIZE)),
        ("vrf", _EmptyOr(VRF_SIZE)),
        ("vdf", Binary(0, MAX_VDF_SIZE)),
        ("shard_state", BLOB),
        ("cross_links", BLOB),
        ("slashes", BLOB),
    )
    max_encoded_size: ClassVar[int] = MAX_HEADER_SIZE

    @classmethod
    def genesis(
        cls,
        *,
        shard_id: int,
        time: int = 0,
        root: bytes = EMPTY_TRIE_ROOT,
        gas_limit: int = GENESIS_GAS_LIMIT,
        shard_state: ShardState | None = None,
        extra: bytes = b"",
    ) -> Header:
        """A genesis header (number 0, epoch 0, zero parent), optionally carrying the initial shard state."""
        return cls(
            root=root,
            gas_limit=gas_limit,
            time=time,
            extra=extra,
            shard_id=shard_id,
            shard_state=b"" if shard_state is None else shard_state.encode(),
        )

    def to_rlp(self) -> Item:
        """The tagged item ``["HmnyTgd", "v3", [fields...]]``."""
        return tagged.wrap(HEADER_TAG, Serializable.to_rlp(self))

    @classmethod
    def from_rlp(cls, item: DecodedItem, field: str | None = None) -> Self:
        """Decode a tagged v3 header; untagged or other-version headers raise :class:`RLPError`."""
        where = field or cls.__name__
        try:
            _, inner = tagged.unwrap_expecting(item, (HEADER_TAG,))
        except RLPError as exc:
            raise RLPError(f"{where}: {exc}") from exc
        entries = as_list(inner, where, len(cls.rlp_schema))
        return cls(
            **{
                name: sedes.deserialize(entry, f"{where}.{name}")
                for (name, sedes), entry in zip(cls.rlp_schema, entries, strict=True)
            }
        )

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode an encoded header of at most :data:`MAX_HEADER_SIZE` bytes."""
        return cls.from_rlp(rlp.decode(data, max_size=cls.max_encoded_size))

    def hash(self) -> bytes:
        """The block hash: Keccak-256 of the tagged RLP encoding (§2.1, Go ``hash.FromRLP``); computed once
        per header (a block sync asks for it several times a block)."""
        cached = self._hash
        if cached is None:
            cached = keccak256(self.encode())
            object.__setattr__(self, "_hash", cached)
        return cached

    def replace(self, **changes: Any) -> Header:
        """A copy with ``changes`` applied (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def with_last_commit(self, signature: bytes, bitmap: bytes) -> Header:
        """A copy carrying the parent's aggregate commit signature and bitmap (Go ``SetLastCommitSig``)."""
        return dataclasses.replace(self, last_commit_signature=signature, last_commit_bitmap=bitmap)

    def is_last_block_in_epoch(self) -> bool:
        """Whether this is the last block of its epoch: its ShardState field is non-empty (§2.1)."""
        return len(self.shard_state) > 0

    def get_shard_state(self) -> ShardState | None:
        """The next epoch's shard state carried by an epoch's last block, or ``None``; DecodeError if bad."""
        return ShardState.decode(self.shard_state) if self.shard_state else None

    @property
    def vrf_output(self) -> bytes:
        """β, the first 32 bytes of the VRF field (empty if the block has no VRF)."""
        return self.vrf[:32]

    @property
    def vrf_proof(self) -> bytes:
        """π, the 96 bytes after β (empty if the block has no VRF)."""
        return self.vrf[32:]


__all__ = [
    "COMMIT_SIGNATURE_SIZE",
    "EMPTY_COMMIT_SIGNATURE",
    "GENESIS_GAS_LIMIT",
    "HEADER_TAG",
    "MAX_EXTRA_SIZE",
    "MAX_HEADER_SIZE",
    "VRF_SIZE",
    "ZERO_ADDRESS",
    "ZERO_HASH",
    "Header",
]
