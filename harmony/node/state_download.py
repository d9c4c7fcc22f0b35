"""The state download of a state sync (issue 18 item 2): the trie nodes and code a root reaches, from
several peers at once, each node checked before it is written.

:class:`StateDownload` asks every peer at once (:data:`PER_PEER` requests in flight each) for the hashes
still missing, checks each answer node by node against the hash asked (:class:`harmony.state.sync_walk.
StateWalk`) and writes the checked ones (:meth:`ChainDB.put_state_nodes`, one durable transaction per
answer). A forged or truncated node penalizes its peer heavily and drops it; a peer that is slow or holds
none of what it was asked is penalized lightly and dropped; a request whose stream failed is tried again a
few times; what a peer did not deliver is asked of another. An interrupted download resumes from what is on
disk: the walk enters every stored node, so nothing verified is fetched twice. Progress (share of the key
space, nodes per second, ETA) is kept in :class:`StateProgress`, logged every :data:`LOG_EVERY` seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import trio

from harmony.errors import HarmonyError
from harmony.node.fast_sync import Penalize
from harmony.p2p.errors import P2PConnectionError
from harmony.p2p.state_protocol import MAX_NODES
from harmony.state.sync_walk import ForgedStateNode, StateWalk
from harmony.storage import ChainDB

log = logging.getLogger("harmony.node.state_sync")

PER_PEER = 2
"""State requests in flight per peer."""
REQUEST_TIMEOUT = 10.0
"""Deadline of one request, answer included (a dripping peer misses it)."""
LOG_EVERY = 5.0
"""Seconds between two progress lines in the log."""
PENALTY_FORGED = 50
"""A header or node that fails its check: two such and the peer is banned (the host bans at 100)."""
PENALTY_SLOW = 5
"""A request past its deadline, or an answer the protocol refused."""
PENALTY_NOT_HELD = 5
"""An answer holding none of the nodes asked (a peer that pruned that state cannot serve it)."""
STREAM_ATTEMPTS = 3
"""Times a request whose stream failed (could not be opened, or broke) is tried before the peer is given up
(another shard's node never opens one; on a loaded machine py-libp2p streams sometimes fail)."""
STREAM_RETRY_PAUSE = 0.5
"""Seconds between two such attempts."""


class StateSyncHalted(HarmonyError):
    """State sync cannot go on with the peers it has (none left, or none has a verifiable pivot)."""


class StateFetcher(Protocol):
    """What state sync asks peers through (:class:`harmony.p2p.state_protocol.StateClient`)."""

    async def epoch_headers(
        self, peer_id: str, protocol_id: str, epochs: Sequence[int]
    ) -> list[tuple[bytes, bytes, bytes]]:
        """``(header, commit signature, bitmap)`` of each epoch's last block, for a prefix of ``epochs``."""
        ...

    async def state_nodes(self, peer_id: str, protocol_id: str, hashes: Sequence[bytes]) -> list[bytes]:
        """The blobs under ``hashes`` (empty where not held), for a prefix of ``hashes``."""
        ...


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """The figures of a state download at one moment."""

    nodes: int
    present: int
    bytes: int
    fraction: float
    nodes_per_s: float
    peers: int
    eta_s: float | None

    def describe(self) -> str:
        """One line for the log: ``state 42 % (31200 nodes, 12 MB), 5200 nodes/s, 3 peer(s), ETA 25 s``."""
        eta = "?" if self.eta_s is None else f"{self.eta_s:.0f} s"
        return (
            f"state {100 * self.fraction:.0f} % ({self.nodes} nodes fetched, {self.present} on disk, "
            f"{self.bytes / 1e6:.1f} MB), {self.nodes_per_s:.0f} nodes/s, {self.peers} peer(s), ETA {eta}"
        )


class StateProgress:
    """Progress of the current (or last) state download; the clock is injected."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self.nodes = 0
        self.present = 0
        self.bytes = 0
        self.fraction = 0.0
        self.peers = 0
        self.active = False
        self._start_fraction = 0.0
        self._last_log = self.started

    def begin(self, walk: StateWalk, peers: int) -> None:
        """A download starts with ``walk`` (what is on disk already counts as done, not as rate)."""
        self.started = self._last_log = self.clock()
        self.present, self.fraction, self.peers = walk.present, walk.fraction_done, peers
        self._start_fraction = self.fraction
        self.nodes = self.bytes = 0
        self.active = True

    def update(self, walk: StateWalk, nodes: int, size: int, peers: int) -> None:
        """An answer of ``nodes`` nodes and ``size`` bytes was written; logs every :data:`LOG_EVERY` s."""
        self.nodes += nodes
        self.bytes += size
        self.fraction = walk.fraction_done
        self.peers = peers
        now = self.clock()
        if now - self._last_log >= LOG_EVERY:
            self._last_log = now
            log.info("state sync: %s", self.snapshot().describe())

    def snapshot(self) -> StateSnapshot:
        """The figures now; the ETA from the rate at which the key space has been covered."""
        elapsed = max(1e-9, self.clock() - self.started)
        covered = self.fraction - self._start_fraction
        eta = (1.0 - self.fraction) * elapsed / covered if covered > 0 else None
        return StateSnapshot(
            self.nodes, self.present, self.bytes, self.fraction, self.nodes / elapsed, self.peers, eta
        )


@dataclass(slots=True)
class DownloadReport:
    """What one download did."""

    fetched: int = 0
    present: int = 0
    bytes: int = 0
    seconds: float = 0.0
    dropped: tuple[str, ...] = ()


class StateDownload:
    """Download the state at one root into a chain database from several peers (module docstring)."""

    def __init__(
        self,
        db: ChainDB,
        fetcher: StateFetcher,
        penalize: Penalize,
        protocol_id: str,
        *,
        progress: StateProgress | None = None,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.db = db
        self.fetcher = fetcher
        self.penalize = penalize
        self.protocol_id = protocol_id
        self.progress = progress or StateProgress()
        self.request_timeout = request_timeout
        self._peers: list[str] = []
        self._dropped: list[str] = []
        self._no_stream: dict[str, int] = {}
        """Streams a peer could not open, in a row."""
        self._changed = trio.Event()

    async def run(self, root: bytes, peers: Sequence[str]) -> DownloadReport:
        """Fetch what the state at ``root`` still misses; returns when it is all on disk, or raises
        :class:`StateSyncHalted` when every peer was dropped first (what was verified stays on disk)."""
        started = time.monotonic()
        walk = StateWalk(self.db.state_nodes(), root)
        report = DownloadReport(present=walk.present)
        self._peers = list(peers)
        self._dropped = []
        self.progress.begin(walk, len(self._peers))
        try:
            if not walk.done:
                async with trio.open_nursery() as nursery:
                    for peer in self._peers:
                        for _ in range(PER_PEER):
                            nursery.start_soon(self._fetch_loop, walk, peer, report, nursery.cancel_scope)
        finally:
            self.progress.active = False
            report.seconds = time.monotonic() - started
            report.dropped = tuple(self._dropped)
        if not walk.done:
            raise StateSyncHalted(
                f"state sync stopped with {walk.outstanding} nodes missing: every peer was dropped "
                f"({len(self._dropped)}); the {report.fetched} verified are kept for the next attempt"
            )
        log.info(
            "state sync: state %s complete: %d nodes fetched, %d were on disk, %.1f MB in %.1f s",
            root.hex()[:12],
            report.fetched,
            report.present,
            report.bytes / 1e6,
            report.seconds,
        )
        return report

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def _drop(self, peer: str, reason: str, weight: int) -> None:
        if weight:
            self.penalize(peer, reason, weight)
        if peer in self._peers:
            self._peers.remove(peer)
            self._dropped.append(peer)
            log.info("state sync: dropped peer %s (%s)", peer[-8:], reason)

    async def _fetch_loop(
        self, walk: StateWalk, peer: str, report: DownloadReport, scope: trio.CancelScope
    ) -> None:
        while peer in self._peers:
            if walk.done:
                scope.cancel()
                return
            hashes = walk.take(MAX_NODES)
            if not hashes:
                await self._changed.wait()  # others hold what is left; wait for news
                continue
            try:
                await self._fetch(walk, peer, hashes, report)
            finally:
                walk.give_back(hashes)  # whatever was not accepted goes to another request
                self._notify()
        if not self._peers:
            scope.cancel()

    async def _fetch(self, walk: StateWalk, peer: str, hashes: list[bytes], report: DownloadReport) -> None:
        with trio.move_on_after(self.request_timeout) as deadline:
            try:
                blobs = await self.fetcher.state_nodes(peer, self.protocol_id, hashes)
            except P2PConnectionError:  # a node of another shard, a stream a load broke: not an offence
                self._no_stream[peer] = self._no_stream.get(peer, 0) + 1
                if self._no_stream[peer] >= STREAM_ATTEMPTS:
                    self._drop(peer, "state sync: does not serve this shard's state", 0)
                else:
                    await trio.sleep(STREAM_RETRY_PAUSE)
                return
            except HarmonyError as exc:
                self._drop(peer, f"state sync: request failed ({type(exc).__name__})", PENALTY_SLOW)
                return
        if deadline.cancelled_caught:
            self._drop(peer, "state sync: answer too slow", PENALTY_SLOW)
            return
        self._no_stream.pop(peer, None)
        good: dict[bytes, bytes] = {}
        forged: ForgedStateNode | None = None
        for node_hash, blob in zip(hashes, blobs, strict=False):
            if not blob:
                continue
            try:
                walk.accept(node_hash, blob)
            except ForgedStateNode as exc:
                forged = exc
                break
            good[node_hash] = blob
        if good:
            self.db.put_state_nodes(good)  # after their checks, before anything refers to them as done
            size = sum(len(b) for b in good.values())
            report.fetched += len(good)
            report.bytes += size
            self.progress.update(walk, len(good), size, len(self._peers))
        if forged is not None:
            self._drop(peer, f"state sync: forged state node ({forged.check})", PENALTY_FORGED)
        elif not good:
            self._drop(peer, "state sync: holds none of the nodes asked", PENALTY_NOT_HELD)
