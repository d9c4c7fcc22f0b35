"""The durable key-value store: LMDB, a copy-on-write B+tree (design §3.4, §4).

Why it is crash-safe: LMDB never overwrites a live page; a write transaction writes new pages, then flips
one of two meta pages. With ``sync`` and ``metasync`` on, a commit returns only after both are fsynced, so
after a crash (SIGKILL, power loss) the database holds exactly the last committed transaction.

How this module uses it:

* **One LMDB write transaction per :meth:`LMDBStore.write` block.** Puts and deletes are buffered in Python
  (:class:`~harmony.storage.write_buffer.WriteBuffer`) and replayed, sorted by key, in one LMDB write
  transaction when the ``with`` block ends normally; an exception discards the buffer and LMDB is never
  touched.
* **A map that grows.** LMDB needs the map (the largest the file may grow) fixed in advance. When a commit
  fails with ``MDB_MAP_FULL`` the LMDB transaction is aborted, the map doubled (``set_mapsize``), and the
  buffer replayed; the caller sees one successful commit. A reader in another process whose map became too
  small picks up the new size (``MDB_MAP_RESIZED``) and retries.
* **Short read transactions.** A writable store (the only writer: it holds an exclusive ``flock`` on
  ``harmony.lock`` in the directory) keeps one read transaction and renews it after each of its own commits,
  so a ``get`` costs no ``mdb_txn_begin``; a read-only store opens a fresh read transaction per ``get``
  because another process may commit at any time. Iteration reads in batches, each in its own read
  transaction, so no transaction stays open while the caller holds the iterator.
* **Compaction.** LMDB reuses freed pages but never gives them back, and a B+tree whose entries were
  deleted here and there keeps half-empty pages. :meth:`LMDBStore.compact` rewrites every entry in key order
  into a new file (each page filled) and swaps it in with one ``rename``: a kill -9 at any moment leaves the
  old file or the new one, both whole.
* Every LMDB or OS failure to open becomes :class:`~harmony.storage.errors.StorageError` (or its
  subclass :class:`~harmony.storage.errors.StorageLocked` when another handle writes the directory).

One store serves one thread: the node runs its storage calls on a single thread (trio). The exception is
:meth:`LMDBStore.commit_batch`, which commits from a worker thread (the node's background commits) and leaves
the own thread's read transaction alone until :meth:`LMDBStore.refresh`; :meth:`LMDBStore.compact` waits for
such a commit to end and holds the next one off until the new file is in place.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import lmdb

from harmony.abc import KVWriteTxn
from harmony.storage.errors import StorageError, StorageLocked, StoreClosed
from harmony.storage.write_buffer import WriteBuffer

DEFAULT_MAP_SIZE = 1 << 30
"""Initial map size (1 GiB of address space; the file itself grows only as data is written)."""

MAX_MAP_SIZE = 1 << 44
"""Largest map the store grows to (16 TiB); beyond it a commit fails with :class:`StorageError`."""

LOCK_FILE = "harmony.lock"
"""File in the database directory a writable store holds an exclusive ``flock`` on."""

ITERATE_BATCH = 1024
"""Entries read per read transaction while iterating."""

DATA_FILE = "data.mdb"
LMDB_LOCK_FILE = "lock.mdb"
COMPACT_DIR = "compacting"
"""Subdirectory :meth:`LMDBStore.compact` writes the new file in (left over by a kill: removed at open)."""
COMPACT_REPORT_EVERY = 65_536
"""Entries copied between two progress reports of a compaction."""


@dataclass(frozen=True, slots=True)
class LMDBStats:
    """Figures an operator wants about a store."""

    entries: int
    """Number of keys."""
    map_size: int
    """Current map size in bytes (grows by doubling)."""
    used: int
    """Bytes of the map in use: pages up to the last one allocated."""
    page_size: int
    depth: int
    """Height of the B+tree."""
    live: int = 0
    """Bytes of the pages the B+tree holds (branch, leaf and overflow pages); ``used − live`` is free pages
    and LMDB's list of them."""


@dataclass(frozen=True, slots=True)
class Compaction:
    """What :meth:`LMDBStore.compact` did."""

    entries: int
    before: int
    """Bytes of the data file before."""
    after: int
    """Bytes of the data file after."""
    seconds: float


class LMDBStore:
    """A durable :class:`harmony.abc.KVStore` over an LMDB environment in directory ``path``.

    ``readonly=True`` opens an existing database for reading while another process may write it; writes
    raise :class:`StorageError`. A writable store takes an exclusive lock on the directory, so a second
    writer (another process or a second handle here) gets :class:`StorageLocked` instead of sharing it.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, map_size: int = DEFAULT_MAP_SIZE, readonly: bool = False
    ):
        self.path = Path(path)
        self.readonly = readonly
        self._lock_file: IO[bytes] | None = None
        self._reader: Any = None  # cached lmdb.Transaction (writable stores only)
        self._closed = False
        self._commit_lock = threading.Lock()
        """Held by each LMDB write transaction and by :meth:`compact` (which replaces the environment)."""
        if map_size <= 0:
            raise StorageError(f"map size must be positive, got {map_size}")
        try:
            if not readonly:
                self.path.mkdir(parents=True, exist_ok=True)
                self._lock_file = _take_lock(self.path / LOCK_FILE)
                shutil.rmtree(self.path / COMPACT_DIR, ignore_errors=True)  # a compaction a kill cut short
            elif not self.path.is_dir():
                raise StorageError(f"{self.path}: no database directory to open read-only")
            self._env = _open_env(self.path, map_size, readonly=readonly)
        except lmdb.Error as exc:
            self._release_lock()
            raise StorageError(f"{self.path}: cannot open LMDB database: {exc}") from exc
        except OSError as exc:
            self._release_lock()
            raise StorageError(f"{self.path}: cannot open database directory: {exc.strerror or exc}") from exc
        except BaseException:
            self._release_lock()
            raise

    @property
    def closed(self) -> bool:
        """Whether the store was closed (or could not be reopened after a compaction)."""
        return self._closed

    # -- reads ---------------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(f"{self.path}: store used after close()")

    def _begin_read(self) -> Any:
        """A read transaction, adopting a map another process grew (``MDB_MAP_RESIZED``)."""
        try:
            return self._env.begin(buffers=False)
        except lmdb.MapResizedError:
            self._env.set_mapsize(0)  # 0: adopt the size now recorded in the file
            return self._env.begin(buffers=False)

    def get(self, key: bytes) -> bytes | None:
        """The committed value under ``key``, or ``None``."""
        reader = self._reader  # set only while open and writable: the fast path
        if reader is None:
            return self._get_slow(key)
        try:
            value: bytes | None = reader.get(key)
        except lmdb.BadValsizeError:
            return None  # an empty or over-long key is never stored
        except lmdb.Error as exc:
            raise StorageError(f"{self.path}: read of a {len(key)}-byte key failed: {exc}") from exc
        return value

    def _get_slow(self, key: bytes) -> bytes | None:
        self._check_open()
        try:
            if self.readonly:
                with self._begin_read() as txn:
                    value: bytes | None = txn.get(key)
                return value
            self._reader = self._begin_read()
            value = self._reader.get(key)
        except lmdb.BadValsizeError:
            return None
        except lmdb.Error as exc:
            raise StorageError(f"{self.path}: read of a {len(key)}-byte key failed: {exc}") from exc
        return value

    def _drop_reader(self) -> None:
        if self._reader is not None:
            self._reader.abort()
            self._reader = None

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every committed (key, value) whose key starts with ``prefix``, in key order.

        Entries are read in batches of :data:`ITERATE_BATCH`, each batch in its own read transaction; a
        commit between batches may be seen by the later ones (keys stay in order, none is repeated).
        """
        self._check_open()
        start = prefix
        skip_first = False
        while True:
            self._check_open()
            batch: list[tuple[bytes, bytes]] = []
            with self._begin_read() as txn:
                cursor = txn.cursor()
                if cursor.set_range(start):
                    for key, value in cursor.iternext():
                        if not key.startswith(prefix):
                            break
                        if skip_first and key == start:
                            continue
                        batch.append((key, value))
                        if len(batch) >= ITERATE_BATCH:
                            break
            yield from batch
            if len(batch) < ITERATE_BATCH:
                return
            start, skip_first = batch[-1][0], True

    # -- writes --------------------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[KVWriteTxn]:
        """A write transaction, committed durably (fsync) when the ``with`` block ends normally.

        An exception inside the block discards every buffered write; LMDB is not touched.
        """
        self._check_open()
        if self.readonly:
            raise StorageError(f"{self.path}: store is read-only")
        txn = WriteBuffer(self)
        try:
            yield txn
        finally:
            txn.close()
        self._commit(txn.pending)

    def _commit(self, pending: dict[bytes, bytes | None]) -> None:
        """Replay ``pending`` in one LMDB write transaction, growing the map as often as needed."""
        self._check_open()
        if not pending:
            return
        while True:
            try:
                self._replay(pending)
            except lmdb.MapFullError:
                self._grow()
                continue
            finally:
                self._drop_reader()  # the next get sees this commit
            return

    def _replay(self, pending: Mapping[bytes, bytes | None]) -> None:
        """One durable LMDB write transaction of ``pending``; ``lmdb.MapFullError`` passes through (the map
        may grow only on the store's own thread)."""
        # the last operation on each key is all that is pending, so puts and deletes touch disjoint keys
        # and their relative order does not matter; sorted keys keep the B+tree walk local
        puts: list[tuple[bytes, bytes]] = []
        deletes: list[bytes] = []
        for key in sorted(pending):
            value = pending[key]
            if value is None:
                deletes.append(key)
            else:
                puts.append((key, value))
        try:
            with self._commit_lock, self._env.begin(write=True) as txn:
                for key in deletes:
                    txn.delete(key)
                if puts:
                    txn.cursor().putmulti(puts)
        except lmdb.MapFullError:
            raise
        except lmdb.Error as exc:
            raise StorageError(f"{self.path}: commit failed: {exc}") from exc

    def commit_batch(self, pending: Mapping[bytes, bytes | None]) -> None:
        """Commit ``pending`` (a value, or ``None`` to delete) in one durable write transaction, from any
        thread (:class:`harmony.abc.BatchCommitStore`): LMDB lets a write transaction run beside this
        store's read transaction, and py-lmdb releases the GIL while it commits and syncs. The store's own
        thread sees the commit after :meth:`refresh`. A full map raises :class:`StorageError` instead of
        growing (growing remaps the file, which only the store's own thread may do: commit there instead)."""
        self._check_open()
        if self.readonly:
            raise StorageError(f"{self.path}: store is read-only")
        if not pending:
            return
        try:
            self._replay(pending)
        except lmdb.MapFullError as exc:
            raise StorageError(f"{self.path}: map full: commit on the store's own thread to grow it") from exc

    def refresh(self) -> None:
        """Let the next read see every commit, also those :meth:`commit_batch` made from another thread."""
        self._drop_reader()

    def _grow(self) -> None:
        """Double the map size (no transaction of ours may be open: ``mdb_env_set_mapsize`` remaps)."""
        self._drop_reader()
        current = int(self._env.info()["map_size"])
        if current >= MAX_MAP_SIZE:
            raise StorageError(f"{self.path}: database full at the largest map size ({current} bytes)")
        self._env.set_mapsize(min(current * 2, MAX_MAP_SIZE))

    # -- operations ----------------------------------------------------------------------------------

    def stats(self) -> LMDBStats:
        """Entries, map size, bytes used and bytes of live pages, for operators (``mdb_env_stat`` /
        ``mdb_env_info``)."""
        self._check_open()
        stat = self._env.stat()
        info = self._env.info()
        page = int(stat["psize"])
        return LMDBStats(
            entries=int(stat["entries"]),
            map_size=int(info["map_size"]),
            used=(int(info["last_pgno"]) + 1) * page,
            page_size=page,
            depth=int(stat["depth"]),
            live=(int(stat["branch_pages"]) + int(stat["leaf_pages"]) + int(stat["overflow_pages"])) * page,
        )

    def compact(self, on_progress: Callable[[int, int], None] | None = None) -> Compaction:
        """Rewrite the database into a new data file, every entry in key order so that each page is full,
        and put it in place of the old one (module docstring); ``on_progress(copied, entries)`` is called
        as entries are copied.

        Order of durability: the new file is written and fsynced in :data:`COMPACT_DIR`, the environment
        closed, the new file renamed over the old (atomic), LMDB's lock file removed (so the reopened
        environment is its only user: a process that had the old file open keeps reading that one), the
        directory fsynced, and the environment reopened. On the store's own thread only (it reopens the
        environment); a background commit (:meth:`commit_batch`) waits until it is done.
        """
        self._check_open()
        if self.readonly:
            raise StorageError(f"{self.path}: store is read-only")
        started = time.perf_counter()
        work = self.path / COMPACT_DIR
        with self._commit_lock:
            self._drop_reader()
            before = data_file_bytes(self.path)
            map_size = int(self._env.info()["map_size"])
            total = int(self._env.stat()["entries"])
            shutil.rmtree(work, ignore_errors=True)
            try:
                work.mkdir()
                copied = _copy_in_key_order(self._env, work, map_size, total, on_progress)
            except (lmdb.Error, OSError) as exc:
                shutil.rmtree(work, ignore_errors=True)
                raise StorageError(
                    f"{self.path}: compaction failed, the database is unchanged: {exc}"
                ) from exc
            self._env.close()
            swap_error: OSError | None = None
            try:
                os.replace(work / DATA_FILE, self.path / DATA_FILE)
                (self.path / LMDB_LOCK_FILE).unlink(missing_ok=True)
                _fsync_directory(self.path)
            except OSError as exc:
                swap_error = exc  # the old file or the new one is in place, whole: reopen it
            finally:
                shutil.rmtree(work, ignore_errors=True)
                try:
                    self._env = _open_env(self.path, map_size, readonly=False)
                except lmdb.Error as exc:
                    self._closed = True
                    self._release_lock()
                    raise StorageError(
                        f"{self.path}: cannot reopen the database after compaction: {exc}"
                    ) from exc
            if swap_error is not None:
                raise StorageError(f"{self.path}: compaction's swap failed: {swap_error}") from swap_error
        return Compaction(copied, before, data_file_bytes(self.path), time.perf_counter() - started)

    def close(self) -> None:
        """Close the environment and release the directory lock; later use raises :class:`StoreClosed`."""
        if self._closed:
            return
        self._closed = True
        self._drop_reader()
        self._env.close()
        self._release_lock()

    def __enter__(self) -> LMDBStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing the descriptor drops the flock
            self._lock_file = None


def _open_env(path: Path, map_size: int, *, readonly: bool) -> Any:
    """The LMDB environment of directory ``path``, durable commits (``sync``, ``metasync``), one database."""
    return lmdb.open(
        str(path),
        map_size=map_size,
        subdir=True,
        readonly=readonly,
        create=not readonly,
        sync=True,
        metasync=True,
        lock=True,
        writemap=False,
        readahead=False,
        max_dbs=0,
    )


def _copy_in_key_order(
    env: Any, work: Path, map_size: int, total: int, on_progress: Callable[[int, int], None] | None
) -> int:
    """Copy every entry of ``env`` into a new environment in ``work`` by appending (full pages), in one
    write transaction committed durably; the entries copied."""
    target = _open_env(work, map_size, readonly=False)
    copied = 0
    try:
        with env.begin(buffers=False) as source, target.begin(write=True) as txn:
            cursor = txn.cursor()
            for key, value in source.cursor().iternext():
                cursor.put(key, value, append=True)
                copied += 1
                if on_progress is not None and copied % COMPACT_REPORT_EVERY == 0:
                    on_progress(copied, total)
    finally:
        target.close()
    if on_progress is not None:
        on_progress(copied, total)
    return copied


def data_file_bytes(directory: Path) -> int:
    """Disk space the LMDB data file in ``directory`` takes (its allocated blocks; 0 if there is none)."""
    data = directory / DATA_FILE
    return data.stat().st_blocks * 512 if data.exists() else 0


def _fsync_directory(path: Path) -> None:
    """Make a rename in directory ``path`` durable."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _take_lock(path: Path) -> IO[bytes]:
    """Open ``path`` and hold an exclusive, non-blocking ``flock`` on it; the kernel drops it on exit."""
    handle = path.open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        raise StorageLocked(f"{path.parent}: database is already open for writing ({exc.strerror})") from exc
    return handle


__all__ = [
    "DATA_FILE",
    "DEFAULT_MAP_SIZE",
    "Compaction",
    "LMDBStats",
    "LMDBStore",
    "StorageError",
    "StorageLocked",
    "data_file_bytes",
]
