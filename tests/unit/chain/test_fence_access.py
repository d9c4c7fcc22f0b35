"""Fence tickets: a peer proves with a committee seat's BLS key that it is inside a fence (issue 21)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harmony.chain.fence_access import FenceAccessDenied, check_ticket
from harmony.chain.fences import Fence, Fences
from harmony.chain.genesis import dev_bls_key
from harmony.chain.params import LOCALNET
from harmony.encoding import rlp
from harmony.errors import RLPError
from harmony.types.fence_ticket import MAX_TICKET_SIZE, FenceTicket
from harmony.types.shard_state import Committee, Slot

CHAIN = LOCALNET.chain_id
PEER = bytes.fromhex("0024080112") + b"\x11" * 33  # an Ed25519-style binary peer ID, 38 bytes
OTHER_PEER = bytes.fromhex("0024080112") + b"\x22" * 33
FENCES = Fences((Fence("EU", (b"\xaa" * 20,)),), (None, "EU"))
MEMBER, OUTSIDER = dev_bls_key(1, 0), dev_bls_key(0, 0)
COMMITTEE = Committee(
    1, tuple(Slot(bytes([i]) * 20, dev_bls_key(1, i).public_key.to_bytes()) for i in range(4))
)


def committee_for(shard: int, epoch: int) -> Committee | None:
    return COMMITTEE if shard == 1 and epoch in (4, 5) else None


def check(ticket: FenceTicket, *, peer: bytes = PEER, epoch: int = 5) -> bytes:
    return check_ticket(
        ticket,
        remote_peer_id=peer,
        fences=FENCES,
        committee_for=committee_for,
        current_epoch=epoch,
        chain_id=CHAIN,
    )


def test_a_members_ticket_admits_its_peer_while_the_key_sits_in_the_committee() -> None:
    ticket = FenceTicket.signed(MEMBER, CHAIN, PEER, 1, 5)
    assert check(ticket) == MEMBER.public_key.to_bytes()
    assert check(ticket, epoch=6) == MEMBER.public_key.to_bytes()  # a member of the epoch before
    assert check(ticket, epoch=4) == MEMBER.public_key.to_bytes()  # a peer one epoch ahead of us
    lagging = FenceTicket.signed(MEMBER, CHAIN, PEER, 1, 1)  # a member restarted far behind
    assert check(lagging) == MEMBER.public_key.to_bytes()
    assert FenceTicket.decode(ticket.encode()) == ticket


@pytest.mark.parametrize(
    ("ticket", "peer", "epoch", "reason"),
    [
        (FenceTicket.signed(MEMBER, CHAIN, PEER, 0, 5), PEER, 5, "unfenced_shard"),
        (
            FenceTicket.signed(MEMBER, CHAIN, PEER, 1, 5),
            OTHER_PEER,
            5,
            "wrong_peer",
        ),  # copied to another peer
        (
            FenceTicket.signed(MEMBER, CHAIN, PEER, 1, 5),
            PEER,
            7,
            "unknown_committee",
        ),  # rotated out or unknown
        (FenceTicket.signed(MEMBER, CHAIN, PEER, 1, 7), PEER, 5, "future_epoch"),
        (FenceTicket.signed(OUTSIDER, CHAIN, PEER, 1, 5), PEER, 5, "not_member"),  # an unattested validator
        (FenceTicket.signed(MEMBER, CHAIN + 1, PEER, 1, 5), PEER, 5, "bad_signature"),  # another network's
        (
            replace(FenceTicket.signed(MEMBER, CHAIN, OTHER_PEER, 1, 5), peer_id=PEER),
            PEER,
            5,
            "bad_signature",
        ),
        (
            replace(FenceTicket.signed(MEMBER, CHAIN, PEER, 1, 5), signature=b"\x00" * 96),
            PEER,
            5,
            "bad_signature",
        ),
        (
            replace(FenceTicket.signed(MEMBER, CHAIN, PEER, 1, 5), signature=OUTSIDER.sign(b"x").to_bytes()),
            PEER,
            5,
            "bad_signature",
        ),
    ],
)
def test_bad_tickets_are_refused_with_their_reason(
    ticket: FenceTicket, peer: bytes, epoch: int, reason: str
) -> None:
    with pytest.raises(FenceAccessDenied) as info:
        check(ticket, peer=peer, epoch=epoch)
    assert info.value.reason == reason


def test_a_consensus_signature_is_no_ticket() -> None:
    """A seat key's signature over a 32-byte block hash cannot be replayed as a ticket."""
    block_hash = b"\x42" * 32
    forged = replace(
        FenceTicket.signed(MEMBER, CHAIN, PEER, 1, 5), signature=MEMBER.sign(block_hash).to_bytes()
    )
    with pytest.raises(FenceAccessDenied, match="bad_signature"):
        check(forged)
    assert len(forged.message(CHAIN)) > 48


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc0",
        FenceTicket.signed(MEMBER, CHAIN, PEER, 1, 5).encode()[:-1],
        FenceTicket.signed(MEMBER, CHAIN, PEER, 1, 5).encode() + b"\x00",
        b"\xf9\x02\x01" + b"\x80" * (MAX_TICKET_SIZE + 10),
    ],
)
def test_malformed_tickets_do_not_decode(data: bytes) -> None:
    with pytest.raises(RLPError):
        FenceTicket.decode(data)


def test_a_long_peer_id_does_not_encode_or_decode() -> None:
    long = FenceTicket.signed(MEMBER, CHAIN, b"\x01" * 65, 1, 5)
    with pytest.raises(ValueError):
        long.encode()
    item = FenceTicket.signed(MEMBER, CHAIN, PEER, 1, 5).to_rlp()
    assert isinstance(item, list)
    item[0] = b"\x01" * 65
    with pytest.raises(RLPError, match="peer_id"):
        FenceTicket.decode(rlp.encode(item))
