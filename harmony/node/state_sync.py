"""State sync (issue 18 item 2, ``--sync.mode state``): trust a recent epoch's state, not a replay of history.

Three steps, each over the state sync protocol (:mod:`harmony.p2p.state_protocol`) with several peers:

* **The epoch chain** (:func:`follow_epoch_chain`): from genesis' committees, every epoch's last beacon
  header, each accepted only when the beacon committee the previous one elected finalized it
  (:func:`harmony.chain.epoch_chain.verify_epoch_header`). A peer that serves a header failing any check is
  penalized heavily and dropped; the others are asked on, so one honest peer with the newest epoch suffices.
* **The pivot** (:func:`find_pivot`): the most recent epoch-ending block of the node's shard whose commit
  quorum verifies under that shard's committee of the epoch (the beacon's own last header on the beacon
  chain). Its state root is the only root this node will trust.
* **The state** (:class:`harmony.node.state_download.StateDownload`): the trie nodes and code the root
  reaches, from every peer at once, each node checked against its hash before it is written; resumable (the
  pivot may have moved on meanwhile: the states of two epochs share most nodes).
* **The pivot's block** and its ancestors, checked down the hash chain, stored as the head over genesis
  (:func:`state_sync_chain`, :meth:`ChainDB.write_pivot`); block sync goes on from there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import trio

from harmony.chain.epoch_chain import EpochBlock, InvalidEpochHeader, verify_epoch_block, verify_epoch_header
from harmony.chain.params import BLOCKHASH_WINDOW, PIVOT_EPOCHS, NetworkParams
from harmony.chain.validation import validate_body
from harmony.errors import HarmonyError
from harmony.node.blockchain import Blockchain
from harmony.node.fast_sync import Penalize
from harmony.node.state_download import (
    PENALTY_FORGED,
    PENALTY_SLOW,
    REQUEST_TIMEOUT,
    STREAM_ATTEMPTS,
    STREAM_RETRY_PAUSE,
    StateDownload,
    StateFetcher,
    StateProgress,
    StateSyncHalted,
)
from harmony.p2p.errors import P2PConnectionError
from harmony.p2p.state_protocol import MAX_EPOCHS, StateSource
from harmony.p2p.sync_protocol import MAX_BLOCKS, cut_by_size
from harmony.p2p.topics import state_protocol_id
from harmony.types.block import Block
from harmony.types.shard_state import ShardState

log = logging.getLogger("harmony.node.state_sync")


class ChainStateSource(StateSource):
    """Serves our stored chain's epoch-ending headers and state nodes to peers."""

    def __init__(self, chain: Blockchain) -> None:
        self.chain = chain

    def epoch_header(self, epoch: int) -> tuple[bytes, bytes, bytes] | None:
        """The last block of ``epoch`` on our shard (its header carries the next shard state) with its
        commit aggregate; ``None`` if that epoch has not ended on our chain. Found through the chain
        database's epoch-end index (an expired history keeps these headers and signatures)."""
        db = self.chain.db
        number = db.epoch_last_block(epoch)
        if number is None:
            return None
        header = db.get_header_by_number(number)
        sig = db.get_commit_sig(number)
        if header is None or sig is None or header.epoch != epoch or not header.is_last_block_in_epoch():
            return None
        return header.encode(), sig[0], sig[1]

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


PEER_WAIT = 60.0
"""Seconds a starting node waits for its first peers before it gives up state sync for full sync."""
DISCOVERY_GRACE = 3.0
"""Seconds given to discovery after the first peer, so that more than the bootnode is asked."""
RETRY_PAUSE = 5.0
"""Seconds between two download attempts after every peer was dropped (what was verified is kept)."""


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
            while len(got) < len(numbers):
                asked = numbers[len(got) : len(got) + MAX_BLOCKS]
                with trio.fail_after(REQUEST_TIMEOUT):
                    answers = await blocks.blocks(peer, asked)
                if not answers or (len(answers) < len(asked) and not cut_by_size(answers)):
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
