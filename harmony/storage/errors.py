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


class NotChildOfHead(StorageError):
    """A block given to ``ChainDB.write_block`` does not extend the current head (or genesis is missing)."""


__all__ = ["CorruptData", "NotChildOfHead", "StorageError", "StorageLocked", "StoreClosed"]
