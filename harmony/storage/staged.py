"""Many write transactions made durable as one (design §3.4, issue 18: batched sync writes).

Block sync stores hundreds of blocks a second; one durable LMDB commit (an fsync, ~4 ms) per block would
cap it far below that. :class:`StagedStore` sits over the node's store: each write transaction (one block,
as :meth:`~harmony.storage.chaindb.ChainDB.write_block` makes it) is applied to an in-memory overlay when its
``with`` block ends normally, reads see the overlay first, and :meth:`StagedStore.flush` replays the whole
overlay into the base store in **one** write transaction. So a crash loses at most the blocks staged since
the last flush and never leaves part of one: the base store holds whole blocks only, the head pointer among
them (the crash guarantee of design §3.4 holds per flush instead of per block).

A flush can also run off the store's thread (the node's background commits,
:mod:`harmony.node.background_commits`): :meth:`StagedStore.take` moves what is staged to
:attr:`~StagedStore.flushing` (still read, below newer staged writes), :meth:`~StagedStore.commit_taken`
commits it on a worker thread through the base's :meth:`~harmony.abc.BatchCommitStore.commit_batch`, and
:meth:`~StagedStore.settle`, back on the store's thread, forgets it once committed or stages it again under
the newer writes when the commit failed. Commits reach the base in the order they were staged: a :meth:`flush`
waits for a commit under way, and covers a taken set whose commit has not started (which then commits
nothing).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager

from harmony.abc import KVStore, KVWriteTxn
from harmony.storage.errors import StoreClosed
from harmony.storage.write_buffer import buffered_write


class StagedStore:
    """A :class:`harmony.abc.KVStore` whose committed writes wait in memory until :meth:`flush`."""

    __slots__ = (
        "_closed",
        "_commit_lock",
        "_covered",
        "_taken_committed",
        "base",
        "flushing",
        "on_stage",
        "overlay",
        "staged_bytes",
        "transactions",
    )

    def __init__(self, base: KVStore, on_stage: Callable[[], None] | None = None) -> None:
        self.base = base
        self.on_stage = on_stage
        """Called after each staged write transaction (the node's background commits wake on it)."""
        self.overlay: dict[bytes, bytes | None] = {}
        """Every key written since the last flush: its new value, or ``None`` where it is deleted."""
        self.flushing: dict[bytes, bytes | None] = {}
        """What :meth:`take` handed to a commit off this thread, read below :attr:`overlay` until
        :meth:`settle`."""
        self._commit_lock = threading.Lock()
        """Held while the base commits what this store staged: one commit at a time, in staging order."""
        self._covered = False
        """A :meth:`flush` committed the taken set before its own commit started (that one then skips)."""
        self._taken_committed = False
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
        flushing = self.flushing
        if key in flushing:
            return flushing[key]
        return self.base.get(key)

    def write(self) -> AbstractContextManager[KVWriteTxn]:
        """A write transaction, staged whole when the ``with`` block ends normally, else discarded."""
        return buffered_write(self, self._check_open, self._stage)

    def _stage(self, pending: dict[bytes, bytes | None]) -> None:
        self.overlay.update(pending)
        self.transactions += 1
        self.staged_bytes += sum(len(k) + len(v or b"") for k, v in pending.items())
        if self.on_stage is not None:
            self.on_stage()

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) under ``prefix`` as reads see them (staged over the base), in key order.

        The base is read as it streams; the staged entries under ``prefix`` (as when the iteration starts)
        are merged in, so a large table costs no more memory than the base's own iteration."""
        self._check_open()
        staged = {k: v for k, v in self.flushing.items() if k.startswith(prefix)}
        staged.update((k, v) for k, v in self.overlay.items() if k.startswith(prefix))
        if not staged:
            yield from self.base.iterate(prefix)
            return
        extra = sorted(staged.items())
        i = 0
        for key, value in self.base.iterate(prefix):
            while i < len(extra) and extra[i][0] <= key:
                staged_key, staged_value = extra[i]
                i += 1
                if staged_value is not None:
                    yield staged_key, staged_value
                if staged_key == key:
                    break
            else:
                yield key, value
        for key, staged_value in extra[i:]:
            if staged_value is not None:
                yield key, staged_value

    def flush(self) -> int:
        """Write everything staged into the base store in one write transaction; the transactions it held.

        A commit under way off this thread (:meth:`take`) finishes first; a taken set whose commit has not
        started is written here too (it then commits nothing). On a failure of the base store the overlay is
        kept (reads stay consistent) and the error raised.
        """
        self._check_open()
        with self._commit_lock:
            if not self.overlay and (not self.flushing or self._taken_committed or self._covered):
                return 0
            taken_done = self._taken_committed or self._covered
            with self.base.write() as txn:
                for source in (self.overlay,) if taken_done else (self.flushing, self.overlay):
                    for key, value in source.items():
                        if value is None:
                            txn.delete(key)
                        else:
                            txn.put(key, value)
            if self.flushing and not taken_done:
                self._covered = True
        flushed = self.transactions
        self.overlay = {}
        self.transactions = 0
        self.staged_bytes = 0
        return flushed

    def take(self) -> Mapping[bytes, bytes | None] | None:
        """Begin a commit off this thread: what is staged moves to :attr:`flushing` (still read) and is
        returned for :meth:`commit_taken`; ``None`` when nothing is staged or a taken set is not settled."""
        self._check_open()
        if not self.overlay or self.flushing:
            return None
        self.flushing, self.overlay = self.overlay, {}
        self.transactions = 0
        self.staged_bytes = 0
        self._covered = self._taken_committed = False
        return self.flushing

    def commit_taken(self, commit: Callable[[Mapping[bytes, bytes | None]], None]) -> None:
        """On a worker thread: commit the taken set with ``commit`` (the base's
        :meth:`~harmony.abc.BatchCommitStore.commit_batch`), unless a :meth:`flush` already did."""
        with self._commit_lock:
            if self._covered:
                return
            commit(self.flushing)
            self._taken_committed = True

    def settle(self) -> bool:
        """Back on the store's thread after :meth:`commit_taken`: forget the taken set when it is committed
        (True), else stage it again under the newer writes (False: the next flush commits it)."""
        taken, self.flushing = self.flushing, {}
        if self._taken_committed or self._covered:
            return True
        if taken:
            self.overlay = {**taken, **self.overlay}
            self.transactions += 1
        return False

    def close(self) -> None:
        """Flush, then stop accepting use (the base store stays open: its owner closes it)."""
        if not self._closed:
            self.flush()
            self._closed = True


__all__ = ["StagedStore"]
