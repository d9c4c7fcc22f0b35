"""What travels on a shard's gossip topic: one kind byte, then the payload (reference §8.4).

Harmony's Go node prefixes its topic messages with a message category and type; ours is one byte:

* :data:`KIND_CONSENSUS`: an encoded :class:`~harmony.consensus.messages.Message` (the core checks it);
* :data:`KIND_TRANSACTION`: a Harmony-format transaction's RLP (relayed from a node's RPC to every pool);
* :data:`KIND_HEAD`: a node's head number and hash, announced after each block it stores, so that nodes behind
  learn that they should sync.

Everything here is a hostile peer's bytes: :func:`split` bounds the size and rejects unknown kinds.
"""

from __future__ import annotations

from harmony.consensus.messages import MAX_MESSAGE_SIZE
from harmony.errors import DecodeError

KIND_CONSENSUS = 1
KIND_TRANSACTION = 2
KIND_HEAD = 3

KINDS = frozenset({KIND_CONSENSUS, KIND_TRANSACTION, KIND_HEAD})
MAX_WIRE_SIZE = MAX_MESSAGE_SIZE + 1
"""The largest topic message a node reads (a consensus message carrying a full block, plus the kind byte)."""
HEAD_SIZE = 8 + 32


class WireError(DecodeError):
    """A topic message that is not one of ours (its sender gets penalized)."""


def pack(kind: int, payload: bytes) -> bytes:
    """``kind`` ‖ ``payload``."""
    if kind not in KINDS:
        raise ValueError(f"unknown wire kind {kind}")
    return bytes([kind]) + payload


def split(data: bytes) -> tuple[int, bytes]:
    """The kind and payload of a topic message; :class:`WireError` if it is empty, too big or unknown."""
    if not data:
        raise WireError("empty topic message")
    if len(data) > MAX_WIRE_SIZE:
        raise WireError(f"topic message of {len(data)} bytes exceeds {MAX_WIRE_SIZE}")
    kind = data[0]
    if kind not in KINDS:
        raise WireError(f"unknown topic message kind {kind}")
    return kind, data[1:]


def pack_head(number: int, block_hash: bytes) -> bytes:
    """A head announcement: the number (8 bytes big-endian) and the hash."""
    return pack(KIND_HEAD, number.to_bytes(8, "big") + block_hash)


def unpack_head(payload: bytes) -> tuple[int, bytes]:
    """The (number, hash) of a head announcement; :class:`WireError` if malformed."""
    if len(payload) != HEAD_SIZE:
        raise WireError(f"head announcement of {len(payload)} bytes, expected {HEAD_SIZE}")
    return int.from_bytes(payload[:8], "big"), payload[8:]
