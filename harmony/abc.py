"""Interfaces every layer may depend on (design §3.3): the key-value store the state and chain database use.

Implementations live higher up (``harmony.storage``: LMDB and in-memory); code below them sees only these
protocols, so the node, the simulator and the tests inject whichever backend they want.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Protocol


class KVReader(Protocol):
    """Read access to a byte-keyed, byte-valued store."""

    def get(self, key: bytes) -> bytes | None:
        """The value stored under ``key``, or ``None``."""
        ...


class KVWriteTxn(KVReader, Protocol):
    """An open write transaction: reads see its own writes; nothing is visible to others until commit."""

    def put(self, key: bytes, value: bytes) -> None:
        """Store ``value`` under ``key``."""
        ...

    def delete(self, key: bytes) -> None:
        """Remove ``key`` if present."""
        ...


class KVStore(KVReader, Protocol):
    """A durable key-value store with atomic write transactions (design §3.4: one per block)."""

    def write(self) -> AbstractContextManager[KVWriteTxn]:
        """A write transaction, committed durably when the ``with`` block ends normally, else discarded."""
        ...

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) whose key starts with ``prefix``, in key order."""
        ...

    def close(self) -> None:
        """Release the store; further use is an error."""
        ...


class BatchCommitStore(KVStore, Protocol):
    """A :class:`KVStore` that also commits a whole batch from a thread other than its own (the node's
    background commits, :mod:`harmony.node.background_commits`)."""

    def commit_batch(self, pending: Mapping[bytes, bytes | None]) -> None:
        """Apply ``pending`` (a value, or ``None`` to delete) in one durable write transaction. Callable
        from another thread: it leaves the reads of the store's own thread alone (see :meth:`refresh`)."""
        ...

    def refresh(self) -> None:
        """On the store's own thread: let later reads see what :meth:`commit_batch` committed."""
        ...
