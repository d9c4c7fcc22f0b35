"""Blocks: a v3 header and its body (reference §2.1, §6.4; Harmony ``core/types/block.go``).

RLP (Go ``extblockV2``, the block form used with v3 headers): the tagged envelope
``["HmnyTgd", "v2", [header, [tx...], [staking_tx...], [uncle...], [incoming_proof...]]]`` where the header
is itself tagged ``"v3"``. The block's tag is ``"v2"`` because Harmony's block registry numbers block
layouts separately from header versions (``extblockV1`` under ``"v1"``, untagged ``extblock`` for v0).

The header commits to the body: ``tx_hash`` = ``derive_sha`` over the plain transactions followed by the
staking transactions in one index space (Go ``DeriveSha(txs, stks)``: v3 has no separate staking root),
``incoming_receipt_hash`` = ``derive_sha`` over the incoming proofs, ``receipt_hash`` and ``bloom`` over the
receipts, ``outgoing_receipt_hash`` over the outgoing cross-shard receipts (§6.4). Uncles are always empty
in Harmony but the field is kept and decoded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from harmony.encoding import rlp, tagged
from harmony.encoding.rlp import DecodedItem, Item
from harmony.encoding.schema import ListOf, Nested, as_list
from harmony.encoding.trie import derive_sha
from harmony.errors import HarmonyError, RLPError
from harmony.types import cx
from harmony.types.cx import CXReceipt, CXReceiptsProof
from harmony.types.header import Header
from harmony.types.receipt import Receipt, receipts_bloom, receipts_root
from harmony.types.staking import StakingTransaction
from harmony.types.transaction import Transaction

BLOCK_TAG = "v2"
"""Tag of the tagged-RLP envelope of a block with a v3 header (Go ``blockV2`` / ``extblockV2``)."""

MAX_BLOCK_SIZE = 2 * 1024 * 1024
"""Bound on an encoded block: the gossip message cap (§8.3)."""

MAX_TRANSACTIONS = 1 << 16
"""Decode bound on each transaction list (a 2 MiB block holds at most ~20k minimal transactions)."""

MAX_UNCLES = 2
"""Decode bound on uncles (Ethereum's limit; Harmony never has any)."""

MAX_INCOMING_PROOFS = 6000
"""Most incoming cross-shard proofs one block may include (Go ``IncomingReceiptsLimit``, §6.4)."""


class InvalidBlockBody(HarmonyError):
    """A block body does not match the roots in its header; ``check`` names the root."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"{check}: {message}")
        self.check = check


@dataclass(frozen=True, slots=True)
class _StakingTxSedes:
    """A staking transaction nested as its envelope item."""

    def serialize(self, value: StakingTransaction) -> Item:
        """The envelope item."""
        return value.to_rlp()

    def deserialize(self, item: DecodedItem, field: str) -> StakingTransaction:
        """Decode one staking transaction."""
        return StakingTransaction.from_rlp(item, field)


_TXS = ListOf(Nested(Transaction), MAX_TRANSACTIONS)
_STAKING_TXS = ListOf(_StakingTxSedes(), MAX_TRANSACTIONS)
_UNCLES = ListOf(Nested(Header), MAX_UNCLES)
_PROOFS = ListOf(Nested(CXReceiptsProof), MAX_INCOMING_PROOFS)


@dataclass(frozen=True, slots=True)
class Block:
    """A block: a v3 header and its body (Go ``Block`` with ``extblockV2``)."""

    header: Header
    transactions: tuple[Transaction, ...] = ()
    """Plain transactions (Ethereum-format ones are carried converted, reference §2.3)."""
    staking_transactions: tuple[StakingTransaction, ...] = ()
    """Staking transactions; only beacon blocks have any (§2.4)."""
    uncles: tuple[Header, ...] = ()
    """Always empty in Harmony."""
    incoming_receipts: tuple[CXReceiptsProof, ...] = ()
    """Cross-shard receipt proofs credited by this block (§6.4)."""

    max_encoded_size: ClassVar[int] = MAX_BLOCK_SIZE

    def to_rlp(self) -> Item:
        """The tagged item ``["HmnyTgd", "v2", [header, txs, staking_txs, uncles, incoming_receipts]]``."""
        return tagged.wrap(
            BLOCK_TAG,
            [
                self.header.to_rlp(),
                _TXS.serialize(self.transactions),
                _STAKING_TXS.serialize(self.staking_transactions),
                _UNCLES.serialize(self.uncles),
                _PROOFS.serialize(self.incoming_receipts),
            ],
        )

    @classmethod
    def from_rlp(cls, item: DecodedItem, field: str = "Block") -> Block:
        """Decode a tagged v2 block; other tags, untagged blocks and bad fields raise :class:`RLPError`."""
        try:
            _, inner = tagged.unwrap_expecting(item, (BLOCK_TAG,))
        except RLPError as exc:
            raise RLPError(f"{field}: {exc}") from exc
        header, txs, stks, uncles, proofs = as_list(inner, field, 5)
        return cls(
            Header.from_rlp(header, f"{field}.header"),
            _TXS.deserialize(txs, f"{field}.transactions"),
            _STAKING_TXS.deserialize(stks, f"{field}.staking_transactions"),
            _UNCLES.deserialize(uncles, f"{field}.uncles"),
            _PROOFS.deserialize(proofs, f"{field}.incoming_receipts"),
        )

    def encode(self) -> bytes:
        """The canonical encoding (the same bytes as ``rlp.encode(self.to_rlp())``), framed from each part's
        own encoding: a transaction keeps the bytes it was decoded from or first encoded to, so a full block
        is not encoded again item by item (7 ms for 1,428 transfers)."""
        body = encode_body(
            self,
            [tx.encode() for tx in self.transactions],
            [stx.encode() for stx in self.staking_transactions],
        )
        return frame_block(self.header.encode(), body)

    @classmethod
    def decode(cls, data: bytes) -> Block:
        """Decode a block of at most :data:`MAX_BLOCK_SIZE` bytes; malformed input raises a DecodeError."""
        return cls.from_rlp(rlp.decode(data, max_size=cls.max_encoded_size))

    def hash(self) -> bytes:
        """The block hash: the header's hash (§2.1)."""
        return self.header.hash()

    @property
    def number(self) -> int:
        """The header's block number."""
        return self.header.number

    @property
    def shard_id(self) -> int:
        """The header's shard."""
        return self.header.shard_id

    @property
    def epoch(self) -> int:
        """The header's epoch."""
        return self.header.epoch

    def with_header(self, header: Header) -> Block:
        """The same body under another header (Go ``WithSeal``)."""
        return dataclasses.replace(self, header=header)

    def incoming_cx_receipts(self) -> tuple[CXReceipt, ...]:
        """Every incoming receipt, proof by proof (Go ``CXReceiptAt`` indexing)."""
        return tuple(r for proof in self.incoming_receipts for r in proof.receipts)


def transactions_root(
    transactions: Sequence[Transaction], staking_transactions: Sequence[StakingTransaction] = ()
) -> bytes:
    """The header's TxHash: ``derive_sha`` over plain then staking transactions, one index space (§2.1)."""
    return derive_sha([tx.encode() for tx in transactions] + [tx.encode() for tx in staking_transactions])


def block_transactions_root(block: Block) -> bytes:
    """:func:`transactions_root` of a block's body."""
    return transactions_root(block.transactions, block.staking_transactions)


def block_incoming_receipts_root(block: Block) -> bytes:
    """The header's IncomingReceiptHash recomputed from a block's body (§6.4)."""
    return cx.incoming_receipts_root(block.incoming_receipts)


def check_body_roots(block: Block) -> None:
    """The body matches the header: ``tx_hash`` and ``incoming_receipt_hash`` (Go ``ValidateBody`` part).

    Raises :class:`InvalidBlockBody` naming the field that differs. Receipts and outgoing receipts come from
    execution and are checked after it.
    """
    if block_transactions_root(block) != block.header.tx_hash:
        raise InvalidBlockBody("tx_hash", "transactions do not match the header's transactions root")
    if block_incoming_receipts_root(block) != block.header.incoming_receipt_hash:
        raise InvalidBlockBody(
            "incoming_receipt_hash", "incoming receipts do not match the header's incoming receipts root"
        )


def make_block(
    header: Header,
    *,
    transactions: Sequence[Transaction] = (),
    staking_transactions: Sequence[StakingTransaction] = (),
    receipts: Sequence[Receipt] = (),
    outgoing_receipts: Sequence[CXReceipt] = (),
    incoming_receipts: Sequence[CXReceiptsProof] = (),
) -> Block:
    """A block whose header roots are computed from its contents (Go ``NewBlock``).

    Sets ``tx_hash``, ``receipt_hash``, ``bloom``, ``outgoing_receipt_hash`` and ``incoming_receipt_hash``;
    other header fields are kept. ``ValueError`` if the receipts do not pair with the transactions.
    """
    if receipts and len(receipts) != len(transactions) + len(staking_transactions):
        raise ValueError("one receipt per transaction and staking transaction is required")
    sealed = dataclasses.replace(
        header,
        tx_hash=transactions_root(transactions, staking_transactions),
        receipt_hash=receipts_root(receipts),
        bloom=receipts_bloom(receipts),
        outgoing_receipt_hash=cx.outgoing_receipts_root(outgoing_receipts),
        incoming_receipt_hash=cx.incoming_receipts_root(incoming_receipts),
    )
    return Block(sealed, tuple(transactions), tuple(staking_transactions), (), tuple(incoming_receipts))


def encode_body(block: Block, tx_encodings: Sequence[bytes], stx_encodings: Sequence[bytes]) -> bytes:
    """The body: RLP ``[txs, staking_txs, uncles, incoming_receipts]``, the block's inner item minus the
    header, from the encodings of ``block``'s plain and staking transactions."""
    return rlp.encode_list_of_encoded(
        [
            rlp.encode_list_of_encoded(tx_encodings),
            rlp.encode_list_of_encoded(stx_encodings),
            rlp.encode_list_of_encoded([uncle.encode() for uncle in block.uncles]),
            rlp.encode_list_of_encoded([proof.encode() for proof in block.incoming_receipts]),
        ]
    )


_BLOCK_ENVELOPE = (rlp.encode(tagged.ENVELOPE_SIGNATURE), rlp.encode(BLOCK_TAG.encode()))


def frame_block(header_encoding: bytes, body_encoding: bytes) -> bytes:
    """:meth:`Block.encode` from the encoded header and :func:`encode_body`'s body, without decoding either;
    :class:`RLPError` if ``body_encoding`` is not one RLP list."""
    inner = rlp.encode_list_of_encoded([header_encoding, rlp.list_payload(body_encoding)])
    return rlp.encode_list_of_encoded([*_BLOCK_ENVELOPE, inner])


__all__ = [
    "BLOCK_TAG",
    "MAX_BLOCK_SIZE",
    "Block",
    "InvalidBlockBody",
    "block_incoming_receipts_root",
    "block_transactions_root",
    "check_body_roots",
    "encode_body",
    "frame_block",
    "make_block",
    "transactions_root",
]
