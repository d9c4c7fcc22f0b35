"""Committee bitmaps: which members of a committee took part in an aggregate BLS signature.

Rule (reference §1.3, Harmony's ``crypto/bls/mask.go``): a bitmap for a committee of ``n`` members is
``ceil(n/8)`` bytes; member *i* is bit ``i & 7`` (least significant first) of byte ``i >> 3``. Bits at
positions ``n`` and above must be zero. The aggregate public key is the sum of the enabled members' keys,
in committee order (the order of the shard state's slots).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from harmony.crypto.bls import PublicKey, Signature, aggregate_public_keys, fast_aggregate_verify
from harmony.errors import CryptoError

MAX_COMMITTEE_SIZE = 1 << 20
"""Largest committee a bitmap may describe; a bound against absurd sizes from outside."""

_BITS_OF_BYTE: tuple[tuple[int, ...], ...] = tuple(
    tuple(bit for bit in range(8) if byte >> bit & 1) for byte in range(256)
)


def bitmap_size(n: int) -> int:
    """Length in bytes of the bitmap of an ``n``-member committee: ``ceil(n/8)`` (reference §1.3)."""
    if not 0 <= n <= MAX_COMMITTEE_SIZE:
        raise CryptoError(f"committee size {n} is out of range")
    return (n + 7) >> 3


def encode_bitmap(members: Iterable[int] | Iterable[bool], n: int) -> bytes:
    """The bitmap (reference §1.3) of a committee of ``n``.

    ``members`` is either the indices of the enabled members (any order; repeats allowed), or one bool per
    member (exactly ``n`` of them, as ``bool`` values). :class:`CryptoError` on an index outside ``0..n-1``.
    """
    out = bytearray(bitmap_size(n))
    items = list(members)
    if items and all(type(item) is bool for item in items):
        if len(items) != n:
            raise CryptoError(f"bitmap flags: got {len(items)} flags for a committee of {n}")
        indices: Iterable[int] = (i for i, flag in enumerate(items) if flag)
    else:
        indices = items
    for index in indices:
        if isinstance(index, bool) or not isinstance(index, int):
            raise CryptoError(f"bitmap member {index!r} is not an index")
        if not 0 <= index < n:
            raise CryptoError(f"bitmap index {index} is outside the committee of {n}")
        out[index >> 3] |= 1 << (index & 7)
    return bytes(out)


def decode_bitmap(data: bytes, n: int) -> tuple[int, ...]:
    """The enabled member indices, ascending, of the bitmap ``data`` for a committee of ``n``.

    :class:`CryptoError` if the length is not ``ceil(n/8)`` or a bit at position ``n`` or above is set.
    """
    size = bitmap_size(n)
    if len(data) != size:
        raise CryptoError(f"bitmap must be {size} bytes for a committee of {n}, got {len(data)}")
    if size and n & 7 and data[-1] >> (n & 7):
        raise CryptoError(f"bitmap has bits set beyond the committee of {n}")
    indices: list[int] = []
    for position, byte in enumerate(data):
        if byte:
            base = position << 3
            indices.extend(base + bit for bit in _BITS_OF_BYTE[byte])
    return tuple(indices)


def aggregate_public_key(committee_keys: Sequence[PublicKey], bitmap: bytes) -> PublicKey:
    """The sum of the public keys of the members enabled in ``bitmap`` (reference §1.3).

    :class:`CryptoError` on a malformed bitmap, an empty selection, or a sum that is the identity point.
    """
    indices = decode_bitmap(bitmap, len(committee_keys))
    if not indices:
        raise CryptoError("bitmap selects no committee member")
    return aggregate_public_keys([committee_keys[i] for i in indices])


def verify_aggregate(
    committee_keys: Sequence[PublicKey], bitmap: bytes, message: bytes, signature: Signature
) -> bool:
    """Whether ``signature`` is the aggregate over ``message`` of the members enabled in ``bitmap``.

    This is how PREPARED/COMMITTED payloads and a block's last-commit signature are checked (reference
    §1.3, §1.5). Returns False, never raises, on a malformed or empty bitmap or a wrong signature; quorum
    (how many members signed) is the caller's rule. Keys are summed inside the BLS library.
    """
    try:
        indices = decode_bitmap(bitmap, len(committee_keys))
    except CryptoError:
        return False
    if not indices:
        return False
    return fast_aggregate_verify([committee_keys[i] for i in indices], message, signature)
