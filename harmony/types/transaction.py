"""Harmony plain transactions (reference §2.2, ``core/types/transaction.go``).

RLP: ``[nonce, gasPrice, gas, shardID, toShardID, to, value, data, v, r, s]``; ``to`` is empty for a contract
creation, and ``toShardID ≠ shardID`` makes the transaction cross-shard.

Signing hash (``core/types/transaction_signing.go``):

* EIP-155 with a Harmony chain ID: Keccak-256 of
  ``rlp([nonce, gasPrice, gas, shardID, toShardID, to, value, data, chainID, 0, 0])``;
* EIP-155 with an Ethereum-compatible chain ID (≥ 1,666,600,000, signed by Ethereum tools): the Ethereum
  form ``rlp([nonce, gasPrice, gas, to, value, data, chainID, 0, 0])``, without the shard fields;
* unprotected (v = 27/28, Homestead signer): ``rlp([nonce, gasPrice, gas, shardID, toShardID, to, value,
  data])``, the eight fields without chain ID.

``V = recid + 35 + 2·chainID`` (Harmony chain ID 1 on mainnet, 2 on testnet). The "eth hash" RPC shows is
the hash of the same transaction in Ethereum form: shard fields dropped, signature kept (``ConvertToEth``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from harmony.crypto.keccak import keccak256
from harmony.encoding import rlp
from harmony.encoding.rlp import DecodedItem
from harmony.encoding.schema import ADDRESS, BYTES, UINT32, UINT64, UINT256, Optional, Serializable
from harmony.types import tx_common
from harmony.types.chain_ids import is_eth_compatible
from harmony.types.eth_transaction import MAX_TX_SIZE, EthTransaction

_PAYLOAD_FIELDS = 8
"""Fields before the signature: nonce .. data."""

_FIELDS = 11
"""Fields of the RLP list."""

DECODED_CACHE_SIZE = 1 << 13
"""Decoded transactions remembered per process and generation, keyed by their decoded RLP fields
(:meth:`Transaction.from_rlp`); two generations are kept, so between this many and twice this many.

A transaction reaches a node first alone (RPC or gossip, decoded into the pool) and again inside the block
that carries it; the second decode returns the first object, with its encoding, hash and signing hash
already computed. Ten seconds or more of transactions at 1,000 per second, well under 1 kB each."""

_decoded: list[dict[bytes, Transaction]] = [{}, {}]
"""The young and the old generation; when the young one is full it becomes the old one."""


def _memo_key(fields: list[DecodedItem]) -> bytes | None:
    """One byte string naming the decoded fields exactly: their 11 lengths, then their bytes (``None`` when
    a field is not a byte string or is 256 bytes or longer: such transactions are not memoized)."""
    try:
        return bytes(map(len, fields)) + b"".join(fields)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # a nested list (malformed: from_rlp says why) or a long data field
        return None


def _uint_len(value: int) -> int:
    """Length of the RLP string encoding a non-negative integer of at most 55 bytes."""
    return 1 if value < 0x80 else 1 + (value.bit_length() + 7) // 8


def _signing_payload(encoded: bytes, v: int, r: int, s: int, chain_id: int | None) -> bytes:
    """The RLP list a Harmony-form signature covers, cut from the transaction's own encoding.

    The encoding is ``header ‖ rlp(nonce) … rlp(data) ‖ rlp(v) ‖ rlp(r) ‖ rlp(s)``: the eight payload fields
    are one contiguous span, so the signing list is that span plus ``rlp(chainID), 0x80, 0x80`` (EIP-155) or
    the span alone (Homestead), under a new list header; the same bytes as encoding the fields again.
    """
    head = 1 if encoded[0] <= 0xF7 else 1 + encoded[0] - 0xF7
    body = encoded[head : len(encoded) - _uint_len(v) - _uint_len(r) - _uint_len(s)]
    if chain_id is not None:
        body += rlp.encode(rlp.encode_uint(chain_id)) + b"\x80\x80"
    return rlp.encode_list_of_encoded((body,))


_UINT_BYTES = (8, 32, 8, 4, 4, -1, 32, -1, 32, 32, 32)
"""Most bytes each field may take as a canonical integer (``-1``: not an integer: ``to`` and ``data``)."""


def _from_fields(item: list[DecodedItem]) -> Transaction | None:
    """The transaction of 11 decoded fields, or ``None`` if any is not what the schema takes.

    The fast path of :meth:`Transaction.from_rlp`: it accepts exactly what the schema accepts (canonical
    integers within their widths, an empty or 20-byte ``to``), and on anything else the schema decodes again
    to name the fault.
    """
    for data, width in zip(item, _UINT_BYTES, strict=True):
        if type(data) is not bytes:
            return None
        if width >= 0 and (len(data) > width or data[:1] == b"\x00"):
            return None
    nonce, gas_price, gas, shard, to_shard, to, value, data, v, r, s = item
    if len(to) not in (0, 20):
        return None
    big = int.from_bytes
    return Transaction(
        big(nonce, "big"),  # type: ignore[arg-type]
        big(gas_price, "big"),  # type: ignore[arg-type]
        big(gas, "big"),  # type: ignore[arg-type]
        big(shard, "big"),  # type: ignore[arg-type]
        big(to_shard, "big"),  # type: ignore[arg-type]
        to or None,  # type: ignore[arg-type]
        big(value, "big"),  # type: ignore[arg-type]
        data,  # type: ignore[arg-type]
        big(v, "big"),  # type: ignore[arg-type]
        big(r, "big"),  # type: ignore[arg-type]
        big(s, "big"),  # type: ignore[arg-type]
    )


@dataclass(frozen=True, slots=True)
class Transaction(tx_common.SignedTransactionMixin, Serializable):
    """A Harmony transaction: an Ethereum transaction plus source and destination shard (reference §2.2)."""

    nonce: int
    """Sender's transaction count (u64)."""
    gas_price: int
    """Price per gas in atto (u256)."""
    gas: int
    """Gas limit (u64)."""
    shard_id: int
    """Shard the transaction executes on (u32)."""
    to_shard_id: int
    """Shard that receives the value (u32); differs from ``shard_id`` for a cross-shard transfer."""
    to: bytes | None
    """Recipient; ``None`` for a contract creation."""
    value: int
    """Amount transferred in atto (u256)."""
    data: bytes = b""
    """Call data or init code."""
    v: int = 0
    """Signature ``v``: ``recid + 35 + 2·chainID``, or 27/28 when unprotected; 0 while unsigned."""
    r: int = 0
    """Signature ``r``."""
    s: int = 0
    """Signature ``s``."""

    _encoded: bytes | None = field(default=None, init=False, repr=False, compare=False)
    """Memo of :meth:`encode` (a canonical decode keeps its input: the same bytes)."""
    _hash: bytes | None = field(default=None, init=False, repr=False, compare=False)
    """Memo of :meth:`hash`."""
    _signing: tuple[int | None, bytes] | None = field(default=None, init=False, repr=False, compare=False)
    """Memo of the last :meth:`signing_hash`: (chain ID, hash)."""

    rlp_schema: ClassVar = (
        ("nonce", UINT64),
        ("gas_price", UINT256),
        ("gas", UINT64),
        ("shard_id", UINT32),
        ("to_shard_id", UINT32),
        ("to", Optional(ADDRESS)),
        ("value", UINT256),
        ("data", BYTES),
        ("v", UINT256),
        ("r", UINT256),
        ("s", UINT256),
    )
    max_encoded_size: ClassVar[int] = MAX_TX_SIZE

    # The memos below are pure: a transaction is immutable, so its encoding, hash and signing hash are
    # functions of its fields; ``dataclasses.replace`` builds a new object with empty memos.

    def encode(self) -> bytes:
        """The canonical RLP encoding (computed once per object)."""
        encoded = self._encoded
        if encoded is None:
            encoded = rlp.encode(self.to_rlp())
            object.__setattr__(self, "_encoded", encoded)
        return encoded

    def hash(self) -> bytes:
        """Transaction hash: Keccak-256 of the RLP encoding (computed once per object)."""
        tx_hash = self._hash
        if tx_hash is None:
            tx_hash = keccak256(self.encode())
            object.__setattr__(self, "_hash", tx_hash)
        return tx_hash

    @classmethod
    def decode(cls, data: bytes) -> Transaction:
        """Decode from bytes (strict, canonical RLP: the input is the encoding, so it is kept as such)."""
        tx = cls.from_rlp(rlp.decode(data, max_size=cls.max_encoded_size))
        if tx._encoded is None:
            object.__setattr__(tx, "_encoded", bytes(data))
        return tx

    @classmethod
    def from_rlp(cls, item: DecodedItem, field: str | None = None) -> Transaction:
        """Build from a decoded item; the same fields decoded again give back the same object (memoized).

        Canonical RLP makes the decoded fields a one-to-one image of the bytes, and a transaction is a pure
        function of its fields, so returning the remembered object is the same as decoding again.
        """
        if cls is not Transaction or not isinstance(item, list) or len(item) != _FIELDS:
            return Serializable.from_rlp.__func__(cls, item, field)  # type: ignore[attr-defined,no-any-return]
        key = _memo_key(item)
        if key is None:  # malformed (the schema says why) or data too long to memoize
            return Serializable.from_rlp.__func__(cls, item, field)  # type: ignore[attr-defined,no-any-return]
        young, old = _decoded
        known = young.get(key) or old.get(key)
        if known is not None:
            return known
        # the fast path, or the schema's checks when some field is off (they name it)
        tx: Transaction = _from_fields(item) or Serializable.from_rlp.__func__(cls, item, field)  # type: ignore[attr-defined]
        if len(young) >= DECODED_CACHE_SIZE:
            _decoded[:] = [{}, young]
        _decoded[0][key] = tx
        return tx

    def signing_hash(self, chain_id: int | None) -> bytes:
        """What the sender signs for ``chain_id``: Harmony EIP-155, Ethereum EIP-155, or Homestead (None)."""
        memo = self._signing
        if memo is not None and memo[0] == chain_id:
            return memo[1]
        if chain_id is not None and is_eth_compatible(chain_id):
            digest = self.to_eth().signing_hash(chain_id)
        elif self._encoded is not None:
            digest = keccak256(_signing_payload(self._encoded, self.v, self.r, self.s, chain_id))
        else:
            fields = [
                sedes.serialize(getattr(self, name)) for name, sedes in self.rlp_schema[:_PAYLOAD_FIELDS]
            ]
            if chain_id is not None:
                fields += [rlp.encode_uint(chain_id), b"", b""]
            digest = keccak256(rlp.encode(fields))
        object.__setattr__(self, "_signing", (chain_id, digest))
        return digest

    @property
    def is_cross_shard(self) -> bool:
        """Whether value leaves the shard: ``toShardID ≠ shardID`` (reference §2.2, §6.4)."""
        return self.to_shard_id != self.shard_id

    @property
    def is_contract_creation(self) -> bool:
        """Whether the transaction creates a contract (no recipient)."""
        return self.to is None

    @property
    def is_eth_compatible(self) -> bool:
        """Whether it was signed for an Ethereum-compatible chain ID (``IsEthCompatible``)."""
        chain_id = self.chain_id
        return chain_id is not None and is_eth_compatible(chain_id)

    def to_eth(self) -> EthTransaction:
        """The same transaction in Ethereum form: shard fields dropped, signature kept (``ConvertToEth``)."""
        return EthTransaction(
            self.nonce, self.gas_price, self.gas, self.to, self.value, self.data, self.v, self.r, self.s
        )

    def eth_hash(self) -> bytes:
        """The ``ethHash`` RPC shows: the hash of :meth:`to_eth` (``ConvertToEth().Hash()``)."""
        return self.to_eth().hash()

    def hash_by_type(self) -> bytes:
        """The hash clients know: :meth:`eth_hash` if signed for an Ethereum chain ID, else :meth:`hash`."""
        return self.eth_hash() if self.is_eth_compatible else self.hash()

    def intrinsic_gas(self) -> int:
        """Istanbul intrinsic gas of this transaction (reference §2.4)."""
        return tx_common.intrinsic_gas(self.data, contract_creation=self.to is None)


def from_eth(tx: EthTransaction, shard_id: int) -> Transaction:
    """An Ethereum transaction as a Harmony one on ``shard_id``, never cross-shard (reference §2.3)."""
    return Transaction(
        tx.nonce, tx.gas_price, tx.gas, shard_id, shard_id, tx.to, tx.value, tx.data, tx.v, tx.r, tx.s
    )
