"""A fence ticket: a committee member's proof that a libp2p peer is inside a country fence (issue 21).

A fenced shard's data is served only to peers inside its fence (``docs/design/fenced-shards.md``). A peer
proves it by a ticket: a BLS signature, by a seat key of the fenced shard's committee, binding the peer's
libp2p ID (which Noise authenticates on every connection) to that shard and epoch.

Encoding: ``rlp([peerId, shardId, epoch, blsPublicKey (48 B), signature (96 B)])``, at most
:data:`MAX_TICKET_SIZE` bytes. Signed message: ``"harmony-fence-ticket-v1" ‖ rlp([chainID, peerId, shardId,
epoch])``, longer than any consensus payload (32 or 48 bytes) and domain-tagged, so no other signature of
a seat key passes as a ticket. Whether the key is a member, and for which epochs a ticket counts, are the
chain's rules (:mod:`harmony.chain.fence_access`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from harmony.crypto import bls
from harmony.encoding import rlp
from harmony.encoding.schema import UINT32, UINT64, Binary, Serializable, fixed

TICKET_DOMAIN = b"harmony-fence-ticket-v1"
"""The prefix of what a ticket signs."""
MAX_PEER_ID_BYTES = 64
"""A libp2p peer ID (multihash of the public key) is 38 bytes for Ed25519/secp256k1 identities."""
MAX_TICKET_SIZE = 512
"""Largest encoded ticket read."""


def ticket_message(chain_id: int, peer_id: bytes, shard_id: int, epoch: int) -> bytes:
    """What a ticket's seat key signs (module docstring)."""
    body = rlp.encode(
        [rlp.encode_uint(chain_id), peer_id, UINT32.serialize(shard_id), UINT64.serialize(epoch)]
    )
    return TICKET_DOMAIN + body


@dataclass(frozen=True, slots=True)
class FenceTicket(Serializable):
    """A seat key's statement that ``peer_id`` may have ``shard_id``'s data in ``epoch``."""

    peer_id: bytes
    """The libp2p peer ID (its binary multihash)."""
    shard_id: int
    """The fenced shard."""
    epoch: int
    """The epoch whose committee holds :attr:`bls_public_key`."""
    bls_public_key: bytes
    """The signing seat key (48 bytes)."""
    signature: bytes
    """BLS signature (96 bytes) of :func:`ticket_message`."""

    max_encoded_size: ClassVar[int] = MAX_TICKET_SIZE
    rlp_schema = (
        ("peer_id", Binary(1, MAX_PEER_ID_BYTES)),
        ("shard_id", UINT32),
        ("epoch", UINT64),
        ("bls_public_key", fixed(48)),
        ("signature", fixed(96)),
    )

    @classmethod
    def signed(cls, key: bls.SecretKey, chain_id: int, peer_id: bytes, shard_id: int, epoch: int) -> Self:
        """The ticket of ``peer_id`` for ``shard_id`` in ``epoch``, signed by the seat key ``key``."""
        message = ticket_message(chain_id, peer_id, shard_id, epoch)
        return cls(peer_id, shard_id, epoch, key.public_key.to_bytes(), key.sign(message).to_bytes())

    def message(self, chain_id: int) -> bytes:
        """The :func:`ticket_message` this ticket's signature is over on ``chain_id``."""
        return ticket_message(chain_id, self.peer_id, self.shard_id, self.epoch)


__all__ = ["MAX_PEER_ID_BYTES", "MAX_TICKET_SIZE", "TICKET_DOMAIN", "FenceTicket", "ticket_message"]
