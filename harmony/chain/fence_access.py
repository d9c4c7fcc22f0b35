"""Who may receive a fenced shard's data: the check of a peer's fence ticket (issue 21, item 3's rule).

``docs/design/fenced-shards.md``: a fenced shard's blocks, state and sync go only to peers inside the
fence. A peer is inside when it shows a :class:`~harmony.types.fence_ticket.FenceTicket` that

1. names the shard, and the shard is fenced (``unfenced_shard``: an unfenced shard needs no ticket, so a
   ticket for one is refused rather than silently accepted);
2. names the peer it arrives from (``wrong_peer``: a ticket copied from another connection is useless,
   since Noise authenticates the peer ID);
3. is not dated after the next epoch (``future_epoch``); an older date is fine, so a member that restarts
   far behind (its head, and so its ticket, in an old epoch) can still show one;
4. is signed by a key that sits in the shard's committee **now**: in the current epoch or the one before
   (``not_member``; neither committee known: ``unknown_committee``). A member rotated out loses access
   within one epoch; every external seat of a fenced committee was live-attested for the jurisdiction
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
    if ticket.epoch > current_epoch + 1:
        raise FenceAccessDenied(
            "future_epoch", f"the ticket is dated epoch {ticket.epoch}, this is epoch {current_epoch}"
        )
    epochs = (current_epoch, current_epoch - 1) if current_epoch > 0 else (0,)
    committees = [c for c in (committee_for(ticket.shard_id, e) for e in epochs) if c is not None]
    if not committees:
        raise FenceAccessDenied(
            "unknown_committee", f"no committee of shard {ticket.shard_id} is known for epoch {current_epoch}"
        )
    if not any(ticket.bls_public_key in c.bls_public_keys() for c in committees):
        raise FenceAccessDenied(
            "not_member",
            f"the key sits in no committee of shard {ticket.shard_id} ({jurisdiction}) "
            f"of epoch {current_epoch} or the one before",
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
