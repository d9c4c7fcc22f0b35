"""Transactions straight to the shard's next leaders, instead of gossip to every node (issue 16 item 2).

Only the leader needs a transaction before it proposes; every other member gets it inside the block. On
the shard topic GossipSub hands each relayed batch to every node, each receiving it from several mesh
peers and forwarding it: on ``bench/propagation.py``'s 8 validators at 25 Mbit/s the transactions' own
gossip filled the links. With ``[p2p] tx_relay = "leaders"`` a node instead writes each batch its RPC took
(and each re-announcement) once to the peer of each leader of the current view and the next
:data:`LEADER_VIEWS` views (:func:`relay_targets`: the consensus core's ``leader_of`` and ``view``, the
peers :class:`~harmony.node.consensus_streams.ConsensusStreams` learned from the leaders' own messages),
on one long-lived stream per peer (:class:`harmony.p2p.peer_streams.PeerStreams`).

The topic stays the fallback: when none of those leaders has a known connected peer (a fresh node knows a
leader's peer once it has heard that leader lead), and for a batch whose stream failed, the batch goes on
the topic as before; an unknown leader among known ones is skipped. The
receiver bounds a frame before reading it (:data:`MAX_TX_FRAME_BYTES`), and adds the batch to its pool as it
adds a gossiped one (:meth:`harmony.node.tx_relay.TxRelay.on_gossip`: same checks, same scoring down); a
frame that is not a transaction batch resets the stream and costs the sender; a fenced shard's node
refuses the streams of peers outside its fence.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from functools import partial

import trio

from harmony.node.tx_relay import Penalize, TxRelay
from harmony.node.wire import KIND_TRANSACTION, MAX_BATCH_BYTES, direct_payload
from harmony.p2p.host import P2PHost
from harmony.p2p.peer_streams import frame_route, serving

log = logging.getLogger(__name__)

LEADER_VIEWS = 2
"""Views after the current one whose leaders also get each batch: a batch that reaches the current leader
after it built its proposal is in the next leader's pool (and, after a view change, the next one's)."""
MAX_TX_FRAME_BYTES = MAX_BATCH_BYTES + 64
"""A frame: the kind byte and the RLP list of at most :data:`~harmony.node.wire.MAX_BATCH_BYTES` of
transactions (its header included); larger frames are refused before they are read."""


@dataclass(frozen=True, slots=True)
class RelayTargets:
    """Where one transaction batch goes."""

    peers: tuple[str, ...]
    """The known peers holding the upcoming leaders' keys that are not ours, each once, in the leaders'
    order."""
    gossip: bool
    """True when no upcoming leader but ours has a known connected peer: the batch goes on the topic instead
    (which reaches every node), and :attr:`peers` is empty."""


def relay_targets(
    leader_of: Callable[[int], int],
    view: int,
    *,
    views: int,
    mine: Collection[int],
    key_of: Callable[[int], bytes],
    peer_of: Callable[[bytes], str | None],
) -> RelayTargets:
    """Where a batch of our RPC's transactions goes (``tx_relay = "leaders"``, module docstring): to the peers
    of the leaders of ``view`` … ``view + views`` (committee indices by ``leader_of``) that have one
    (``peer_of`` of the leader's key by ``key_of``: the peer last seen speaking for the key, None when
    unknown or not connected), skipping the indices we hold (``mine``: our pool has the batch); the topic
    when none of those leaders has a peer. A leader whose peer is unknown gets no batch: the next known
    one proposes the transactions, and its own block (small, quickly spread) makes it known. Gossiping
    whenever any leader is unknown kept a namespaced testnet starting under load (8 validators, 25 Mbit/s)
    on gossip: its links full, no leader could lead and so become known."""
    peers: list[str] = []
    unknown = False
    for ahead in range(views + 1):
        index = leader_of(view + ahead)
        if index in mine:
            continue
        peer = peer_of(key_of(index))
        if peer is None:
            unknown = True
        elif peer not in peers:
            peers.append(peer)
    return RelayTargets(tuple(peers), unknown and not peers)


class LeaderTxRoute:
    """One node's transaction route to its shard's next leaders (module docstring)."""

    def __init__(
        self,
        host: P2PHost,
        protocol_id: str,
        nursery: trio.Nursery,
        *,
        relay: TxRelay,
        targets: Callable[[], RelayTargets],
        counters: Counter[str],
        penalize: Penalize,
        guard: Callable[[str], None] | None = None,
    ) -> None:
        self.host = host
        self.protocol_id = protocol_id
        self.relay = relay
        self._targets = targets
        self.counters = counters
        self._penalize = penalize
        self._guard = guard
        self._streams = frame_route(
            host, protocol_id, nursery, self.handle, max_frame_bytes=MAX_TX_FRAME_BYTES
        )

    def send(self, packed: bytes) -> bool:
        """Write the packed batch ``packed`` once to each upcoming leader's peer; False when it must go on
        the topic instead (:func:`relay_targets`). A batch whose stream fails goes on the topic then."""
        targets = self._targets()
        if targets.gossip:
            self.counters["tx_batches_topic_unknown_leader"] += 1
            return False
        failed = False

        def done(ok: bool, _size: int) -> None:
            nonlocal failed
            if not ok and not failed:  # one topic copy reaches every node
                failed = True
                self.counters["tx_batches_topic_stream_failed"] += 1
                self.relay.publish(packed)

        for peer in targets.peers:
            self.counters["tx_batches_direct"] += 1
            self._streams.send(peer, packed, done)
        return True

    async def handle(self, peer: str, frame: bytes) -> None:
        """The frame handler: a transaction batch from ``peer`` into the pool as a gossiped one; anything
        else is the peer's offence (the stream is reset). A fenced shard's guard refuses outsiders."""
        if self._guard is not None:
            self._guard(peer)  # raises (and scores the peer down) outside the fence: the stream is reset
        payload = direct_payload(frame, KIND_TRANSACTION, "a transaction batch")
        self.counters["tx_batches_direct_received"] += 1
        self.relay.on_gossip(self._penalize, peer, payload)


def open_leader_tx_route(
    host: P2PHost,
    protocol_id: str,
    *,
    relay: TxRelay,
    targets: Callable[[], RelayTargets],
    counters: Counter[str],
    guard: Callable[[str], None] | None = None,
) -> AbstractAsyncContextManager[LeaderTxRoute]:
    """Serve transaction batches on ``protocol_id`` of ``host`` until the block exits (its streams close)."""
    return serving(
        partial(
            LeaderTxRoute,
            host,
            protocol_id,
            relay=relay,
            targets=targets,
            counters=counters,
            penalize=host.penalize,
            guard=guard,
        )
    )
