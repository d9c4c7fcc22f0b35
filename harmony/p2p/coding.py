"""Erasure-coded blocks: RaptorQ symbols (RFC 6330), their signed Merkle commitment, and bounded decoding.

The leader turns a block's bytes into ``K = ceil(length / symbol_size)`` source symbols and ``N - K``
repair symbols with the ``raptorq`` package (one RFC 6330 source block), hashes each symbol into a leaf of a
binary Merkle tree (:mod:`harmony.p2p.merkle`) and signs a :class:`SymbolCommitment`: the block hash, its
length, the symbol size, ``N`` and the root. Every :class:`Symbol` on the wire carries the block hash,
length, symbol size, its index and its Merkle proof, so a receiver checks each one against the signed
commitment before it goes anywhere near the decoder (:func:`check_symbol`); what fails raises
:class:`SymbolRejected` with a :class:`Reject` reason whose weight the caller adds to the sender's score.
A :class:`SymbolDecoder` holds at most ``N`` verified symbols of one block, tries RaptorQ once it holds
``K + DECODE_EXTRA`` of them, and accepts the result only if it hashes to the committed block hash.

The wire types are frozen dataclasses with RLP schemas, like every wire type (``harmony.encoding.schema``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import raptorq

from harmony.crypto.keccak import keccak256
from harmony.encoding.schema import (
    HASH32,
    UINT32,
    UINT64,
    Binary,
    ListOf,
    Nested,
    Sedes,
    Serializable,
    UInt,
    fixed,
)
from harmony.errors import RLPError
from harmony.p2p import merkle
from harmony.p2p.errors import P2PError
from harmony.p2p.sync_protocol import MAX_BLOCK_BYTES

SYMBOL_ALIGNMENT = 8
"""RFC 6330's symbol alignment ``Al`` as the ``raptorq`` package uses it: symbol sizes are multiples of 8."""
MIN_SYMBOL_SIZE = 1024
"""Smallest symbol: below it a symbol's Merkle proof and header cost a fifth of it and more."""
MAX_SYMBOL_SIZE = 65528
"""Largest symbol: ``raptorq`` takes the size as a 16-bit integer, rounded down to the alignment."""
TARGET_SOURCE_SYMBOLS = 32
"""The symbol size is chosen so that a large block has about this many source symbols: enough to split
among 16 members (``N`` = 42 at 30 % overhead: two or three symbols each), few enough that a proof
(``32 × ceil(log2 N)`` bytes, 192 at ``N`` = 42) stays a few percent of a symbol. At 64 a 100 kB block's
proofs and headers cost 18 % of its symbols and the leader uploaded 1.56-1.71 times the block (4-16
members); at 32, 1.43-1.58 (at 256 source symbols a 200 kB block paid 40 % in proofs)."""
GOOD_SYMBOL_SIZE = 4096
"""A smaller block is cut into symbols of about this size rather than into 32: a symbol's proof and header
(180-250 bytes) then stay about 5 % of it. With 32 symbols, the 35-95 kB blocks of ``bench/propagation.py``
at 600 tx/s had symbols of 1.1-3 kB, and the leader uploaded 1.50 times the block at 4 members and 1.65-1.68
at 8."""
MAX_SOURCE_SYMBOLS = -(-MAX_BLOCK_BYTES // MIN_SYMBOL_SIZE)
"""``K`` of the largest block at the smallest symbol size; far under RFC 6330's 56,403 per source block."""
MAX_SYMBOL_COUNT = 4 * MAX_SOURCE_SYMBOLS
"""Cap on ``N``, source and repair symbols together."""
MAX_CODED_BYTES = 4 * MAX_BLOCK_BYTES
"""Cap on ``N × symbol_size``: the memory one block's symbols may take at a receiver."""
MAX_PROOF_LENGTH = 20
"""A proof in a tree of at most :data:`merkle.MAX_LEAVES` leaves has at most 20 siblings."""
DECODE_EXTRA = 2
"""Symbols beyond ``K`` a decoder waits for: RFC 6330 decodes with probability ``1 - 1/256^(h+1)`` from
``K + h`` symbols, so two extra make a failed attempt (and its retry) a one-in-16-million event."""
COMMITMENT_DOMAIN = b"harmony/coded-block-commitment/v1"
"""Prefix of what the leader signs, so the signature can never stand for a consensus vote (which signs a
32-byte hash, 48 bytes of number, hash and view, or an 8-byte view)."""
MAX_ROUND_PEERS = 1024
"""Peers of one coded round (leader and members)."""
MAX_PEER_ID_BYTES = 64
NO_ROUND = bytes(32)
"""The round hash of a commitment that names no round (the receiver's resolver knows it otherwise)."""
ROUND_DOMAIN = b"harmony/coded-round/v1"
MAX_BATCH_SYMBOLS = 4096
MAX_BATCH_BYTES = 1024 * 1024 + 64 * 1024
"""Cap on one encoded :class:`SymbolBatch` (checked before decoding it)."""


class Reject(enum.Enum):
    """Why a symbol or batch was dropped, with the penalty weight its sender earns (design.md §3 rule 5).

    Weight 0 marks what an honest peer can cause (a late relay of a block already decoded)."""

    MALFORMED = ("coded_malformed", 10)
    """The batch does not decode as a :class:`SymbolBatch`."""
    BAD_COMMITMENT = ("coded_bad_commitment", 10)
    """The commitment's numbers are inconsistent or out of bounds."""
    UNANNOUNCED = ("coded_unannounced", 5)
    """The commitment is not one the node accepts: a bad signature, a foreign shard, an old or unknown
    round, a block never announced."""
    NOT_MEMBER = ("coded_not_member", 5)
    """The sender is neither the block's leader nor a member of its committee."""
    FOREIGN = ("coded_foreign", 10)
    """The symbol names another block than its batch's commitment."""
    WRONG_LENGTH = ("coded_wrong_length", 10)
    """The symbol states another block length than the commitment."""
    WRONG_SIZE = ("coded_wrong_size", 10)
    """The symbol states another symbol size than the commitment, or its data is not that size."""
    WRONG_INDEX = ("coded_wrong_index", 10)
    """The index is past ``N`` or outside the sender's share."""
    FORGED = ("coded_forged", 20)
    """The Merkle proof does not lead to the committed root."""
    DUPLICATE = ("coded_duplicate", 2)
    """The symbol was received before (a replay)."""
    FLOOD = ("coded_flood", 5)
    """The sender has more batches in flight than allowed."""
    LATE = ("coded_late", 0)
    """The block is already decoded; the symbol is dropped unread (relays in flight are normal)."""
    UNKNOWN_ROUND = ("coded_unknown_round", 0)
    """The batch names its round by hash only and this node does not know it yet (it was behind when the
    round's peers last came): dropped; senders name the peers again within a few seconds."""
    STALE = ("coded_stale", 1)
    """The block was finished and forgotten long ago: no relay should still be on its way."""
    DECODE_MISMATCH = ("coded_decode_mismatch", 50)
    """Committed symbols decoded to bytes of another hash (or not at all): the leader committed garbage."""

    @property
    def reason(self) -> str:
        """The reason name passed to :meth:`P2PHost.penalize`."""
        return str(self.value[0])

    @property
    def weight(self) -> int:
        """The penalty weight."""
        return int(self.value[1])


class SymbolRejected(P2PError):
    """A symbol, batch or decode result was refused; ``reject`` says why and what the sender earns."""

    def __init__(self, reject: Reject, message: str) -> None:
        super().__init__(f"{reject.reason}: {message}")
        self.reject = reject


@dataclass(frozen=True, slots=True)
class SymbolCommitment(Serializable):
    """What the leader signs for a coded block; the announce carries it, and every batch too."""

    shard_id: int
    block_number: int
    view_id: int
    """The round the block is proposed in, so a commitment of an older round is told apart."""
    block_hash: bytes
    """The block's hash, as the injected ``content_hash`` computes it from the block's bytes."""
    block_length: int
    """Length in bytes of the encoded block."""
    symbol_size: int
    """``T``: bytes per symbol, a multiple of 8."""
    symbol_count: int
    """``N``: source and repair symbols the leader committed to (indices ``0 .. N-1``)."""
    merkle_root: bytes
    """Root of the Merkle tree over the ``N`` symbols (:mod:`harmony.p2p.merkle`)."""
    round_hash: bytes = NO_ROUND
    """:func:`hash_round` of the round's peers: the leader signs who its round is, so every receiver
    knows each sender's share without a peer map. The peers themselves travel in a batch
    (:attr:`SymbolBatch.round_peers`) only when the receiver may not know them yet: a committee's
    round stays the same block after block, and sending 17 peer IDs with every batch of a 16-member
    round cost the leader 15 % of the block."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("shard_id", UINT32),
        ("block_number", UINT64),
        ("view_id", UINT64),
        ("block_hash", HASH32),
        ("block_length", UINT32),
        ("symbol_size", UInt(16)),
        ("symbol_count", UINT32),
        ("merkle_root", HASH32),
        ("round_hash", HASH32),
    )

    @property
    def source_symbols(self) -> int:
        """``K``: the number of source symbols, ``ceil(block_length / symbol_size)``."""
        return -(-self.block_length // self.symbol_size)

    def signing_payload(self) -> bytes:
        """The bytes the leader's BLS key signs: the domain tag and the Keccak-256 of this encoding."""
        return COMMITMENT_DOMAIN + keccak256(self.encode())


@dataclass(frozen=True, slots=True)
class SignedCommitment(Serializable):
    """A commitment with the BLS public key of its signer and the signature over its signing payload."""

    commitment: SymbolCommitment
    signer: bytes
    """The leader's BLS public key (48 bytes); the node checks it is the round's leader."""
    signature: bytes
    """BLS signature (96 bytes) over :meth:`SymbolCommitment.signing_payload`."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("commitment", Nested(SymbolCommitment)),
        ("signer", fixed(48)),
        ("signature", fixed(96)),
    )


@dataclass(frozen=True, slots=True)
class Symbol(Serializable):
    """One coded symbol of a block with its Merkle proof."""

    block_hash: bytes
    block_length: int
    symbol_size: int
    index: int
    """The encoding symbol ID (RFC 6330 ESI): below ``K`` a source symbol, from ``K`` on a repair one."""
    data: bytes
    proof: tuple[bytes, ...]
    """Merkle siblings from the leaf up."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("block_hash", HASH32),
        ("block_length", UINT32),
        ("symbol_size", UInt(16)),
        ("index", UINT32),
        ("data", Binary(1, MAX_SYMBOL_SIZE)),
        ("proof", ListOf(HASH32, MAX_PROOF_LENGTH)),
    )


@dataclass(frozen=True, slots=True)
class SymbolBatch(Serializable):
    """What one request of the coded broadcast carries: a signed commitment, symbols of that block and,
    when the sender is not sure the receiver knows them, the round's peers."""

    commitment: SignedCommitment
    symbols: tuple[Symbol, ...]
    round_peers: tuple[bytes, ...] = ()
    """Empty, or the peer IDs (base58, ASCII) the commitment's :attr:`SymbolCommitment.round_hash`
    stands for: the leader first, then the members in share order."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("commitment", Nested(SignedCommitment)),
        ("symbols", ListOf(Nested(Symbol), MAX_BATCH_SYMBOLS)),
        ("round_peers", ListOf(Binary(1, MAX_PEER_ID_BYTES), MAX_ROUND_PEERS)),
    )
    max_encoded_size: ClassVar[int] = MAX_BATCH_BYTES


ContentHash = Callable[[bytes], bytes]
"""The block hash of a block's bytes (the node's is the header hash of the decoded block)."""


def decode_batch(data: bytes) -> SymbolBatch:
    """Decode a batch from a peer, size-bounded before reading; garbage raises :class:`SymbolRejected`
    (:attr:`Reject.MALFORMED`) naming the field."""
    if len(data) > MAX_BATCH_BYTES:
        raise SymbolRejected(Reject.MALFORMED, f"batch of {len(data)} bytes is above {MAX_BATCH_BYTES}")
    try:
        return SymbolBatch.decode(data)
    except RLPError as exc:
        raise SymbolRejected(Reject.MALFORMED, str(exc)) from exc


def choose_symbol_size(block_length: int, members: int = 1, overhead_percent: int = 30) -> int:
    """The symbol size for a block (the leader's choice; the commitment tells receivers): ``K`` source
    symbols of about :data:`GOOD_SYMBOL_SIZE`, at most :data:`TARGET_SOURCE_SYMBOLS` of them, and at least
    as many as make ``N = K + overhead`` cover every member (else :func:`symbol_count` adds symbols only so
    that each member has one, each a whole symbol of upload); a multiple of the alignment, within
    ``[MIN_SYMBOL_SIZE, MAX_SYMBOL_SIZE]``."""
    covering = -(-members * 100 // (100 + overhead_percent))
    by_size = min(TARGET_SOURCE_SYMBOLS, -(-block_length // GOOD_SYMBOL_SIZE))
    size = -(-block_length // max(1, covering, by_size))
    size = -(-size // SYMBOL_ALIGNMENT) * SYMBOL_ALIGNMENT
    return min(MAX_SYMBOL_SIZE, max(MIN_SYMBOL_SIZE, size))


def symbol_count(source_symbols: int, overhead_percent: int, members: int) -> int:
    """``N`` for ``K`` source symbols: ``K`` plus ``overhead_percent`` of it in repair symbols (rounded
    up), and at least one symbol per member so that every member has a share to relay."""
    repair = -(-source_symbols * overhead_percent // 100)
    return max(source_symbols + repair, members)


def check_commitment(commitment: SymbolCommitment) -> None:
    """Refuse a commitment whose numbers a decoder cannot be built on (:attr:`Reject.BAD_COMMITMENT`):
    length, symbol size and count within the caps, the size aligned, and ``K <= N``."""
    c = commitment
    problem = None
    if not 0 < c.block_length <= MAX_BLOCK_BYTES:
        problem = f"block_length {c.block_length} outside [1, {MAX_BLOCK_BYTES}]"
    elif not MIN_SYMBOL_SIZE <= c.symbol_size <= MAX_SYMBOL_SIZE or c.symbol_size % SYMBOL_ALIGNMENT:
        problem = (
            f"symbol_size {c.symbol_size} is not a multiple of 8 in [{MIN_SYMBOL_SIZE}, {MAX_SYMBOL_SIZE}]"
        )
    elif not c.source_symbols <= c.symbol_count <= MAX_SYMBOL_COUNT:
        problem = f"symbol_count {c.symbol_count} outside [K={c.source_symbols}, {MAX_SYMBOL_COUNT}]"
    elif c.symbol_count * c.symbol_size > MAX_CODED_BYTES:
        problem = f"{c.symbol_count} symbols of {c.symbol_size} bytes exceed {MAX_CODED_BYTES} bytes"
    if problem is not None:
        raise SymbolRejected(Reject.BAD_COMMITMENT, problem)


def hash_round(peers: Sequence[bytes]) -> bytes:
    """The hash a commitment names its round by: Keccak-256 over a domain tag and each peer ID with its
    length (one byte: a peer ID has at most :data:`MAX_PEER_ID_BYTES`)."""
    return keccak256(ROUND_DOMAIN + b"".join(len(peer).to_bytes(1, "big") + peer for peer in peers))


def check_round_peers(commitment: SymbolCommitment, peers: Sequence[bytes]) -> None:
    """Refuse a batch's round peers that are not the commitment's round (:attr:`Reject.BAD_COMMITMENT`):
    the leader and at least one member, each once, base58 peer IDs, hashing to ``round_hash``."""
    problem = None
    if len(peers) < 2 or len(set(peers)) != len(peers):
        problem = "round_peers must name the leader and at least one member, each once"
    elif not all(peer.isascii() and peer.isalnum() for peer in peers):
        problem = "round_peers must be base58 peer IDs"
    elif hash_round(peers) != commitment.round_hash:
        problem = "round_peers are not the round the commitment names"
    if problem is not None:
        raise SymbolRejected(Reject.BAD_COMMITMENT, problem)


def check_symbol(commitment: SymbolCommitment, symbol: Symbol, allowed: range | None = None) -> None:
    """Check one symbol against the commitment before it is kept (the order is cheapest first; the Merkle
    proof last): block hash, length, symbol size, data size, index (below ``N`` and, if ``allowed`` is
    given, in the sender's share), then the proof. Raises :class:`SymbolRejected`."""
    c = commitment
    if symbol.block_hash != c.block_hash:
        raise SymbolRejected(Reject.FOREIGN, f"symbol of block {symbol.block_hash.hex()[:16]}")
    if symbol.block_length != c.block_length:
        raise SymbolRejected(Reject.WRONG_LENGTH, f"block_length {symbol.block_length} != {c.block_length}")
    if symbol.symbol_size != c.symbol_size or len(symbol.data) != c.symbol_size:
        raise SymbolRejected(
            Reject.WRONG_SIZE,
            f"symbol_size {symbol.symbol_size} with {len(symbol.data)} bytes, committed {c.symbol_size}",
        )
    if symbol.index >= c.symbol_count or (allowed is not None and symbol.index not in allowed):
        raise SymbolRejected(Reject.WRONG_INDEX, f"index {symbol.index} is not the sender's to send")
    leaf = merkle.leaf_hash(symbol.index, symbol.data)
    if not merkle.verify_proof(c.merkle_root, symbol.index, c.symbol_count, leaf, symbol.proof):
        raise SymbolRejected(Reject.FORGED, f"symbol {symbol.index}: Merkle proof does not match the root")


def share(member: int, members: int, symbols: int) -> range:
    """The indices of member ``member``'s share among ``members``: every ``members``-th index from its
    position, so that each share holds source and repair symbols alike."""
    if not 0 <= member < members:
        raise ValueError(f"member {member} out of {members}")
    return range(member, symbols, members)


@dataclass(frozen=True, slots=True)
class EncodedBlock:
    """A block encoded by the leader: the unsigned commitment and all ``N`` symbols with their proofs."""

    commitment: SymbolCommitment
    symbols: tuple[Symbol, ...]


def _raptorq_packets(data: bytes, symbol_size: int, repair: int) -> list[bytes]:
    """Encode with ``raptorq`` and return the bare symbols in ESI order, checking that the package made
    one source block (SBN 0) and numbered the symbols ``0 .. N-1``."""
    packets = raptorq.Encoder.with_defaults(data, symbol_size).get_encoded_packets(repair)
    out = []
    for esi, packet in enumerate(packets):
        if packet[0] != 0 or int.from_bytes(packet[1:4], "big") != esi or len(packet) != 4 + symbol_size:
            raise AssertionError("raptorq did not produce one source block numbered from 0")
        out.append(bytes(packet[4:]))
    return out


def encode_block(
    data: bytes,
    *,
    shard_id: int,
    block_number: int,
    view_id: int,
    members: int,
    overhead_percent: int,
    content_hash: ContentHash = keccak256,
    symbol_size: int | None = None,
    round_hash: bytes = NO_ROUND,
) -> EncodedBlock:
    """Encode a block into ``N`` RaptorQ symbols (RFC 6330) and commit to them with a Merkle root.

    ``N = K + ceil(K × overhead_percent / 100)`` (at least ``members``); the leader uploads about
    ``(1 + overhead_percent / 100) × length`` in symbols plus their proofs."""
    if not 0 < len(data) <= MAX_BLOCK_BYTES:
        raise ValueError(f"a coded block holds 1 to {MAX_BLOCK_BYTES} bytes, got {len(data)}")
    if not 0 <= overhead_percent <= 300 or members < 1:
        raise ValueError("overhead_percent must be in [0, 300] and members positive")
    size = (
        symbol_size if symbol_size is not None else choose_symbol_size(len(data), members, overhead_percent)
    )
    source = -(-len(data) // size)
    count = symbol_count(source, overhead_percent, members)
    bodies = _raptorq_packets(bytes(data), size, count - source)
    root, proofs = merkle.root_and_proofs([merkle.leaf_hash(i, body) for i, body in enumerate(bodies)])
    commitment = SymbolCommitment(
        shard_id=shard_id,
        block_number=block_number,
        view_id=view_id,
        block_hash=content_hash(bytes(data)),
        block_length=len(data),
        symbol_size=size,
        symbol_count=count,
        merkle_root=root,
        round_hash=round_hash,
    )
    check_commitment(commitment)
    symbols = tuple(
        Symbol(commitment.block_hash, len(data), size, i, body, proof)
        for i, (body, proof) in enumerate(zip(bodies, proofs, strict=True))
    )
    return EncodedBlock(commitment, symbols)


def _is_panic(exc: BaseException) -> bool:
    """Whether ``exc`` is pyo3's PanicException (a Rust panic; a BaseException, not an Exception)."""
    return type(exc).__name__ == "PanicException"


class SymbolDecoder:
    """The verified symbols of one block and their RaptorQ decoding (memory: at most ``N`` symbols).

    Symbols must have passed :func:`check_symbol`; :meth:`add` refuses anything else as a programming
    error. :meth:`add` returns the block's bytes once they decode and hash to the committed hash."""

    def __init__(self, commitment: SymbolCommitment, content_hash: ContentHash = keccak256) -> None:
        check_commitment(commitment)
        self.commitment = commitment
        self._content_hash = content_hash
        self._seen: set[int] = set()
        self._pending: list[tuple[int, bytes]] = []
        self._decoder: Any = None
        self.result: bytes | None = None

    @property
    def received(self) -> int:
        """How many distinct symbols were added."""
        return len(self._seen)

    def has(self, index: int) -> bool:
        """Whether symbol ``index`` was added."""
        return index in self._seen

    def add(self, index: int, data: bytes) -> bytes | None:
        """Add a verified symbol; returns the decoded block once there is one.

        Raises :class:`SymbolRejected` (:attr:`Reject.DECODE_MISMATCH`) when the symbols decode to bytes of
        another hash, or all ``N`` symbols are in and still do not decode."""
        c = self.commitment
        if len(data) != c.symbol_size or not 0 <= index < c.symbol_count:
            raise ValueError("symbol not checked against the commitment")
        if self.result is not None or index in self._seen:
            return self.result
        self._seen.add(index)
        self._pending.append((index, data))
        if self._decoder is None and len(self._seen) < min(c.source_symbols + DECODE_EXTRA, c.symbol_count):
            return None
        if self._decoder is None:
            self._decoder = raptorq.Decoder.with_defaults(c.block_length, c.symbol_size)
        pending, self._pending = self._pending, []
        decoded = None
        for esi, body in pending:
            try:
                decoded = self._decoder.decode(b"\x00" + esi.to_bytes(3, "big") + body)
            except BaseException as exc:
                if not _is_panic(exc) and not isinstance(exc, Exception):
                    raise
                raise SymbolRejected(
                    Reject.DECODE_MISMATCH, f"raptorq refused the symbols: {exc!r}"
                ) from None
            if decoded is not None:
                break
        if decoded is None:
            if len(self._seen) == c.symbol_count:
                raise SymbolRejected(Reject.DECODE_MISMATCH, f"all {c.symbol_count} symbols do not decode")
            return None
        block = bytes(decoded)
        try:
            matches = len(block) == c.block_length and self._content_hash(block) == c.block_hash
        except Exception:
            matches = False
        if not matches:
            raise SymbolRejected(Reject.DECODE_MISMATCH, "the decoded block does not hash to the commitment")
        self.result = block
        self._decoder = None
        return block
