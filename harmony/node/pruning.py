"""The running node's state pruning: a mark-and-sweep round now and then, a slice at a time on the loop.

The rule and its soundness are :mod:`harmony.storage.prune`; this module only decides when a round runs
(every :data:`PRUNE_EVERY` blocks of head progress) and lets the rest of the node run between slices of
it, so a block is never delayed by more than one slice (one sweep transaction or a few thousand marked
nodes). ``--archive`` (``[storage] archive = true``) does not start it.
"""

from __future__ import annotations

import logging
import time

import trio

from harmony.storage.chaindb import ChainDB
from harmony.storage.prune import KEEP_RECENT, PruneProgress, Pruner

log = logging.getLogger(__name__)

PRUNE_EVERY = KEEP_RECENT // 2
"""Blocks of head progress between two rounds: the node table holds at most about 1.5x the kept states'
nodes plus the epoch boundaries'."""
CHECK_INTERVAL = 2.0
"""Seconds between two looks at the head."""


async def prune_forever(db: ChainDB, *, every: int = PRUNE_EVERY, interval: float = CHECK_INTERVAL) -> None:
    """Run a pruning round whenever the head has moved ``every`` blocks since the last one, forever."""
    pruner = Pruner(db)
    last: int | None = None
    while True:
        await trio.sleep(interval)
        head = db.head_number()
        if head is None or (last is not None and head - last < every) or (last is None and head < every):
            continue
        started = time.monotonic()
        progress = PruneProgress()
        for progress in pruner.round():  # noqa: B007 (the last one is the result)
            await trio.sleep(0)
        last = progress.head
        log.info(
            "pruned the state at head %d: %d kept states, %d nodes in use, %d deleted (%.1f MB) in %.1f s",
            progress.head,
            progress.roots,
            progress.marked,
            progress.deleted,
            progress.deleted_bytes / 1e6,
            time.monotonic() - started,
        )
