"""Layer 6: the key-value backends (LMDB, memory) and the chain database over them (design §3.4).

* :class:`~harmony.storage.lmdb_store.LMDBStore`: durable, crash-safe; the node's store.
* :class:`~harmony.storage.memory.MemoryStore`: the same contract in a dict, for tests and the simulator.
* :class:`~harmony.storage.chaindb.ChainDB`: blocks, receipts, indexes, cross-shard data, state nodes; one
  write transaction per block with the head pointer inside it.
"""

from __future__ import annotations

from harmony.storage.chaindb import ChainDB, StateNodes, TxLocation
from harmony.storage.errors import (
    CorruptData,
    HistoryNotKept,
    NotChildOfHead,
    StorageError,
    StorageLocked,
    StoreClosed,
)
from harmony.storage.lmdb_store import LMDBStats, LMDBStore
from harmony.storage.memory import MemoryStore

__all__ = [
    "ChainDB",
    "CorruptData",
    "HistoryNotKept",
    "LMDBStats",
    "LMDBStore",
    "MemoryStore",
    "NotChildOfHead",
    "StateNodes",
    "StorageError",
    "StorageLocked",
    "StoreClosed",
    "TxLocation",
]
