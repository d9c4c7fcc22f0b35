"""What a chain database holds, table by table, for operators (``harmony db inspect``).

One pass over every key: per table (:data:`harmony.storage.schema.TABLES`, by prefix byte) the number of
entries and the bytes of their keys and values. LMDB adds its own page overhead on top, so the file on disk
is larger than the sum; :class:`DBReport` carries the file size and LMDB's pages in use beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harmony.storage import schema
from harmony.storage.lmdb_store import LMDBStore, data_file_bytes

__all__ = ["DBReport", "TableSize", "inspect_store"]

PROGRESS_STEP = 10_000
"""Entries read between two progress reports."""


@dataclass(frozen=True, slots=True)
class TableSize:
    """One table's share of the database."""

    prefix: str
    name: str
    entries: int
    key_bytes: int
    value_bytes: int

    @property
    def total_bytes(self) -> int:
        """Keys and values together."""
        return self.key_bytes + self.value_bytes


@dataclass(frozen=True, slots=True)
class DBReport:
    """Every table, the data file's size and LMDB's figures."""

    path: str
    tables: tuple[TableSize, ...]
    file_bytes: int
    """Disk space the data file takes (its allocated blocks)."""
    used_bytes: int
    """LMDB pages up to the last allocated (free pages inside are reused, so this does not shrink)."""
    entries: int
    live_bytes: int = 0
    """LMDB pages the B+tree holds; ``used_bytes − live_bytes`` is free (``harmony db compact`` frees it)."""


def inspect_store(
    store: LMDBStore, path: Path, on_progress: Callable[[int, int], None] | None = None
) -> DBReport:
    """Count every table of ``store`` (the LMDB directory ``path``); ``on_progress(done, total)`` is
    called every :data:`PROGRESS_STEP` entries. Keys of no known table are counted under ``?``."""
    stats = store.stats()
    counts: dict[bytes, list[int]] = {}
    done = 0
    for key, value in store.iterate(b""):
        row = counts.setdefault(key[:1], [0, 0, 0])
        row[0] += 1
        row[1] += len(key)
        row[2] += len(value)
        done += 1
        if on_progress is not None and done % PROGRESS_STEP == 0:
            on_progress(done, stats.entries)
    if on_progress is not None:
        on_progress(done, stats.entries)
    tables = []
    for prefix, (entries, key_bytes, value_bytes) in sorted(counts.items()):
        name = schema.TABLES.get(prefix, "?")
        shown = prefix.decode("ascii") if prefix.isascii() and prefix.isalpha() else prefix.hex()
        tables.append(TableSize(shown, name, entries, key_bytes, value_bytes))
    return DBReport(str(path), tuple(tables), data_file_bytes(path), stats.used, done, stats.live)
