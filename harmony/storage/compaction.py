"""When a chain database is worth compacting (:meth:`harmony.storage.lmdb_store.LMDBStore.compact`).

Why it is needed: LMDB never returns a freed page to the file system, and a B+tree whose entries were
deleted here and there (pruned trie nodes, expired blocks) keeps pages that are mostly empty. A pruning
node's file therefore keeps the size of its largest moment, typically a fast sync through blocks of
thousands of transfers, while its live data is a fraction of it. Measured on ``bench/sync.py``'s pruned
node (100,000 blocks): a 96 MB file, 56 MB of it pages in use, holding 26 MB of keys and values;
compacted, 31 MB.

The rule: compact when the file is at least :data:`COMPACT_RATIO` times its pages in use and at least
:data:`COMPACT_MIN_FREE` bytes would be freed. A running node (:class:`harmony.node.pruning.Compactor`)
also compacts once a long fast sync caught up, and only while its pages in use are at most
:data:`ONLINE_COMPACT_MAX` (the copy pauses its loop, about a second per 100 MB); a larger one is compacted
by ``harmony db compact`` or ``harmony db prune`` while the node is stopped.

A compacted file does not stay that small under load: every page is full, so the next random inserts split
pages (half-full again) and copy-on-write frees pages the next commits reuse. It settles well below the
peak it came from.
"""

from __future__ import annotations

from collections.abc import Callable

from harmony.storage.lmdb_store import Compaction, LMDBStats, LMDBStore

__all__ = [
    "COMPACT_MIN_FREE",
    "COMPACT_RATIO",
    "ONLINE_COMPACT_MAX",
    "compact_if_wasteful",
    "wasteful",
]

COMPACT_RATIO = 1.5
"""File bytes over the bytes of the pages in use from which a compaction is worth it."""
COMPACT_MIN_FREE = 16 * 1024 * 1024
"""Fewest bytes of free pages worth a compaction."""
ONLINE_COMPACT_MAX = 256 * 1024 * 1024
"""Most bytes of pages in use a running node compacts itself (a pause of a few seconds at most)."""


def wasteful(stats: LMDBStats) -> bool:
    """Whether a database with these figures is worth compacting (module docstring)."""
    return stats.used >= COMPACT_RATIO * stats.live and stats.used - stats.live >= COMPACT_MIN_FREE


def compact_if_wasteful(
    store: LMDBStore, on_progress: Callable[[int, int], None] | None = None
) -> Compaction | None:
    """Compact ``store`` if :func:`wasteful` says so; what was done, or ``None``. (A running node decides
    with :class:`harmony.node.pruning.Compactor`, which also minds :data:`ONLINE_COMPACT_MAX`.)"""
    if not wasteful(store.stats()):
        return None
    return store.compact(on_progress)
