"""Staged writes: many blocks made durable in one LMDB transaction, reads see them before that."""

from __future__ import annotations

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
