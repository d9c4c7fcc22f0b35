"""Staged writes: many blocks made durable in one LMDB transaction, reads see them before that."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

import pytest

from harmony.storage import LMDBStore, MemoryStore
from harmony.storage.errors import StorageError, StoreClosed
from harmony.storage.staged import StagedStore


def test_staged_writes_are_read_back_and_reach_lmdb_only_on_flush(tmp_path: Path) -> None:
    with LMDBStore(tmp_path / "db") as base:
        with base.write() as txn:
            txn.put(b"a", b"1")
            txn.put(b"gone", b"x")
        stage = StagedStore(base)
        with stage.write() as txn:
            txn.put(b"b", b"2")
            txn.delete(b"gone")
            assert txn.get(b"b") == b"2"
        with stage.write() as txn:
            txn.put(b"a", b"3")
        assert (stage.get(b"a"), stage.get(b"b"), stage.get(b"gone")) == (b"3", b"2", None)
        assert (base.get(b"a"), base.get(b"b"), base.get(b"gone")) == (b"1", None, b"x")
        assert list(stage.iterate(b"")) == [(b"a", b"3"), (b"b", b"2")]
        assert stage.transactions == 2
        assert stage.flush() == 2
        assert (base.get(b"a"), base.get(b"b"), base.get(b"gone")) == (b"3", b"2", None)
        assert stage.flush() == 0
    with LMDBStore(tmp_path / "db") as reopened:
        assert reopened.get(b"b") == b"2"


def test_a_failed_transaction_stages_nothing_and_bad_keys_are_refused() -> None:
    stage = StagedStore(MemoryStore())
    with pytest.raises(RuntimeError), stage.write() as txn:
        txn.put(b"k", b"v")
        raise RuntimeError("block refused")
    assert stage.get(b"k") is None and stage.transactions == 0
    with pytest.raises(StorageError), stage.write() as txn:
        txn.put(b"", b"v")
    with pytest.raises(StorageError), stage.write() as txn:
        txn.put(b"k" * 600, b"v")
    stage.close()
    with pytest.raises(StoreClosed):
        stage.flush()


def test_a_commit_off_the_store_thread_is_read_throughout_and_lands_in_order(tmp_path: Path) -> None:
    with LMDBStore(tmp_path / "db") as base:
        with base.write() as txn:
            txn.put(b"a", b"0")
        stage = StagedStore(base)
        with stage.write() as txn:
            txn.put(b"a", b"1")
            txn.put(b"b", b"1")
        assert base.get(b"a") == b"0"  # the store's thread holds a read transaction from here on
        assert stage.take() == {b"a": b"1", b"b": b"1"}
        assert stage.take() is None  # one commit at a time
        with stage.write() as txn:  # a newer block while the older one commits
            txn.put(b"a", b"2")
        worker = threading.Thread(target=stage.commit_taken, args=(base.commit_batch,))
        worker.start()
        assert (stage.get(b"a"), stage.get(b"b")) == (b"2", b"1")
        worker.join()
        assert base.get(b"a") == b"0"  # the old read transaction until refresh
        assert stage.settle() is True
        base.refresh()
        assert (base.get(b"a"), base.get(b"b")) == (b"1", b"1")
        assert (stage.get(b"a"), list(stage.iterate(b""))) == (b"2", [(b"a", b"2"), (b"b", b"1")])
        assert stage.flush() == 1
    with LMDBStore(tmp_path / "db") as reopened:
        assert (reopened.get(b"a"), reopened.get(b"b")) == (b"2", b"1")


def test_a_flush_covers_a_taken_set_whose_commit_has_not_started() -> None:
    base = MemoryStore()
    stage = StagedStore(base)
    with stage.write() as txn:
        txn.put(b"old", b"1")
    assert stage.take() is not None
    with stage.write() as txn:
        txn.put(b"new", b"2")
    assert stage.flush() == 1
    assert (base.get(b"old"), base.get(b"new")) == (b"1", b"2")

    def must_not_run(pending: Mapping[bytes, bytes | None]) -> None:
        raise AssertionError("a covered set committed again after newer writes")

    stage.commit_taken(must_not_run)
    assert stage.settle() is True and stage.flushing == {}


def test_a_failed_commit_is_staged_again_below_newer_writes() -> None:
    base = MemoryStore()
    stage = StagedStore(base)
    with stage.write() as txn:
        txn.put(b"a", b"1")
        txn.put(b"b", b"1")
    assert stage.take() is not None

    def fails(pending: Mapping[bytes, bytes | None]) -> None:
        raise StorageError("disk full")

    with pytest.raises(StorageError):
        stage.commit_taken(fails)
    with stage.write() as txn:
        txn.put(b"a", b"2")
    assert stage.settle() is False
    assert (stage.get(b"a"), stage.get(b"b"), base.get(b"a")) == (b"2", b"1", None)
    assert stage.flush() == 2
    assert (base.get(b"a"), base.get(b"b")) == (b"2", b"1")


def test_iteration_merges_staged_and_taken_entries_into_the_base_in_key_order() -> None:
    base = MemoryStore()
    with base.write() as txn:
        for key in (b"p1", b"p3", b"p5", b"p7", b"q0"):
            txn.put(key, b"base")
    stage = StagedStore(base)
    with stage.write() as txn:
        txn.put(b"p0", b"taken")
        txn.delete(b"p3")
        txn.put(b"p5", b"taken")
    stage.take()
    with stage.write() as txn:
        txn.put(b"p3", b"staged")  # back over the taken delete
        txn.delete(b"p5")
        txn.put(b"p9", b"staged")
        txn.delete(b"p8")  # never stored
    expected = [(b"p0", b"taken"), (b"p1", b"base"), (b"p3", b"staged"), (b"p7", b"base"), (b"p9", b"staged")]
    assert list(stage.iterate(b"p")) == expected
    assert list(stage.iterate(b"q")) == [(b"q0", b"base")]
