"""LMDB specifics (design §4): durable across reopen, a map that grows, one writer per directory, typed
errors for directories that cannot be opened, read-only handles that follow another process's writes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harmony.storage import LMDBStore, StorageError, StorageLocked
from harmony.storage.lmdb_store import LOCK_FILE


def test_durable_across_reopen(tmp_path: Path) -> None:
    with LMDBStore(tmp_path) as store, store.write() as txn:
        txn.put(b"a", b"1")
        txn.put(b"b", b"2")
    with LMDBStore(tmp_path) as store:
        assert store.get(b"a") == b"1"
        assert list(store.iterate(b"")) == [(b"a", b"1"), (b"b", b"2")]


def test_map_grows_when_full(tmp_path: Path) -> None:
    start = 64 * 1024
    with LMDBStore(tmp_path, map_size=start) as store:
        value = os.urandom(300)
        with store.write() as txn:  # ~1.5 MiB in one transaction: many doublings
            for i in range(5000):
                txn.put(i.to_bytes(4, "big"), value)
        for round_ in range(3):  # and across several transactions
            with store.write() as txn:
                for i in range(2000):
                    txn.put(b"r" + bytes([round_]) + i.to_bytes(4, "big"), value)
        stats = store.stats()
        assert stats.map_size > start
        assert stats.entries == 11000
        assert stats.used <= stats.map_size
        assert store.get((4999).to_bytes(4, "big")) == value
    # reopening with the small size still sees everything (LMDB keeps the larger size recorded)
    with LMDBStore(tmp_path, map_size=start) as store:
        assert store.stats().entries == 11000
        with store.write() as txn:
            txn.put(b"zz", value)
        assert store.get(b"zz") == value


def test_one_writer_per_directory(tmp_path: Path) -> None:
    with LMDBStore(tmp_path), pytest.raises(StorageLocked):
        LMDBStore(tmp_path)
    # released on close
    with LMDBStore(tmp_path) as store:
        assert store.get(b"x") is None


def test_lock_held_by_another_process(tmp_path: Path) -> None:
    script = (
        "import sys, time; from harmony.storage import LMDBStore\n"
        "s = LMDBStore(sys.argv[1]); print('open', flush=True); time.sleep(30)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "open"
        with pytest.raises(StorageLocked):
            LMDBStore(tmp_path)
    finally:
        proc.kill()
        proc.wait()
    with LMDBStore(tmp_path) as store:  # a killed holder leaves no lock behind
        assert store.get(b"x") is None


def test_path_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_bytes(b"not a directory")
    with pytest.raises(StorageError):
        LMDBStore(target)


def test_corrupt_data_file(tmp_path: Path) -> None:
    (tmp_path / "data.mdb").write_bytes(b"\xde\xad\xbe\xef" * 4096)
    with pytest.raises(StorageError, match="cannot open LMDB"):
        LMDBStore(tmp_path)
    # the failed open released the lock: the next error is the same, not "locked"
    with pytest.raises(StorageError, match="cannot open LMDB"):
        LMDBStore(tmp_path)


def test_unwritable_directory(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores permissions")
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(StorageError):
            LMDBStore(locked / "db")
    finally:
        locked.chmod(0o700)


def test_readonly(tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        LMDBStore(tmp_path / "missing", readonly=True)
    with LMDBStore(tmp_path) as store, store.write() as txn:
        txn.put(b"a", b"1")
    with LMDBStore(tmp_path, readonly=True) as ro:
        assert ro.get(b"a") == b"1"
        with pytest.raises(StorageError), ro.write():
            pass
    assert (tmp_path / LOCK_FILE).exists()


def test_readonly_follows_a_writer_that_grows_the_map(tmp_path: Path) -> None:
    with LMDBStore(tmp_path, map_size=64 * 1024) as store, store.write() as txn:
        txn.put(b"first", b"1")
    with LMDBStore(tmp_path, readonly=True) as ro:
        assert ro.get(b"first") == b"1"
        script = (
            "import sys; from harmony.storage import LMDBStore\n"
            "with LMDBStore(sys.argv[1], map_size=64 * 1024) as s, s.write() as t:\n"
            "    for i in range(4000): t.put(i.to_bytes(4, 'big'), bytes(500))\n"
            "    t.put(b'second', b'2')\n"
        )
        subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, timeout=60)
        assert ro.get(b"second") == b"2"
        assert ro.get((3999).to_bytes(4, "big")) == bytes(500)
        assert sum(1 for _ in ro.iterate(b"")) == 4002


def test_invalid_map_size(tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        LMDBStore(tmp_path, map_size=0)


def test_a_batch_committed_from_another_thread_is_read_after_refresh(tmp_path: Path) -> None:
    with LMDBStore(tmp_path, map_size=64 * 1024) as store:
        with store.write() as txn:
            txn.put(b"a", b"1")
        assert store.get(b"a") == b"1"  # this thread's read transaction stays open
        worker = threading.Thread(target=store.commit_batch, args=({b"a": b"2", b"b": b"2"},))
        worker.start()
        worker.join()
        assert store.get(b"a") == b"1"
        store.refresh()
        assert (store.get(b"a"), store.get(b"b")) == (b"2", b"2")
        store.commit_batch({b"a": None})
        store.refresh()
        assert store.get(b"a") is None
        big = {i.to_bytes(4, "big"): os.urandom(300) for i in range(1000)}
        with pytest.raises(StorageError, match="map full"):  # only the store's own thread grows the map
            store.commit_batch(big)
        store.refresh()
        assert store.get((0).to_bytes(4, "big")) is None  # nothing of it was written
        with store.write() as txn:
            for key, value in big.items():
                txn.put(key, value)
    with LMDBStore(tmp_path) as reopened:
        assert (reopened.get(b"b"), reopened.stats().entries) == (b"2", 1001)
