"""Ethereum's account record (yellow paper §4.1), the value stored in the state trie under keccak(address).

An account is ``rlp([nonce, balance, storage_root, code_hash])``: the number of transactions sent (or
contracts created), the balance in atto, the root of the account's storage trie and the Keccak-256 of its
code. An account with no code, no storage, nonce 0 and balance 0 is *empty* (EIP-161).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from harmony.crypto.keccak import EMPTY_KECCAK, keccak256
from harmony.encoding import rlp
from harmony.encoding.schema import HASH32, UINT64, UINT256, Sedes, Serializable
from harmony.encoding.trie import EMPTY_TRIE_ROOT

EMPTY_CODE_HASH = EMPTY_KECCAK
"""Code hash of an account without code: keccak256(b"")."""


def contract_address(sender: bytes, nonce: int) -> bytes:
    """Address of a contract created by ``sender`` at ``nonce``: keccak(rlp([sender, nonce]))[12:] (YP §7)."""
    return keccak256(rlp.encode([sender, rlp.encode_uint(nonce)]))[12:]


def _rlp_uint(value: int) -> bytes:
    """RLP of a non-negative integer (minimal big-endian byte string)."""
    if value < 0x80:
        return b"\x80" if value == 0 else bytes((value,))
    data = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return bytes((0x80 + len(data),)) + data


@dataclass(frozen=True, slots=True)
class Account(Serializable):
    """One account of the world state (YP §4.1, Go ``types.StateAccount``)."""

    nonce: int = 0
    """Transactions sent from this address, or contracts created by it (u64)."""
    balance: int = 0
    """Balance in atto (u256)."""
    storage_root: bytes = EMPTY_TRIE_ROOT
    """Root of the account's storage trie (a secure trie of keccak(slot) -> rlp(value))."""
    code_hash: bytes = EMPTY_CODE_HASH
    """Keccak-256 of the account's EVM code."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("nonce", UINT64),
        ("balance", UINT256),
        ("storage_root", HASH32),
        ("code_hash", HASH32),
    )

    def encode(self) -> bytes:
        """``rlp([nonce, balance, storage_root, code_hash])`` (YP §4.1), without the generic schema walk."""
        if self.nonce >> 64 or self.balance >> 256 or self.nonce < 0 or self.balance < 0:
            raise ValueError("account nonce must fit 64 bits and balance 256 bits, both non-negative")
        payload = _rlp_uint(self.nonce) + _rlp_uint(self.balance) + b"\xa0" + self.storage_root
        payload += b"\xa0" + self.code_hash
        n = len(payload)
        if n < 56:
            return bytes((0xC0 + n,)) + payload
        return bytes((0xF8, n)) + payload  # at most 9 + 33 + 33 + 33 bytes: one length byte

    @property
    def is_empty(self) -> bool:
        """EIP-161 emptiness: no code, nonce 0 and balance 0."""
        return self.nonce == 0 and self.balance == 0 and self.code_hash == EMPTY_CODE_HASH

    @property
    def has_code_or_nonce(self) -> bool:
        """Whether a contract creation at this address collides (EIP-684): code or a non-zero nonce."""
        return self.nonce != 0 or self.code_hash != EMPTY_CODE_HASH


def account_refs(encoded: bytes) -> tuple[bytes, bytes]:
    """The storage root and code hash of an account's RLP (YP §4.1), without decoding the rest.

    Both are the last two fields, 32-byte strings (``0xa0 ‖ 32 bytes`` each), so they are the encoding's
    last 66 bytes; anything else is decoded in full (and refused by :meth:`Account.decode` if malformed).
    """
    if len(encoded) >= 68 and encoded[-66] == 0xA0 and encoded[-33] == 0xA0:
        return encoded[-65:-33], encoded[-32:]
    account = Account.decode(encoded)
    return account.storage_root, account.code_hash


EMPTY_ACCOUNT = Account()
"""The empty account: nonce 0, balance 0, empty storage, no code."""

EMPTY_ACCOUNT_RLP = EMPTY_ACCOUNT.encode()
"""Its RLP encoding."""
