"""Fast block sync (issue 18): ranges from several peers at once, checked, executed, written in batches.

A node far behind its peers runs one :class:`FastSync` session towards the highest head they announced:

* **Fetch.** Every peer that is ahead and holds the next block (a pruning peer expires old ones and says
  from which block it serves, :mod:`harmony.p2p.sync_protocol`) gets :data:`PER_PEER` fetch tasks; each
  takes the next range of at most :data:`~harmony.p2p.sync_protocol.MAX_BLOCKS` blocks from a
  :class:`~harmony.node.sync_ranges.RangeSchedule` (never past that peer's head, never more than
  :data:`WINDOW` blocks ahead of the import) and asks for it over the sync protocol, whose answers are
  bounded in size before decoding. A peer that does not answer in time (a slow or dripping peer: the whole
  request has one deadline), answers garbage or over the cap, or does not hold a range it claimed is
  penalized on the host and dropped from the session; its range goes to another peer. Nothing received is
  thrown away because of another peer's fault.
* **Check and execute, in order.** The importer takes the answers in block order. A block must decode, be
  the next number, extend the head, and carry a commit aggregate that verifies under its epoch's committee
  with more than 2/3 of the voting power (:func:`check_commit`, reference §1.3–§1.5), and a VRF that is
  its leader's over the parent hash (design §7); an answer's blocks are checked as it arrives, in a child
  process far behind (:mod:`~harmony.node.commit_worker`: the commit aggregates together, the VRFs in a
  randomized batch; the senders of its transactions are recovered there too, so that execution finds
  them in its sender cache). Blocks of an epoch not stored yet are checked ahead under the committee the
  previous epoch's last block announces, a verdict that counts only if the chain stores that very
  committee once the block is imported. A peer whose block fails any of these served a forged block: it is
  penalized heavily and dropped, and the block is asked of another peer. The block is then executed on
  its parent's state by the chain's own rule of validity (:meth:`Blockchain.verify`, ``final=True``, the
  VRF not checked twice). Fetching goes on while blocks execute (the fetch tasks run whenever the
  importer yields), so the network and the execution overlap.
* **Write in batches.** Blocks are written through :meth:`ChainDB.staged`: each block is one staged write,
  and every :data:`FLUSH_BLOCKS` blocks, :data:`FLUSH_SECONDS` seconds or :data:`FLUSH_BYTES` bytes they
  become durable in one LMDB write transaction. A kill -9 leaves the last flushed block as the head,
  complete (design §3.4); a stopped session flushes what it verified, so no verified block is lost.

After each flush the driver hears of the stored blocks (:class:`Stored`), runs what a commit runs after a
store, and restarts its consensus core at the new head. Progress (rate, ETA) is reported through
:class:`~harmony.node.sync_progress.SyncProgress`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import trio

from harmony.chain.commit_proof import InvalidCommitProof, verify_commit_signature
from harmony.chain.errors import InvalidBlock
from harmony.errors import HarmonyError
from harmony.node.blockchain import Blockchain
from harmony.node.commit_worker import CommitWorker, check_blocks, check_vrfs
from harmony.node.sync_progress import SyncProgress
from harmony.node.sync_ranges import Answer, RangeSchedule, Span
from harmony.p2p.errors import P2PBadResponse, P2PTimeout
from harmony.p2p.sync_protocol import MAX_BLOCKS, cut_by_size
from harmony.types.block import Block
from harmony.types.shard_state import Committee
from harmony.types.tx_common import KnownSender, remember_senders

log = logging.getLogger("harmony.node.sync")

PER_PEER = 2
"""Requests in flight per peer (one is answered while the next is on its way)."""
WINDOW = 4 * MAX_BLOCKS
"""Blocks handed out ahead of the importer at most (bounds the answers waiting in memory: with ranges
sized by :data:`REQUEST_BYTES`, full blocks are asked a few at a time, so the requests in flight stay near
``peers × PER_PEER × REQUEST_BYTES``)."""
FLUSH_BLOCKS = 256
"""Blocks staged at most before they are made durable together."""
FLUSH_SECONDS = 1.0
"""Longest time a verified block waits in memory before it is made durable."""
FLUSH_BYTES = 64 * 1024 * 1024
"""Staged bytes at most before a flush."""
REQUEST_TIMEOUT = 10.0
"""Deadline of one range request, answer included: a peer that drips its answer misses it. Time the
importer holds the event loop does not count (the answer could not be read meanwhile); the fetcher's own
timeout should be well above this one (:data:`CLIENT_TIMEOUT`)."""
CLIENT_TIMEOUT = 120.0
"""The hard bound on one request to give the sync client (:class:`~harmony.p2p.sync_protocol.SyncClient`)
a fast sync uses: the session's own, excusable deadline comes first."""
REQUEST_BYTES = 256 * 1024
"""About how many bytes of blocks one request asks for: ranges shrink as blocks grow (ten empty blocks, a
few full ones), so that an honest peer on a loaded machine answers well within the deadline."""
FIRST_RANGE = 2
"""Blocks asked per request before any block size is known (ten full blocks take a loaded peer > 10 s)."""

WORKER_MIN = 100
"""Blocks behind above which commit aggregates are checked in a child process (when there is a second
core): below it, starting the process costs more than it saves."""

PENALTY_FORGED = 50
"""A block that fails its checks: two such and the peer is banned (the host bans at 100)."""
PENALTY_SLOW = 5
"""A request past its deadline."""
PENALTY_NOT_HELD = 5
"""An answer without blocks below the head the peer announced (a lie about its head, or a pruned peer)."""


class BlockFetcher(Protocol):
    """What the session asks peers through (:class:`harmony.p2p.sync_protocol.SyncClient`)."""

    async def blocks(self, peer_id: str, numbers: Sequence[int]) -> list[tuple[bytes, bytes, bytes]]:
        """``(block RLP, commit signature, bitmap)`` for the longest prefix of ``numbers`` the peer has."""
        ...


class Penalize(Protocol):
    """Score a peer down on the host (:meth:`harmony.p2p.host.P2PHost.penalize`)."""

    def __call__(self, peer_id: str, reason: str, weight: int = 1) -> None:
        """Record ``reason`` against ``peer_id`` with ``weight``."""
        ...


class SyncHalted(HarmonyError):
    """Fast sync cannot go on by itself (an unknown committee, or a final block the chain refuses)."""


@dataclass(frozen=True, slots=True)
class Stored:
    """A block fast sync made durable, with the commit aggregate it was stored with."""

    block: Block
    signature: bytes
    bitmap: bytes
    staged_at: float = 0.0
    """``time.perf_counter()`` when the block was executed and staged (it became durable at the flush that
    reported it): the per-block timeline of a sync."""
    staged_cpu: float = 0.0
    """``time.process_time()`` then: the syncing process's CPU per block."""


@dataclass(slots=True)
class SessionReport:
    """What one session did."""

    stored: int = 0
    transactions: int = 0
    seconds: float = 0.0
    dropped: dict[str, str] = field(default_factory=dict)
    """Peers dropped from the session, with the reason."""
    halted: str = ""
    """Why the session stopped before its target ("" when it got there or ran out of peers)."""
    worker_cpu_s: float = 0.0
    """CPU seconds the checking processes spent, senders recovered ahead included
    (:class:`~harmony.node.commit_worker.CommitWorker`)."""


def check_commit(chain: Blockchain, block: Block, signature: bytes, bitmap: bytes) -> None:
    """A synced block is final only with a quorum commit aggregate of its epoch's committee over
    ``commit_payload(number, hash, view)`` (reference §1.3–§1.5, :mod:`harmony.chain.commit_proof`).

    Raises :class:`InvalidCommitProof` for a proof that does not verify, :class:`SyncHalted` when the
    committee of the block's epoch is not known here (the chain before it names it).
    """
    header = block.header
    committee = chain.committee_for(chain.shard_id, header.epoch)
    if committee is None:
        raise SyncHalted(f"block {header.number}: the committee of epoch {header.epoch} is not known")
    verify_commit_signature(
        committee,
        chain.params.harmony_vote_share,
        number=header.number,
        block_hash=block.hash(),
        view_id=header.view_id,
        signature=signature,
        bitmap=bitmap,
    )


class FastSync:
    """One fast sync session of a chain towards the heads some peers announced (module docstring)."""

    def __init__(
        self,
        chain: Blockchain,
        fetcher: BlockFetcher,
        penalize: Penalize,
        *,
        on_stored: Callable[[list[Stored]], None] = lambda stored: None,
        progress: SyncProgress | None = None,
        request_timeout: float = REQUEST_TIMEOUT,
        flush_blocks: int = FLUSH_BLOCKS,
        flush_seconds: float = FLUSH_SECONDS,
        commit_worker: bool | None = None,
    ) -> None:
        self.chain = chain
        self.fetcher = fetcher
        self.penalize = penalize
        self.on_stored = on_stored
        self.progress = progress
        self.request_timeout = request_timeout
        self.flush_blocks = flush_blocks
        self.flush_seconds = flush_seconds
        self.commit_worker = commit_worker
        """Check commit aggregates in a child process: ``None`` decides by the distance and the cores."""
        self._worker: CommitWorker | None = None
        self._prechecked: dict[
            int, tuple[bytes, Block, Committee | None, str | None, str | None, list[KnownSender]]
        ] = {}
        """Blocks decoded as their answer arrived, by number: (the encoding received, the block, the
        committee it was checked under or ``None`` when its committee was not known yet, the commit's
        verdict and the VRF's, each ``None`` when not checked, the senders the worker recovered from it,
        :func:`~harmony.node.commit_worker.recover_senders`). Bounded by the blocks handed out ahead of the
        import (:data:`WINDOW`); an entry leaves when its block is imported."""
        self._announced: dict[int, Committee] = {}
        """Committees of epochs not stored yet, as the epoch-ending blocks received announce them (so the
        blocks of the next epochs are checked ahead too); a verdict under one counts only if it is the
        committee the chain stores once that block is imported."""
        self.report = SessionReport()
        self._block_bytes = 0.0
        """Moving average of the encoded size of the blocks received (0 before any)."""
        self._active: dict[str, int] = {}
        self._deadlines: set[trio.CancelScope] = set()
        """The deadlines of the requests in flight (see :meth:`_excuse`)."""
        self._changed = trio.Event()

    async def run(self, heads: Mapping[str, int], lowest: Mapping[str, int] | None = None) -> SessionReport:
        """Sync towards the highest of ``heads`` (peer → announced head) from the peers that are ahead and
        hold the next block (``lowest``: peer → the lowest block it serves, 1 when not given: a pruning
        peer expires old blocks, and is not asked for them). When every peer ahead expired the next block,
        the report's ``halted`` says what to do."""
        started = time.monotonic()
        first = self.chain.head.number + 1
        held = lowest or {}
        ahead = {peer: head for peer, head in heads.items() if head >= first}
        self._active = {peer: head for peer, head in ahead.items() if held.get(peer, 1) <= first}
        if not self._active:
            if ahead:
                self.report.halted = (
                    f"no peer ahead holds block {first} any more (they keep blocks from "
                    f"{min(held[peer] for peer in ahead)} on): start this node with --sync.mode state, or "
                    "connect it to a node started with --archive"
                )
            return self.report
        target = max(self._active.values())
        schedule = RangeSchedule(first, target, size=MAX_BLOCKS, window=max(WINDOW, MAX_BLOCKS))
        if self.progress is not None:
            self.progress.begin(first - 1, target, len(self._active))
        log.info("fast sync: blocks %d to %d from %d peer(s)", first, target, len(self._active))
        use_worker = self.commit_worker
        if use_worker is None:
            use_worker = target - first >= WORKER_MIN and (os.cpu_count() or 1) > 1
        self._worker = CommitWorker() if use_worker else None
        try:
            async with trio.open_nursery() as nursery:
                for peer in list(self._active):
                    for _ in range(PER_PEER):
                        nursery.start_soon(self._fetch_loop, schedule, peer)
                await self._import_loop(schedule)
                nursery.cancel_scope.cancel()
        finally:
            if self._worker is not None:
                self._worker.close()
                self.report.worker_cpu_s = self._worker.cpu_seconds
            self._prechecked.clear()
            self._announced.clear()
            self.report.seconds = time.monotonic() - started
            if self.progress is not None:
                self.progress.end()
        return self.report

    # -- fetching ------------------------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def _wait_change(self) -> None:
        with trio.move_on_after(1.0):
            await self._changed.wait()

    def _drop(self, peer: str, reason: str, weight: int) -> None:
        """Take ``peer`` out of the session and score it down by ``weight``, once: a fault found in an
        answer that was already on its way when the peer was dropped adds nothing."""
        if self._active.pop(peer, None) is not None:
            if weight:
                self.penalize(peer, f"sync: {reason}", weight)
            self.report.dropped[peer] = reason
            log.warning("sync: dropped peer %s: %s", peer[-8:], reason)
        self._notify()

    async def _fetch_loop(self, schedule: RangeSchedule, peer: str) -> None:
        while peer in self._active and not schedule.done():
            span = schedule.take(self._active[peer], self._range_size())
            if span is None:
                await self._wait_change()
                continue
            await self._fetch(schedule, peer, span)
            self._notify()

    def _range_size(self) -> int:
        """Blocks per request: about :data:`REQUEST_BYTES` of blocks the size of those seen so far."""
        if self._block_bytes <= 0:
            return FIRST_RANGE
        return max(1, min(MAX_BLOCKS, int(REQUEST_BYTES // self._block_bytes)))

    async def _fetch(self, schedule: RangeSchedule, peer: str, span: Span) -> None:
        numbers = list(range(span.start, span.end + 1))
        late = False
        try:
            with trio.CancelScope(deadline=trio.current_time() + self.request_timeout) as deadline:
                self._deadlines.add(deadline)
                try:
                    items = await self.fetcher.blocks(peer, numbers)
                finally:
                    self._deadlines.discard(deadline)
            late = deadline.cancelled_caught
        except P2PTimeout:
            late = True
        except P2PBadResponse as exc:  # the client penalized it already
            schedule.failed(span)
            self._drop(peer, f"bad answer: {exc}", 0)
            return
        except HarmonyError as exc:  # refused, disconnected or banned: not necessarily hostile
            schedule.failed(span)
            self._drop(peer, f"request failed: {exc}", 0)
            return
        if late:
            schedule.failed(span)
            self._drop(
                peer,
                f"no answer for blocks {span.start}-{span.end} in {self.request_timeout} s",
                PENALTY_SLOW,
            )
            return
        for raw, _, _ in items:
            size = len(raw)
            self._block_bytes = size if self._block_bytes <= 0 else 0.8 * self._block_bytes + 0.2 * size
        await self._precheck(span.start, items)
        schedule.answered(span, peer, items)  # what it did not send is asked of another peer
        # every span ends at or below the head the peer announced; only the answer's size may cut it
        if len(items) < span.count and not cut_by_size(items):
            missing = span.start + len(items)
            self._drop(peer, f"does not hold blocks {missing}-{span.end} below its head", PENALTY_NOT_HELD)

    async def _precheck(self, start: int, items: list[tuple[bytes, bytes, bytes]]) -> None:
        """Check the commit aggregates (together) and the VRFs of an answer (:func:`check_blocks`) before
        the importer needs them, in the worker when there is one; blocks that do not decode, or whose
        committee is not known yet, are left to the importer, as are the VRFs of headers that name another
        shard (the chain refuses those). With a worker, the other child meanwhile recovers the senders of
        the answer's transactions (:func:`~harmony.node.commit_worker.recover_senders`), which the importer
        adds to its sender cache as each block executes."""
        busy_from = trio.current_time()
        blocks: list[tuple[int, bytes, Block]] = []
        for offset, (raw, _, _) in enumerate(items):
            try:
                block = Block.decode(raw)
            except HarmonyError:
                break
            if block.number != start + offset:
                break
            blocks.append((block.number, raw, block))
        self._excuse(trio.current_time() - busy_from)
        by_epoch: dict[int, list[int]] = {}
        for index, (_, _, block) in enumerate(blocks):
            by_epoch.setdefault(block.header.epoch, []).append(index)
            self._announce(block)
        checked: list[tuple[int, Committee, str, str]] = []
        senders: list[list[KnownSender]] | None = None

        async def recover() -> None:
            nonlocal senders
            if self._worker is not None:
                senders = await self._worker.senders([raw for _, raw, _ in blocks])

        async with trio.open_nursery() as nursery:
            if self._worker is not None and any(b.transactions or b.staking_transactions for *_, b in blocks):
                nursery.start_soon(recover)  # beside the checks, in the other child
            for epoch, indexes in by_epoch.items():
                committee = self.chain.committee_for(self.chain.shard_id, epoch) or self._announced.get(epoch)
                if committee is None:
                    continue
                verdicts = await self._check_epoch(committee, blocks, items, indexes)
                checked.extend(
                    (index, committee, commit, vrf)
                    for index, commit, vrf in zip(indexes, *verdicts, strict=True)
                )
        by_index = {index: (committee, commit, vrf) for index, committee, commit, vrf in checked}
        if senders is None or len(senders) != len(blocks):
            senders = [[] for _ in blocks]
        for index, (number, raw, block) in enumerate(blocks):
            known = senders[index]
            verdict = by_index.get(index)
            if verdict is None:  # the committee is not known yet: the importer checks it, with these senders
                if known:
                    self._prechecked[number] = (raw, block, None, None, None, known)
                continue
            committee, commit, vrf = verdict
            own_shard = block.header.shard_id == self.chain.shard_id
            self._prechecked[number] = (raw, block, committee, commit, vrf if own_shard else None, known)

    def _announce(self, block: Block) -> None:
        """Remember the next epoch's committee an epoch-ending block of our shard carries (unchecked: see
        :attr:`_announced`); forget those of epochs the chain has reached."""
        header = block.header
        if not header.shard_state or header.shard_id != self.chain.shard_id:
            return
        try:
            state = header.get_shard_state()
            committee = None if state is None else state.committee(self.chain.shard_id)
        except HarmonyError:
            return  # the importer refuses the block itself
        if committee is not None:
            self._announced[header.epoch + 1] = committee
        current = self.chain.head.epoch
        for epoch in [e for e in self._announced if e <= current]:
            del self._announced[epoch]

    async def _check_epoch(
        self,
        committee: Committee,
        blocks: list[tuple[int, bytes, Block]],
        items: list[tuple[bytes, bytes, bytes]],
        indexes: list[int],
    ) -> tuple[list[str], list[str]]:
        """The verdicts of :func:`check_blocks` over the blocks at ``indexes`` (all of ``committee``'s
        epoch), from the worker when there is one."""
        proofs = []
        for position, index in enumerate(indexes):
            _, _, block = blocks[index]
            _, signature, bitmap = items[index]
            following = indexes[position + 1] if position + 1 < len(indexes) else None
            bound = following == index + 1 and (
                (
                    blocks[index + 1][2].header.last_commit_signature,
                    blocks[index + 1][2].header.last_commit_bitmap,
                )
                == (signature, bitmap)
            )
            proofs.append((block.number, block.hash(), block.header.view_id, signature, bitmap, bound))
        share = self.chain.params.harmony_vote_share
        headers = [blocks[index][2].header for index in indexes]
        require = self.chain.rules.require_vrf
        verdicts = (
            None
            if self._worker is None
            else await self._worker.check(committee, share, proofs, headers, require_vrf=require)
        )
        if verdicts is None:  # no worker, or it failed: here, on the loop (not charged to the peers)
            busy_from = trio.current_time()
            verdicts = check_blocks(committee, share, proofs, headers, require)
            self._excuse(trio.current_time() - busy_from)
        return verdicts

    # -- importing -----------------------------------------------------------------------------------

    async def _import_loop(self, schedule: RangeSchedule) -> None:
        pending: list[Stored] = []
        with self.chain.db.staged() as stage:
            last_flush = time.monotonic()
            try:
                while not schedule.done():
                    head = self.chain.head.number
                    if head + 1 > schedule.next_import:  # consensus committed blocks meanwhile
                        schedule.skip_to(head + 1)
                        continue
                    answer = schedule.next_answer()
                    if answer is None:
                        if not self._active and schedule.in_flight == 0:
                            log.warning("sync: no peer left to ask for block %d", schedule.next_import)
                            return
                        await self._wait_change()
                        continue
                    await self._import_answer(schedule, answer, pending)
                    now = time.monotonic()
                    if (
                        len(pending) >= self.flush_blocks
                        or now - last_flush >= self.flush_seconds
                        or stage.staged_bytes >= FLUSH_BYTES
                    ):
                        self._flush(stage.flush, pending)
                        pending = []
                        last_flush = now
                    await trio.lowlevel.checkpoint()
            except SyncHalted as exc:
                self.report.halted = str(exc)  # the sync loop logs it
            finally:
                self._flush(stage.flush, pending)

    def _excuse(self, seconds: float) -> None:
        """The loop was busy importing for ``seconds``: the answers in flight could not be read meanwhile,
        so their deadlines move back by as much (a peer is charged only for time we were listening)."""
        for deadline in self._deadlines:
            deadline.deadline += seconds

    async def _import_answer(self, schedule: RangeSchedule, answer: Answer, stored: list[Stored]) -> None:
        """Check, execute and stage the blocks of one answer in order (appended to ``stored``), yielding
        between blocks so that the fetches go on; a bad block sends the rest of the answer back to the
        schedule and drops the peer."""
        for index, (raw, signature, bitmap) in enumerate(answer.items):
            if self.chain.head.number + 1 != schedule.next_import:  # consensus stored blocks meanwhile
                schedule.rejected(answer, index)  # the rest is asked again, from the new head on
                return
            busy_from = trio.current_time()
            fault = self._import_one(raw, signature, bitmap, schedule.next_import, stored)
            self._excuse(trio.current_time() - busy_from)
            if fault is not None:
                schedule.rejected(answer, index)
                self._drop(answer.peer, fault, PENALTY_FORGED)
                return
            schedule.imported(1)
            await trio.lowlevel.checkpoint()

    def _import_one(
        self, raw: bytes, signature: bytes, bitmap: bytes, expected: int, stored: list[Stored]
    ) -> str | None:
        """Stage one block; the peer's fault if it is not the final next block, else ``None``."""
        verdict: str | None = None
        vrf: str | None = None
        known: list[KnownSender] = []
        pre = self._prechecked.pop(expected, None)
        if pre is not None and pre[0] is raw:  # checked as this very answer arrived
            _, block, checked_under, verdict, vrf, known = pre
            if checked_under is None or checked_under != self.chain.committee_for(
                block.header.shard_id, block.header.epoch
            ):
                verdict = vrf = None  # checked under a committee an unverified block announced: again
        else:
            try:
                block = Block.decode(raw)
            except HarmonyError as exc:
                return f"undecodable block {expected}: {exc}"
        if block.number != expected:
            return f"block {block.number} sent for {expected}"
        head = self.chain.head
        if block.header.parent_hash != head.hash():
            return f"block {expected} does not extend block {head.number}"
        if verdict is None:
            try:
                check_commit(self.chain, block, signature, bitmap)
            except InvalidCommitProof as exc:
                verdict = str(exc)
        if verdict:
            return f"block {expected} without a valid commit quorum: {verdict}"
        if vrf is None:
            committee = self.chain.committee_for(block.header.shard_id, block.header.epoch)
            [vrf] = check_vrfs(committee, [block.header], require_vrf=self.chain.rules.require_vrf)
        if vrf:  # the parent hash it was checked over is the head's (above)
            return f"block {expected} with a forged VRF: {vrf}"
        remember_senders(known)  # found only under the signing hash and signature execution recovers from
        try:
            verified = self.chain.verify(block, final=True, vrf_checked=True)
        except InvalidBlock as exc:
            # a quorum finalized it: the committee and this node disagree on the rules, no peer's fault
            raise SyncHalted(f"final block {expected} is refused by this node: {exc}") from exc
        self.chain.store(verified, commit_sig=(signature, bitmap))
        stored.append(Stored(block, signature, bitmap, time.perf_counter(), time.process_time()))
        self.report.stored += 1
        self.report.transactions += len(block.transactions)
        return None

    def _flush(self, flush: Callable[[], int], pending: list[Stored]) -> None:
        if not pending:
            return
        flush()
        if self.progress is not None:
            self.progress.update(pending[-1].block.number, sum(len(s.block.transactions) for s in pending))
        self.on_stored(pending)


__all__ = [
    "FastSync",
    "SessionReport",
    "Stored",
    "SyncHalted",
    "check_commit",
]
