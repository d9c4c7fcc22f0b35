"""Block sync: a node behind its peers fetches finalized blocks and commits them through consensus.

Every fetched block goes to the consensus core's ``on_sync_block``, which commits it only if its commit
aggregate is a valid quorum of the committee (reference §1.5, §8.5): a peer cannot make us store a block the
committee did not finalize. A peer that answers with undecodable blocks or blocks that fail that check is
penalized on the host, and the round moves on to another peer.

The loop runs when consensus asks (``RequestSync``: a message from a later height arrived), when a peer
announces a higher head, and every ``interval`` seconds while the head does not advance. A node more
than :data:`FAST_MIN` blocks behind runs a fast sync session instead (:mod:`harmony.node.fast_sync`:
ranges from every peer ahead at once, checked against the committee outside the core, written in
batches), then hands the new head to the consensus driver; progress, rate and ETA go to the log and to
:attr:`Syncer.progress`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from harmony.errors import HarmonyError
from harmony.node.blockchain import Blockchain
from harmony.node.consensus_driver import ConsensusDriver
from harmony.node.fast_sync import CLIENT_TIMEOUT, FastSync, Stored
from harmony.node.sync_progress import SyncProgress
from harmony.p2p.errors import P2PProtocolUnsupported
from harmony.p2p.host import P2PHost
from harmony.p2p.sync_protocol import PeerHead, SyncClient, SyncSource
from harmony.types.block import Block

log = logging.getLogger("harmony.node.sync")

BATCH = 10
"""Blocks per request (the protocol's cap, reference §8.5)."""
PEERS_ASKED = 8
"""Peers whose head is asked each round (all of them serve a fast sync)."""
FAST_MIN = 2 * BATCH
"""Blocks behind the highest peer above which a round runs a fast sync session."""
HEAD_TIMEOUT = 5.0
"""Seconds a peer has to tell its head."""
ALONE_RETRY_S = 0.25
"""Seconds between rounds while no peer has told its head yet (a node just started, still connecting)."""


class ChainSyncSource(SyncSource):
    """Serves our stored chain to peers over the sync protocol."""

    def __init__(self, chain: Blockchain) -> None:
        self.chain = chain

    def head_number(self) -> int:
        """The head's number (from the number index: no header decode per request)."""
        return self.chain.db.head_number() or 0

    def lowest_number(self) -> int:
        """The history floor: blocks below it are expired or were never stored (state sync)."""
        return max(1, self.chain.db.history_floor())

    def canonical_hash(self, number: int) -> bytes | None:
        """The canonical hash at ``number``."""
        return self.chain.db.get_canonical_hash(number)

    def block_with_commit(self, number: int) -> tuple[bytes, bytes, bytes] | None:
        """The block at ``number`` with its commit aggregate; ``None`` if either is missing."""
        block = self.chain.db.get_block_encoding(number)
        sig = self.chain.db.get_commit_sig(number)
        if block is None or sig is None:
            return None
        return block, sig[0], sig[1]


@dataclass
class SyncStatus:
    """What the RPC's ``syncing`` reports."""

    syncing: bool = False
    current: int = 0
    highest: int = 0
    peer_heads: dict[str, int] = field(default_factory=dict)


class Syncer:
    """The sync loop of one shard (module docstring)."""

    def __init__(
        self,
        host: P2PHost,
        protocol_id: str,
        chain: Blockchain,
        driver: ConsensusDriver,
        *,
        interval: float = 2.0,
        topic: str | None = None,
        fast: bool = True,
        on_caught_up: Callable[[int], None] | None = None,
    ) -> None:
        self.host = host
        self.topic = topic
        """The shard's topic: its subscribers are the peers that serve this shard's blocks."""
        self._other_shard: set[str] = set()
        """Peers that refused the sync protocol (nodes of other shards), not asked again."""
        self.client = SyncClient(host, protocol_id)
        self.fast_client = SyncClient(host, protocol_id, timeout=CLIENT_TIMEOUT)
        """The client of fast sync sessions, whose own request deadline excuses our busy time."""
        self.chain = chain
        self.driver = driver
        self.interval = interval
        self.status = SyncStatus()
        self.wake = trio.Event()
        self.fast = fast
        """Whether a node far behind runs fast sync sessions (else ten blocks at a time via the core)."""
        self.progress = SyncProgress()
        self._answered = False
        """Whether any peer has told its head in a round yet."""
        self._halted = ""
        """Why the last fast sync session stopped short (logged when it changes)."""
        self.on_caught_up = on_caught_up
        """Called with the blocks fast sync stored, over its sessions, once it reached the peers' head."""
        self._fast_stored = 0

    def heard_head(self, peer_id: str, number: int) -> None:
        """A peer announced its head: sync now if it is ahead of us."""
        self.status.peer_heads[peer_id] = number
        if number > self.chain.head.number:
            self.wake.set()

    async def run(self) -> None:
        """Sync rounds until cancelled: at once when woken (consensus asks, a peer announced a higher
        head) and right after a round that stored blocks (the shard moved on while it ran: a restarted
        validator 10 blocks behind waited an interval and one more after each round, and took 30 s to
        catch up on the namespaced rolling upgrade); on the interval only while the head stands still. A
        node whose head advanced since the last round is following its shard, and asking every peer for its
        head each interval cost the testnet a request stream per pair of nodes every two seconds. While no
        peer has answered yet (the node is still connecting), a round is tried every
        :data:`ALONE_RETRY_S`: a restarted validator's first round waited a whole interval."""
        last_head = -1
        stored = 0
        while True:
            woken = stored > 0
            if not woken:
                with trio.move_on_after(
                    self.interval if self._answered else min(self.interval, ALONE_RETRY_S)
                ):
                    await _either(self.wake, self.driver.sync_wanted)
                    woken = True
            self.wake = trio.Event()
            self.driver.sync_wanted = trio.Event()
            head = self.chain.head.number
            if not woken and head > last_head >= 0:
                last_head = head
                self.status.current = head
                self.status.highest = max(self.status.highest, head)
                continue
            last_head = head
            try:
                stored = await self.round()
            except HarmonyError as exc:
                stored = 0
                log.warning("sync round failed: %s", exc)

    async def round(self) -> int:
        """Ask a few peers for their head and fetch what we miss from the highest; the blocks stored."""
        shard_peers = self.host.topic_peers(self.topic) if self.topic is not None else []
        others = [
            p for p in self.host.connected_peers() if p not in shard_peers and p not in self._other_shard
        ]
        peers = (shard_peers + others)[:PEERS_ASKED]
        answers: dict[str, PeerHead] = {}
        async with trio.open_nursery() as nursery:
            for peer in peers:
                nursery.start_soon(self._ask_head, peer, answers)
        heads = {peer: answer.number for peer, answer in answers.items()}
        self.status.peer_heads.update(heads)
        self._answered = self._answered or bool(heads)
        ours = self.chain.head.number
        ahead = sorted((n, p) for p, n in heads.items() if n > ours)
        if not ahead:
            self.status.syncing = False
            self.status.current = self.status.highest = ours
            return 0
        target, peer = ahead[-1]
        lowest = {peer: answer.lowest for peer, answer in answers.items()}
        if self.fast and target - ours > FAST_MIN:
            return await self._fast(dict((p, n) for n, p in ahead), lowest, target)
        holding = [(n, p) for n, p in ahead if lowest[p] <= ours + 1]
        if not holding:  # only a state-synced peer's first blocks can be above a node this close
            log.debug("sync: no peer ahead holds block %d", ours + 1)
            return 0
        target, peer = holding[-1]
        return await self._fetch(peer, target)

    async def _ask_head(self, peer: str, answers: dict[str, PeerHead]) -> None:
        try:
            with trio.move_on_after(HEAD_TIMEOUT):
                answers[peer] = await self.client.head(peer)
        except P2PProtocolUnsupported:
            self._other_shard.add(peer)
        except HarmonyError as exc:
            log.debug("peer %s did not give its head: %s", peer, exc)

    async def _fast(self, heads: dict[str, int], lowest: dict[str, int], target: int) -> int:
        """One fast sync session towards ``target``; the blocks stored."""
        self.status.syncing = True
        self.status.highest = target
        session = FastSync(
            self.chain, self.fast_client, self.host.penalize, on_stored=self._adopt, progress=self.progress
        )
        try:
            report = await session.run(heads, lowest)
        finally:
            self.status.syncing = False
            self.status.current = self.chain.head.number
        if report.halted and report.halted != self._halted:  # once, not every round
            log.warning("sync: %s", report.halted)
        self._halted = report.halted
        self._fast_stored += report.stored
        if self.chain.head.number >= target:
            if self.on_caught_up is not None:
                self.on_caught_up(self._fast_stored)
            self._fast_stored = 0
        return report.stored

    def _adopt(self, stored: list[Stored]) -> None:
        self.status.current = stored[-1].block.number
        self.driver.adopt_synced([(s.block, s.signature, s.bitmap) for s in stored])

    async def _fetch(self, peer: str, target: int) -> int:
        """Blocks from ``peer`` up to ``target``, ten at a time through the core; the blocks stored. The
        status shows where the round left off however it ends (a penalized peer ends it early)."""
        self.status.syncing = True
        self.status.highest = target
        try:
            return await self._fetch_batches(peer, target)
        finally:
            self.status.syncing = False
            self.status.current = self.chain.head.number

    async def _fetch_batches(self, peer: str, target: int) -> int:
        start_number = self.chain.head.number
        started = time.monotonic()
        last_report = started
        stored = 0
        if target - start_number > BATCH:
            log.info("syncing from block %d to %d from peer %s", start_number + 1, target, peer[-8:])
        while self.chain.head.number < target:
            first = self.chain.head.number + 1
            numbers = list(range(first, min(target, first + BATCH - 1) + 1))
            triples = await self.client.blocks(peer, numbers)
            if not triples:
                break
            progress = False
            for raw, sig, bitmap in triples:
                try:
                    block = Block.decode(raw)
                except HarmonyError:
                    self.host.penalize(peer, "sync: undecodable block", 5)
                    return stored
                if block.number != self.chain.head.number + 1:
                    continue
                if not self.driver.sync_block(block, sig, bitmap):
                    self.host.penalize(peer, "sync: block without a valid commit quorum", 5)
                    return stored
                stored += 1
                progress = True
            self.status.current = self.chain.head.number
            now = time.monotonic()
            if now - last_report >= 5:
                last_report = now
                rate = stored / (now - started)
                log.info("sync: block %d of %d (%.0f blocks/s)", self.chain.head.number, target, rate)
            if not progress:
                break
            await trio.lowlevel.checkpoint()
        if stored > BATCH:
            log.info("sync: caught up to block %d (%d blocks)", self.chain.head.number, stored)
        return stored


async def _either(a: trio.Event, b: trio.Event) -> None:
    """Return when either event is set."""
    async with trio.open_nursery() as nursery:

        async def wait(event: trio.Event) -> None:
            await event.wait()
            nursery.cancel_scope.cancel()

        nursery.start_soon(wait, a)
        nursery.start_soon(wait, b)
