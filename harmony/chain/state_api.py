"""What the state transition needs from the world state (design §3.1, §3.3).

The rules in :mod:`harmony.chain` read and change accounts only through :class:`WorldState`; the state
layer (``harmony.state.StateDB``, a Merkle Patricia trie over a key-value store) implements it, and tests may
use any other implementation. Amounts are atto integers; addresses are 20 bytes; storage slots and values are
256-bit integers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from harmony.types.receipt import Log


class WorldState(Protocol):
    """Accounts (nonce, balance, code, storage) with nested snapshots and a root hash."""

    def get_nonce(self, address: bytes) -> int:
        """The account's nonce (0 if absent)."""
        ...

    def set_nonce(self, address: bytes, nonce: int) -> None:
        """Set the account's nonce, creating the account if absent."""
        ...

    def get_balance(self, address: bytes) -> int:
        """The account's balance in atto (0 if absent)."""
        ...

    def set_balance(self, address: bytes, balance: int) -> None:
        """Set the account's balance (must be >= 0), creating the account if absent."""
        ...

    def get_code(self, address: bytes) -> bytes:
        """The account's code (empty if none)."""
        ...

    def set_code(self, address: bytes, code: bytes) -> None:
        """Set the account's code."""
        ...

    def get_storage(self, address: bytes, slot: int) -> int:
        """The current value of a storage slot (0 if unset)."""
        ...

    def set_storage(self, address: bytes, slot: int, value: int) -> None:
        """Set a storage slot; 0 deletes it."""
        ...

    def account_exists(self, address: bytes) -> bool:
        """Whether the account is in the state (EIP-161 distinguishes absent from empty)."""
        ...

    def delete_account(self, address: bytes) -> None:
        """Remove the account, its code and its storage."""
        ...

    def snapshot(self) -> int:
        """Mark the current state; returns an id for :meth:`revert`."""
        ...

    def revert(self, snapshot_id: int) -> None:
        """Undo every change since the snapshot (and discard later snapshots)."""
        ...

    def state_root(self) -> bytes:
        """The Merkle Patricia root of the current state, pending changes included."""
        ...


@dataclass(frozen=True, slots=True)
class BlockEnv:
    """What the EVM sees of the block being built or checked (YP §9.4 "I_H")."""

    coinbase: bytes
    number: int
    timestamp: int
    gas_limit: int
    chain_id: int
    """The Ethereum-compatible chain ID the CHAINID opcode returns (EIP-1344)."""
    difficulty: int = 0
    block_hashes: tuple[bytes, ...] = ()
    """Hashes of up to the 256 previous blocks, oldest first, for BLOCKHASH."""


@dataclass(frozen=True, slots=True)
class Message:
    """A transaction as the EVM executes it, after the sender is recovered (YP §6)."""

    sender: bytes
    to: bytes | None
    """Recipient; ``None`` creates a contract at keccak(rlp([sender, nonce]))[12:]."""
    value: int
    data: bytes
    gas: int
    gas_price: int
    nonce: int


@dataclass(frozen=True, slots=True)
class ExecutionResult:
    """What executing a message did (YP §6.2): gas, success, logs, created address, output."""

    gas_used: int
    """Gas charged to the sender after the refund (EIP-2200/3529 rules of Istanbul)."""
    success: bool
    logs: tuple[Log, ...] = ()
    contract_address: bytes | None = None
    output: bytes = b""
    error: str | None = None
    """Why execution failed (out of gas, revert, invalid opcode...), for receipts' consumers and logs."""
    touched: frozenset[bytes] = field(default_factory=frozenset)
