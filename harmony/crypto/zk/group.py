"""The secp256k1 group for the range proofs: strict encodings and sums of scalar multiples.

The curve arithmetic is libsecp256k1's through coincurve; this module only decides what a well-formed
encoding is and how the protocol's sums are formed. Encodings:

* a **point** is 33 bytes, SEC1 compressed: ``0x02``/``0x03`` (parity of y), then x big-endian with
  ``x < p`` and ``x³ + 7`` a square mod p. The point at infinity has no encoding and is refused;
* a **scalar** is 32 bytes big-endian with value ``< n`` (the group order); larger values are
  non-canonical and refused, never reduced.

Every decoder checks the length first and raises :class:`ZkDecodeError` naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import coincurve

from harmony.crypto.zk.errors import ZkDecodeError

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
"""Order of the secp256k1 group (the scalar field)."""
P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
"""The base field's prime."""
POINT_SIZE = 33
SCALAR_SIZE = 32

Point = coincurve.PublicKey
"""A point other than infinity (libsecp256k1 cannot hold infinity in a public key)."""

BASE = coincurve.PublicKey.from_secret((1).to_bytes(32, "big"))
"""secp256k1's standard generator: the value base of the commitments."""


def decode_point(data: bytes, field: str) -> Point:
    """Parse a 33-byte compressed point; refuse a wrong length, prefix, ``x ≥ p`` or x off the curve."""
    if len(data) != POINT_SIZE:
        raise ZkDecodeError(f"{field}: a point is {POINT_SIZE} bytes, got {len(data)}")
    if data[0] not in (2, 3):
        raise ZkDecodeError(f"{field}: a compressed point starts with 0x02 or 0x03, got 0x{data[0]:02x}")
    if int.from_bytes(data[1:], "big") >= P:
        raise ZkDecodeError(f"{field}: x coordinate is not below the field prime")
    try:
        return coincurve.PublicKey(bytes(data))
    except (ValueError, TypeError) as exc:
        raise ZkDecodeError(f"{field}: x coordinate is not on the curve") from exc


def encode_point(point: Point) -> bytes:
    """The 33-byte compressed encoding."""
    return bytes(point.format(compressed=True))


def decode_scalar(data: bytes, field: str) -> int:
    """Parse a 32-byte big-endian scalar; refuse a wrong length or a value ``≥ n`` (non-canonical)."""
    if len(data) != SCALAR_SIZE:
        raise ZkDecodeError(f"{field}: a scalar is {SCALAR_SIZE} bytes, got {len(data)}")
    value = int.from_bytes(data, "big")
    if value >= N:
        raise ZkDecodeError(f"{field}: scalar is not below the group order (non-canonical)")
    return value


def encode_scalar(value: int) -> bytes:
    """The 32-byte big-endian encoding of ``value mod n``."""
    return (value % N).to_bytes(SCALAR_SIZE, "big")


def negate(point: Point) -> Point:
    """``-P``: the same x with the other parity."""
    raw = point.format(compressed=True)
    return coincurve.PublicKey(bytes([raw[0] ^ 1]) + raw[1:])


def point_sum(points: Sequence[Point]) -> Point | None:
    """``Σ P_i``, or ``None`` for the point at infinity (an empty sum included)."""
    if not points:
        return None
    try:
        return coincurve.PublicKey.combine_keys(list(points))
    except ValueError:  # libsecp256k1 refuses a sum at infinity
        return None


def multiply(point: Point, scalar: int) -> Point | None:
    """``s·P``, or ``None`` when ``s ≡ 0 (mod n)``."""
    s = scalar % N
    if s == 0:
        return None
    if s == 1:
        return point
    return point.multiply(s.to_bytes(32, "big"))


def multi_scalar(terms: Iterable[tuple[int, Point]]) -> Point | None:
    """``Σ s_i·P_i`` (zero scalars skipped), or ``None`` for infinity: the verifier's one big sum."""
    parts: list[Point] = []
    for scalar, point in terms:
        product = multiply(point, scalar)
        if product is not None:
            parts.append(product)
    return point_sum(parts)


def add(a: Point | None, b: Point | None) -> Point | None:
    """``a + b`` with ``None`` as infinity."""
    if a is None:
        return b
    if b is None:
        return a
    return point_sum([a, b])


def inverse(value: int) -> int:
    """``value⁻¹ mod n``; the caller guarantees ``value ≢ 0``."""
    return pow(value, -1, N)


__all__ = [
    "BASE",
    "POINT_SIZE",
    "SCALAR_SIZE",
    "N",
    "P",
    "Point",
    "add",
    "decode_point",
    "decode_scalar",
    "encode_point",
    "encode_scalar",
    "inverse",
    "multi_scalar",
    "multiply",
    "negate",
    "point_sum",
]
