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

from dataclasses import dataclass, replace

from harmony.crypto.keccak import keccak256
from harmony.crypto.secp256k1 import PrivateKey
from harmony.encoding import rlp
from harmony.encoding.schema import ADDRESS, BYTES, UINT32, UINT64, UINT256, Optional, Serializable
from harmony.types import tx_common
from harmony.types.chain_ids import is_eth_compatible
from harmony.types.eth_transaction import MAX_TX_SIZE, EthTransaction
from harmony.types.tx_common import ChainIdSpec

_PAYLOAD_FIELDS = 8
"""Fields before the signature: nonce .. data."""


@dataclass(frozen=True, slots=True)
class Transaction(Serializable):
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

    def hash(self) -> bytes:
        """Transaction hash: Keccak-256 of the RLP encoding (``Transaction.Hash``)."""
        return keccak256(self.encode())

    def signing_hash(self, chain_id: int | None) -> bytes:
        """What the sender signs for ``chain_id``: Harmony EIP-155, Ethereum EIP-155, or Homestead (None)."""
        if chain_id is not None and is_eth_compatible(chain_id):
            return self.to_eth().signing_hash(chain_id)
        fields = [sedes.serialize(getattr(self, name)) for name, sedes in self.rlp_schema[:_PAYLOAD_FIELDS]]
        if chain_id is not None:
            fields += [rlp.encode_uint(chain_id), b"", b""]
        return keccak256(rlp.encode(fields))

    def sign(self, key: PrivateKey, chain_id: int | None) -> Transaction:
        """This transaction signed by ``key`` for ``chain_id``: ``V = recid + 35 + 2·chainID``, or 27/28."""
        v, r, s = tx_common.sign_hash(key, self.signing_hash(chain_id), chain_id)
        return replace(self, v=v, r=r, s=s)

    @property
    def is_protected(self) -> bool:
        """Whether the signature is EIP-155 protected (v not 27/28)."""
        return tx_common.is_protected(self.v)

    @property
    def chain_id(self) -> int | None:
        """The chain ID ``v`` carries (``None`` when unprotected); :class:`InvalidChainId` for a bad ``v``."""
        return tx_common.chain_id_from_v(self.v)

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

    def sender(self, chain_id: ChainIdSpec = None) -> bytes:
        """The signer's address; a protected signature must be for one of ``chain_id`` (``None``: any).

        A node passes its Harmony chain ID and its shard's Ethereum chain ID (Go ``EIP155Signer.Sender``
        accepts either). Unprotected (27/28) signatures recover over the Homestead hash. Raises
        :class:`InvalidChainId` or :class:`~harmony.errors.SignatureError` (bad r/s, high s, unrecoverable).
        """
        signed_for = tx_common.check_chain_id(self.v, chain_id)
        return tx_common.recover_sender(self.signing_hash(signed_for), self.v, self.r, self.s)

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
