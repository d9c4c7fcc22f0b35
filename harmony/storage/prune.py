"""Pruning: delete the trie nodes and code that no kept state reaches, and expire old blocks (design:
ARCHITECTURE "Pruning").

**What is kept.** The states of the last :data:`KEEP_RECENT` blocks up to the head and of every epoch's
last block (the epoch boundaries, where an election and a state sync start), and genesis. Blocks are kept
whole from the history floor :func:`history_target` names on: the last :data:`HISTORY_BLOCKS` blocks and
the last :data:`HISTORY_EPOCHS` epochs with the :data:`HISTORY_BLOCKS` before them, which is everything a
node state-syncing from this one asks (the pivot, one of the last three epoch ends, its ancestors, the
beacon's whole pivot epoch, and every block after it) and what a node that was down for less than a few
epochs asks to catch up. Below the floor a block keeps only what the schema's "history expiry" names (an
epoch end's header and commit signature for the epoch chain, a cross-shard sender's proof). An archive
node prunes nothing.

**How: mark and sweep over the kept roots, incremental, off the block-write path.** A round

1. notes the head ``H`` and starts recording the node hashes every block write puts from now on
   (:meth:`ChainDB.watch_state_nodes`);
2. *marks*: walks every kept state of the chain as of ``H`` (:func:`harmony.state.reach.mark_state`:
   account trie, each storage trie, code; a node shared by many states is entered once);
3. *sweeps*: reads the node table in key order and deletes, in write transactions of at most
   :data:`SWEEP_BATCH` keys, every entry that is neither marked nor written since step 1.

4. *expires history*: :meth:`ChainDB.expire_history` up to the floor, a write transaction per
   :data:`~harmony.storage.chaindb.EXPIRE_TRANSACTIONS` transactions.

Why it is sound while blocks keep coming: a block after ``H`` builds its state from its parent's, whose
nodes are marked (the parent is ``H``, kept) or were written after step 1, plus the nodes it writes
itself, recorded in step 1's set even when identical to an old node. So no state of a block at or after
``H`` loses a node, and the states kept at ``H`` keep all of theirs. Every step is a generator that yields
its progress, so a node runs a round a slice at a time between blocks on its own loop (one thread: a
block write and a sweep batch never interleave) and the offline ``harmony db prune`` runs it with a
progress bar.

**Crash guarantee.** Each sweep batch is one LMDB write transaction deleting only unreachable entries;
a kill -9 at any moment leaves a database where every kept state is whole (possibly with some garbage
left for the next round, which starts from scratch: a round keeps no state on disk but the history floor,
moved in the same write transaction as the blocks it expires).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from harmony.chain.params import BLOCKHASH_WINDOW, PIVOT_EPOCHS
from harmony.state.reach import mark_state
from harmony.state.trie import MissingTrieNode
from harmony.storage import schema
from harmony.storage.chaindb import ChainDB

__all__ = [
    "HISTORY_BLOCKS",
    "HISTORY_EPOCHS",
    "KEEP_RECENT",
    "SWEEP_BATCH",
    "PruneProgress",
    "Pruner",
    "history_target",
    "kept_numbers",
]

KEEP_RECENT = 128
"""States of this many blocks up to the head are kept (the head's included)."""
SWEEP_BATCH = 4096
"""Most entries one sweep write transaction deletes."""
HISTORY_BLOCKS = BLOCKHASH_WINDOW
"""Blocks before the head, and before the oldest kept epoch, kept whole: the BLOCKHASH opcode's window, the
ancestors a state sync stores with its pivot."""
HISTORY_EPOCHS = PIVOT_EPOCHS + 1
"""Whole epochs kept: a state sync's pivot is one of the last :data:`PIVOT_EPOCHS` epoch ends (and on the
beacon chain it reads the pivot's whole epoch), and a node down for up to about three epochs (mainnet: 4.5
days) catches up by block sync from this one."""


@dataclass(slots=True)
class PruneProgress:
    """Where a round is: its phase (``mark``, ``sweep``, ``history``, ``done``) and its counts so far."""

    phase: str = "mark"
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
    history_floor: int = 0
    """Blocks below this number are expired (0: none)."""
    history_target: int = 0
    """Where this round moves the history floor to."""
    expired: int = 0
    """Blocks this round expired."""


def kept_numbers(head: int, boundaries: list[int]) -> list[int]:
    """Block numbers whose states are kept at ``head``: genesis, the epoch boundaries, the recent ones."""
    recent = range(max(0, head - KEEP_RECENT + 1), head + 1)
    return sorted({0, *(n for n in boundaries if n <= head), *recent})


def can_drop_states(head: int) -> bool:
    """Whether a state round at ``head`` can delete anything: only once some block's state has left the
    recent window. Up to head :data:`KEEP_RECENT` every state is kept, so a round would mark every node
    and delete none (on a loaded devnet: 1.8 s of each node's loop at head 64, for nothing)."""
    return head > KEEP_RECENT


def history_target(head: int, boundaries: list[int]) -> int:
    """The history floor a pruning node keeps at ``head`` (module docstring): every block from it on whole.

    0 (keep every block) until :data:`HISTORY_EPOCHS` epochs have ended, since a node then could not start
    from a state sync; otherwise the lowest of ``head − HISTORY_BLOCKS + 1``, the first block of the
    oldest kept epoch, and ``HISTORY_BLOCKS`` before the oldest pivot a state sync may choose.
    """
    ended = [n for n in boundaries if n <= head]
    if len(ended) < HISTORY_EPOCHS:
        return 0
    oldest_pivot = ended[-(HISTORY_EPOCHS - 1)]
    oldest_epoch_start = ended[-HISTORY_EPOCHS] + 1
    return max(0, min(head - HISTORY_BLOCKS + 1, oldest_epoch_start, oldest_pivot - HISTORY_BLOCKS + 1))


class Pruner:
    """Prunes one chain database, round after round (the epoch boundaries are the stored epoch ends,
    :meth:`ChainDB.epoch_ends`); ``history=False`` keeps every block (state pruning only)."""

    def __init__(self, db: ChainDB, *, history: bool = True) -> None:
        self.db = db
        self.history = history
        self.boundaries: list[int] = []
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
        progress.phase = "mark"
        self.boundaries = list(self.db.epoch_ends())
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
        if self.history:
            yield from self.expire(progress, boundaries=self.boundaries)
        progress.phase = "done"
        yield progress

    def expire(
        self, progress: PruneProgress | None = None, *, boundaries: list[int] | None = None
    ) -> Iterator[PruneProgress]:
        """Move the history floor up to :func:`history_target` at the head, a write transaction per slice
        (step 4 of a round, which passes the epoch ends it read; the node also runs it alone: its work grows
        with the blocks, not the state)."""
        progress = progress or PruneProgress()
        head = self.db.head_number()
        if head is None:
            return
        progress.head = head
        progress.phase = "history"
        self.boundaries = list(self.db.epoch_ends()) if boundaries is None else boundaries
        floor = progress.history_floor = self.db.history_floor()
        target = progress.history_target = history_target(head, self.boundaries)
        while floor < target:
            reached = self.db.expire_history(target)
            if reached <= max(1, floor):
                break  # the head is below the target: nothing more to expire now
            progress.expired += reached - max(1, floor)
            progress.history_floor = floor = reached
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
