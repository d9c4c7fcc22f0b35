"""The running node's state pruning: a mark-and-sweep round now and then, a slice at a time on the loop.

The rule and its soundness are :mod:`harmony.storage.prune`; this module only decides when a round runs
(every :data:`PRUNE_EVERY` blocks of head progress) and lets the rest of the node run between slices of
it, so a block is never delayed by more than one slice (one sweep transaction or a few thousand marked
nodes). ``--archive`` (``[storage] archive = true``) does not start it.
"""

from __future__ import annotations

import logging
import time
from time import perf_counter

import trio

from harmony.storage.chaindb import ChainDB
from harmony.storage.prune import KEEP_RECENT, PruneProgress, Pruner

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


async def prune_forever(
    db: ChainDB, *, every: int = PRUNE_EVERY, interval: float = CHECK_INTERVAL, share: float = MAX_SHARE
) -> None:
    """Run a pruning round whenever the head has moved ``every`` blocks since the last one, forever, taking
    at most ``share`` of the loop's time (:data:`MAX_SHARE`)."""
    pruner = Pruner(db)
    last: int | None = None
    while True:
        await trio.sleep(interval)
        head = db.head_number()
        if head is None or (last is not None and head - last < every) or (last is None and head < every):
            continue
        started = time.monotonic()
        progress = PruneProgress()
        worked = 0.0
        rounds = pruner.round()
        while True:
            slice_started = perf_counter()
            step = next(rounds, None)
            worked += perf_counter() - slice_started
            if step is None:
                break
            progress = step
            await trio.sleep(0)
        last = progress.head
        log.info(
            "pruned the state at head %d: %d kept states, %d nodes in use, %d deleted (%.1f MB) in %.1f s "
            "(%.1f s of it pruning)",
            progress.head,
            progress.roots,
            progress.marked,
            progress.deleted,
            progress.deleted_bytes / 1e6,
            time.monotonic() - started,
            worked,
        )
        await trio.sleep(max(0.0, worked * (1 / share - 1) - interval))
