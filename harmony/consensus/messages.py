"""FBFT wire messages: one strict, bounded RLP envelope for all seven types (reference §1.2).

``Message`` is ``[type, shard_id, view_id, block_num, block_hash, senders, payload, block, signature]``:

* ``senders`` is a committee bitmap (reference §1.3) of the keys the message speaks for: exactly one for
  envelope-signed messages, one or more for PREPARE/COMMIT from a node holding several keys;
* ``payload`` by type: PREPARE/COMMIT the (aggregated) vote signature (96 bytes); PREPARED/COMMITTED the
  aggregate signature ‖ bitmap; ANNOUNCE empty or a justifying prepared certificate (m1 form) for a
  re-proposed block; VIEWCHANGE and NEWVIEW an RLP list (:class:`ViewChangeBody`, :class:`NewViewBody`);
* ``block`` the RLP block (ANNOUNCE, PREPARED, COMMITTED, and the prepared block of VIEWCHANGE/NEWVIEW);
* ``signature`` the envelope signature (reference §1.2): the sender key's BLS signature over Keccak-256 of
  the encoding with ``signature`` empty; PREPARE and COMMIT carry none (their payload is a signature).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar

from harmony.crypto.bls import SIGNATURE_SIZE
from harmony.crypto.keccak import keccak256
from harmony.encoding.schema import HASH32, UINT8, UINT32, UINT64, Binary, Sedes, Serializable
from harmony.errors import RLPError
from harmony.types.block import MAX_BLOCK_SIZE

MAX_BITMAP_SIZE = 1 << 11
"""Largest sender or signer bitmap (a committee of up to 16,384 keys)."""
MAX_PAYLOAD_SIZE = 1 << 14
"""Largest payload: a view-change body with two aggregates and bitmaps fits with room to spare."""
MAX_MESSAGE_SIZE = MAX_BLOCK_SIZE + MAX_PAYLOAD_SIZE + 2 * MAX_BITMAP_SIZE + 1024
"""Bytes refused before decoding."""


class MsgType(IntEnum):
    """Consensus message types, numbered as Harmony's ``MessageType`` (reference §1.2)."""

    ANNOUNCE = 1
    PREPARE = 2
    PREPARED = 3
    COMMIT = 4
    COMMITTED = 5
    VIEWCHANGE = 6
    NEWVIEW = 7


UNSIGNED_TYPES = frozenset({MsgType.PREPARE, MsgType.COMMIT})
"""Types without an envelope signature: their payload is the vote signature (reference §1.2)."""


@dataclass(frozen=True, slots=True)
class Message(Serializable):
    """The common envelope of every consensus message (see the module docstring for the fields)."""

    type: int
    shard_id: int
    view_id: int
    block_num: int
    block_hash: bytes
    senders: bytes
    """Committee bitmap of the keys this message speaks for."""
    payload: bytes = b""
    block: bytes = b""
    """RLP-encoded block, or empty."""
    signature: bytes = b""
    """Envelope signature (96 bytes), or empty for PREPARE/COMMIT."""

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("type", UINT8),
        ("shard_id", UINT32),
        ("view_id", UINT64),
        ("block_num", UINT64),
        ("block_hash", HASH32),
        ("senders", Binary(1, MAX_BITMAP_SIZE)),
        ("payload", Binary(0, MAX_PAYLOAD_SIZE)),
        ("block", Binary(0, MAX_BLOCK_SIZE)),
        ("signature", Binary(0, SIGNATURE_SIZE)),
    )
    max_encoded_size: ClassVar[int] = MAX_MESSAGE_SIZE

    @property
    def msg_type(self) -> MsgType:
        """The type as :class:`MsgType` (ValueError if unknown; :func:`decode_message` checks it)."""
        return MsgType(self.type)

    def signing_hash(self) -> bytes:
        """Keccak-256 of the encoding with an empty signature: what the envelope signature signs (§1.2)."""
        return keccak256(dataclasses.replace(self, signature=b"").encode())

    def with_signature(self, signature: bytes) -> Message:
        """A copy carrying ``signature``."""
        return dataclasses.replace(self, signature=signature)


@dataclass(frozen=True, slots=True)
class ViewChangeBody(Serializable):
    """VIEWCHANGE payload (reference §1.7): ``[m1, viewchange_sig, viewid_sig]``.

    ``m1`` is empty when the sender has no prepared certificate; then ``viewchange_sig`` signs ``NIL`` (m2),
    else it signs ``m1``. ``viewid_sig`` signs the new view (m3).
    """

    m1: bytes
    viewchange_sig: bytes
    viewid_sig: bytes

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("m1", Binary(0, MAX_PAYLOAD_SIZE // 2)),
        ("viewchange_sig", Binary(SIGNATURE_SIZE, SIGNATURE_SIZE)),
        ("viewid_sig", Binary(SIGNATURE_SIZE, SIGNATURE_SIZE)),
    )
    max_encoded_size: ClassVar[int] = MAX_PAYLOAD_SIZE


@dataclass(frozen=True, slots=True)
class NewViewBody(Serializable):
    """NEWVIEW payload (reference §1.7): ``[m1, m2_sig, m2_bitmap, m3_sig, m3_bitmap]``.

    ``m1`` is the chosen prepared certificate (empty if none); ``m2_*`` aggregate the NIL signatures
    (empty if nobody sent one); ``m3_*`` aggregate the view-ID signatures and must reach quorum.
    """

    m1: bytes
    m2_sig: bytes
    m2_bitmap: bytes
    m3_sig: bytes
    m3_bitmap: bytes

    rlp_schema: ClassVar[tuple[tuple[str, Sedes[Any]], ...]] = (
        ("m1", Binary(0, MAX_PAYLOAD_SIZE // 2)),
        ("m2_sig", Binary(0, SIGNATURE_SIZE)),
        ("m2_bitmap", Binary(0, MAX_BITMAP_SIZE)),
        ("m3_sig", Binary(SIGNATURE_SIZE, SIGNATURE_SIZE)),
        ("m3_bitmap", Binary(1, MAX_BITMAP_SIZE)),
    )
    max_encoded_size: ClassVar[int] = MAX_PAYLOAD_SIZE


def decode_message(data: bytes) -> Message:
    """Strictly decode an envelope: size bound first, canonical RLP, known type, field bounds.

    Raises :class:`harmony.errors.DecodeError` (an ``RLPError``) on anything malformed.
    """
    if len(data) > MAX_MESSAGE_SIZE:
        raise RLPError(f"consensus message of {len(data)} bytes exceeds {MAX_MESSAGE_SIZE}")
    msg = Message.decode(data)
    if msg.type not in MsgType._value2member_map_:
        raise RLPError(f"Message.type: unknown consensus message type {msg.type}")
    if msg.type in UNSIGNED_TYPES:
        if msg.signature:
            raise RLPError("Message.signature: PREPARE/COMMIT carry no envelope signature")
    elif len(msg.signature) != SIGNATURE_SIZE:
        raise RLPError("Message.signature: envelope signature must be 96 bytes")
    return msg
