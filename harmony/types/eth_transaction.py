"""Ethereum legacy transactions (reference §2.3, ``core/types/eth_transaction.go``).

RLP: ``[nonce, gasPrice, gas, to, value, data, v, r, s]``; ``to`` is empty for a contract creation.
Signing hash: Keccak-256 of ``rlp([nonce, gasPrice, gas, to, value, data, chainID, 0, 0])`` under EIP-155,
or of the first six fields for an unprotected (v = 27/28) transaction. On Harmony the chain ID is
``base + shard`` (:mod:`harmony.types.chain_ids`), so the shard of an Ethereum transaction is
``chainID − base`` and it never crosses shards.

:func:`check_istanbul` applies the validity rules that ethereum/tests ``TransactionTests`` check for the
Istanbul fork, the EVM level Harmony runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from harmony.crypto.keccak import keccak256
from harmony.encoding import rlp
from harmony.encoding.schema import (
    ADDRESS,
    BYTES,
    UINT64,
    UINT256,
    Optional,
    Serializable,
)
from harmony.errors import InvalidTransaction
from harmony.types import tx_common
from harmony.types.chain_ids import shard_from_eth_chain_id
from harmony.types.tx_common import IntrinsicGasTooLow, UnsupportedTransactionType

MAX_TX_SIZE = 2 * 1024 * 1024
"""Largest encoded transaction :meth:`decode` reads: the gossip message cap (design §4)."""

MAX_NONCE = 2**64 - 2
"""Highest usable nonce: 2^64 − 1 is reserved (EIP-2681)."""


@dataclass(frozen=True, slots=True)
class EthTransaction(tx_common.SignedTransactionMixin, Serializable):
    """An Ethereum legacy (pre-EIP-2718) transaction, EIP-155 protected or not (reference §2.3).

    The fields are :class:`~harmony.types.transaction.Transaction`'s without the two shard IDs (the chain ID
    in ``v`` names the shard); ``v`` is 27/28 when unprotected, else ``recid + 35 + 2·chainID``, 0 while
    unsigned."""

    nonce: int
    gas_price: int
    gas: int
    to: bytes | None
    value: int
    data: bytes = b""
    v: int = 0
    r: int = 0
    s: int = 0

    rlp_schema = (
        ("nonce", UINT64),
        ("gas_price", UINT256),
        ("gas", UINT64),
        ("to", Optional(ADDRESS)),
        ("value", UINT256),
        ("data", BYTES),
        ("v", UINT256),
        ("r", UINT256),
        ("s", UINT256),
    )
    max_encoded_size = MAX_TX_SIZE

    @classmethod
    def decode(cls, data: bytes) -> EthTransaction:
        """Decode a legacy transaction; typed envelopes (first byte ≤ 0x7f, EIP-2718) are refused."""
        if isinstance(data, (bytes, bytearray, memoryview)) and len(data) > 0 and data[0] <= 0x7F:
            raise UnsupportedTransactionType(f"typed transaction envelope 0x{data[0]:02x} is not supported")
        return cls.from_rlp(rlp.decode(data, max_size=cls.max_encoded_size))

    def signing_hash(self, chain_id: int | None) -> bytes:
        """What the sender signs: EIP-155 with ``chain_id``, or the six Homestead fields for ``None``."""
        fields = [sedes.serialize(getattr(self, name)) for name, sedes in self.rlp_schema[:6]]
        if chain_id is not None:
            fields += [rlp.encode_uint(chain_id), b"", b""]
        return keccak256(rlp.encode(fields))

    @property
    def is_contract_creation(self) -> bool:
        """Whether the transaction creates a contract (no recipient)."""
        return self.to is None

    def shard_id(self, base: int) -> int:
        """The Harmony shard this transaction runs on: ``chainID − base`` (reference §2.3)."""
        chain_id = self.chain_id
        if chain_id is None:
            raise tx_common.InvalidChainId("an unprotected Ethereum transaction names no shard")
        return shard_from_eth_chain_id(chain_id, base)

    def intrinsic_gas(self) -> int:
        """Istanbul intrinsic gas of this transaction (reference §2.4)."""
        return tx_common.intrinsic_gas(self.data, contract_creation=self.to is None)


def check_istanbul(tx: EthTransaction, chain_id: int) -> bytes:
    """Apply the Istanbul validity rules and return the sender (ethereum/tests ``TransactionTests``).

    Beyond what decoding checks (canonical RLP, nine fields, integer widths, ``to`` empty or 20 bytes):
    nonce below 2^64 − 1 (EIP-2681), ``gas × gasPrice`` within 256 bits, the signature for ``chain_id`` or
    unprotected, EIP-2 low s with ``0 < r, s < n``, and intrinsic gas within the gas limit.
    """
    if tx.nonce > MAX_NONCE:
        raise InvalidTransaction(f"nonce {tx.nonce} is above 2^64 - 2 (EIP-2681)")
    if (tx.gas * tx.gas_price).bit_length() > 256:
        raise InvalidTransaction("gas limit × gas price overflows 256 bits")
    sender = tx.sender(chain_id)
    needed = tx.intrinsic_gas()
    if tx.gas < needed:
        raise IntrinsicGasTooLow(f"gas limit {tx.gas} below intrinsic gas {needed}")
    return sender
