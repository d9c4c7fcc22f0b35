"""What travels on a shard's gossip topic: one kind byte, then the payload (reference §8.4).

Harmony's Go node prefixes its topic messages with a message category and type; ours is one byte:

* :data:`KIND_CONSENSUS`: an encoded :class:`~harmony.consensus.messages.Message` (the core checks it);
* :data:`KIND_TRANSACTION`: an RLP list of Harmony-format transactions' encodings (what a node's RPC took in
  the last few milliseconds, relayed to every pool in one message);
* :data:`KIND_HEAD`: a node's head number and hash, announced after each block it stores, so that nodes behind
  learn that they should sync;
* :data:`KIND_CODED`: with ``[p2p] propagation = "raptorq"``, a consensus message whose block travels coded
  (:mod:`harmony.node.coded_propagation`): the leader's signed symbol commitment and the message without its
  block.

Everything here is a hostile peer's bytes: :func:`split` bounds the size and rejects unknown kinds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harmony.consensus.messages import MAX_MESSAGE_SIZE
from harmony.encoding import rlp
from harmony.errors import DecodeError, HarmonyError
from harmony.p2p.errors import P2PBadRequest

KIND_CONSENSUS = 1
KIND_TRANSACTION = 2
KIND_HEAD = 3
KIND_CODED = 4

KINDS = frozenset({KIND_CONSENSUS, KIND_TRANSACTION, KIND_HEAD, KIND_CODED})
MAX_WIRE_SIZE = MAX_MESSAGE_SIZE + 1
"""The largest topic message a node reads (a consensus message carrying a full block, plus the kind byte)."""
HEAD_SIZE = 8 + 32
MAX_BATCH_TRANSACTIONS = 4096
"""Transactions in one relayed batch."""
MAX_BATCH_BYTES = 1024 * 1024
"""Bytes of one relayed batch (a sender splits larger ones)."""


class WireError(DecodeError):
    """A topic message that is not one of ours (its sender gets penalized); ``check`` names why
    (``malformed``, ``oversized``)."""

    def __init__(self, message: str, check: str = "malformed") -> None:
        super().__init__(message)
        self.check = check


@dataclass(frozen=True, slots=True)
class Framing:
    """One kind byte, then the payload: the framing of a topic's messages (this shard's topic,
    :data:`TOPIC`, and the network-wide one, :data:`harmony.node.crossshard.GLOBAL`)."""

    what: str
    """What a message is called in errors."""
    kinds: frozenset[int]
    max_size: int
    """The largest message read, kind byte included."""

    def pack(self, kind: int, payload: bytes) -> bytes:
        """``kind`` ‖ ``payload``; ``ValueError`` for a kind of another topic."""
        if kind not in self.kinds:
            raise ValueError(f"unknown {self.what} kind {kind}")
        return bytes([kind]) + payload

    def split(self, data: bytes) -> tuple[int, bytes]:
        """The kind and payload of a peer's message; :class:`WireError` if it is empty, too big or of an
        unknown kind (bounded before anything else is read)."""
        if not data:
            raise WireError(f"empty {self.what}")
        if len(data) > self.max_size:
            raise WireError(f"{self.what} of {len(data)} bytes exceeds {self.max_size}", "oversized")
        if data[0] not in self.kinds:
            raise WireError(f"unknown {self.what} kind {data[0]}")
        return data[0], data[1:]


TOPIC = Framing("topic message", KINDS, MAX_WIRE_SIZE)
"""A shard topic's framing."""


def pack(kind: int, payload: bytes) -> bytes:
    """``kind`` ‖ ``payload`` for the shard's topic."""
    return TOPIC.pack(kind, payload)


def split(data: bytes) -> tuple[int, bytes]:
    """The kind and payload of a shard-topic message (:meth:`Framing.split`)."""
    return TOPIC.split(data)


def direct_payload(frame: bytes, kind: int, what: str) -> bytes:
    """The payload of ``frame`` from a direct stream, which must be a ``kind`` message (``what`` names it);
    :class:`~harmony.p2p.errors.P2PBadRequest` otherwise, the sender's offence (its stream is reset)."""
    try:
        found, payload = split(frame)
    except WireError as exc:
        raise P2PBadRequest(f"not a wire message: {exc}") from None
    if found != kind:
        raise P2PBadRequest(f"kind {found} is not {what}")
    return payload


def pack_head(number: int, block_hash: bytes) -> bytes:
    """A head announcement: the number (8 bytes big-endian) and the hash."""
    return pack(KIND_HEAD, number.to_bytes(8, "big") + block_hash)


def unpack_head(payload: bytes) -> tuple[int, bytes]:
    """The (number, hash) of a head announcement; :class:`WireError` if malformed."""
    if len(payload) != HEAD_SIZE:
        raise WireError(f"head announcement of {len(payload)} bytes, expected {HEAD_SIZE}")
    return int.from_bytes(payload[:8], "big"), payload[8:]


def pack_transactions(encoded: Sequence[bytes]) -> bytes:
    """A transaction batch: the RLP list of the transactions' encodings."""
    return pack(KIND_TRANSACTION, rlp.encode(list(encoded)))


def unpack_transactions(payload: bytes) -> list[bytes]:
    """The encodings in a transaction batch; :class:`WireError` unless a bounded list of byte strings."""
    try:
        item = rlp.decode(payload, max_size=MAX_BATCH_BYTES + 16, max_depth=2)
    except HarmonyError as exc:
        raise WireError(f"transaction batch: {exc}") from exc
    if not isinstance(item, list) or len(item) > MAX_BATCH_TRANSACTIONS:
        raise WireError("transaction batch: expected a list of at most 4096 transactions")
    out: list[bytes] = []
    for tx in item:
        if not isinstance(tx, bytes):
            raise WireError("transaction batch: every entry must be a transaction's encoding")
        out.append(tx)
    return out


MAX_CODED_ANNOUNCE_BYTES = 256 * 1024
"""A coded announce: a signed commitment (its round up to 1,024 peer IDs) and a message without its block."""


def pack_coded(signed_commitment: bytes, message: bytes) -> bytes:
    """A coded announce: the RLP list [signed commitment, consensus message without its block]."""
    return pack(KIND_CODED, rlp.encode([signed_commitment, message]))


def unpack_coded(payload: bytes) -> tuple[bytes, bytes]:
    """The signed commitment's and the message's encodings of a coded announce; :class:`WireError` if the
    payload is not such a pair or is too big."""
    if len(payload) > MAX_CODED_ANNOUNCE_BYTES:
        raise WireError(f"coded announce of {len(payload)} bytes exceeds {MAX_CODED_ANNOUNCE_BYTES}")
    try:
        item = rlp.decode(payload, max_size=MAX_CODED_ANNOUNCE_BYTES, max_depth=1)
    except HarmonyError as exc:
        raise WireError(f"coded announce: {exc}") from exc
    if not isinstance(item, list) or len(item) != 2:
        raise WireError("coded announce is not [commitment, message]")
    commitment, message = item
    if not isinstance(commitment, bytes) or not isinstance(message, bytes):
        raise WireError("coded announce is not [commitment, message]")
    return commitment, message
