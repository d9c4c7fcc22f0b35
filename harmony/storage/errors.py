"""Typed errors of the storage layer (design §3.5): a store that cannot be opened, is in use, is closed, or
holds bytes that do not decode; a block write that breaks the chain database's invariants."""

from __future__ import annotations

from harmony.errors import HarmonyError


class StorageError(HarmonyError):
    """The store cannot do what was asked: it cannot be opened, is closed, or the request is malformed."""


class StorageLocked(StorageError):
    """Another process (or another handle in this process) already has the database open for writing."""


class StoreClosed(StorageError):
    """The store (or a write transaction) was used after it was closed."""


class CorruptData(StorageError):
    """Bytes read from the store are not what the table holds (decode failure or hash mismatch)."""


class HistoryNotKept(StorageError):
    """The address index was asked for on a node that does not keep it (``[storage] tx_history = false``)."""

    def __init__(self) -> None:
        super().__init__(
            "this node keeps no transaction history ([storage] tx_history = false, a validator's default): "
            "ask a node that keeps it, or set tx_history = true (it then indexes the blocks from its head on)"
        )


class NotChildOfHead(StorageError):
    """A block given to ``ChainDB.write_block`` does not extend the current head (or genesis is missing)."""


__all__ = ["CorruptData", "HistoryNotKept", "NotChildOfHead", "StorageError", "StorageLocked", "StoreClosed"]
