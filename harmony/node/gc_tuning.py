"""Garbage-collector settings for a long-running node process.

A node allocates many short-lived containers per transaction (decoded RLP lists, pool entries, receipts,
trie nodes) and keeps a few hundred thousand long-lived ones (modules, caches, the pool). With CPython's
default thresholds (700, 10, 10) a loaded devnet node ran about 20 collections a second and a full one
every 5 s that scanned every long-lived object and stalled the event loop for 200-270 ms, in the middle of
consensus rounds.

:func:`tune` moves what exists after start-up into the permanent generation (``gc.freeze``: modules,
classes and configuration are never garbage, so full collections stop scanning them) and raises the
thresholds so young collections run about a hundred times less often. Cyclic garbage is still collected;
only its timing changes.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
"""Allocations minus deallocations of tracked objects that trigger a young collection (default 700)."""
MIDDLE_THRESHOLD = 20
"""Young collections per middle one (default 10)."""
OLD_THRESHOLD = 100
"""Middle collections per full one, which also waits for the long-lived objects to grow by 25 %."""


def tune() -> None:
    """Freeze the start-up heap and raise the collection thresholds (module docstring)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
