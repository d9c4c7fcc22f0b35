"""Typed reasons a transaction or a block is refused (design §3.1, §3.5).

Every rejection names its check, so a node can log it, an RPC client can read it, and a test can assert it.
"""

from __future__ import annotations

from harmony.errors import HarmonyError, InvalidTransaction


class TransactionRejected(InvalidTransaction):
    """A well-formed transaction that cannot be applied to the current state."""


class NonceTooLow(TransactionRejected):
    """The transaction's nonce is below the sender's account nonce (already used)."""


class NonceTooHigh(TransactionRejected):
    """The transaction's nonce is above the sender's account nonce (a gap)."""


class InsufficientFunds(TransactionRejected):
    """The sender's balance does not cover ``gas × gasPrice + value``."""


class GasLimitExceeded(TransactionRejected):
    """The transaction's gas limit exceeds what is left of the block's gas limit."""


class WrongShard(TransactionRejected):
    """The transaction is for another shard than the one executing it."""


class InvalidBlock(HarmonyError):
    """A block breaks a validation rule; ``check`` names which (e.g. ``"state_root"``)."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"invalid block: {check}: {message}")
        self.check = check
