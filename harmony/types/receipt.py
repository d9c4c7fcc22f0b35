"""Transaction receipts, logs and the 2048-bit logs bloom (reference §2.1 header Bloom/ReceiptHash).

Formats follow Harmony's ``core/types/receipt.go``, ``core/types/log.go`` and ``core/types/bloom9.go``,
which keep Ethereum's:

* a :class:`Log` is ``[address, [topic, ...], data]``;
* a :class:`Receipt` (consensus form, hashed into the header's receipts root) is
  ``[post_state_or_status, cumulative_gas_used, bloom, [log, ...]]`` where the first field is ``b""`` for a
  failed transaction, ``b"\\x01"`` for a successful one (EIP-658) or a 32-byte pre-Byzantium state root;
* the storage forms (:class:`StoredReceipt`, :class:`StoredLog`) add the fields a node derives after
  execution (transaction hash, contract address, gas used; block and transaction context of each log).

The bloom is the yellow paper's M3:2048 (§4.3.1): for the address and each topic of every log, the low 11
bits of each of the first three big-endian byte pairs of its Keccak-256 hash select a bit of a 2048-bit
big-endian number.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from harmony.crypto.keccak import keccak256
from harmony.encoding import rlp
from harmony.encoding.rlp import DecodedItem, Item
from harmony.encoding.schema import (
    ADDRESS,
    HASH32,
    UINT64,
    Binary,
    ListOf,
    Nested,
    Sedes,
    Serializable,
    as_bytes,
    as_list,
    fixed,
)
from harmony.encoding.trie import derive_sha
from harmony.errors import RLPError

BLOOM_BYTE_LENGTH = 256
"""Bytes in a logs bloom (2048 bits)."""

BLOOM_BIT_LENGTH = 8 * BLOOM_BYTE_LENGTH

EMPTY_BLOOM = bytes(BLOOM_BYTE_LENGTH)
"""The bloom of no logs: 256 zero bytes."""

BLOOM = fixed(BLOOM_BYTE_LENGTH)
"""Sedes of a bloom: exactly 256 bytes."""

MAX_TOPICS = 4
"""The EVM's LOG0..LOG4 opcodes emit at most four topics per log."""

MAX_LOGS_PER_RECEIPT = 1 << 16
"""Decode bound on logs in one receipt; far above what a block's gas allows (a LOG costs 375 gas)."""

MAX_LOG_DATA = 4 * 1024 * 1024
"""Decode bound on one log's data."""

RECEIPT_STATUS_FAILED = 0
RECEIPT_STATUS_SUCCESSFUL = 1

_STATUS_FAILED_RLP = b""
_LOG_DATA = Binary(0, MAX_LOG_DATA)
_STATUS_SUCCESSFUL_RLP = b"\x01"


def bloom_bits(value: bytes) -> int:
    """The 3-bit mask ``value`` sets in a bloom, as an integer (yellow paper §4.3.1, M3:2048).

    Each of the first three byte pairs of ``keccak256(value)``, read big-endian and taken mod 2048, names a
    bit; bit ``i`` of the 2048-bit big-endian bloom is ``1 << i``.
    """
    digest = keccak256(value)
    mask = 0
    for i in range(0, 6, 2):
        mask |= 1 << (((digest[i] << 8) | digest[i + 1]) & (BLOOM_BIT_LENGTH - 1))
    return mask


def _bloom_bytes(mask: int) -> bytes:
    return mask.to_bytes(BLOOM_BYTE_LENGTH, "big")


def bloom_add(bloom: bytes, value: bytes) -> bytes:
    """``bloom`` with the three bits of ``value`` set (Go ``Bloom.Add``)."""
    return _bloom_bytes(int.from_bytes(_check_bloom(bloom), "big") | bloom_bits(value))


def bloom_contains(bloom: bytes, value: bytes) -> bool:
    """Whether ``value`` may be in ``bloom`` (all three of its bits set; false positives possible)."""
    mask = bloom_bits(value)
    return int.from_bytes(_check_bloom(bloom), "big") & mask == mask


def bloom_union(blooms: Iterable[bytes]) -> bytes:
    """Bitwise OR of blooms (a block's bloom is the OR of its receipts' blooms)."""
    acc = 0
    for bloom in blooms:
        acc |= int.from_bytes(_check_bloom(bloom), "big")
    return _bloom_bytes(acc)


def _check_bloom(bloom: bytes) -> bytes:
    if len(bloom) != BLOOM_BYTE_LENGTH:
        raise ValueError(f"a bloom has {BLOOM_BYTE_LENGTH} bytes, got {len(bloom)}")
    return bloom


@dataclass(frozen=True, slots=True)
class Log(Serializable):
    """An EVM log (Go ``core/types/log.go`` ``rlpLog``): ``[address, topics, data]``."""

    address: bytes
    """The contract that emitted the log (20 bytes)."""
    topics: tuple[bytes, ...]
    """Indexed topics, 32 bytes each, at most four."""
    data: bytes
    """Unindexed data, usually ABI-encoded."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("address", ADDRESS),
        ("topics", ListOf(HASH32, MAX_TOPICS)),
        ("data", _LOG_DATA),
    )


def logs_bloom(logs: Iterable[Log]) -> bytes:
    """The 256-byte bloom of ``logs``: every log's address and topics added (Go ``LogsBloom``)."""
    mask = 0
    for log in logs:
        mask |= bloom_bits(log.address)
        for topic in log.topics:
            mask |= bloom_bits(topic)
    return _bloom_bytes(mask)


def _status_item(status: int, post_state: bytes) -> bytes:
    if post_state:
        if len(post_state) != 32:
            raise ValueError("a receipt's post state is a 32-byte root")
        return post_state
    if status == RECEIPT_STATUS_SUCCESSFUL:
        return _STATUS_SUCCESSFUL_RLP
    if status == RECEIPT_STATUS_FAILED:
        return _STATUS_FAILED_RLP
    raise ValueError(f"receipt status must be 0 or 1, got {status}")


def _read_status(item: DecodedItem, field: str) -> tuple[int, bytes]:
    """(status, post_state) from the first receipt field (Go ``Receipt.setStatus``)."""
    data = as_bytes(item, field)
    if data == _STATUS_SUCCESSFUL_RLP:
        return RECEIPT_STATUS_SUCCESSFUL, b""
    if data == _STATUS_FAILED_RLP:
        return RECEIPT_STATUS_FAILED, b""
    if len(data) == 32:
        return RECEIPT_STATUS_SUCCESSFUL, data
    raise RLPError(f"{field}: invalid receipt status {data.hex()}")


_LOGS = ListOf(Nested(Log), MAX_LOGS_PER_RECEIPT)


@dataclass(frozen=True, slots=True)
class Receipt(Serializable):
    """The consensus form of a receipt (Go ``receiptRLP``), hashed into the header's receipts root.

    RLP: ``[post_state_or_status, cumulative_gas_used, bloom, logs]``; the first entry is the status byte
    string (EIP-658) unless ``post_state`` holds a 32-byte pre-Byzantium root.
    """

    status: int
    """1 for success, 0 for failure (ignored when ``post_state`` is set)."""
    cumulative_gas_used: int
    """Gas used in the block up to and including this transaction (u64)."""
    bloom: bytes
    """Bloom of this receipt's logs (256 bytes)."""
    logs: tuple[Log, ...]
    """Logs emitted by the transaction."""
    post_state: bytes = b""
    """Pre-Byzantium intermediate state root (32 bytes), or empty: Harmony always uses the status."""
    _encoded: bytes | None = field(default=None, init=False, repr=False, compare=False)
    """Memo of :meth:`encode`: the receipts root and the block's database write both need it."""

    max_encoded_size: ClassVar[int] = 8 * 1024 * 1024

    def encode(self) -> bytes:
        """The consensus RLP encoding (computed once per object; a receipt is immutable)."""
        encoded = self._encoded
        if encoded is None:
            if self.logs or self.post_state or self.status not in (0, 1) or len(self.bloom) != 256:
                encoded = rlp.encode(self.to_rlp())
            else:  # a receipt without logs (every plain transfer): the same bytes, assembled directly
                encoded = _encode_without_logs(self.status, self.cumulative_gas_used, self.bloom)
            object.__setattr__(self, "_encoded", encoded)
        return encoded

    @classmethod
    def make(cls, *, success: bool, cumulative_gas_used: int, logs: Sequence[Log] = ()) -> Receipt:
        """A status receipt whose bloom is computed from its logs (Go ``NewReceipt`` + ``CreateBloom``)."""
        return cls(
            RECEIPT_STATUS_SUCCESSFUL if success else RECEIPT_STATUS_FAILED,
            cumulative_gas_used,
            logs_bloom(logs),
            tuple(logs),
        )

    def to_rlp(self) -> Item:
        """``[post_state_or_status, cumulative_gas_used, bloom, logs]``."""
        return [
            _status_item(self.status, self.post_state),
            UINT64.serialize(self.cumulative_gas_used),
            BLOOM.serialize(self.bloom),
            _LOGS.serialize(self.logs),
        ]

    @classmethod
    def from_rlp(cls, item: DecodedItem, field: str | None = None) -> Self:
        """Decode the consensus form, checking every field."""
        where = field or cls.__name__
        status_item, gas, bloom, logs = as_list(item, where, 4)
        status, post_state = _read_status(status_item, f"{where}.status")
        return cls(
            status,
            UINT64.deserialize(gas, f"{where}.cumulative_gas_used"),
            BLOOM.deserialize(bloom, f"{where}.bloom"),
            _LOGS.deserialize(logs, f"{where}.logs"),
            post_state,
        )

    def encode_compact(self) -> bytes:
        """``[post_state_or_status, cumulative_gas_used, logs]``: the consensus form without its bloom, which
        the logs determine (as Go's ``storedReceiptRLP``); the chain database keeps receipts so, 256 bytes
        fewer each (most of a plain transfer's receipt)."""
        if self.logs or self.post_state or self.status not in (0, 1):
            gas = UINT64.serialize(self.cumulative_gas_used)
            return rlp.encode([_status_item(self.status, self.post_state), gas, _LOGS.serialize(self.logs)])
        return _encode_without_logs(self.status, self.cumulative_gas_used, None)

    @classmethod
    def from_compact_rlp(cls, item: DecodedItem, field: str | None = None) -> Self:
        """Decode :meth:`encode_compact`'s form, the bloom computed again from the logs; the consensus form
        (four fields, as databases written before kept it) is decoded as :meth:`from_rlp` does."""
        where = field or cls.__name__
        fields = as_list(item, where)
        if len(fields) == 4:
            return cls.from_rlp(item, field)
        if len(fields) != 3:
            raise RLPError(f"{where}: expected a list of 3 or 4 items, got {len(fields)}")
        status_item, gas, logs_item = fields
        status, post_state = _read_status(status_item, f"{where}.status")
        logs = _LOGS.deserialize(logs_item, f"{where}.logs")
        return cls(
            status,
            UINT64.deserialize(gas, f"{where}.cumulative_gas_used"),
            logs_bloom(logs) if logs else EMPTY_BLOOM,
            logs,
            post_state,
        )


def _encode_without_logs(status: int, cumulative_gas_used: int, bloom: bytes | None) -> bytes:
    """``rlp([status, cumulative_gas_used, bloom, []])`` for a status of 0 or 1 and a 256-byte bloom, or the
    stored form ``rlp([status, cumulative_gas_used, []])`` when ``bloom`` is None."""
    status_rlp = b"\x01" if status == RECEIPT_STATUS_SUCCESSFUL else b"\x80"
    gas_rlp = rlp.encode(UINT64.serialize(cumulative_gas_used))
    if bloom is None:
        return rlp.encode_list_of_encoded((status_rlp, gas_rlp, b"\xc0"))
    return rlp.encode_list_of_encoded((status_rlp, gas_rlp, rlp.encode(bloom), b"\xc0"))


def receipts_root(receipts: Sequence[Receipt]) -> bytes:
    """The header's ReceiptHash: ``derive_sha`` over the receipts' consensus encodings (§2.1)."""
    return derive_sha([r.encode() for r in receipts])


def receipts_bloom(receipts: Iterable[Receipt]) -> bytes:
    """The header's Bloom: the OR of every receipt's logs bloom (Go ``CreateBloom``)."""
    return bloom_union(logs_bloom(r.logs) for r in receipts)


@dataclass(frozen=True, slots=True)
class StoredLog(Serializable):
    """A log with its block and transaction context (Go ``rlpStorageLog``), for the database and RPC.

    RLP: ``[address, topics, data, block_number, tx_hash, tx_index, block_hash, index]``.
    """

    address: bytes
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    tx_hash: bytes
    tx_index: int
    block_hash: bytes
    index: int
    """Index of the log in the block."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("address", ADDRESS),
        ("topics", ListOf(HASH32, MAX_TOPICS)),
        ("data", _LOG_DATA),
        ("block_number", UINT64),
        ("tx_hash", HASH32),
        ("tx_index", UINT64),
        ("block_hash", HASH32),
        ("index", UINT64),
    )

    @property
    def log(self) -> Log:
        """The consensus part of this log."""
        return Log(self.address, self.topics, self.data)


_STORED_LOGS = ListOf(Nested(StoredLog), MAX_LOGS_PER_RECEIPT)


@dataclass(frozen=True, slots=True)
class StoredReceipt(Serializable):
    """A receipt with the fields derived after execution (Go ``receiptStorageRLP``), for the database.

    RLP: ``[post_state_or_status, cumulative_gas_used, bloom, tx_hash, contract_address, logs, gas_used]``
    with logs in their storage form.
    """

    receipt: Receipt
    tx_hash: bytes
    contract_address: bytes
    """The created contract (20 bytes), or 20 zero bytes when none was created."""
    gas_used: int
    logs: tuple[StoredLog, ...]
    """The receipt's logs with their context; their consensus parts equal ``receipt.logs``."""

    max_encoded_size: ClassVar[int] = 8 * 1024 * 1024

    def to_rlp(self) -> Item:
        """The storage encoding."""
        r = self.receipt
        if tuple(s.log for s in self.logs) != r.logs:
            raise ValueError("stored logs do not match the receipt's logs")
        return [
            _status_item(r.status, r.post_state),
            UINT64.serialize(r.cumulative_gas_used),
            BLOOM.serialize(r.bloom),
            HASH32.serialize(self.tx_hash),
            ADDRESS.serialize(self.contract_address),
            _STORED_LOGS.serialize(self.logs),
            UINT64.serialize(self.gas_used),
        ]

    @classmethod
    def from_rlp(cls, item: DecodedItem, field: str | None = None) -> Self:
        """Decode the storage encoding."""
        where = field or cls.__name__
        status_item, gas, bloom, tx_hash, contract, logs_item, gas_used = as_list(item, where, 7)
        status, post_state = _read_status(status_item, f"{where}.status")
        logs = _STORED_LOGS.deserialize(logs_item, f"{where}.logs")
        receipt = Receipt(
            status,
            UINT64.deserialize(gas, f"{where}.cumulative_gas_used"),
            BLOOM.deserialize(bloom, f"{where}.bloom"),
            tuple(s.log for s in logs),
            post_state,
        )
        return cls(
            receipt,
            HASH32.deserialize(tx_hash, f"{where}.tx_hash"),
            ADDRESS.deserialize(contract, f"{where}.contract_address"),
            UINT64.deserialize(gas_used, f"{where}.gas_used"),
            logs,
        )


__all__ = [
    "BLOOM",
    "BLOOM_BYTE_LENGTH",
    "EMPTY_BLOOM",
    "RECEIPT_STATUS_FAILED",
    "RECEIPT_STATUS_SUCCESSFUL",
    "Log",
    "Receipt",
    "StoredLog",
    "StoredReceipt",
    "bloom_add",
    "bloom_bits",
    "bloom_contains",
    "bloom_union",
    "logs_bloom",
    "receipts_bloom",
    "receipts_root",
]
