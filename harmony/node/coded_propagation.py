"""Coded block propagation for the consensus driver (``[p2p] propagation = "raptorq"``, issue 16).

The consensus core stays as it is: it emits ANNOUNCE, PREPARED and COMMITTED messages carrying the whole
block. With coded propagation the driver hands those to :meth:`CodedPropagation.send` instead of the topic:

* the leader RaptorQ-codes the block (:class:`harmony.p2p.coded_broadcast.CodedBroadcast`) to its round,
  which is every peer connected to it on the shard's topic (validators and non-validating nodes alike), and
  publishes on the topic a coded announce (:func:`harmony.node.wire.pack_coded`): the commitment it signed
  with its BLS key, and the message without its block. A later message of the same block (PREPARED,
  COMMITTED, a resend) sends only the coded announce: every receiver holds the block by then;
* a receiver checks the commitment (:func:`commitment_resolver`: this shard, a height just above its
  head, signed by a key of the current committee), starts waiting for the block (``expect``: after
  ``decode_timeout`` it fetches the block by hash from the round) and, once the block is decoded or
  fetched, puts it back into the message and hands the message to the driver, whose core checks everything
  as for a gossiped message (the message's signature covers the block).

So a peer sending garbage symbols is scored down by the coded layer, a peer whose reassembled message fails
is scored down by the driver, and a lossy link costs a fetch, not a stalled round.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from dataclasses import replace

import trio

from harmony.consensus.messages import Message, MsgType
from harmony.crypto import bls
from harmony.errors import HarmonyError
from harmony.node.consensus_driver import ConsensusDriver, propagation_log
from harmony.node.wire import KIND_CONSENSUS, pack, pack_coded, unpack_coded
from harmony.p2p.coded_assembly import CommitmentResolver, Round
from harmony.p2p.coded_broadcast import CodedBroadcast
from harmony.p2p.coding import SignedCommitment
from harmony.p2p.host import P2PHost

log = logging.getLogger("harmony.node.coded")

CODED_TYPES = frozenset({MsgType.ANNOUNCE, MsgType.PREPARED, MsgType.COMMITTED})
"""Messages whose block travels coded (VIEWCHANGE and NEWVIEW keep gossip: rare, and off the fast path)."""
HEIGHTS_AHEAD = 3
"""A commitment is taken for heights head+1 .. head+HEIGHTS_AHEAD (a node a block or two behind still
receives the next blocks while it syncs)."""
PENDING_BLOCKS = 16
"""Blocks whose messages wait for their bytes; the oldest is dropped beyond."""
SEND_QUEUE = 64


def commitment_resolver(driver: ConsensusDriver, shard_id: int) -> CommitmentResolver:
    """The node's check of a coded block's commitment: this shard, a height just above the head, signed by
    a key of the current committee (the round is the one the commitment names by hash)."""

    def resolve(signed: SignedCommitment) -> bool:
        c = signed.commitment
        head = driver.ledger.head_number()
        if c.shard_id != shard_id or not head < c.block_number <= head + HEIGHTS_AHEAD:
            return False
        if signed.signer not in set(driver.config.committee.bls_public_keys()):
            return False
        try:
            public = bls.PublicKey.from_bytes(signed.signer)
            signature = bls.Signature.from_bytes(signed.signature)
        except HarmonyError:
            return False
        return bls.verify(public, c.signing_payload(), signature)

    return resolve


class CodedPropagation:
    """The node's side of coded propagation: the leader's sending and every node's reassembly."""

    def __init__(
        self, host: P2PHost, coded: CodedBroadcast, driver: ConsensusDriver, *, shard_id: int, topic: str
    ) -> None:
        self.host = host
        self.coded = coded
        self.driver = driver
        self.shard_id = shard_id
        self.topic = topic
        self._send, self._queue = trio.open_memory_channel[Message](SEND_QUEUE)
        self._pending: OrderedDict[bytes, list[tuple[bytes, str]]] = OrderedDict()
        """Messages without their block, by the block's content hash, with the peer that published each."""
        self.sent_coded = 0
        self.sent_announce_only = 0
        self.fell_back_to_gossip = 0
        self.reassembled = 0
        self.received: Counter[str] = Counter()
        """Blocks this node got by way of: ``decoded`` from symbols, ``fallback`` fetched whole."""

    # -- leader side ----------------------------------------------------------------------------------

    def send(self, message: Message) -> None:
        """The driver's hook for a message carrying a block (see :data:`CODED_TYPES`)."""
        try:
            self._send.send_nowait(message)
        except trio.WouldBlock:
            log.warning("coded send queue full: message of type %d sent whole on the topic", message.type)
            self._publish_whole(message)

    def _publish_whole(self, message: Message) -> None:
        self.fell_back_to_gossip += 1
        self.driver.publish(pack(KIND_CONSENSUS, message.encode()))

    def _round(self) -> Round | None:
        members = tuple(
            sorted(peer for peer in self.host.topic_peers(self.topic) if self.host.is_connected(peer))
        )
        if not members:
            return None
        return Round(self.host.peer_id, members)

    def _signer(self) -> bls.SecretKey | None:
        keys = self.driver.config.keys
        return keys[0] if keys else None

    async def run(self) -> None:
        """Send queued messages and reassemble delivered blocks until cancelled."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._deliveries)
            async for message in self._queue:
                await self._send_one(message)

    async def _send_one(self, message: Message) -> None:
        key = self._signer()
        round_ = self._round()
        if key is None or round_ is None:
            self._publish_whole(message)
            return
        stripped = replace(message, block=b"").encode()
        known = self.coded.recent_signed(message.block)
        if known is not None:
            # Every receiver had this block's symbols already: the message alone is enough.
            self.sent_announce_only += 1
            self.driver.publish(pack_coded(known.encode(), stripped))
            return

        def sign(payload: bytes) -> tuple[bytes, bytes]:
            return key.public_key.to_bytes(), key.sign(payload).to_bytes()

        def announce(signed: SignedCommitment) -> None:
            self.driver.publish(pack_coded(signed.encode(), stripped))

        self.sent_coded += 1
        if self.sent_coded == 1:
            log.info("first block sent coded: block %d to %d peers", message.block_num, len(round_.members))
        try:
            report = await self.coded.broadcast(
                message.block,
                shard_id=self.shard_id,
                block_number=message.block_num,
                view_id=message.view_id,
                round_=round_,
                sign=sign,
                on_signed=announce,
            )
        except (HarmonyError, ValueError) as exc:
            log.warning("coded broadcast of block %d failed (%s): sent whole", message.block_num, exc)
            self._publish_whole(message)
            return
        # read by bench/propagation.py (the leader's coded upload per block byte)
        propagation_log.info(
            "coded block %d %s to %d peers uploaded %d bytes, %d failed",
            message.block_num,
            message.block_hash.hex()[:16],
            len(round_.members),
            report.uploaded_bytes,
            len(report.failed_members),
        )

    # -- receivers ------------------------------------------------------------------------------------

    def on_announce(self, payload: bytes, peer: str) -> None:
        """A coded announce from the topic (hostile bytes): wait for its block, or hand it over now."""
        try:
            signed_bytes, stripped = unpack_coded(payload)
            signed = SignedCommitment.decode(signed_bytes)
        except HarmonyError as exc:
            self.host.penalize(peer, f"coded announce: {exc}", 5)
            return
        block_hash = signed.commitment.block_hash
        data = self.coded.recent(block_hash)
        if data is not None:
            self._hand_over(stripped, data, peer)
            return
        if not self.coded.expect(signed):
            return  # not a block this node expects now (sync will bring it if it is final)
        waiting = self._pending.setdefault(block_hash, [])
        if len(waiting) < len(CODED_TYPES) * 2:
            waiting.append((stripped, peer))
        self._pending.move_to_end(block_hash)
        while len(self._pending) > PENDING_BLOCKS:
            self._pending.popitem(last=False)

    async def _deliveries(self) -> None:
        async for delivery in self.coded.deliveries:
            self.received[delivery.via] += 1
            if self.received[delivery.via] == 1:
                log.info(
                    "first coded block received (%s): block %d",
                    delivery.via,
                    delivery.commitment.block_number,
                )
            for stripped, peer in self._pending.pop(delivery.commitment.block_hash, []):
                self._hand_over(stripped, delivery.data, peer)

    def _hand_over(self, stripped: bytes, data: bytes, peer: str) -> None:
        try:
            message = Message.decode(stripped)
        except HarmonyError as exc:
            self.host.penalize(peer, f"coded announce: {exc}", 5)
            return
        if message.block or message.type not in CODED_TYPES:
            self.host.penalize(peer, "coded announce: not a block message without its block", 5)
            return
        self.reassembled += 1
        self.driver.deliver(replace(message, block=data).encode(), peer)
