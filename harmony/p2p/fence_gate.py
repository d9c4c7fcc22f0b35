"""The network side of a country fence: a fenced shard's node serves its sync only to peers that showed a
valid fence ticket (issue 21 item 3, first part; ``docs/design/fenced-shards.md``).

A peer presents its :class:`~harmony.types.fence_ticket.FenceTicket` on
:func:`~harmony.p2p.topics.fence_protocol_id` (one request, answered ``0x01``). The gate checks it with
:func:`harmony.chain.fence_access.check_ticket` against the peer ID that Noise authenticated for the stream
and the committees the node knows, and admits the peer for the node's current epoch and the next (the
peer shows a ticket again as epochs pass). A malformed
ticket is a bad request (penalized by the host); a refused one, and every request an unadmitted peer makes
on a guarded protocol (:meth:`FenceGate.guard`, e.g. ``serve_sync(..., guard=gate.guard)``), is penalized
as ``fence_refused`` and answered with an error frame: the peer learns nothing of the shard's data.
:meth:`FenceGate.fence_topic` fences the shard's gossip topic the same way (:mod:`harmony.p2p.topic_fence`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio
from libp2p.peer.id import ID

from harmony.chain.fence_access import CommitteeFor, FenceAccessDenied, check_ticket
from harmony.chain.fences import Fences
from harmony.errors import RLPError
from harmony.p2p.errors import P2PBadRequest, P2PError
from harmony.p2p.host import P2PHost
from harmony.types.fence_ticket import MAX_TICKET_SIZE, FenceTicket

log = logging.getLogger(__name__)

ADMITTED = b"\x01"
"""The gate's answer to an accepted ticket."""
GOSSIP_PENALTY_SECONDS = 1.0
"""Least time between two penalties of one peer for messages on the fenced topic."""
MAX_TRACKED_PEERS = 4096
REFUSED_PENALTY = "fence_refused"
"""The penalty reason of a refused ticket and of a request from a peer outside the fence."""


class P2PFenceRefused(P2PError):
    """A peer outside a fence asked for the fenced shard's data, or showed a refused ticket."""


class FenceGate:
    """Who is inside the fence of this node's shard (module docstring)."""

    def __init__(
        self,
        host: P2PHost,
        protocol_id: str,
        *,
        fences: Fences,
        committee_for: CommitteeFor,
        current_epoch: Callable[[], int],
        chain_id: int,
    ) -> None:
        self.host = host
        self.protocol_id = protocol_id
        self.fences = fences
        self.committee_for = committee_for
        self.current_epoch = current_epoch
        self.chain_id = chain_id
        self._admitted: dict[str, int] = {}
        self._gossip_penalized: dict[str, float] = {}

    def serve(self) -> None:
        """Accept tickets on :attr:`protocol_id`."""
        self.host.set_request_handler(
            self.protocol_id, self._on_ticket, max_request_bytes=MAX_TICKET_SIZE, max_response_bytes=16
        )

    async def _on_ticket(self, peer_id: str, request: bytes) -> bytes:
        try:
            ticket = FenceTicket.decode(request)
        except RLPError as exc:
            raise P2PBadRequest(f"fence ticket: {exc}") from exc
        try:
            check_ticket(
                ticket,
                remote_peer_id=ID.from_base58(peer_id).to_bytes(),
                fences=self.fences,
                committee_for=self.committee_for,
                current_epoch=self.current_epoch(),
                chain_id=self.chain_id,
            )
        except FenceAccessDenied as exc:
            self.host.penalize(peer_id, REFUSED_PENALTY)
            raise P2PFenceRefused(str(exc)) from exc
        self._admitted[peer_id] = self.current_epoch()
        return ADMITTED

    def admits(self, peer_id: str) -> bool:
        """Whether ``peer_id`` was admitted in this epoch or the last."""
        epoch = self._admitted.get(peer_id)
        return epoch is not None and epoch >= self.current_epoch() - 1

    def fence_topic(self, topic: str) -> None:
        """Exchange ``topic``'s gossip only with admitted peers (:meth:`.P2PHost.guard_topic`);
        a peer never admitted that publishes there is penalized as ``fence_refused``, at most once per
        :data:`GOSSIP_PENALTY_SECONDS` (a member between connecting and showing its ticket, or whose ticket
        lapsed, is not: its messages are dropped until its ticket comes, which it shows every epoch)."""
        self.host.guard_topic(topic, self.admits, self._refused_gossip)

    def _refused_gossip(self, peer_id: str) -> None:
        if peer_id in self._admitted:
            return
        now = trio.current_time()
        if now - self._gossip_penalized.get(peer_id, -GOSSIP_PENALTY_SECONDS) < GOSSIP_PENALTY_SECONDS:
            return
        self._gossip_penalized[peer_id] = now
        if len(self._gossip_penalized) > MAX_TRACKED_PEERS:
            self._gossip_penalized.pop(next(iter(self._gossip_penalized)))
        log.info("peer %s published on the fenced topic without a fence ticket", peer_id)
        self.host.penalize(peer_id, REFUSED_PENALTY)

    def guard(self, peer_id: str) -> None:
        """Refuse (penalize, raise :class:`P2PFenceRefused`) a request from a peer outside the fence."""
        if not self.admits(peer_id):
            self.host.penalize(peer_id, REFUSED_PENALTY)
            raise P2PFenceRefused(f"peer {peer_id} is outside the fence: present a fence ticket first")


async def present_ticket(host: P2PHost, peer_id: str, protocol_id: str, ticket: FenceTicket) -> None:
    """Show ``ticket`` to ``peer_id``; raises a :class:`P2PError` (remote error) when it is refused."""
    answer = await host.request(peer_id, protocol_id, ticket.encode(), max_response_bytes=16)
    if answer != ADMITTED:
        raise P2PError(f"fence ticket: unexpected answer {answer[:16].hex()}")


def peer_id_bytes(peer_id: str) -> bytes:
    """The binary multihash of a base58 peer ID, as a ticket names it."""
    return ID.from_base58(peer_id).to_bytes()


__all__ = ["ADMITTED", "REFUSED_PENALTY", "FenceGate", "P2PFenceRefused", "peer_id_bytes", "present_ticket"]
