"""Who may receive a fenced shard's data: the check of a peer's fence ticket (issue 21, item 3's rule).

``docs/design/fenced-shards.md``: a fenced shard's blocks, state and sync go only to peers inside the
fence. A peer is inside when it shows a :class:`~harmony.types.fence_ticket.FenceTicket` that

1. names the shard, and the shard is fenced (``unfenced_shard``: an unfenced shard needs no ticket, so a
   ticket for one is refused rather than silently accepted);
2. names the peer it arrives from (``wrong_peer``: a ticket copied from another connection is useless,
   since Noise authenticates the peer ID);
3. is for the current epoch or the one before (``stale_epoch``: a member rotated out loses access within
   one epoch; the epoch before is kept so a change of committee does not cut the fence's own nodes off);
4. is signed by a seat key of that shard's committee in the ticket's epoch (``not_member``; the committee
   is unknown: ``unknown_committee``), each of whose validators was live-attested for the jurisdiction
   when elected, or is a genesis operator seat (:mod:`harmony.chain.fenced_assignment`);
5. carries a valid BLS signature of that key over the ticket's message for this network
   (``bad_signature``).

Every refusal is a :class:`FenceAccessDenied` whose ``reason`` names the rule; the node scores the peer
down. Pure: the committees come from the injected ``committee_for`` (every node has the shard states).
"""

from __future__ import annotations

from collections.abc import Callable

from harmony.chain.fences import Fences
from harmony.crypto import bls
from harmony.errors import HarmonyError
from harmony.types.fence_ticket import FenceTicket
from harmony.types.shard_state import Committee

CommitteeFor = Callable[[int, int], Committee | None]
"""``committee_for(shard, epoch)``: the committee of ``shard`` in ``epoch``, ``None`` when unknown."""


class FenceAccessDenied(HarmonyError):
    """A peer's fence ticket is refused; ``reason`` names the rule (module docstring)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"fence access {reason}: {message}")
        self.reason = reason


def check_ticket(
    ticket: FenceTicket,
    *,
    remote_peer_id: bytes,
    fences: Fences,
    committee_for: CommitteeFor,
    current_epoch: int,
    chain_id: int,
) -> bytes:
    """Check ``ticket`` as it arrives from ``remote_peer_id`` (module docstring, rules 1-5); returns the
    seat key that vouches for the peer, or raises :class:`FenceAccessDenied`."""
    jurisdiction = fences.jurisdiction_of(ticket.shard_id)
    if jurisdiction is None:
        raise FenceAccessDenied(
            "unfenced_shard", f"shard {ticket.shard_id} is not fenced: no ticket is needed"
        )
    if ticket.peer_id != remote_peer_id:
        raise FenceAccessDenied("wrong_peer", "the ticket names another peer than the connection's")
    if ticket.epoch not in (current_epoch, current_epoch - 1):
        raise FenceAccessDenied(
            "stale_epoch", f"the ticket is for epoch {ticket.epoch}, this is epoch {current_epoch}"
        )
    committee = committee_for(ticket.shard_id, ticket.epoch)
    if committee is None:
        raise FenceAccessDenied(
            "unknown_committee", f"no committee of shard {ticket.shard_id} is known for epoch {ticket.epoch}"
        )
    if ticket.bls_public_key not in committee.bls_public_keys():
        raise FenceAccessDenied(
            "not_member",
            f"the key is not a seat of shard {ticket.shard_id} ({jurisdiction}) in epoch {ticket.epoch}",
        )
    try:
        key = bls.PublicKey.from_bytes(ticket.bls_public_key)
        signature = bls.Signature.from_bytes(ticket.signature)
    except HarmonyError as exc:
        raise FenceAccessDenied("bad_signature", f"malformed key or signature: {exc}") from exc
    if not bls.verify(key, ticket.message(chain_id), signature):
        raise FenceAccessDenied("bad_signature", "the signature does not verify")
    return ticket.bls_public_key


__all__ = ["CommitteeFor", "FenceAccessDenied", "check_ticket"]
