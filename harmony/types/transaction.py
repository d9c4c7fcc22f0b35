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

from dataclasses import dataclass

from harmony.crypto.keccak import keccak256
from harmony.encoding import rlp
from harmony.encoding.schema import ADDRESS, BYTES, UINT32, UINT64, UINT256, Optional, Serializable
from harmony.types import tx_common
from harmony.types.chain_ids import is_eth_compatible
from harmony.types.eth_transaction import MAX_TX_SIZE, EthTransaction

_PAYLOAD_FIELDS = 8
"""Fields before the signature: nonce .. data."""


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

    rlp_schema = (
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
    max_encoded_size = MAX_TX_SIZE

    def signing_hash(self, chain_id: int | None) -> bytes:
        """What the sender signs for ``chain_id``: Harmony EIP-155, Ethereum EIP-155, or Homestead (None)."""
        if chain_id is not None and is_eth_compatible(chain_id):
            return self.to_eth().signing_hash(chain_id)
        fields = [sedes.serialize(getattr(self, name)) for name, sedes in self.rlp_schema[:_PAYLOAD_FIELDS]]
        if chain_id is not None:
            fields += [rlp.encode_uint(chain_id), b"", b""]
        return keccak256(rlp.encode(fields))

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
