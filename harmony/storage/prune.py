"""State pruning: delete the trie nodes and code that no kept state reaches (design: ARCHITECTURE "Pruning").

**What is kept.** The states of the last :data:`KEEP_RECENT` blocks up to the head and of every epoch's
last block (the epoch boundaries, where an election and a state sync start), and genesis. An archive
node prunes nothing.

**How: mark and sweep over the kept roots, incremental, off the block-write path.** A round

1. notes the head ``H`` and starts recording the node hashes every block write puts from now on
   (:meth:`ChainDB.watch_state_nodes`);
2. *marks*: walks every kept state of the chain as of ``H`` (:func:`harmony.state.reach.mark_state`:
   account trie, each storage trie, code; a node shared by many states is entered once);
3. *sweeps*: reads the node table in key order and deletes, in write transactions of at most
   :data:`SWEEP_BATCH` keys, every entry that is neither marked nor written since step 1.

Why it is sound while blocks keep coming: a block after ``H`` builds its state from its parent's, whose
nodes are marked (the parent is ``H``, kept) or were written after step 1, plus the nodes it writes
itself, recorded in step 1's set even when identical to an old node. So no state of a block at or after
``H`` loses a node, and the states kept at ``H`` keep all of theirs. Every step is a generator that yields
its progress, so a node runs a round a slice at a time between blocks on its own loop (one thread: a
block write and a sweep batch never interleave) and the offline ``harmony db prune`` runs it with a
progress bar.

**Crash guarantee.** Each sweep batch is one LMDB write transaction deleting only unreachable entries;
a kill -9 at any moment leaves a database where every kept state is whole (possibly with some garbage
left for the next round, which starts from scratch: a round keeps no state on disk).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from harmony.state.reach import mark_state
from harmony.state.trie import MissingTrieNode
from harmony.storage import schema
from harmony.storage.chaindb import ChainDB

__all__ = ["KEEP_RECENT", "SWEEP_BATCH", "PruneProgress", "Pruner", "kept_numbers"]

KEEP_RECENT = 128
"""States of this many blocks up to the head are kept (the head's included)."""
SWEEP_BATCH = 4096
"""Most entries one sweep write transaction deletes."""
SCAN_STEP = 1024
"""Headers read for epoch boundaries between two progress reports."""


@dataclass(slots=True)
class PruneProgress:
    """Where a round is: its phase (``scan`` for epoch boundaries, ``mark``, ``sweep``, ``done``) and its
    counts so far."""

    phase: str = "scan"
    head: int = 0
    roots: int = 0
    """Kept states to mark."""
    roots_marked: int = 0
    marked: int = 0
    """Node and code hashes found in use."""
    scanned: int = 0
    """Node-table entries the sweep has read."""
    deleted: int = 0
    deleted_bytes: int = 0
    total: int = 0
    """Entries in the node table when the sweep started (0 if not counted)."""
    incomplete: list[int] = field(default_factory=list)
    """Kept blocks whose state was already incomplete (pruned before with a smaller window)."""


def kept_numbers(head: int, boundaries: list[int]) -> list[int]:
    """Block numbers whose states are kept at ``head``: genesis, the epoch boundaries, the recent ones."""
    recent = range(max(0, head - KEEP_RECENT + 1), head + 1)
    return sorted({0, *(n for n in boundaries if n <= head), *recent})


class Pruner:
    """Prunes one chain database, round after round; remembers the epoch boundaries it has found.

    The epoch boundaries are the blocks whose successor has a higher epoch; the chain is scanned once from
    genesis and then only from where the previous round stopped.
    """

    def __init__(self, db: ChainDB) -> None:
        self.db = db
        self.boundaries: list[int] = []
        self._scanned = 0
        """Headers below this number have been looked at."""
        self._roots: dict[int, bytes] = {}

    def _root_of(self, number: int) -> bytes | None:
        """The state root of canonical block ``number`` (remembered: kept blocks recur every round)."""
        root = self._roots.get(number)
        if root is None:
            header = self.db.get_header_by_number(number)
            if header is None:
                return None
            root = self._roots[number] = header.root
        return root

    def find_boundaries(self, head: int) -> Iterator[int]:
        """Scan the headers not seen yet up to ``head`` for epoch boundaries; yields the scan position
        every :data:`SCAN_STEP` headers (the first scan of a long chain reads every header once)."""
        previous = self.db.get_header_by_number(self._scanned)
        while self._scanned < head:
            following = self.db.get_header_by_number(self._scanned + 1)
            # a state-synced chain has no blocks between genesis and the pivot's ancestors: skip the gap
            if previous is not None and following is not None and following.epoch != previous.epoch:
                self.boundaries.append(self._scanned)
            self._scanned += 1
            previous = following
            if self._scanned % SCAN_STEP == 0:
                yield self._scanned

    def round(
        self, progress: PruneProgress | None = None, *, count_total: bool = False
    ) -> Iterator[PruneProgress]:
        """One mark-and-sweep round (module docstring), yielding its progress after every slice of work.

        A kept state that is already incomplete (pruned before under a smaller window) is listed in
        ``progress.incomplete`` and what remains of it kept.
        """
        progress = progress or PruneProgress()
        head = self.db.head_number()
        if head is None:
            progress.phase = "done"
            yield progress
            return
        progress.head = head
        progress.phase = "scan"
        for _ in self.find_boundaries(head):
            yield progress
        progress.phase = "mark"
        numbers = kept_numbers(head, self.boundaries)
        progress.roots = len(numbers)
        nodes = self.db.state_nodes()
        with self.db.watch_state_nodes() as written:
            marked: set[bytes] = set()
            for number in numbers:
                root = self._root_of(number)
                if root is None:
                    continue
                before = len(marked)
                try:
                    for _ in mark_state(nodes, root, marked):
                        progress.marked = len(marked)
                        yield progress
                except MissingTrieNode:
                    # pruned before under a smaller window: what it still reaches stays, nothing more
                    progress.incomplete.append(number)
                progress.roots_marked += 1
                if len(marked) != before:
                    yield progress
            progress.phase = "sweep"
            if count_total:
                progress.total = sum(1 for _ in self.db.kv.iterate(schema.STATE_NODE))
            yield progress
            batch: list[tuple[bytes, int]] = []
            for key, value in self.db.kv.iterate(schema.STATE_NODE):
                progress.scanned += 1
                if key[1:] not in marked:
                    batch.append((key, len(key) + len(value)))
                if len(batch) >= SWEEP_BATCH or progress.scanned % SWEEP_BATCH == 0:
                    self._delete(batch, written, progress)
                    batch = []
                    yield progress
            self._delete(batch, written, progress)
        kept = set(numbers)
        self._roots = {n: r for n, r in self._roots.items() if n in kept}
        progress.phase = "done"
        yield progress

    def _delete(self, batch: list[tuple[bytes, int]], written: set[bytes], progress: PruneProgress) -> None:
        """Delete ``batch`` in one write transaction, except what a block wrote since the round began."""
        doomed = [(key, size) for key, size in batch if key[1:] not in written]
        if not doomed:
            return
        with self.db.kv.write() as txn:
            for key, _ in doomed:
                txn.delete(key)
        progress.deleted += len(doomed)
        progress.deleted_bytes += sum(size for _, size in doomed)

    def run(self) -> PruneProgress:
        """One whole round without pausing; its final progress."""
        progress = PruneProgress()
        for progress in self.round():  # noqa: B007 (the last one is the answer)
            pass
        return progress
