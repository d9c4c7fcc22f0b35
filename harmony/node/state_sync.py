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
from harmony.chain.validation import validate_body
from harmony.errors import HarmonyError
from harmony.node.blockchain import Blockchain
from harmony.node.fast_sync import Penalize
from harmony.p2p.errors import P2PConnectionError
from harmony.p2p.state_protocol import MAX_EPOCHS, MAX_NODES, StateSource
from harmony.p2p.sync_protocol import MAX_BLOCKS
from harmony.p2p.topics import state_protocol_id
from harmony.state.sync_walk import ForgedStateNode, StateWalk
from harmony.storage import ChainDB
from harmony.types.block import Block
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
STREAM_ATTEMPTS = 3
"""Times a request whose stream failed (could not be opened, or broke) is tried before the peer is given up
(another shard's node never opens one; on a loaded machine py-libp2p streams sometimes fail)."""
STREAM_RETRY_PAUSE = 0.5
"""Seconds between two such attempts."""
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


async def _ask_epochs(
    fetcher: StateFetcher,
    penalize: Penalize,
    peer: str,
    protocol_id: str,
    epochs: Sequence[int],
    *,
    timeout: float,
) -> list[tuple[bytes, bytes, bytes]] | None:
    """A peer's epoch-ending headers, or None when it did not answer (penalized if too slow); a request
    whose stream failed is tried :data:`STREAM_ATTEMPTS` times (a loaded peer, or ours)."""
    for attempt in range(1, STREAM_ATTEMPTS + 1):
        try:
            with trio.fail_after(timeout):
                return await fetcher.epoch_headers(peer, protocol_id, epochs)
        except trio.TooSlowError:
            penalize(peer, "state sync: epoch headers too slow", PENALTY_SLOW)
            return None
        except P2PConnectionError as exc:
            log.debug("peer %s: no stream for epoch headers (attempt %d): %s", peer, attempt, exc)
            await trio.sleep(STREAM_RETRY_PAUSE)
        except HarmonyError as exc:
            log.debug("peer %s gave no epoch headers: %s", peer, exc)
            return None
    return None


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
        answers = await _ask_epochs(
            fetcher, penalize, peer, protocol_id, range(epoch, epoch + MAX_EPOCHS), timeout=timeout
        )
        if answers is None:
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
            answers = await _ask_epochs(fetcher, penalize, peer, protocol_id, [epoch], timeout=timeout)
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


PEER_WAIT = 60.0
"""Seconds a starting node waits for its first peers before it gives up state sync for full sync."""
DISCOVERY_GRACE = 3.0
"""Seconds given to discovery after the first peer, so that more than the bootnode is asked."""
RETRY_PAUSE = 5.0
"""Seconds between two download attempts after every peer was dropped (what was verified is kept)."""
BLOCKHASH_WINDOW = 256
"""Ancestors of the pivot stored with it: the BLOCKHASH opcode reads the 256 hashes before a block."""


class PeerHost(Protocol):
    """The calls of :class:`harmony.p2p.host.P2PHost` a node's state sync makes."""

    def connected_peers(self) -> list[str]:
        """Peers connected now."""
        ...

    def penalize(self, peer_id: str, reason: str, weight: int = 1) -> None:
        """Score a peer down."""
        ...


class BlockSource(Protocol):
    """What the pivot's block and its ancestors are asked through (:class:`harmony.p2p.sync_protocol.
    SyncClient`)."""

    async def blocks(self, peer_id: str, numbers: Sequence[int]) -> list[tuple[bytes, bytes, bytes]]:
        """``(block RLP, commit signature, bitmap)`` for the longest prefix of ``numbers`` the peer has."""
        ...


def ancestors_needed(params: NetworkParams, pivot: EpochBlock) -> range:
    """The block numbers stored with the pivot (ending with it): BLOCKHASH's window, and on the beacon
    chain the pivot's whole epoch, whose headers the next epoch's randomness checks read."""
    number = pivot.header.number
    first = max(1, number - BLOCKHASH_WINDOW + 1)
    if params.is_beacon(pivot.header.shard_id):
        first = max(1, min(first, params.epoch_first_block(pivot.header.epoch)))
    return range(first, number + 1)


async def fetch_pivot_blocks(
    params: NetworkParams,
    pivot: EpochBlock,
    blocks: BlockSource,
    penalize: Penalize,
    peers: Sequence[str],
) -> list[Block]:
    """The pivot's block and its ancestors (:func:`ancestors_needed`), each checked to be the parent named
    by the block after it, down from the quorum-verified pivot hash, and its body against its header; a
    peer serving anything else is penalized and the next one asked (:class:`StateSyncHalted`: none did)."""
    numbers = list(ancestors_needed(params, pivot))
    for peer in peers:
        got: list[Block] = []
        try:
            for start in range(0, len(numbers), MAX_BLOCKS):
                with trio.fail_after(REQUEST_TIMEOUT):
                    answers = await blocks.blocks(peer, numbers[start : start + MAX_BLOCKS])
                if len(answers) < min(MAX_BLOCKS, len(numbers) - start):
                    raise StateSyncHalted(f"peer {peer[-8:]} does not hold the pivot's blocks")
                got.extend(Block.decode(raw) for raw, _, _ in answers)
        except (HarmonyError, trio.TooSlowError) as exc:
            log.debug("peer %s did not serve the pivot's blocks: %s", peer, exc)
            continue
        expected = pivot.header.hash()
        try:
            for block in reversed(got):
                if block.hash() != expected:
                    raise StateSyncHalted(f"block {block.header.number} is not the one the chain above names")
                validate_body(block, params)
                expected = block.header.parent_hash
        except HarmonyError as exc:  # InvalidBlock from the body check, or the hash chain broken
            penalize(peer, "state sync: forged pivot block", PENALTY_FORGED)
            log.warning("peer %s served a pivot block that does not check: %s", peer, exc)
            continue
        return got
    raise StateSyncHalted("no peer served the pivot's block and its ancestors")


async def state_sync_chain(
    chain: Blockchain,
    host: PeerHost,
    fetcher: StateFetcher,
    blocks: BlockSource,
    *,
    progress: StateProgress,
) -> bool:
    """``--sync.mode state`` for a node whose chain holds only genesis: follow the epoch chain, pick the
    pivot, download its state, then store the pivot (and its ancestors) as the head, so block sync goes on
    from there (module docstring). Returns False (the node falls back to full sync from genesis) when no
    peer came or no epoch has ended that could be proved; an interrupted run resumes on the next start."""
    if chain.head.number != 0:
        return False
    params = chain.params
    with trio.move_on_after(PEER_WAIT):
        while not host.connected_peers():
            await trio.sleep(0.2)
    if not host.connected_peers():
        log.warning("state sync: no peer within %.0f s: syncing in full from genesis", PEER_WAIT)
        return False
    await trio.sleep(DISCOVERY_GRACE)
    genesis_state = chain.db.get_shard_state(0)
    if genesis_state is None:
        raise StateSyncHalted("the genesis block carries no shard state")
    beacon = state_protocol_id(params.name, params.beacon_shard_id)
    shard = state_protocol_id(params.name, chain.shard_id)
    epochs = await follow_epoch_chain(
        params,
        genesis_state,
        fetcher,
        penalize=host.penalize,
        peers=host.connected_peers(),
        protocol_id=beacon,
    )
    try:
        pivot = await find_pivot(
            params,
            epochs,
            chain.shard_id,
            fetcher,
            penalize=host.penalize,
            peers=host.connected_peers(),
            protocol_id=shard,
        )
    except StateSyncHalted as exc:
        log.warning("state sync: %s: syncing in full from genesis", exc)
        return False
    log.info(
        "state sync: epoch chain verified to epoch %d; pivot block %d of shard %d, state %s",
        max(epochs.states) - 1,
        pivot.header.number,
        chain.shard_id,
        pivot.header.root.hex()[:12],
    )
    while True:
        try:
            await StateDownload(chain.db, fetcher, host.penalize, shard, progress=progress).run(
                pivot.header.root, host.connected_peers()
            )
            break
        except StateSyncHalted as exc:
            log.warning("state sync: %s; trying again in %.0f s", exc, RETRY_PAUSE)
            await trio.sleep(RETRY_PAUSE)
    stored = await fetch_pivot_blocks(params, pivot, blocks, host.penalize, host.connected_peers())
    states = {epoch: state.encode() for epoch, state in epochs.states.items() if epoch > 0}
    chain.db.write_pivot(stored, (pivot.signature, pivot.bitmap), states)
    log.info("state sync: block %d is the head; block sync goes on from there", pivot.header.number)
    return True
