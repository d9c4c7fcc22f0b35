"""Commit aggregates and VRFs checked in child processes, ahead of execution (issue 18: fast sync).

Checking a block's commit aggregate (two pairings, reference §1.3–§1.5) and its leader's VRF (one BLS
verify, two pairings, design §7) are most of the work of syncing an empty block, and the BLS library holds
the interpreter lock, so a thread would not run them beside execution. :class:`CommitWorker` sends an
answer's proofs and headers to a child process (``spawn``: nothing of the parent's trio state is
inherited; up to :data:`WORKERS` of them, so that two answers are checked at once) and awaits the
verdicts in a thread, so the event loop goes on executing earlier blocks meanwhile. The rules are the
chain's own functions, which the inline checks call too:
:func:`harmony.chain.commit_proof.verify_commit_signature` for the commit, whose pairings over an answer's
blocks are checked together (:func:`check_commits`: one AggregateVerify over their distinct payloads, each
block checked alone when the batch fails, so every verdict is the block's own), and
:func:`harmony.chain.epoch_randomness.check_leader_vrf` for the VRF (:func:`check_vrfs`: a plain sum of VRF
proofs could hide two wrong by opposite amounts, and nothing binds them as the next header binds a commit
aggregate, so their batch is randomized, :func:`~harmony.chain.epoch_randomness.check_leader_vrfs`: one
AggregateVerify of random multiples, each block alone when it fails).

The same children recover the senders of an answer's transactions ahead of execution
(:func:`recover_senders`, as Geth's sender cacher): for each transaction the pure
``(signing hash, v, r, s) → address`` of :func:`~harmony.types.tx_common.sender_of`, the signing hash for
the chain ID its own ``v`` names. The importer adds them to its sender cache
(:func:`~harmony.types.tx_common.remember_senders`) just before the block executes, where each is found
only under the exact signing hash and signature the importer recovers from itself, after its own chain-ID
checks; a transaction left out (a ``v`` naming no chain, a signature that does not recover) is recovered
there, so its error is the importer's own.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from typing import Any, TypeVar

import trio

from harmony.chain import payloads
from harmony.chain.commit_proof import (
    InvalidCommitProof,
    commit_terms,
    roster_for,
    verify_commit_with_roster,
)
from harmony.chain.epoch_randomness import check_leader_vrfs, leader_keys
from harmony.chain.quorum import Roster
from harmony.crypto.bitmap import aggregate_public_key
from harmony.crypto.bls import PublicKey, Signature, aggregate_signatures, aggregate_verify
from harmony.encoding.fixed import Dec
from harmony.errors import CryptoError, HarmonyError
from harmony.types.block import Block
from harmony.types.header import Header
from harmony.types.shard_state import Committee
from harmony.types.tx_common import KnownSender, sender_of

log = logging.getLogger("harmony.node.sync")

T = TypeVar("T")

Proof = tuple[int, bytes, int, bytes, bytes, bool]
"""(block number, block hash, view, commit signature, bitmap, bound): ``bound`` when the next proof of the
same list is of the next block, whose header carries this very signature and bitmap as its
``last_commit_*`` fields (so the block hash the next proof signs fixes this signature)."""


@lru_cache(maxsize=256)
def _signers_key(roster: Roster, bitmap: bytes) -> PublicKey:
    """The sum of the keys ``bitmap`` enables (one per signer set, not one per block: the same members
    sign block after block). The roster is itself cached, so its identity keys the cache."""
    return aggregate_public_key(roster.keys, bitmap)


def _prepare(roster: Roster, proof: Proof) -> tuple[PublicKey, bytes, Signature]:
    """The signers' key, the payload and the signature of ``proof`` after every check of the rule but the
    pairing (:func:`~harmony.chain.commit_proof.commit_terms`); :class:`InvalidCommitProof` if one fails."""
    number, block_hash, view, signature, bitmap, _ = proof
    if len(block_hash) != payloads.HASH_SIZE:
        raise InvalidCommitProof("payload", f"a block hash is 32 bytes, got {len(block_hash)}")
    message, sig = commit_terms(
        roster, number=number, block_hash=block_hash, view_id=view, signature=signature, bitmap=bitmap
    )
    return _signers_key(roster, bitmap), message, sig


def _check_one(roster: Roster, proof: Proof) -> str:
    number, block_hash, view, signature, bitmap, _ = proof
    try:
        verify_commit_with_roster(
            roster, number=number, block_hash=block_hash, view_id=view, signature=signature, bitmap=bitmap
        )
    except InvalidCommitProof as exc:
        return str(exc)
    return ""


def check_commits(committee: Committee, share: Dec, proofs: Sequence[Proof]) -> list[str]:
    """For each proof: ``""`` when ``committee`` finalized that block, else why not: the rule of
    :func:`~harmony.chain.commit_proof.verify_commit_signature`, whose verdicts these are, proof by proof.

    The pairings of many blocks are checked together: one AggregateVerify of the sum of their signatures
    over their distinct payloads (n + 1 pairings instead of 2n). A sum can pass while two of its terms are
    wrong by opposite amounts, so a proof joins the batch only when the next block in the batch carries its
    signature (``bound``), and at most one proof is not bound: the batch's payloads are then blocks a quorum
    signed, whose ``last_commit_*`` fields that quorum checked, so every bound term is that valid aggregate
    and the one free term equals the sum minus them, i.e. its own valid aggregate. If the batch does not
    verify, every proof in it is checked alone, so each bad one gets its own verdict; a proof that is
    neither bound nor the free one is checked alone.
    """
    if not proofs:
        return []
    try:
        roster = roster_for(committee, share)
    except InvalidCommitProof as exc:
        return [str(exc)] * len(proofs)
    verdicts = [""] * len(proofs)
    prepared: dict[int, tuple[PublicKey, bytes, Signature]] = {}
    for index, proof in enumerate(proofs):
        try:
            prepared[index] = _prepare(roster, proof)
        except InvalidCommitProof as exc:
            verdicts[index] = str(exc)
        except CryptoError:  # the signers' keys sum to nothing usable: the pairing check alone says why
            verdicts[index] = _check_one(roster, proof) or "signature: the signers' keys do not aggregate"
    batch: list[int] = []
    alone: list[int] = []
    free_taken = False
    for index in reversed(range(len(proofs))):  # a proof is bound only if its successor is in the batch
        if index not in prepared:
            continue
        if proofs[index][5] and batch and batch[-1] == index + 1:
            batch.append(index)
        elif not free_taken:
            free_taken = True
            batch.append(index)
        else:
            alone.append(index)
    if len(batch) == 1:
        alone.extend(batch)
    elif batch:
        keys = [prepared[i][0] for i in batch]
        messages = [prepared[i][1] for i in batch]
        total = aggregate_signatures([prepared[i][2] for i in batch])
        if not aggregate_verify(keys, messages, total):
            alone.extend(batch)
    for index in alone:
        verdicts[index] = _check_one(roster, proofs[index])
    return verdicts


def check_vrfs(committee: Committee | None, headers: Sequence[Header], *, require_vrf: bool) -> list[str]:
    """For each header of ``committee``'s shard and epoch: ``""`` when its ``vrf`` is the VRF of its
    ``parent_hash`` under its coinbase's key in ``committee`` (design §7,
    :func:`~harmony.chain.epoch_randomness.check_leader_vrf`; a header without one passes only when the
    rules do not ``require_vrf``), else why not. The proofs are checked together, in one randomized
    batch (:func:`~harmony.chain.epoch_randomness.check_leader_vrfs`), each alone when it fails. The
    caller must still see that each header's parent is the block it extends: the verdict is over the
    parent hash the header names."""
    verdicts = [""] * len(headers)
    checks = []
    positions = []
    for position, header in enumerate(headers):
        if not header.vrf and not require_vrf:
            continue
        checks.append((header, header.parent_hash, leader_keys(committee, header.coinbase)))
        positions.append(position)
    for position, error in zip(
        positions, check_leader_vrfs(checks, seed=secrets.token_bytes(32)), strict=True
    ):
        if error is not None:
            verdicts[position] = str(error)
    return verdicts


def check_blocks(
    committee: Committee, share: Dec, proofs: Sequence[Proof], headers: Sequence[Header], require_vrf: bool
) -> tuple[list[str], list[str]]:
    """The verdicts of :func:`check_commits` over ``proofs`` and of :func:`check_vrfs` over ``headers`` (the
    worker's one call per answer and epoch)."""
    return check_commits(committee, share, proofs), check_vrfs(committee, headers, require_vrf=require_vrf)


def recover_senders(blocks: Sequence[bytes]) -> list[list[KnownSender]]:
    """For each encoded block, ``(msg_hash, v, r, s, address)`` of every transaction (plain, then staking)
    whose sender recovers: ``msg_hash`` is its signing hash for the chain ID its ``v`` names and
    ``address`` is :func:`~harmony.types.tx_common.sender_of` of the four (Go ``recoverPlain``). A
    transaction whose ``v`` names no chain or whose signature does not recover is left out, and a block that
    does not decode (bounded as the importer's decode: :meth:`Block.decode`) gives nothing: the importer
    recovers those itself, by the rule of validity, which is not applied here (no chain ID is checked)."""
    recovered: list[list[KnownSender]] = []
    for raw in blocks:
        known: list[KnownSender] = []
        try:
            block = Block.decode(raw)
        except HarmonyError:
            recovered.append(known)
            continue
        for tx in (*block.transactions, *block.staking_transactions):
            try:
                msg_hash = tx.signing_hash(tx.chain_id)
                known.append((msg_hash, tx.v, tx.r, tx.s, sender_of(msg_hash, tx.v, tx.r, tx.s)))
            except HarmonyError:  # garbage from a peer: no result, the importer finds out why
                continue
        recovered.append(known)
    return recovered


WORKERS = 2
"""Child processes at most. The checks of an empty block (its commit's and its VRF's share of two
batches) cost about twice its execution (0.7 against 0.3-0.4 ms in ``bench/sync.py``; four times before
the VRFs were batched), so on two cores one child would leave the importer waiting for it; two children
check two answers at once and the three processes share the cores."""


def _timed(function: Callable[..., T], *args: Any) -> tuple[T, float]:
    """``function(*args)`` in a child, with the CPU seconds the child spent on it."""
    started = time.process_time()
    result = function(*args)
    return result, time.process_time() - started


class CommitWorker:
    """Child processes that check commit proofs and VRFs, one answer each at a time (module docstring);
    :meth:`close` ends them."""

    def __init__(self, processes: int | None = None) -> None:
        count = processes if processes is not None else min(WORKERS, os.cpu_count() or 1)
        self._pool = ProcessPoolExecutor(
            max_workers=max(1, count), mp_context=multiprocessing.get_context("spawn")
        )
        self.failed = False
        self.cpu_seconds = 0.0
        """CPU the children spent checking and recovering senders, summed over the answers."""

    async def _run(self, function: Callable[..., T], *args: Any) -> T | None:
        """``function(*args)`` in a child, or ``None`` if the worker could not run it (the caller then does
        the work in process)."""
        if self.failed:
            return None
        try:
            future = self._pool.submit(_timed, function, *args)
            result, cpu = await trio.to_thread.run_sync(
                future.result,
                abandon_on_cancel=True,  # type: ignore[call-arg]
            )
        except Exception as exc:  # a dead or unstartable child: fall back, never stop the sync
            log.warning("commit worker failed, checking in process: %r", exc)
            self.failed = True
            return None
        self.cpu_seconds += cpu
        return result

    async def check(
        self,
        committee: Committee,
        share: Dec,
        proofs: Sequence[Proof],
        headers: Sequence[Header],
        *,
        require_vrf: bool,
    ) -> tuple[list[str], list[str]] | None:
        """The verdicts of :func:`check_blocks`, or ``None`` if the worker could not give them (the caller
        then checks in process)."""
        return await self._run(check_blocks, committee, share, list(proofs), list(headers), require_vrf)

    async def senders(self, blocks: Sequence[bytes]) -> list[list[KnownSender]] | None:
        """The senders :func:`recover_senders` recovers from the encoded ``blocks``, or ``None`` if the
        worker could not give them (the importer then recovers every sender itself)."""
        return await self._run(recover_senders, list(blocks))

    def close(self) -> None:
        """Stop the child processes (pending checks are dropped)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


__all__ = ["CommitWorker", "Proof", "check_blocks", "check_commits", "check_vrfs", "recover_senders"]
