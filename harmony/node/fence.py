"""A fenced shard's node on the network (issue 21): it guards its sync with a fence gate and shows its own
fence ticket to its peers, so the shard's members sync from each other and nobody else does.

:func:`open_fence_gate` makes the gate when the node's shard is fenced (``None`` otherwise);
:func:`present_tickets` runs beside the sync loop: every few seconds it shows a ticket dated its head's epoch
to every connected peer due one (:class:`TicketSchedule`), signed with its seat key in the shard's committee
of that epoch, or with each of its keys when it is not seated there as far as it knows
(:func:`tickets_to_show`: a validator just elected onto the fenced shard starts far behind it). The members
decide against their own committee: an outsider (no key, or a key in no recent committee) cannot get in;
a node without keys logs so once per epoch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import trio

from harmony.crypto.bls import SecretKey
from harmony.errors import HarmonyError
from harmony.node.blockchain import Blockchain
from harmony.p2p.fence_gate import FenceGate, peer_id_bytes, present_ticket
from harmony.p2p.host import P2PHost
from harmony.types.fence_ticket import FenceTicket

log = logging.getLogger(__name__)

TICKET_INTERVAL = 2.0
"""Seconds between rounds of showing tickets to new peers."""
TICKET_TIMEOUT = 12.0
"""Seconds to wait for a peer to accept a ticket: above py-libp2p's 10 s stream negotiation, which a loaded
peer catching up can need (with 5 s, a restarted member on the loaded testnet got none for 2 minutes)."""
RETRY_SECONDS = 30.0
"""Seconds before a peer that took our ticket is shown it again (its epoch may have moved on without ours),
and the longest wait before a peer that did not is asked again (:class:`TicketSchedule`)."""


def open_fence_gate(host: P2PHost, chain: Blockchain, shard_id: int, protocol_id: str) -> FenceGate | None:
    """The gate of ``shard_id``'s sync when the network fences it, serving tickets on ``protocol_id``."""
    if chain.rules.fences.jurisdiction_of(shard_id) is None:
        return None
    gate = FenceGate(
        host,
        protocol_id,
        fences=chain.rules.fences,
        committee_for=chain.committee_for,
        current_epoch=lambda: chain.head.epoch,
        chain_id=chain.params.chain_id,
    )
    gate.serve()
    return gate


def seat_key(chain: Blockchain, shard_id: int, epoch: int, keys: Sequence[SecretKey]) -> SecretKey | None:
    """The first of ``keys`` seated in ``shard_id``'s committee of ``epoch``, if any."""
    committee = chain.committee_for(shard_id, epoch)
    if committee is None:
        return None
    seats = set(committee.bls_public_keys())
    return next((k for k in keys if k.public_key.to_bytes() in seats), None)


class TicketSchedule:
    """When to show this node's ticket to each peer (sans-IO: the caller passes the time).

    A peer that took it is shown it again after :data:`RETRY_SECONDS` (its epoch may have moved on
    without ours). A peer that did not (another shard's node, an outsider, or a member whose stream failed
    under load) is asked again after :data:`TICKET_INTERVAL`, doubling up to :data:`RETRY_SECONDS`: a
    member must not stay deaf to us for half a minute over one failed stream. A peer seen disconnected is
    forgotten, so it is shown the ticket as soon as it is back: a member restarted is a new process that
    admits nobody, and until our ticket reaches it, it drops our consensus messages on the fenced topic.
    """

    def __init__(self) -> None:
        self._next: dict[str, float] = {}
        self._failures: dict[str, int] = {}

    def reset(self) -> None:
        """A new epoch: every peer is due."""
        self._next.clear()
        self._failures.clear()

    def due(self, connected: Sequence[str], now: float) -> list[str]:
        """The connected peers to show the ticket now; peers no longer connected are forgotten."""
        present = set(connected)
        for gone in [p for p in self._next if p not in present]:
            del self._next[gone]
            self._failures.pop(gone, None)
        return [p for p in connected if self._next.get(p, now) <= now]

    def accepted(self, peer: str, now: float) -> None:
        """``peer`` took the ticket."""
        self._failures.pop(peer, None)
        self._next[peer] = now + RETRY_SECONDS

    def failed(self, peer: str, now: float) -> None:
        """``peer`` refused the ticket or could not be reached."""
        failures = self._failures.get(peer, 0) + 1
        self._failures[peer] = failures
        self._next[peer] = now + min(RETRY_SECONDS, TICKET_INTERVAL * 2 ** min(failures - 1, 8))


def tickets_to_show(
    chain: Blockchain, shard_id: int, keys: Sequence[SecretKey], peer_id: str
) -> list[FenceTicket]:
    """The tickets this node shows, dated its head's epoch: its seat key's when it knows it is seated then,
    else one per key. A validator just elected onto the fenced shard starts far behind, at an epoch whose
    committee it is not in, and it can only catch up through the fenced sync; the members check the key
    against their own current committee (:func:`harmony.chain.fence_access.check_ticket`), so its ticket
    gets it in. A node without keys (a full node) shows none: it is outside the fence."""
    epoch = chain.head.epoch
    seated = seat_key(chain, shard_id, epoch, keys)
    chosen = [seated] if seated is not None else list(keys)
    return [
        FenceTicket.signed(key, chain.params.chain_id, peer_id_bytes(peer_id), shard_id, epoch)
        for key in chosen
    ]


async def present_tickets(
    host: P2PHost, chain: Blockchain, shard_id: int, protocol_id: str, keys: Sequence[SecretKey]
) -> None:
    """Show this node's ticket to its peers, epoch after epoch, until cancelled (module docstring,
    :func:`tickets_to_show`, :class:`TicketSchedule`)."""
    schedule = TicketSchedule()
    epoch = -1
    tickets: list[FenceTicket] = []
    while True:
        if chain.head.epoch != epoch:
            epoch = chain.head.epoch
            schedule.reset()
            tickets = tickets_to_show(chain, shard_id, keys, host.peer_id)
            if seat_key(chain, shard_id, epoch, keys) is None:
                log.warning(
                    "no seat key in shard %d's fenced committee of epoch %d: %s",
                    shard_id,
                    epoch,
                    "outside the fence" if not keys else "showing my keys' tickets, the members decide",
                )

        async def show(peer: str, tickets: list[FenceTicket]) -> None:
            for ticket in tickets:
                try:
                    with trio.fail_after(TICKET_TIMEOUT):
                        await present_ticket(host, peer, protocol_id, ticket)
                except (HarmonyError, trio.TooSlowError) as exc:  # another shard's node, or a slow one
                    log.debug("peer %s did not take our fence ticket: %s", peer, exc)
                    continue
                schedule.accepted(peer, trio.current_time())
                return
            schedule.failed(peer, trio.current_time())

        if tickets:
            async with trio.open_nursery() as nursery:  # one slow peer does not hold up the others
                for peer in schedule.due(host.connected_peers(), trio.current_time()):
                    nursery.start_soon(show, peer, tickets)
        await trio.sleep(TICKET_INTERVAL)


__all__ = [
    "TICKET_INTERVAL",
    "TicketSchedule",
    "open_fence_gate",
    "present_tickets",
    "seat_key",
    "tickets_to_show",
]
