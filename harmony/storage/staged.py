"""Many write transactions made durable as one (design §3.4, issue 18: batched sync writes).

Block sync stores hundreds of blocks a second; one durable LMDB commit (an fsync, ~4 ms) per block would
cap it far below that. :class:`StagedStore` sits over the node's store: each write transaction (one block,
as :meth:`~harmony.storage.chaindb.ChainDB.write_block` makes it) is applied to an in-memory overlay when its
``with`` block ends normally, reads see the overlay first, and :meth:`StagedStore.flush` replays the whole
overlay into the base store in **one** write transaction. So a crash loses at most the blocks staged since
the last flush and never leaves part of one: the base store holds whole blocks only, the head pointer among
them (the crash guarantee of design §3.4 holds per flush instead of per block).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager

from harmony.abc import KVStore, KVWriteTxn
from harmony.storage.errors import StoreClosed
from harmony.storage.write_buffer import buffered_write


class StagedStore:
    """A :class:`harmony.abc.KVStore` whose committed writes wait in memory until :meth:`flush`."""

    __slots__ = ("_closed", "base", "overlay", "staged_bytes", "transactions")

    def __init__(self, base: KVStore) -> None:
        self.base = base
        self.overlay: dict[bytes, bytes | None] = {}
        """Every key written since the last flush: its new value, or ``None`` where it is deleted."""
        self.transactions = 0
        """Write transactions staged since the last flush."""
        self.staged_bytes = 0
        """Approximate bytes staged since the last flush (keys and values as written)."""
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed("staged store used after close()")

    def get(self, key: bytes) -> bytes | None:
        """The value under ``key``: a staged write first, else the base store's."""
        overlay = self.overlay
        if key in overlay:
            return overlay[key]
        return self.base.get(key)

    def write(self) -> AbstractContextManager[KVWriteTxn]:
        """A write transaction, staged whole when the ``with`` block ends normally, else discarded."""
        return buffered_write(self, self._check_open, self._stage)

    def _stage(self, pending: dict[bytes, bytes | None]) -> None:
        self.overlay.update(pending)
        self.transactions += 1
        self.staged_bytes += sum(len(k) + len(v or b"") for k, v in pending.items())

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) under ``prefix`` as reads see them (staged over the base), in key order."""
        self._check_open()
        merged = dict(self.base.iterate(prefix))
        for key, value in self.overlay.items():
            if key.startswith(prefix):
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
        yield from sorted(merged.items())

    def flush(self) -> int:
        """Write everything staged into the base store in one write transaction; the transactions it held.

        On a failure of the base store the overlay is kept (reads stay consistent) and the error raised.
        """
        self._check_open()
        if not self.overlay:
            return 0
        with self.base.write() as txn:
            for key, value in self.overlay.items():
                if value is None:
                    txn.delete(key)
                else:
                    txn.put(key, value)
        flushed = self.transactions
        self.overlay = {}
        self.transactions = 0
        self.staged_bytes = 0
        return flushed

    def close(self) -> None:
        """Flush, then stop accepting use (the base store stays open: its owner closes it)."""
        if not self._closed:
            self.flush()
            self._closed = True


__all__ = ["StagedStore"]
