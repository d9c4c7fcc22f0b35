"""The running node's pruning (old states, old blocks), a slice at a time on the loop.

The rules and their soundness are :mod:`harmony.storage.prune`; this module only decides when they run and
lets the rest of the node run between slices, so a block is never delayed by more than one slice (one
write transaction, or a few thousand marked nodes). Every :data:`PRUNE_EVERY` blocks of head progress it
expires the blocks below the history floor (work that grows with the blocks, so it keeps pace with a fast
sync and the file holds only the kept history) and runs a state round, at most :data:`MAX_SHARE` of the
loop's time (a round's work grows with the state). After a state round its :class:`Compactor` compacts the
data file (a pruning node's file keeps the size of its busiest moment otherwise) when
:func:`~harmony.storage.compaction.wasteful` says so, or once a fast sync of at least
:data:`SYNC_COMPACT_BLOCKS` blocks caught up (its churn is over: the file gives back its peak before the node
settles), at most :data:`COMPACT_SHARE` of the loop's time. ``--archive`` (``[storage] archive = true``)
does not start it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from time import perf_counter

import trio

from harmony.storage.chaindb import ChainDB
from harmony.storage.compaction import ONLINE_COMPACT_MAX, wasteful
from harmony.storage.errors import StorageError
from harmony.storage.lmdb_store import Compaction, LMDBStore
from harmony.storage.prune import KEEP_RECENT, PruneProgress, Pruner, can_drop_states

log = logging.getLogger(__name__)

PRUNE_EVERY = KEEP_RECENT // 2
"""Blocks of head progress between two rounds: the node table holds at most about 1.5x the kept states'
nodes plus the epoch boundaries'."""
CHECK_INTERVAL = 2.0
"""Seconds between two looks at the head."""
MAX_SHARE = 0.05
"""Most of the loop's time pruning takes over a round and the pause after it: a round that worked ``w``
seconds is followed by at least ``w × (1 / MAX_SHARE − 1)`` seconds without one. On a live chain rounds are
much further apart anyway (:data:`PRUNE_EVERY` blocks); a node fast-syncing a thousand blocks a second
would otherwise sweep the whole node table every :data:`CHECK_INTERVAL`."""
COMPACT_SHARE = 0.01
"""Most of the loop's time compactions take: one that paused the loop ``w`` seconds is followed by at least
``w × (1 / COMPACT_SHARE − 1)`` seconds without one."""
COMPACT_RETRY_S = 3600.0
"""Seconds after a failed compaction (the database unchanged: a full disk, say) before the next try."""
SYNC_COMPACT_BLOCKS = 10_000
"""Blocks a fast sync must have stored, up to catching up, for the next round to compact in any case."""


class Compactor:
    """When the running node compacts its store (module docstring): after a pruning round, if the file is
    :func:`~harmony.storage.compaction.wasteful` or a long fast sync just caught up, the store is no larger
    than :data:`~harmony.storage.compaction.ONLINE_COMPACT_MAX` and the last compaction's pause is
    :data:`COMPACT_SHARE` of the time since."""

    def __init__(self, store: LMDBStore, *, share: float = COMPACT_SHARE) -> None:
        self.store = store
        self.share = share
        self.due = 0.0
        """``trio.current_time()`` before which no compaction starts."""
        self.after_sync = False
        """A fast sync of :data:`SYNC_COMPACT_BLOCKS` blocks or more caught up since the last compaction."""
        self.done: list[Compaction] = []
        self._told = False

    def synced(self, stored: int) -> None:
        """A fast sync caught up with the peers' head, having stored ``stored`` blocks."""
        if stored >= SYNC_COMPACT_BLOCKS:
            self.after_sync = True

    def after_round(self) -> Compaction | None:
        """Compact now if the rules of the class say so; what was done, or ``None``."""
        if trio.current_time() < self.due:
            return None
        stats = self.store.stats()
        if not (self.after_sync or wasteful(stats)):
            return None
        if stats.live > ONLINE_COMPACT_MAX:
            if not self._told:
                self._told = True
                log.warning(
                    "the database file is %.0f MB for %.0f MB of pages in use, too large to compact while "
                    "the node runs (over %d MB): stop the node and run `harmony db compact`",
                    stats.used / 1e6,
                    stats.live / 1e6,
                    ONLINE_COMPACT_MAX // 1_000_000,
                )
            return None
        try:
            done = self.store.compact()
        except StorageError as exc:
            if self.store.closed:
                raise  # the new file is in place but would not open: nothing to run on
            log.warning("%s; trying again in %.0f s", exc, COMPACT_RETRY_S)
            self.due = trio.current_time() + COMPACT_RETRY_S
            return None
        self.after_sync = False
        self.done.append(done)
        self.due = trio.current_time() + done.seconds * (1 / self.share - 1)
        log.info(
            "compacted the database: %.1f MB on disk, was %.1f MB (%d entries in %.2f s)",
            done.after / 1e6,
            done.before / 1e6,
            done.entries,
            done.seconds,
        )
        return done


async def prune_forever(
    db: ChainDB,
    *,
    every: int = PRUNE_EVERY,
    interval: float = CHECK_INTERVAL,
    share: float = MAX_SHARE,
    history: bool = True,
    compactor: Compactor | None = None,
) -> None:
    """Prune forever: expire old blocks whenever the head has moved ``every`` blocks (``history``), and
    run a state round as often, taking at most ``share`` of the loop's time (:data:`MAX_SHARE`); after a
    round, the ``compactor`` (of the LMDB store under ``db``) compacts when it is worth it."""
    pruner = Pruner(db, history=False)
    last_state: int | None = None
    last_history: int | None = None
    state_due = 0.0
    """``trio.current_time()`` before which no state round starts (the pause after the last one)."""
    while True:
        await trio.sleep(interval)
        head = db.head_number()
        if head is None or head < every:
            continue
        if history and (last_history is None or head - last_history >= every):
            expired = await _slices(pruner.expire())
            last_history = head
            if expired.expired:
                log.info(
                    "expired %d old blocks at head %d: blocks whole from %d on",
                    expired.expired,
                    head,
                    expired.history_floor,
                )
        if (last_state is not None and head - last_state < every) or trio.current_time() < state_due:
            continue
        if not can_drop_states(head):
            continue
        started = time.monotonic()
        worked = [0.0]
        progress = await _slices(pruner.round(), worked)
        last_state = progress.head
        log.info(
            "pruned the state at head %d: %d kept states, %d nodes in use, %d deleted (%.1f MB) in %.1f s "
            "(%.1f s of it pruning)",
            progress.head,
            progress.roots,
            progress.marked,
            progress.deleted,
            progress.deleted_bytes / 1e6,
            time.monotonic() - started,
            worked[0],
        )
        state_due = trio.current_time() + worked[0] * (1 / share - 1)
        if compactor is not None:
            compactor.after_round()


async def _slices(steps: Iterator[PruneProgress], worked: list[float] | None = None) -> PruneProgress:
    """Run ``steps`` a slice at a time, letting the loop's other tasks run between them; the last
    progress, and the seconds worked added to ``worked[0]``."""
    progress = PruneProgress()
    while True:
        slice_started = perf_counter()
        step = next(steps, None)
        if worked is not None:
            worked[0] += perf_counter() - slice_started
        if step is None:
            return progress
        progress = step
        await trio.sleep(0)
