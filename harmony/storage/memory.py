"""An in-memory key-value store (design §3.3) for tests and the simulator: same contract as LMDB, no IO.

A write transaction buffers its puts and deletes and applies them all at once when its ``with`` block ends
normally; an exception inside the block discards them, so a failed write leaves the store unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager

from harmony.abc import KVWriteTxn
from harmony.storage.errors import StoreClosed
from harmony.storage.write_buffer import buffered_write


class MemoryStore:
    """A dict-backed :class:`harmony.abc.KVStore` with atomic write transactions."""

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed("memory store used after close()")

    def get(self, key: bytes) -> bytes | None:
        """The committed value under ``key``, or ``None``."""
        self._check_open()
        return self._data.get(key)

    def write(self) -> AbstractContextManager[KVWriteTxn]:
        """A write transaction: applied atomically when the ``with`` block ends normally, else discarded."""
        return buffered_write(self, self._check_open, self._apply)

    def _apply(self, pending: dict[bytes, bytes | None]) -> None:
        data = self._data
        for key, value in pending.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value

    def commit_batch(self, pending: Mapping[bytes, bytes | None]) -> None:
        """Apply ``pending`` at once (:class:`harmony.abc.BatchCommitStore`); safe from another thread: the
        new contents replace the old in one assignment."""
        self._check_open()
        data = dict(self._data)
        for key, value in pending.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        self._data = data

    def refresh(self) -> None:
        """Nothing to refresh: reads always see the latest contents."""

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every committed (key, value) whose key starts with ``prefix``, in key order (a snapshot)."""
        self._check_open()
        items = sorted((k, v) for k, v in self._data.items() if k.startswith(prefix))
        yield from items

    def __len__(self) -> int:
        """Number of keys stored."""
        return len(self._data)

    def close(self) -> None:
        """Drop the data; later use raises :class:`StoreClosed`."""
        self._closed = True
        self._data = {}


__all__ = ["MemoryStore"]
