"""Compaction of an LMDB store (:meth:`LMDBStore.compact`) and when it is worth it
(:mod:`harmony.storage.compaction`): every entry kept byte for byte, the file smaller, the store usable
after, a background commit during it kept, a reader of the old file undisturbed, leftovers of a killed
compaction removed."""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harmony.storage import compaction, lmdb_store
from harmony.storage.compaction import compact_if_wasteful, wasteful
from harmony.storage.errors import StorageError
from harmony.storage.lmdb_store import COMPACT_DIR, LMDBStats, LMDBStore

MB = 1_000_000


def fill(store: LMDBStore, seed: int = 7) -> dict[bytes, bytes]:
    """Random keys of random sizes, a few over a page (overflow pages), then four in five deleted in
    random places, as pruning does: what is left."""
    rng = random.Random(seed)
    entries: dict[bytes, bytes] = {}
    for batch in range(10):
        with store.write() as txn:
            for i in range(2_000):
                key = b"t" + hashlib.sha256(f"{batch}-{i}".encode()).digest()
                value = rng.randbytes(rng.choice((40, 120, 530)) if i % 500 else 9_000)
                txn.put(key, value)
                entries[key] = value
    doomed = rng.sample(sorted(entries), k=len(entries) * 4 // 5)
    with store.write() as txn:
        for key in doomed:
            txn.delete(key)
            del entries[key]
    return entries


def contents(store: LMDBStore) -> dict[bytes, bytes]:
    return dict(store.iterate(b""))


def test_compaction_keeps_every_entry_and_shrinks_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compaction, "COMPACT_MIN_FREE", 1 * MB)  # a small database
    store = LMDBStore(tmp_path / "db")
    entries = fill(store)
    before = store.stats()
    assert wasteful(before)
    seen: list[tuple[int, int]] = []
    done = store.compact(lambda copied, total: seen.append((copied, total)))
    assert contents(store) == entries
    assert done.entries == len(entries) and seen[-1] == (len(entries), len(entries))
    after = store.stats()
    assert done.after < done.before / 2 and after.used < before.used / 2
    assert after.used - after.live < 64 * 1024  # no free pages to speak of
    assert not wasteful(after)
    assert not (tmp_path / "db" / COMPACT_DIR).exists()
    with store.write() as txn:  # still a working store
        txn.put(b"after", b"compaction")
    assert store.get(b"after") == b"compaction"
    store.close()
    with LMDBStore(tmp_path / "db") as reopened:
        assert contents(reopened) == {**entries, b"after": b"compaction"}


def test_an_empty_store_compacts_to_an_empty_store(tmp_path: Path) -> None:
    with LMDBStore(tmp_path / "db") as store:
        done = store.compact()
        assert done.entries == 0 and contents(store) == {}
        with store.write() as txn:
            txn.put(b"k", b"v")
        assert store.get(b"k") == b"v"


def test_a_read_only_store_does_not_compact(tmp_path: Path) -> None:
    with LMDBStore(tmp_path / "db") as store:
        fill(store)
    with LMDBStore(tmp_path / "db", readonly=True) as reader, pytest.raises(StorageError, match="read-only"):
        reader.compact()


def test_a_background_commit_waits_for_the_compaction_and_lands_in_the_new_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LMDBStore(tmp_path / "db")
    entries = fill(store)
    monkeypatch.setattr(lmdb_store, "COMPACT_REPORT_EVERY", 500)
    committed = threading.Event()
    started: list[threading.Thread] = []

    def commit() -> None:
        store.commit_batch({b"during": b"compaction", next(iter(entries)): None})
        committed.set()

    def on_progress(copied: int, total: int) -> None:
        if not started:  # mid-copy: a worker thread commits, as the node's background commits do
            thread = threading.Thread(target=commit)
            thread.start()
            started.append(thread)
            assert not committed.wait(0.3)  # held off while the copy runs

    store.compact(on_progress)
    started[0].join(timeout=30)
    assert committed.is_set()
    store.refresh()
    deleted = next(iter(entries))
    assert store.get(b"during") == b"compaction" and store.get(deleted) is None
    store.close()
    with LMDBStore(tmp_path / "db") as reopened:
        expected = {k: v for k, v in entries.items() if k != deleted} | {b"during": b"compaction"}
        assert contents(reopened) == expected


READER = """
import sys
from harmony.storage.lmdb_store import LMDBStore
reader = LMDBStore(sys.argv[1], readonly=True)
key = bytes.fromhex(sys.argv[2])
print(reader.get(key).hex(), flush=True)
sys.stdin.readline()  # the writer compacts meanwhile
print(reader.get(key).hex(), len(list(reader.iterate(b""))), flush=True)
"""


def test_a_reader_in_another_process_keeps_reading_the_old_file(tmp_path: Path) -> None:
    store = LMDBStore(tmp_path / "db")
    entries = fill(store)
    key, value = next(iter(entries.items()))
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(tmp_path / "db"), key.hex()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdin is not None and reader.stdout is not None
        assert reader.stdout.readline().strip() == value.hex()
        store.compact()
        reader.stdin.write("go\n")
        reader.stdin.flush()
        assert reader.stdout.readline().split() == [value.hex(), str(len(entries))]
        assert reader.wait(timeout=30) == 0
    finally:
        reader.kill()
    assert contents(store) == entries
    store.close()


def test_what_a_killed_compaction_left_is_removed_at_open(tmp_path: Path) -> None:
    with LMDBStore(tmp_path / "db") as store:
        entries = fill(store)
    leftover = tmp_path / "db" / COMPACT_DIR
    leftover.mkdir()
    (leftover / "data.mdb").write_bytes(b"half a copy" * 1000)
    with LMDBStore(tmp_path / "db") as store:
        assert not leftover.exists()
        assert contents(store) == entries


def test_a_failed_copy_leaves_the_database_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LMDBStore(tmp_path / "db")
    entries = fill(store)

    def broken(*args: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lmdb_store, "_copy_in_key_order", broken)
    with pytest.raises(StorageError, match=r"unchanged.*No space left"):
        store.compact()
    assert contents(store) == entries and not (tmp_path / "db" / COMPACT_DIR).exists()
    with store.write() as txn:
        txn.put(b"still", b"writable")
    store.close()


def stats(used_mb: float, live_mb: float) -> LMDBStats:
    return LMDBStats(
        entries=1, map_size=1 << 30, used=int(used_mb * MB), page_size=4096, depth=3, live=int(live_mb * MB)
    )


@pytest.mark.parametrize(
    ("used", "live", "worth"),
    [
        (96.3, 55.6, True),  # bench/sync.py's pruned node after 100,000 blocks
        (80.0, 55.0, False),  # under 1.5x
        (20.0, 5.0, False),  # 4x, but 15 MB would be freed: not worth a rewrite
        (30.0, 10.0, True),
        (0.0, 0.0, False),
    ],
)
def test_worth_compacting_when_half_again_as_large_as_its_pages_in_use(
    used: float, live: float, worth: bool
) -> None:
    assert wasteful(stats(used, live)) is worth


def test_compact_if_wasteful_compacts_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with LMDBStore(tmp_path / "db") as store:
        fill(store)
        assert compact_if_wasteful(store) is None  # under COMPACT_MIN_FREE
        monkeypatch.setattr(compaction, "COMPACT_MIN_FREE", 0)
        done = compact_if_wasteful(store)
        assert done is not None and done.after < done.before
        assert compact_if_wasteful(store) is None  # nothing left to gain


def test_a_failed_swap_reopens_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LMDBStore(tmp_path / "db")
    entries = fill(store)
    real_replace = lmdb_store.os.replace

    def refused(src: object, dst: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(lmdb_store.os, "replace", refused)
    with pytest.raises(StorageError, match="swap failed"):
        store.compact()
    monkeypatch.setattr(lmdb_store.os, "replace", real_replace)
    assert not store.closed and contents(store) == entries
    assert not (tmp_path / "db" / COMPACT_DIR).exists()
    with store.write() as txn:
        txn.put(b"still", b"writable")
    store.close()
    with LMDBStore(tmp_path / "db") as reopened:
        assert contents(reopened) == {**entries, b"still": b"writable"}
