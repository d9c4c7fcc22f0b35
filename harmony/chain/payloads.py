"""What each FBFT signature signs (reference §1.3, §1.7; design §5).

* PREPARE: ``block_hash ‖ view_id`` (u64 little-endian). **Deviation from the reference** (which signs the
  bare 32-byte hash): binding the view makes a prepared certificate name the view it formed in, so a
  locked validator can tell a newer certificate from an old one replayed by a Byzantine leader. Without it
  the view change is not safe under the lock rule of :mod:`harmony.consensus.core`.
* COMMIT: ``number`` u64 LE ‖ ``block_hash`` ‖ ``view_id`` u64 LE (48 bytes, the staking-era form), where
  ``view_id`` is the block header's view, so the next block's ``last_commit_signature`` is checked from the
  parent header alone (reference §1.5).
* VIEWCHANGE m1: ``block_hash ‖ prepared_view ‖ aggregate prepare signature ‖ prepare bitmap``;
  m2: the constant ``NIL`` = ``0x01``; m3: the new ``view_id`` as u64 LE.
"""

from __future__ import annotations

from harmony.crypto.bls import SIGNATURE_SIZE

NIL = b"\x01"
"""The m2 payload of a VIEWCHANGE from a node with no prepared certificate (reference §1.7)."""

HASH_SIZE = 32
_U64 = 1 << 64


def u64_le(value: int) -> bytes:
    """``value`` as 8 little-endian bytes (ValueError if it does not fit in 64 bits)."""
    if not 0 <= value < _U64:
        raise ValueError(f"{value} does not fit in 64 bits")
    return value.to_bytes(8, "little")


def prepare_payload(block_hash: bytes, view_id: int) -> bytes:
    """What a PREPARE vote signs: ``block_hash ‖ view_id`` (u64 LE); see the module note on the view."""
    return bytes(block_hash) + u64_le(view_id)


def commit_payload(number: int, block_hash: bytes, view_id: int) -> bytes:
    """What a COMMIT vote signs (reference §1.3, staking era): number u64 LE ‖ hash ‖ header view u64 LE."""
    return u64_le(number) + bytes(block_hash) + u64_le(view_id)


def m1_payload(block_hash: bytes, prepared_view: int, signature: bytes, bitmap: bytes) -> bytes:
    """VIEWCHANGE m1 (reference §1.7, plus the certificate's view): hash ‖ view ‖ aggregate sig ‖ bitmap."""
    return bytes(block_hash) + u64_le(prepared_view) + bytes(signature) + bytes(bitmap)


def split_m1(payload: bytes) -> tuple[bytes, int, bytes, bytes]:
    """Inverse of :func:`m1_payload`: ``(hash, prepared_view, signature, bitmap)``; ValueError if short."""
    head = HASH_SIZE + 8 + SIGNATURE_SIZE
    if len(payload) <= head:
        raise ValueError("m1 payload too short")
    view = int.from_bytes(payload[HASH_SIZE : HASH_SIZE + 8], "little")
    return payload[:HASH_SIZE], view, payload[HASH_SIZE + 8 : head], payload[head:]


def m3_payload(view_id: int) -> bytes:
    """VIEWCHANGE m3: the new view ID as 8 little-endian bytes (reference §1.7)."""
    return u64_le(view_id)
