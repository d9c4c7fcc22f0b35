"""Commit aggregates checked in a child process, ahead of execution (issue 18: fast sync).

Checking a block's commit aggregate (two pairings, reference §1.3–§1.5) is about a third of the work of
syncing an empty block, and the BLS library holds the interpreter lock, so a thread would not run it
beside execution. :class:`CommitWorker` sends batches of proofs to one child process (``spawn``: nothing of
the parent's trio state is inherited) and awaits the verdicts in a thread, so the event loop goes on
executing earlier blocks meanwhile. The rule is :func:`harmony.chain.commit_proof.verify_commit_signature`,
the same function the inline check calls; the worker only moves where it runs.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import trio

from harmony.chain.commit_proof import InvalidCommitProof, verify_commit_signature
from harmony.encoding.fixed import Dec
from harmony.types.shard_state import Committee

log = logging.getLogger("harmony.node.sync")

Proof = tuple[int, bytes, int, bytes, bytes]
"""(block number, block hash, view, commit signature, bitmap)."""


def check_commits(committee: Committee, share: Dec, proofs: Sequence[Proof]) -> list[str]:
    """For each proof: ``""`` when ``committee`` finalized that block, else why not (the rule of
    :func:`~harmony.chain.commit_proof.verify_commit_signature`)."""
    verdicts = []
    for number, block_hash, view, signature, bitmap in proofs:
        try:
            verify_commit_signature(
                committee,
                share,
                number=number,
                block_hash=block_hash,
                view_id=view,
                signature=signature,
                bitmap=bitmap,
            )
        except InvalidCommitProof as exc:
            verdicts.append(str(exc))
        else:
            verdicts.append("")
    return verdicts


class CommitWorker:
    """One child process that checks commit proofs (module docstring); :meth:`close` ends it."""

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        self.failed = False

    async def check(self, committee: Committee, share: Dec, proofs: Sequence[Proof]) -> list[str] | None:
        """The verdicts of :func:`check_commits`, or ``None`` if the worker could not give them (the caller
        then checks in process)."""
        if self.failed:
            return None
        try:
            future = self._pool.submit(check_commits, committee, share, list(proofs))
            verdicts: list[str] = await trio.to_thread.run_sync(
                future.result,
                abandon_on_cancel=True,  # type: ignore[call-arg]
            )
        except Exception as exc:  # a dead or unstartable child: fall back, never stop the sync
            log.warning("commit worker failed, checking in process: %r", exc)
            self.failed = True
            return None
        return verdicts

    def close(self) -> None:
        """Stop the child process (pending checks are dropped)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


__all__ = ["CommitWorker", "Proof", "check_commits"]
