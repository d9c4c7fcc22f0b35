"""Crash safety of compaction (:meth:`LMDBStore.compact`): a real process compacts a database over and over
and is killed with SIGKILL at random moments (while it copies, renames, or reopens). After every kill the
database opens, holds every entry byte for byte and the last counter the writer reported, and nothing of
the cut-short compaction is left; then the writer goes on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harmony.storage.lmdb_store import COMPACT_DIR, LMDBStore

from . import compaction_writer
from .test_crash_kill9 import kill_cycles

WRITER = Path(compaction_writer.__file__)
SEED = 0xC0_4AC7
KILLS = 10


def test_sigkill_while_compacting(tmp_path: Path) -> None:
    datadir = tmp_path / "db"
    with LMDBStore(datadir) as store:
        compaction_writer.populate(store, SEED)
        expected = compaction_writer.digest(store)
        size_before = store.stats().used

    def check(path: Path, last_printed: int | None, context: str) -> int:
        with LMDBStore(path) as store:
            assert not (path / COMPACT_DIR).exists(), f"{context}: a cut-short compaction was left"
            assert compaction_writer.digest(store) == expected, f"{context}: entries changed"
            number = compaction_writer.counter(store)
            assert last_printed is None or number >= last_printed, f"{context}: {number} < {last_printed}"
            return number

    heads = kill_cycles(datadir, KILLS, SEED, writer=WRITER, check=check)
    assert heads[-1] is not None and heads[-1] >= KILLS // 2, f"too few compactions: {heads}"
    done = subprocess.run(
        [sys.executable, str(WRITER), str(datadir), "2"], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert check(datadir, None, "final run") == heads[-1] + 2
    with LMDBStore(datadir) as store:
        assert store.stats().used < size_before / 2  # the compactions did compact
