"""Final blocks made durable off the event loop (issue 16, item 2: a pipelined round).

A profile of a validator under ``bench/devnet.py``'s load (1,200 tx/s, 1 s blocks; py-spy, 20 s) showed its
trio loop blocked in LMDB's durable commit of each stored block (5.8-6.9 % of the loop's time in 4 runs at
load 6-16, some 60-90 ms per block), between the COMMITTED message and everything after it: the next
announce, the votes, the next proposal.

So the node's chain database writes through a :class:`~harmony.storage.staged.StagedStore`: a block's write
transaction (:meth:`~harmony.storage.chaindb.ChainDB.write_block`, still one per block) is staged whole in
memory, where every read sees it at once, and :class:`BackgroundCommits` replays what is staged into LMDB in
one write transaction on a worker thread (py-lmdb releases the GIL while it commits and fsyncs), one commit
at a time, in staging order, while the loop goes on with the next round.

What stays as it was: the base store holds whole blocks only, the head pointer among them, so a SIGKILL or a
power loss leaves the last block whose commit finished intact (at most the block under commit and those
staged meanwhile are lost; they are final, and sync fetches them again); the signer's state and the WAL are
written by the consensus core as before, durably before any signature leaves, so nothing signed can be
signed differently after such a loss. Fast sync's own flushes (``ChainDB.staged()`` joins this stage) stay
synchronous and durable when they return. Stopping the node commits what is staged before the store closes.
"""

from __future__ import annotations

import logging
from typing import Any

import trio

from harmony.abc import BatchCommitStore
from harmony.errors import HarmonyError
from harmony.storage.chaindb import ChainDB
from harmony.storage.staged import StagedStore

log = logging.getLogger("harmony.node")


class BackgroundCommits:
    """The chain database's writes, staged at once and made durable on a worker thread (module docstring)."""

    def __init__(self, db: ChainDB, base: BatchCommitStore) -> None:
        self.db = db
        self.base = base
        self.stage = StagedStore(base, on_stage=self._wake)
        self.commits = 0
        """Background commits that reached the base store."""
        self.fallbacks = 0
        """Background commits that failed and were made on the loop instead (a map that must grow)."""
        self._wanted = trio.Event()
        self._limiter = trio.CapacityLimiter(1)

    def _wake(self) -> None:
        self._wanted.set()

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Put the stage under the chain database, then commit what is staged whenever something is, until
        cancelled; then commit the rest on the loop and take the stage away."""
        if self.db.kv is not self.base:
            raise HarmonyError("background commits: the chain database is not over the given store")
        self.db.kv = self.stage
        try:
            task_status.started()
            while True:
                await self._wanted.wait()
                self._wanted = trio.Event()
                await self.commit_staged()
        finally:
            self.db.kv = self.base
            self.stage.flush()  # on the loop: durable before the store closes

    async def commit_staged(self) -> None:
        """Commit what is staged now on a worker thread; on a failure, on the loop (where a full LMDB map
        can grow), raising what that raises."""
        if self.stage.take() is None:
            return
        try:
            commit = self.base.commit_batch
            await trio.to_thread.run_sync(self.stage.commit_taken, commit, limiter=self._limiter)
        except HarmonyError as exc:
            log.warning("background commit failed (%s): committing on the loop", exc)
        finally:
            committed = self.stage.settle()
            self.base.refresh()
        if committed:
            self.commits += 1
            return
        self.fallbacks += 1
        self.stage.flush()
