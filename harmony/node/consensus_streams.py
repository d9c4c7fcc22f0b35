"""Votes go straight to the leader on one long-lived stream per leader, instead of the shard topic.

A vote (PREPARE, COMMIT: the core's :class:`~harmony.consensus.api.Send` effect) is for one node, the
leader, yet on the shard topic GossipSub hands it to every node of the shard, each several times (mesh
degree 5): on an 8-validator committee a vote cost about 33 transmissions where one does, and the CPU of
the p2p stack per transmission is what limited the block rate of a namespaced testnet on two cores
(``bench/gossip_cost.py`` measures both paths in one run). So:

* the node learns which peer holds a leader's BLS key from the leader's own messages (ANNOUNCE, PREPARED,
  COMMITTED, NEWVIEW) that its core accepted: the envelope signature of the view's leader was checked, and
  the topic's origin (signed by the peer key) or the stream's remote peer (Noise) names the peer;
* a vote for a leader whose peer is known and connected is written once on a long-lived stream to that peer
  (:class:`harmony.p2p.peer_streams.PeerStreams`); the receiver hands the frame to its driver as if it had
  come from the topic, and its core checks everything as usual;
* the topic stays the fallback: a leader not yet known or not connected, a stream that fails, and every
  resend of a vote (the core re-sends a round's votes while the round stalls), so a wrong or stale route
  costs one resend interval, never liveness.

The leader's own messages stay on the topic: sending them once to each shard peer on these streams instead
was tried and measured no faster on the 8-validator testnet (the votes were most of the traffic). A frame
that is not a consensus message is the sender's offence (penalized, stream reset); a fenced shard's node
refuses the streams of peers outside its fence.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from functools import partial

import trio

from harmony.crypto.keccak import keccak256
from harmony.node.wire import KIND_CONSENSUS, direct_payload
from harmony.p2p.host import P2PHost
from harmony.p2p.peer_streams import frame_route, serving

log = logging.getLogger(__name__)

MAX_VOTE_FRAME_BYTES = 64 * 1024
"""A packed vote is a few hundred bytes (bitmap, signature, header view); anything larger is refused."""
REMEMBERED_MESSAGES = 1024
"""Messages remembered as sent directly, so that a resend of one goes on the topic."""
KNOWN_LEADERS = 4096
"""Leader keys remembered with their peer (committees of mainnet size fit)."""


class ConsensusStreams:
    """One node's direct vote route on one shard (module docstring)."""

    def __init__(
        self,
        host: P2PHost,
        protocol_id: str,
        nursery: trio.Nursery,
        *,
        deliver: Callable[[bytes, str], None],
        publish: Callable[[bytes], None],
        counters: Counter[str],
        guard: Callable[[str], None] | None = None,
    ) -> None:
        self.host = host
        self.protocol_id = protocol_id
        self._deliver = deliver
        self._publish = publish
        self.counters = counters
        self._guard = guard
        self._leaders: OrderedDict[bytes, str] = OrderedDict()
        self._sent: OrderedDict[bytes, None] = OrderedDict()
        self._streams = frame_route(
            host, protocol_id, nursery, self.handle, max_frame_bytes=MAX_VOTE_FRAME_BYTES
        )

    def leader_peer(self, key: bytes) -> str | None:
        """The peer last seen speaking for leader key ``key``, if any."""
        return self._leaders.get(key)

    def learn(self, key: bytes, peer: str) -> None:
        """The core accepted a message of the leader holding ``key`` from ``peer`` (module docstring)."""
        if peer == self.host.peer_id:
            return
        self._leaders[key] = peer
        self._leaders.move_to_end(key)
        while len(self._leaders) > KNOWN_LEADERS:
            self._leaders.popitem(last=False)

    def send_vote(self, to: bytes, data: bytes) -> bool:
        """Write the packed vote ``data`` for the leader key ``to`` on its peer's stream; False when it must
        go on the topic instead (leader unknown or not connected, or this vote was sent directly before:
        a resend goes on the topic)."""
        peer = self._leaders.get(to)
        if peer is None or not self.host.is_connected(peer):
            self.counters["votes_topic_unknown_leader"] += 1
            return False
        digest = keccak256(data)
        if digest in self._sent:
            self.counters["votes_topic_resend"] += 1
            return False
        self._sent[digest] = None
        while len(self._sent) > REMEMBERED_MESSAGES:
            self._sent.popitem(last=False)

        def done(ok: bool, _size: int) -> None:
            if not ok:
                self.counters["votes_topic_stream_failed"] += 1
                self._publish(data)

        self.counters["votes_direct"] += 1
        self._streams.send(peer, data, done)
        return True

    async def handle(self, peer: str, frame: bytes) -> None:
        """The frame handler: a packed consensus message from ``peer`` goes to the driver (its core checks
        it); anything else is the peer's offence. A fenced shard's guard refuses outsiders."""
        if self._guard is not None:
            self._guard(peer)  # raises (and scores the peer down) outside the fence: the stream is reset
        payload = direct_payload(frame, KIND_CONSENSUS, "a consensus message")
        self.counters["consensus_direct_received"] += 1
        self._deliver(payload, peer)


def open_consensus_streams(
    host: P2PHost,
    protocol_id: str,
    *,
    deliver: Callable[[bytes, str], None],
    publish: Callable[[bytes], None],
    counters: Counter[str],
    guard: Callable[[str], None] | None = None,
) -> AbstractAsyncContextManager[ConsensusStreams]:
    """Serve direct votes on ``protocol_id`` of ``host`` until the block exits (its streams close then)."""
    return serving(
        partial(
            ConsensusStreams,
            host,
            protocol_id,
            deliver=deliver,
            publish=publish,
            counters=counters,
            guard=guard,
        )
    )
