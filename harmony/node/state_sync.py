"""State sync (issue 18 item 2, ``--sync.mode state``): trust a recent epoch's state, not a replay of history.

Three steps, each over the state sync protocol (:mod:`harmony.p2p.state_protocol`) with several peers:

* **The epoch chain** (:func:`follow_epoch_chain`): from genesis' committees, every epoch's last beacon
  header, each accepted only when the beacon committee the previous one elected finalized it
  (:func:`harmony.chain.epoch_chain.verify_epoch_header`). A peer that serves a header failing any check is
  penalized heavily and dropped; the others are asked on, so one honest peer with the newest epoch suffices.
* **The pivot** (:func:`find_pivot`): the most recent epoch-ending block of the node's shard whose commit
  quorum verifies under that shard's committee of the epoch (the beacon's own last header on the beacon
  chain). Its state root is the only root this node will trust.
* **The state** (:class:`StateDownload`): the trie nodes and code the root reaches, asked by hash from every
  peer at once (:data:`PER_PEER` requests in flight each), each answer checked node by node against the hash
  asked (:class:`harmony.state.sync_walk.StateWalk`) before it is written (:meth:`ChainDB.put_state_nodes`,
  one durable transaction per answer). A forged or truncated node penalizes its peer heavily and drops it; a
  peer that is slow or holds none of what it was asked is penalized lightly and dropped; what it did not
  deliver is asked of another peer. An interrupted download resumes from what is on disk: the walk enters
  every stored node, so nothing verified is fetched twice (the pivot may have moved on meanwhile; the states
  of two epochs share most nodes).

Progress (share of the key space, nodes per second, ETA) is kept in :class:`StateProgress`, logged every
:data:`LOG_EVERY` seconds and shown by the CLI.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import trio

from harmony.chain.epoch_chain import EpochBlock, InvalidEpochHeader, verify_epoch_block, verify_epoch_header
from harmony.chain.params import NetworkParams
from harmony.errors import HarmonyError
from harmony.node.blockchain import Blockchain
from harmony.node.fast_sync import Penalize
from harmony.p2p.state_protocol import MAX_EPOCHS, MAX_NODES, StateSource
from harmony.state.sync_walk import ForgedStateNode, StateWalk
from harmony.storage import ChainDB
from harmony.types.shard_state import ShardState

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
PIVOT_EPOCHS = 3
"""Epochs tried back from the newest when looking for the shard's pivot (a shard ends its epoch a few
blocks after the beacon)."""


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


class ChainStateSource(StateSource):
    """Serves our stored chain's epoch-ending headers and state nodes to peers."""

    def __init__(self, chain: Blockchain) -> None:
        self.chain = chain
        self._last_of: dict[int, int] = {}

    def epoch_header(self, epoch: int) -> tuple[bytes, bytes, bytes] | None:
        """The last block of ``epoch`` on our shard (its header carries the next shard state) with its
        commit aggregate; ``None`` if that epoch has not ended on our chain."""
        number = self._last_of.get(epoch)
        if number is None:
            number = self._epoch_last(epoch)
            if number is None:
                return None
            self._last_of[epoch] = number
        header = self.chain.db.get_header_by_number(number)
        sig = self.chain.db.get_commit_sig(number)
        if header is None or sig is None:
            return None
        return header.encode(), sig[0], sig[1]

    def _epoch_last(self, epoch: int) -> int | None:
        """The highest block of ``epoch`` (header epochs never decrease along the chain), if it ends it."""
        db = self.chain.db
        lo, hi = 0, db.head_number() or 0
        head = db.get_header_by_number(hi)
        if head is None or head.epoch < epoch:
            return None
        while lo < hi:  # the highest number whose epoch is <= epoch
            mid = (lo + hi + 1) // 2
            header = db.get_header_by_number(mid)
            if header is None:
                return None
            if header.epoch <= epoch:
                lo = mid
            else:
                hi = mid - 1
        found = db.get_header_by_number(lo)
        if found is None or found.epoch != epoch or not found.is_last_block_in_epoch():
            return None
        return lo

    def state_blob(self, node_hash: bytes) -> bytes | None:
        """The trie node or code stored under ``node_hash`` (none once pruned)."""
        return self.chain.db.state_nodes().get(node_hash)


@dataclass(frozen=True, slots=True)
class EpochChain:
    """What the epoch chain proved: each known epoch's committees, and the newest beacon epoch block."""

    states: dict[int, ShardState]
    newest: EpochBlock | None


async def follow_epoch_chain(
    params: NetworkParams,
    genesis_state: ShardState,
    fetcher: StateFetcher,
    *,
    penalize: Penalize,
    peers: Sequence[str],
    protocol_id: str,
    timeout: float = REQUEST_TIMEOUT,
) -> EpochChain:
    """Every epoch's committees from genesis on, as far as any of ``peers`` (beacon nodes serving
    ``protocol_id``) can prove (module docstring)."""
    states = {0: genesis_state}
    newest: EpochBlock | None = None
    epoch = 0
    active = list(peers)
    while active:
        peer = active[0]
        try:
            with trio.fail_after(timeout):
                answers = await fetcher.epoch_headers(peer, protocol_id, range(epoch, epoch + MAX_EPOCHS))
        except trio.TooSlowError:
            penalize(peer, "state sync: epoch headers too slow", PENALTY_SLOW)
            active.pop(0)
            continue
        except HarmonyError as exc:
            log.debug("peer %s gave no epoch headers: %s", peer, exc)
            active.pop(0)
            continue
        for header_rlp, signature, bitmap in answers:
            try:
                step = verify_epoch_header(
                    params,
                    states[epoch],
                    epoch=epoch,
                    header_rlp=header_rlp,
                    signature=signature,
                    bitmap=bitmap,
                )
            except InvalidEpochHeader as exc:
                penalize(peer, f"state sync: epoch header refused ({exc.check})", PENALTY_FORGED)
                log.warning("peer %s served an epoch header that does not verify: %s", peer, exc)
                break
            newest = step
            epoch += 1
            states[epoch] = step.next_state
        else:
            if len(answers) == MAX_EPOCHS:
                continue  # the same peer has more
        active.pop(0)  # it has no more, or it lied: the others may be further on
    return EpochChain(states, newest)


async def find_pivot(
    params: NetworkParams,
    chain: EpochChain,
    shard_id: int,
    fetcher: StateFetcher,
    *,
    penalize: Penalize,
    peers: Sequence[str],
    protocol_id: str,
    timeout: float = REQUEST_TIMEOUT,
) -> EpochBlock:
    """The most recent epoch-ending block of ``shard_id`` whose commit quorum verifies under that shard's
    committee of its epoch; :class:`StateSyncHalted` if none can be found (module docstring)."""
    if params.is_beacon(shard_id):
        if chain.newest is None:
            raise StateSyncHalted("no beacon epoch has ended that a peer could prove: use full sync")
        return chain.newest
    newest_epoch = max(chain.states) - 1
    for epoch in range(newest_epoch, max(-1, newest_epoch - PIVOT_EPOCHS), -1):
        for peer in peers:
            try:
                with trio.fail_after(timeout):
                    answers = await fetcher.epoch_headers(peer, protocol_id, [epoch])
            except trio.TooSlowError:
                penalize(peer, "state sync: epoch headers too slow", PENALTY_SLOW)
                continue
            except HarmonyError as exc:
                log.debug("peer %s gave no shard epoch header: %s", peer, exc)
                continue
            if not answers:
                continue
            header_rlp, signature, bitmap = answers[0]
            try:
                return verify_epoch_block(
                    params,
                    chain.states[epoch],
                    shard_id=shard_id,
                    epoch=epoch,
                    header_rlp=header_rlp,
                    signature=signature,
                    bitmap=bitmap,
                )
            except InvalidEpochHeader as exc:
                penalize(peer, f"state sync: shard epoch header refused ({exc.check})", PENALTY_FORGED)
    raise StateSyncHalted(f"no peer served a verifiable epoch-ending block of shard {shard_id}")


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
            except HarmonyError as exc:
                self._drop(peer, f"state sync: request failed ({type(exc).__name__})", PENALTY_SLOW)
                return
        if deadline.cancelled_caught:
            self._drop(peer, "state sync: answer too slow", PENALTY_SLOW)
            return
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
